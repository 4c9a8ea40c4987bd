"""Max and average pooling as direct Numba loops: the fast CPU paths of pooling.py's ops.

The im2col route (pooling.py) builds a column matrix just to take a max over each row;
here each window is scanned in place, and the arg-max is kept as a flat index into the
input plane (h·W + w) so the backward pass can scatter straight to it. Same tie rule: the
first maximal element in row-major window order wins. One thread per (image, channel)
plane, so no two threads ever add into the same dx element.

Average pooling likewise sums each window in place (padding counts as zero, divisor KH·KW as
in PyTorch's default) and its backward adds g/(KH·KW) to every element of the window.
"""
import numpy as np
from numba import njit, prange

from .im2col import numba_kernels  # noqa: F401  (sets the OpenMP wait policy before Numba's pool starts)


@njit(parallel=True, cache=True)
def _forward(x, kh, kw, sh, sw, ph, pw, out, winner):
    n_images, channels, height, width = x.shape
    oh, ow = out.shape[2], out.shape[3]
    for plane in prange(n_images * channels):
        n, c = plane // channels, plane % channels
        for y in range(oh):
            h0 = y * sh - ph
            for x_ in range(ow):
                w0 = x_ * sw - pw
                # The window's rows i_lo..i_hi-1 and columns j_lo..j_hi-1 inside the image
                # (padding, -inf, never wins): clipped once here instead of tested per element.
                i_lo, i_hi = max(0, -h0), min(kh, height - h0)
                j_lo, j_hi = max(0, -w0), min(kw, width - w0)
                best, arg = x[n, c, h0 + i_lo, w0 + j_lo], (h0 + i_lo) * width + w0 + j_lo
                for i in range(i_lo, i_hi):
                    for j in range(j_lo, j_hi):
                        if x[n, c, h0 + i, w0 + j] > best:
                            best, arg = x[n, c, h0 + i, w0 + j], (h0 + i) * width + w0 + j
                out[n, c, y, x_] = best
                winner[n, c, y, x_] = arg


@njit(parallel=True, cache=True)
def _backward(g, winner, dx):
    n_images, channels, oh, ow = g.shape
    width = dx.shape[3]
    for plane in prange(n_images * channels):
        n, c = plane // channels, plane % channels
        for y in range(oh):
            for x_ in range(ow):
                arg = winner[n, c, y, x_]
                dx[n, c, arg // width, arg % width] += g[n, c, y, x_]


def max_pool_forward(x, kernel, stride, padding, out_shape):
    out = np.empty(out_shape, dtype=x.dtype)
    winner = np.empty(out_shape, dtype=np.int32)
    _forward(x, kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1], out, winner)
    return out, winner


def max_pool_backward(g, winner, x_shape):
    dx = np.zeros(x_shape, dtype=g.dtype)
    _backward(np.ascontiguousarray(g), winner, dx)
    return dx


@njit(parallel=True, cache=True)
def _avg_forward(x, kh, kw, sh, sw, ph, pw, out):
    n_images, channels, height, width = x.shape
    oh, ow = out.shape[2], out.shape[3]
    scale = 1.0 / (kh * kw)
    for plane in prange(n_images * channels):
        n, c = plane // channels, plane % channels
        for y in range(oh):
            for x_ in range(ow):
                total = 0.0
                for i in range(kh):
                    h = y * sh - ph + i
                    if 0 <= h < height:
                        for j in range(kw):
                            w = x_ * sw - pw + j
                            if 0 <= w < width:
                                total += x[n, c, h, w]
                out[n, c, y, x_] = total * scale


@njit(parallel=True, cache=True)
def _avg_backward(g, kh, kw, sh, sw, ph, pw, dx):
    n_images, channels, height, width = dx.shape
    oh, ow = g.shape[2], g.shape[3]
    scale = 1.0 / (kh * kw)
    for plane in prange(n_images * channels):
        n, c = plane // channels, plane % channels
        for y in range(oh):
            for x_ in range(ow):
                share = g[n, c, y, x_] * scale
                for i in range(kh):
                    h = y * sh - ph + i
                    if 0 <= h < height:
                        for j in range(kw):
                            w = x_ * sw - pw + j
                            if 0 <= w < width:
                                dx[n, c, h, w] += share


def avg_pool_forward(x, kernel, stride, padding, out_shape):
    out = np.empty(out_shape, dtype=x.dtype)
    _avg_forward(np.ascontiguousarray(x), kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1], out)
    return out


def avg_pool_backward(g, kernel, stride, padding, x_shape):
    dx = np.zeros(x_shape, dtype=g.dtype)
    _avg_backward(np.ascontiguousarray(g), kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1], dx)
    return dx
