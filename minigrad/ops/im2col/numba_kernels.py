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


@njit(cache=True, inline="always")
def _valid_columns(x_, sw, pw, dw, kw, width):
    """The kernel columns j whose input column x_·sw - pw + j·dw lies inside the image: j_lo..j_hi-1.
    Computed once per output column, so the innermost loops below are plain copies."""
    w0 = x_ * sw - pw
    j_lo = 0
    while j_lo < kw and w0 + j_lo * dw < 0:
        j_lo += 1
    j_hi = kw
    while j_hi > j_lo and w0 + (j_hi - 1) * dw >= width:
        j_hi -= 1
    return w0, j_lo, j_hi


@njit(parallel=True, cache=True)
def _im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, pad_value, cols):
    n_images, channels, height, width = x.shape
    for n in prange(n_images):
        for y in range(oh):
            for x_ in range(ow):
                row = (n * oh + y) * ow + x_
                w0, j_lo, j_hi = _valid_columns(x_, sw, pw, dw, kw, width)
                for c in range(channels):
                    for i in range(kh):
                        h = y * sh - ph + i * dh
                        col = (c * kh + i) * kw
                        if h < 0 or h >= height:  # the whole kernel row is in the padding
                            for j in range(kw):
                                cols[row, col + j] = pad_value
                            continue
                        for j in range(j_lo):
                            cols[row, col + j] = pad_value
                        for j in range(j_lo, j_hi):
                            cols[row, col + j] = x[n, c, h, w0 + j * dw]
                        for j in range(j_hi, kw):
                            cols[row, col + j] = pad_value


@njit(parallel=True, cache=True)
def _col2im(cols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out):
    n_images, channels, height, width = out.shape
    for n in prange(n_images):
        for y in range(oh):
            for x_ in range(ow):
                row = (n * oh + y) * ow + x_
                w0, j_lo, j_hi = _valid_columns(x_, sw, pw, dw, kw, width)
                for c in range(channels):
                    for i in range(kh):
                        h = y * sh - ph + i * dh
                        if h < 0 or h >= height:
                            continue
                        col = (c * kh + i) * kw
                        for j in range(j_lo, j_hi):
                            out[n, c, h, w0 + j * dw] += cols[row, col + j]


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
