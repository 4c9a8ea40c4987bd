"""im2col and col2im as Numba loops: the same maps as reference.py, compiled and parallel.

The loops spell out the index arithmetic of reference.py's docstring directly, one kernel
tap (c, i, j) at a time: for each output row y the tap reads input row y·sh - ph + i·dh, and
along that row the innermost loop is a plain strided copy (contiguous for stride 1), with
the output columns that fall in the padding worked out once per tap rather than tested per
element. Both maps run their parallel loop over images, so no two threads ever write to the
same place (col2im adds into an image only from that image's columns).
"""
import os

# Numba's OpenMP workers spin-wait between kernels and steal the cores OpenBLAS needs for the
# GEMM that follows: passive waiting made a conv layer about a third faster (benchmarks/).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from numba import njit, prange  # noqa: E402

from .reference import output_size


@njit(cache=True, inline="always")
def _inside(offset, stride, size, n_out):
    """The output positions o (lo <= o < hi) whose input position o·stride + offset lies in
    0..size-1; the others read the padding."""
    lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    hi = (size - 1 - offset) // stride + 1 if size - 1 - offset >= 0 else 0
    hi = min(hi, n_out)
    return min(lo, hi), hi


@njit(parallel=True, cache=True)
def _im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, pad_value, cols):
    n_images, channels, height, width = x.shape
    for n in prange(n_images):
        for c in range(channels):
            for i in range(kh):
                y_lo, y_hi = _inside(i * dh - ph, sh, height, oh)
                for j in range(kw):
                    row = (c * kh + i) * kw + j
                    x_lo, x_hi = _inside(j * dw - pw, sw, width, ow)
                    for y in range(oh):
                        start = y * ow
                        if y < y_lo or y >= y_hi:  # this whole output row reads the padding
                            for x_ in range(ow):
                                cols[n, row, start + x_] = pad_value
                            continue
                        h = y * sh - ph + i * dh
                        for x_ in range(x_lo):
                            cols[n, row, start + x_] = pad_value
                        for x_ in range(x_lo, x_hi):
                            cols[n, row, start + x_] = x[n, c, h, x_ * sw - pw + j * dw]
                        for x_ in range(x_hi, ow):
                            cols[n, row, start + x_] = pad_value


@njit(parallel=True, cache=True)
def _col2im(cols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out):
    n_images, channels, height, width = out.shape
    for n in prange(n_images):
        out[n] = 0
        for c in range(channels):
            for i in range(kh):
                y_lo, y_hi = _inside(i * dh - ph, sh, height, oh)
                for j in range(kw):
                    row = (c * kh + i) * kw + j
                    x_lo, x_hi = _inside(j * dw - pw, sw, width, ow)
                    for y in range(y_lo, y_hi):
                        h = y * sh - ph + i * dh
                        start = y * ow
                        for x_ in range(x_lo, x_hi):
                            out[n, c, h, x_ * sw - pw + j * dw] += cols[n, row, start + x_]


def im2col(x, kernel, stride, padding, dilation, pad_value=0.0, out=None):
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, c, h, w = x.shape
    oh, ow = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    cols = np.empty((n, c * kh * kw, oh * ow), dtype=x.dtype) if out is None else out
    _im2col(np.ascontiguousarray(x), kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, x.dtype.type(pad_value), cols)
    return cols


def col2im(cols, shape, kernel, stride, padding, dilation, out=None):
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    oh, ow = output_size(shape[2], kh, sh, ph, dh), output_size(shape[3], kw, sw, pw, dw)
    out = np.empty(shape, dtype=cols.dtype) if out is None else out
    _col2im(np.ascontiguousarray(cols), kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out)
    return out
