"""Direct convolution loops in Numba, for layers with few input channels (the first layer).

Used by the fast Conv2d (conv.py) in place of im2col and the matrix products.

im2col copies every input pixel KH·KW times. With C·KH·KW small (LeNet's first layer: one
channel, 5x5) the column matrix is 25x the image and the matrix products that read it are
too thin to be anything but memory-bound, so reading and writing those copies is most of
the layer's time. These loops compute the same sums straight from the image instead.

Stride 1 and dilation 1 only. The trick that keeps the innermost loop long and contiguous:
pad each image plane (PH above, PH + 1 below, PW on each side) to width WP = W + 2·PW and
compute the output on that wide grid, OH rows of WP columns, of which the first OW are real:

    out_wide[oy·WP + ox] = Σ_{c,i,j} w[f,c,i,j] · xpad[c][(oy + i)·WP + (ox + j)]
                         = Σ_{c,i,j} w[f,c,i,j] · xpad[c][k + i·WP + j]       (k = oy·WP + ox)

so each tap (c, i, j) is one multiply-add of a whole plane shifted by i·WP + j: a loop of
OH·WP elements that vectorises. The extra columns ox >= OW read across the row ends (the one
extra padding row keeps the last read inside the plane) and are thrown away. The backward
passes are the same sums read the other way, with G widened the same way (zeros in the
extra columns, so they add nothing):

    dw[f,c,i,j] = Σ_n Σ_k G_wide[n,f][k] · xpad[n,c][k + i·WP + j]       (a dot product per tap)
    dxpad[n,c][k + i·WP + j] += w[f,c,i,j] · G_wide[n,f][k]              (dx = dxpad's interior)

Each parallel iteration owns one image, so no two threads write to the same place; dw is
summed per image and then over images, and so is db (each plane of G summed as dw's loop
widens it).

These loops are bound by loads and stores, not by multiply-adds, so each value is made to
feed as many of them as it can while it sits in a register:

* Forward and dw take the filters four at a time (BLOCK): each plane value, once loaded,
  feeds four multiply-adds (four output planes, or four dot products) instead of one. The
  weights are padded with zero filters to a multiple of four; their outputs are never stored.
* Forward takes a whole kernel row (c, i) per pass over the wide grid: the four running sums
  of an output position are loaded once, take the row's KW taps, and are stored once, instead
  of once per tap (`_kernel_row`).
* dw, for 5-wide kernels, takes a kernel row's five taps for two filters per pass: each G
  value feeds five dot products and each plane value two (`_five_tap_dots`); other widths
  take one tap per pass.

The CIFAR net's first layer at batch 32 (3 -> 16 channels, 5x5), timed alone against the
one-tap loops, interleaved: forward 2.2 -> 1.3 ms, dw 1.5 -> 1.15 ms. The kernel width is
passed as a constant (5 or 3) where it is one of those, so that Numba unrolls the taps and
the pass over the grid is the innermost loop, which is the one that vectorises.
"""
import numpy as np
from numba import njit, prange

from .im2col_numba import index  # unsigned offsets: see there


def pad_planes(x, ph, pw):
    """(N, C, H, W) -> (N, C, (H + 2·PH + 1)·WP) zero-padded flat planes, and WP."""
    n, c, h, w = x.shape
    padded = np.zeros((n, c, h + 2 * ph + 1, w + 2 * pw), dtype=x.dtype)
    padded[:, :, ph:ph + h, pw:pw + w] = x
    return padded.reshape(n, c, -1), w + 2 * pw


BLOCK = 4  # filters per pass of the forward and dw loops (written out for four below)


@njit(fastmath=True, cache=True, inline="always")
def _kernel_row(plane, shift, w, f, c, i, kw, wide, length):
    """wide[q, k] += Σ_j w[f+q, c, i, j] · plane[shift + j + k] for the four filters q: the KW
    taps of kernel row (c, i), each output position's four sums loaded and stored once."""
    for k in range(length):
        t0, t1, t2, t3 = wide[0, k], wide[1, k], wide[2, k], wide[3, k]
        for j in range(kw):
            value = plane[index(shift + j + k)]
            t0 += w[f, c, i, j] * value
            t1 += w[f + 1, c, i, j] * value
            t2 += w[f + 2, c, i, j] * value
            t3 += w[f + 3, c, i, j] * value
        wide[0, k], wide[1, k], wide[2, k], wide[3, k] = t0, t1, t2, t3


@njit(parallel=True, fastmath=True, cache=True)
def _forward(xpad, wp, w, b, y):
    """w and b padded to a multiple of BLOCK filters; y has the real ones."""
    n_images, channels = xpad.shape[0], xpad.shape[1]
    padded_filters, kh, kw = w.shape[0], w.shape[2], w.shape[3]
    filters, oh, ow = y.shape[1], y.shape[2], y.shape[3]
    length = oh * wp
    for n in prange(n_images):
        wide = np.empty((BLOCK, length), dtype=y.dtype)  # four output planes on the wide grid (in L1)
        for f in range(0, padded_filters, BLOCK):
            for q in range(BLOCK):
                wide[q, :] = b[f + q]
            for c in range(channels):
                plane = xpad[n, c]
                for i in range(kh):
                    if kw == 5:  # the width as a constant: the taps unroll (module docstring)
                        _kernel_row(plane, i * wp, w, f, c, i, 5, wide, length)
                    elif kw == 3:
                        _kernel_row(plane, i * wp, w, f, c, i, 3, wide, length)
                    else:
                        _kernel_row(plane, i * wp, w, f, c, i, kw, wide, length)
            for q in range(min(BLOCK, filters - f)):
                for oy in range(oh):
                    for ox in range(ow):
                        y[n, f + q, oy, ox] = wide[q, oy * wp + ox]


@njit(cache=True, inline="always")
def _widen(g_plane, wp, wide):
    """G's plane (OH, OW) onto the wide grid, zeros in the extra columns."""
    oh, ow = g_plane.shape
    wide[:] = 0
    for oy in range(oh):
        for ox in range(ow):
            wide[oy * wp + ox] = g_plane[oy, ox]


@njit(fastmath=True, cache=True, inline="always")
def _tap_dots(plane, shift, wide, length, per_image, n, f, c, i, j):
    """dw of tap (c, i, j) for the four filters: four dot products in one pass."""
    t0 = t1 = t2 = t3 = wide.dtype.type(0)
    for k in range(length):
        value = plane[index(shift + j + k)]
        t0 += wide[0, k] * value
        t1 += wide[1, k] * value
        t2 += wide[2, k] * value
        t3 += wide[3, k] * value
    per_image[n, f, c, i, j] = t0
    per_image[n, f + 1, c, i, j] = t1
    per_image[n, f + 2, c, i, j] = t2
    per_image[n, f + 3, c, i, j] = t3


@njit(fastmath=True, cache=True, inline="always")
def _five_tap_dots(plane, shift, wide, length, per_image, n, f, c, i):
    """dw of the five taps of kernel row (c, i), for filters f + q and f + q + 1 at a time:
    ten dot products per pass, each G value feeding five and each plane value two."""
    for q in range(0, BLOCK, 2):
        a0 = a1 = a2 = a3 = a4 = b0 = b1 = b2 = b3 = b4 = wide.dtype.type(0)
        for k in range(length):
            at = shift + k
            v0, v1, v2 = plane[index(at)], plane[index(at + 1)], plane[index(at + 2)]
            v3, v4 = plane[index(at + 3)], plane[index(at + 4)]
            ga, gb = wide[q, k], wide[q + 1, k]
            a0 += ga * v0
            a1 += ga * v1
            a2 += ga * v2
            a3 += ga * v3
            a4 += ga * v4
            b0 += gb * v0
            b1 += gb * v1
            b2 += gb * v2
            b3 += gb * v3
            b4 += gb * v4
        dots = per_image[n, f + q, c, i]
        dots[0], dots[1], dots[2], dots[3], dots[4] = a0, a1, a2, a3, a4
        dots = per_image[n, f + q + 1, c, i]
        dots[0], dots[1], dots[2], dots[3], dots[4] = b0, b1, b2, b3, b4


@njit(parallel=True, fastmath=True, cache=True)
def _weight_grad(xpad, wp, g, per_image, bias_per_image):
    """per_image padded to a multiple of BLOCK filters (the extra ones get zeros); and, while
    each plane of G is at hand, its sum: the bias's gradient per image (float64)."""
    n_images, channels = xpad.shape[0], xpad.shape[1]
    padded_filters, kh, kw = per_image.shape[1], per_image.shape[3], per_image.shape[4]
    filters, length = g.shape[1], g.shape[2] * wp
    for n in prange(n_images):
        wide = np.empty((BLOCK, length), dtype=g.dtype)  # four planes of G on the wide grid
        for f in range(0, padded_filters, BLOCK):
            for q in range(BLOCK):
                if f + q < filters:
                    _widen(g[n, f + q], wp, wide[q])
                    total = 0.0
                    for k in range(length):
                        total += wide[q, k]
                    bias_per_image[n, f + q] = total
                else:
                    wide[q, :] = 0
            for c in range(channels):
                plane = xpad[n, c]
                for i in range(kh):
                    if kw == 5:
                        _five_tap_dots(plane, i * wp, wide, length, per_image, n, f, c, i)
                    else:
                        for j in range(kw):
                            _tap_dots(plane, i * wp, wide, length, per_image, n, f, c, i, j)


@njit(parallel=True, fastmath=True, cache=True)
def _input_grad(g, w, wp, dxpad):
    n_images, channels = dxpad.shape[0], dxpad.shape[1]
    filters, kh, kw = w.shape[0], w.shape[2], w.shape[3]
    length = g.shape[2] * wp
    for n in prange(n_images):
        wide = np.empty(length, dtype=g.dtype)
        for f in range(filters):
            _widen(g[n, f], wp, wide)
            for c in range(channels):
                plane = dxpad[n, c]
                for i in range(kh):
                    for j in range(kw):
                        weight, shift = w[f, c, i, j], i * wp + j
                        for k in range(length):
                            plane[index(shift + k)] += weight * wide[k]


def _padded_filters(count):
    return -(-count // BLOCK) * BLOCK


def conv_forward(x, w, b, padding):
    """y (N, F, OH, OW) of a stride-1 convolution; b may be None."""
    (ph, pw), (n, _, h, width), (filters, _, kh, kw) = padding, x.shape, w.shape
    xpad, wp = pad_planes(x, ph, pw)
    y = np.empty((n, filters, h + 2 * ph - kh + 1, width + 2 * pw - kw + 1), dtype=x.dtype)
    w_blocks = np.zeros((_padded_filters(filters),) + w.shape[1:], dtype=x.dtype)
    w_blocks[:filters] = w
    b_blocks = np.zeros(len(w_blocks), dtype=x.dtype)
    if b is not None:
        b_blocks[:filters] = b
    _forward(xpad, wp, w_blocks, b_blocks, y)
    return y, xpad


def conv_weight_grad(xpad, g, w_shape):
    """dw (F, C, KH, KW) from the padded planes that conv_forward returned, and db (F,)."""
    filters, wp = w_shape[0], g.shape[3] + w_shape[3] - 1
    # the loops read xpad without bounds checks: G's planes must fit the padded planes exactly
    if g.shape[:2] != (xpad.shape[0], filters) or xpad.shape[2] != (g.shape[2] + w_shape[2]) * wp:
        raise ValueError(f"conv2d (direct) backward: gradient shape {g.shape} does not fit padded input planes "
                         f"{xpad.shape} and weight shape {tuple(w_shape)}")
    per_image = np.empty((g.shape[0], _padded_filters(filters)) + tuple(w_shape[1:]), dtype=g.dtype)
    bias_per_image = np.empty((g.shape[0], filters))
    _weight_grad(xpad, wp, np.ascontiguousarray(g), per_image, bias_per_image)
    return per_image[:, :filters].sum(axis=0), bias_per_image.sum(axis=0).astype(g.dtype)


def conv_input_grad(g, w, x_shape, padding):
    """dx (N, C, H, W)."""
    (ph, pw), (n, c, h, width) = padding, x_shape
    wp = width + 2 * pw
    expected = (n, w.shape[0], h + 2 * ph - w.shape[2] + 1, width + 2 * pw - w.shape[3] + 1)
    if g.shape != expected:  # the loops write dxpad without bounds checks
        raise ValueError(f"conv2d (direct) backward: gradient shape {g.shape}, expected {expected}")
    dxpad = np.zeros((n, c, (h + 2 * ph + 1) * wp), dtype=g.dtype)
    _input_grad(np.ascontiguousarray(g), np.ascontiguousarray(w), wp, dxpad)
    return np.ascontiguousarray(dxpad.reshape(n, c, -1, wp)[:, :, ph:ph + h, pw:pw + width])
