"""im2col and col2im: the reference the fast kernels (minigrad/fast/) are tested against.

im2col turns every receptive field of a batch of images into one row of a matrix, so that a
convolution of the whole batch becomes a single matrix product (cols times the weights
reshaped to (KH·KW·C, F)):

    x (N, C, H, W)  ->  cols (N·OH·OW, KH·KW·C)      one row per receptive field
    row     (n, oy, ox)     = the image and output position
    column  (i, j, c)       = the kernel tap and the channel; the entry is the input value
                              x[n, c, oy·sh - ph + i·dh, ox·sw - pw + j·dw]
                              (pad_value where that falls in the padding)

with OH = (H + 2ph - dh·(KH-1) - 1) // sh + 1 and likewise OW (geometry.output_size).

Both functions loop over the KH·KW kernel taps (i, j). For one tap, the input positions it
reads, over all output positions (oy, ox), are a strided grid of the padded image:

    rows    i·dh, i·dh + sh, ..., i·dh + sh·(OH-1)
    columns j·dw, j·dw + sw, ..., j·dw + sw·(OW-1)

so one slice copies that tap's entry into every row of cols at once.

col2im is the adjoint (transpose) of im2col, not its inverse: it adds every entry of a
cols-shaped array back into the input position it was copied from. A pixel that sits in
several overlapping windows receives the sum of their values, which is exactly the backward
pass of im2col (the gradient of a copied value is the sum of the gradients of its copies).
"""
from ..backend import get_array_module
from ..tensor import Function, Tensor
from .geometry import output_size


def _tap(i, j, oh, ow, stride, dilation):
    """The slice of the padded image that kernel tap (i, j) reads, for every output position."""
    (sh, sw), (dh, dw) = stride, dilation
    return (slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
            slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))


def im2col(x, kernel, stride, padding, dilation=(1, 1), pad_value=0.0):
    """x (N, C, H, W) -> cols (N·OH·OW, KH·KW·C)."""
    xp = get_array_module(x)
    (kh, kw), (ph, pw) = kernel, padding
    n, c, h, w = x.shape
    oh, ow = output_size(h, kh, stride[0], ph, dilation[0]), output_size(w, kw, stride[1], pw, dilation[1])
    padded = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    cols = xp.empty((n, oh, ow, kh, kw, c), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            rows, columns = _tap(i, j, oh, ow, stride, dilation)
            cols[:, :, :, i, j, :] = padded[:, :, rows, columns].transpose(0, 2, 3, 1)  # (N, OH, OW, C)
    return cols.reshape(n * oh * ow, kh * kw * c)


def col2im(cols, shape, kernel, stride, padding, dilation=(1, 1)):
    """cols (N·OH·OW, KH·KW·C) -> the image-shaped sum (N, C, H, W): the adjoint of im2col."""
    xp = get_array_module(cols)
    (kh, kw), (ph, pw) = kernel, padding
    n, c, h, w = shape
    oh, ow = output_size(h, kh, stride[0], ph, dilation[0]), output_size(w, kw, stride[1], pw, dilation[1])
    cols = cols.reshape(n, oh, ow, kh, kw, c)
    padded = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            rows, columns = _tap(i, j, oh, ow, stride, dilation)
            padded[:, :, rows, columns] += cols[:, :, :, i, j, :].transpose(0, 3, 1, 2)  # (N, C, OH, OW)
    return padded[:, :, ph:ph + h, pw:pw + w]


class Im2col(Function):
    """im2col as an op, for backward passes that are themselves differentiated
    (create_graph=True). It is linear, so its backward is its adjoint: col2im."""

    def forward(self, x, geometry=None):
        self.shape, self.geometry = x.shape, geometry
        return im2col(x, *geometry)

    def backward(self, g):
        return fold(g, self.shape, self.geometry)


class Col2im(Function):
    """col2im as an op; its adjoint, and so its backward, is im2col."""

    def forward(self, cols, shape=None, geometry=None):
        self.geometry = geometry
        return col2im(cols, shape, *geometry)

    def backward(self, g):
        return unfold(g, self.geometry)


def unfold(x, geometry):
    """im2col of an array, or of a tensor as the Im2col op (PyTorch's name: unfold), with
    geometry = (kernel, stride, padding, dilation)."""
    return Im2col.apply(x, geometry=geometry) if isinstance(x, Tensor) else im2col(x, *geometry)


def fold(cols, shape, geometry):
    """col2im of an array, or of a tensor as the Col2im op (PyTorch's name: fold)."""
    return Col2im.apply(cols, shape=shape, geometry=geometry) if isinstance(cols, Tensor) else col2im(cols, shape, *geometry)
