"""im2col and col2im as Numba loops: the same maps as reference.py, compiled and parallel.

The loops spell out the index arithmetic of reference.py's docstring directly. col2im runs
its parallel loop over images, so no two threads ever add into the same input pixel.
"""
import os

# Numba's OpenMP workers spin-wait between kernels and steal the cores OpenBLAS needs for the
# GEMM that follows: passive waiting made a conv layer about a third faster (benchmarks/).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from numba import njit, prange  # noqa: E402

from .reference import output_size


@njit(parallel=True, cache=True)
def _im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, pad_value, cols):
    n_images, channels, height, width = x.shape
    for n in prange(n_images):
        for y in range(oh):
            for x_ in range(ow):
                row = (n * oh + y) * ow + x_
                for c in range(channels):
                    for i in range(kh):
                        h = y * sh - ph + i * dh
                        for j in range(kw):
                            w = x_ * sw - pw + j * dw
                            col = (c * kh + i) * kw + j
                            if 0 <= h < height and 0 <= w < width:
                                cols[row, col] = x[n, c, h, w]
                            else:
                                cols[row, col] = pad_value


@njit(parallel=True, cache=True)
def _col2im(cols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out):
    n_images, channels, height, width = out.shape
    for n in prange(n_images):
        for y in range(oh):
            for x_ in range(ow):
                row = (n * oh + y) * ow + x_
                for c in range(channels):
                    for i in range(kh):
                        h = y * sh - ph + i * dh
                        if h < 0 or h >= height:
                            continue
                        for j in range(kw):
                            w = x_ * sw - pw + j * dw
                            if 0 <= w < width:
                                out[n, c, h, w] += cols[row, (c * kh + i) * kw + j]


def im2col(x, kernel, stride, padding, dilation, pad_value=0.0, out=None):
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, c, h, w = x.shape
    oh, ow = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    cols = np.empty((n * oh * ow, c * kh * kw), dtype=x.dtype) if out is None else out
    _im2col(np.ascontiguousarray(x), kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, x.dtype.type(pad_value), cols)
    return cols


def col2im(cols, shape, kernel, stride, padding, dilation):
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    oh, ow = output_size(shape[2], kh, sh, ph, dh), output_size(shape[3], kw, sw, pw, dw)
    out = np.zeros(shape, dtype=cols.dtype)
    _col2im(np.ascontiguousarray(cols), kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out)
    return out
