"""im2col and col2im in plain NumPy: the readable reference the fast kernels are tested against.

im2col turns every receptive field of a batch of images into one row of a matrix, so that a
convolution of the whole batch becomes a single matrix product (cols times the weights
reshaped to (KH·KW·C, F)):

    x (N, C, H, W)  ->  cols (N·OH·OW, KH·KW·C)      one row per receptive field
    row     (n, oh, ow)     = the image and output position
    column  (i, j, c)       = the kernel tap and the channel; the entry is the input value
                              x[n, c, oh·sh - ph + i·dh, ow·sw - pw + j·dw]
                              (pad_value where that falls in the padding)

with OH = (H + 2ph - dh·(KH-1) - 1) // sh + 1 (and likewise OW), rounded down as in PyTorch.
Why this layout (measured on a 2-core AVX-512 Xeon, the CIFAR net's second conv layer):
  * rows = receptive fields: OpenBLAS runs the three products of a conv layer 1.2-1.3x faster
    with the big matrix stored this way round (the field's values contiguous) than with one
    column per field;
  * channels innermost: a tap's C values are then one contiguous run of a channels-last
    (N, H, W, C) copy of the input, and the compiled kernels copy them twice as fast as the
    KW-long runs the (c, i, j) order would copy.
One matrix for the batch (not one per image) makes the convolution one large matrix product
instead of N small ones, which BLAS runs several times faster on two threads.

col2im is its adjoint (transpose), not its inverse: it adds every entry of a cols-shaped
array back into the input position it was copied from. An input pixel that sits in several
overlapping windows receives the sum of their values — which is exactly the backward pass
of im2col (the gradient of a copied value is the sum of the gradients of its copies).
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def output_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def im2col(x, kernel, stride, padding, dilation, pad_value=0.0, out=None, parallel=True):  # parallel: unused
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, c, h, w = x.shape
    oh, ow = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    # windows[n, c, y, x, i, j] = padded[n, c, y + i, x + j] for the dilated kernel extent
    windows = sliding_window_view(padded, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    windows = windows[:, :, ::sh, ::sw, ::dh, ::dw][:, :, :oh, :ow]  # (N, C, OH, OW, KH, KW)
    cols = windows.transpose(0, 2, 3, 4, 5, 1).reshape(n * oh * ow, kh * kw * c)
    if out is not None:
        out[...] = cols
        return out
    return cols


def col2im(cols, shape, kernel, stride, padding, dilation, out=None, parallel=True):  # parallel: unused
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, c, h, w = shape
    oh, ow = output_size(h, kh, sh, ph, dh), output_size(w, kw, sw, pw, dw)
    cols = cols.reshape(n, oh, ow, kh, kw, c).transpose(0, 5, 3, 4, 1, 2)  # (N, C, KH, KW, OH, OW)
    padded = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):  # kernel offset (i, j) touches a strided grid of input positions
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            columns = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            padded[:, :, rows, columns] += cols[:, :, i, j]
    image = padded[:, :, ph:ph + h, pw:pw + w]
    if out is not None:
        out[...] = image
        return out
    return image
