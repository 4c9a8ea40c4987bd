"""im2col and col2im as Numba loops: the same maps as reference.py, compiled and parallel.

The loops spell out the index arithmetic of reference.py's docstring directly, one kernel
tap (c, i, j) at a time: for each output row y the tap reads input row y·sh - ph + i·dh, and
along that row the innermost loop is a plain strided copy (contiguous for stride 1) between
flat views of one image and its column matrix, with the output columns that fall in the
padding worked out once per tap rather than tested per element. Both maps run their parallel loop over images, so no two threads ever write to the
same place (col2im adds into an image only from that image's columns).
"""
import os

# Numba's OpenMP workers spin-wait between kernels and steal the cores OpenBLAS needs for the
# GEMM that follows: passive waiting made a conv layer about a third faster (benchmarks/).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
from numba import njit, prange  # noqa: E402

from .reference import output_size


# Numba treats a signed index as Python does: a negative one counts from the end, so it tests
# every computed index for a sign before using it, and that test kept these copy loops from
# being vectorised (im2col and col2im ran 2.5-4x slower). The flat offsets below are never
# negative, and an unsigned index skips the test.
index = np.uint64


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
    columns = cols.reshape(-1)  # flat: cols[row, (n·OH + y)·OW + x] = columns[(row·N + n)·OH·OW + y·OW + x]
    for n in prange(n_images):
        image = x[n].reshape(-1)  # flat: x[n, c, h, w] = image[(c·H + h)·W + w]
        for c in range(channels):
            for i in range(kh):
                y_lo, y_hi = _inside(i * dh - ph, sh, height, oh)
                for j in range(kw):
                    row = (c * kh + i) * kw + j
                    x_lo, x_hi = _inside(j * dw - pw, sw, width, ow)
                    for y in range(oh):
                        dst = ((row * n_images + n) * oh + y) * ow  # cols[row, (n, y, x)] = columns[dst + x]
                        if y < y_lo or y >= y_hi:  # this whole output row reads the padding
                            for x_ in range(ow):
                                columns[index(dst + x_)] = pad_value
                            continue
                        # x[n, c, h, x·sw + j·dw - pw] = image[src + x·sw], h = y·sh - ph + i·dh
                        src = (c * height + y * sh - ph + i * dh) * width + j * dw - pw
                        for x_ in range(x_lo):
                            columns[index(dst + x_)] = pad_value
                        for x_ in range(x_lo, x_hi):
                            columns[index(dst + x_)] = image[index(src + x_ * sw)]
                        for x_ in range(x_hi, ow):
                            columns[index(dst + x_)] = pad_value


@njit(parallel=True, cache=True)
def _col2im(cols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out):
    n_images, channels, height, width = out.shape
    columns = cols.reshape(-1)
    for n in prange(n_images):
        image = out[n].reshape(-1)
        image[:] = 0
        for c in range(channels):
            for i in range(kh):
                y_lo, y_hi = _inside(i * dh - ph, sh, height, oh)
                for j in range(kw):
                    row = (c * kh + i) * kw + j
                    x_lo, x_hi = _inside(j * dw - pw, sw, width, ow)
                    for y in range(y_lo, y_hi):
                        dst = ((row * n_images + n) * oh + y) * ow
                        src = (c * height + y * sh - ph + i * dh) * width + j * dw - pw
                        for x_ in range(x_lo, x_hi):
                            image[index(src + x_ * sw)] += columns[index(dst + x_)]


def _check_out(out):
    if not out.flags.c_contiguous:  # the kernels index it through a flat view
        raise ValueError(f"im2col/col2im: out must be C-contiguous, got strides {out.strides} for shape {out.shape}")
    return out


def im2col(x, kernel, stride, padding, dilation, pad_value=0.0, out=None):
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, c, h, w = x.shape
    oh, ow = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    cols = np.empty((c * kh * kw, n * oh * ow), dtype=x.dtype) if out is None else _check_out(out)
    _im2col(np.ascontiguousarray(x), kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, x.dtype.type(pad_value), cols)
    return cols


def col2im(cols, shape, kernel, stride, padding, dilation, out=None):
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    oh, ow = output_size(shape[2], kh, sh, ph, dh), output_size(shape[3], kw, sw, pw, dw)
    out = np.empty(shape, dtype=cols.dtype) if out is None else _check_out(out)
    _col2im(np.ascontiguousarray(cols), kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out)
    return out
