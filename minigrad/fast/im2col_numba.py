"""im2col and col2im as Numba loops: the same maps as minigrad/ops/im2col.py, compiled.

The loops spell out the index arithmetic of that module's docstring directly, one image at
a time. They read a channels-last copy of the input (N, H, W, C), so that the C values of
one kernel tap, which sit side by side in a row of cols, are one contiguous run in the
source too (for stride 1 the whole kernel row is: KW·C values); for each row of cols (one
receptive field) and each kernel row i, the taps j that fall in the padding are worked out
once rather than tested per element.

Each map has two drivers over the images: a parallel one (prange; no two threads ever write
to the same place, since col2im adds into an image only from that image's rows) and a serial
one that releases the GIL, for callers that run several chunks of images on their own
threads at once (the conv layer: see parallel.py).
"""
import numpy as np
from numba import njit, prange

from ..ops.geometry import output_size


# Numba treats a signed index as Python does: a negative one counts from the end, so it tests
# every computed index for a sign before using it, and that test kept these copy loops from
# being vectorised (im2col and col2im ran 2.5-4x slower). The flat offsets below are never
# negative, and an unsigned index skips the test.
index = np.uint64


@njit(cache=True, inline="always")
def inside(offset, stride, size, n_out):
    """The o (lo <= o < hi) whose input position o·stride + offset lies in 0..size-1; the
    others read the padding. Here o is a kernel tap j: offset = x·sw - pw, stride = dw; in
    pooling.py a window's row or column (stride 1), offset the window's first."""
    lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    hi = (size - 1 - offset) // stride + 1 if size - 1 - offset >= 0 else 0
    hi = min(hi, n_out)
    return min(lo, hi), hi


@njit(cache=True)
def _im2col_image(image, height, width, channels, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, pad_value, entries, start):
    """Image n's rows of cols: image is x_last[n] flat (x[n, c, h, w] = image[(h·W + w)·C + c]),
    entries is cols flat, and the image's first row starts at entries[start]."""
    row_length = kh * kw * channels
    for y in range(oh):
        for x_ in range(ow):
            row = start + (y * ow + x_) * row_length  # where the field (y, x) starts
            w0 = x_ * sw - pw
            j_lo, j_hi = inside(w0, dw, width, kw)  # the taps j that read a real column
            for i in range(kh):
                h = y * sh - ph + i * dh
                dst = row + i * kw * channels
                if h < 0 or h >= height:  # this kernel row reads the padding
                    for k in range(kw * channels):
                        entries[index(dst + k)] = pad_value
                    continue
                for k in range(j_lo * channels):
                    entries[index(dst + k)] = pad_value
                if dw == 1:  # the taps j_lo..j_hi-1 are one contiguous run in both
                    src = (h * width + w0) * channels
                    for k in range(j_lo * channels, j_hi * channels):
                        entries[index(dst + k)] = image[index(src + k)]
                else:
                    for j in range(j_lo, j_hi):
                        src = (h * width + w0 + j * dw) * channels
                        for c in range(channels):
                            entries[index(dst + j * channels + c)] = image[index(src + c)]
                for k in range(j_hi * channels, kw * channels):
                    entries[index(dst + k)] = pad_value


@njit(cache=True)
def _col2im_image(entries, start, height, width, channels, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, image):
    """The adjoint of _im2col_image: image (out_last[n] flat) = the sum of image n's rows of
    cols, each entry added back where _im2col_image copied it from."""
    row_length = kh * kw * channels
    image[:] = 0
    for y in range(oh):
        for x_ in range(ow):
            row = start + (y * ow + x_) * row_length
            w0 = x_ * sw - pw
            j_lo, j_hi = inside(w0, dw, width, kw)
            for i in range(kh):
                h = y * sh - ph + i * dh
                if h < 0 or h >= height:
                    continue
                dst = row + i * kw * channels
                if dw == 1:
                    src = (h * width + w0) * channels
                    for k in range(j_lo * channels, j_hi * channels):
                        image[index(src + k)] += entries[index(dst + k)]
                else:
                    for j in range(j_lo, j_hi):
                        src = (h * width + w0 + j * dw) * channels
                        for c in range(channels):
                            image[index(src + c)] += entries[index(dst + j * channels + c)]


# The drivers: the same loop over images, once with prange and once serial and GIL-free. They
# are separate functions, not one function compiled twice, because Numba's on-disk cache keys
# compiled code by the function's bytecode and signature, not by options like parallel=True:
# the second compilation could load the first one's machine code.
@njit(parallel=True, cache=True)
def _im2col_parallel(x_last, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, pad_value, cols):
    n_images, height, width, channels = x_last.shape
    entries = cols.reshape(-1)
    for n in prange(n_images):
        _im2col_image(x_last[n].reshape(-1), height, width, channels, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow,
                      pad_value, entries, n * oh * ow * kh * kw * channels)


@njit(nogil=True, cache=True)
def _im2col_serial(x_last, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, pad_value, cols):
    n_images, height, width, channels = x_last.shape
    entries = cols.reshape(-1)
    for n in range(n_images):
        _im2col_image(x_last[n].reshape(-1), height, width, channels, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow,
                      pad_value, entries, n * oh * ow * kh * kw * channels)


@njit(parallel=True, cache=True)
def _col2im_parallel(cols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out_last):
    n_images, height, width, channels = out_last.shape
    entries = cols.reshape(-1)
    for n in prange(n_images):
        _col2im_image(entries, n * oh * ow * kh * kw * channels, height, width, channels, kh, kw, sh, sw, ph, pw,
                      dh, dw, oh, ow, out_last[n].reshape(-1))


@njit(nogil=True, cache=True)
def _col2im_serial(cols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out_last):
    n_images, height, width, channels = out_last.shape
    entries = cols.reshape(-1)
    for n in range(n_images):
        _col2im_image(entries, n * oh * ow * kh * kw * channels, height, width, channels, kh, kw, sh, sw, ph, pw,
                      dh, dw, oh, ow, out_last[n].reshape(-1))


def check_windows(op, size, out, kernel, stride, padding, dilation=(1, 1)):
    """Raise unless ``out`` = (OH, OW) windows fit in the padded input of ``size`` (H, W).
    The compiled loops index memory without bounds checks: a wrong size would make them read
    and write outside their arrays (heap corruption) instead of failing."""
    for axis in (0, 1):
        reach = (out[axis] - 1) * stride[axis] + dilation[axis] * (kernel[axis] - 1) + 1
        if out[axis] < 1 or reach > size[axis] + 2 * padding[axis]:
            raise ValueError(f"{op}: {out[0]}x{out[1]} windows of {kernel} (stride {stride}, padding {padding}, "
                             f"dilation {dilation}) do not fit an input of {size[0]}x{size[1]}")


def _check_matrix(op, array, shape):
    if array.shape != shape:
        raise ValueError(f"{op}: the column matrix has shape {array.shape}, expected {shape}")
    if not array.flags.c_contiguous:  # the kernels index it through a flat view
        raise ValueError(f"{op}: the column matrix must be C-contiguous, got strides {array.strides}")
    return array


def im2col(x, kernel, stride, padding, dilation, pad_value=0.0, out=None, parallel=True):
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, c, h, w = x.shape
    oh, ow = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    check_windows("im2col", (h, w), (oh, ow), kernel, stride, padding, dilation)
    cols = np.empty((n * oh * ow, kh * kw * c), dtype=x.dtype) if out is None else \
        _check_matrix("im2col", out, (n * oh * ow, kh * kw * c))
    x_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1))  # channels last: a tap's C values side by side
    kernel = _im2col_parallel if parallel else _im2col_serial
    kernel(x_last, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, x.dtype.type(pad_value), cols)
    return cols


def col2im(cols, shape, kernel, stride, padding, dilation, out=None, parallel=True):
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, c, h, w = shape
    oh, ow = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    check_windows("col2im", (h, w), (oh, ow), kernel, stride, padding, dilation)
    _check_matrix("col2im", cols.reshape(cols.shape), (n * oh * ow, kh * kw * c))
    if out is not None and out.shape != tuple(shape):
        raise ValueError(f"col2im: out has shape {out.shape}, expected {tuple(shape)}")
    out = np.empty(shape, dtype=cols.dtype) if out is None else out
    out_last = np.empty((n, h, w, c), dtype=cols.dtype)  # summed channels last, then moved into place
    kernel = _col2im_parallel if parallel else _col2im_serial
    kernel(np.ascontiguousarray(cols), kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, out_last)
    out[...] = out_last.transpose(0, 3, 1, 2)
    return out
