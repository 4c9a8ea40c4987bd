"""2-D convolution (cross-correlation, as in every deep-learning library) over NCHW tensors."""
from .. import workspace
from ..backend import get_array_module, is_cupy_array
from ..tensor import Function
from .im2col import col2im, im2col, output_size


def pair(value, name="argument"):
    """3 -> (3, 3); (2, 3) -> (2, 3)."""
    if isinstance(value, int):
        return (value, value)
    value = tuple(value)
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair, got {value}")
    return value


class Conv2d(Function):
    """y[n, f, oy, ox] = b[f] + Σ_{c,i,j} w[f, c, i, j] · x[n, c, oy·sh - ph + i·dh, ox·sw - pw + j·dw]

    Shapes: x (N, C, H, W), w (F, C, KH, KW), b (F,), y (N, F, OH, OW) with
    OH = (H + 2ph - dh(KH-1) - 1) // sh + 1 and OW likewise (rounded down, as in PyTorch).

    Forward as a matrix product per image. With X_n = im2col(x)[n] (C·KH·KW, OH·OW), one
    receptive field per column, and Wm = w reshaped to (F, C·KH·KW):
        Y_n = Wm X_n + b                 (F, OH·OW)  — already image n of y, in NCHW order

    Backward, from the matrix-product rule (dA = G Bᵀ, dB = Aᵀ G) with G_n = dL/dY_n:
        dWm = Σ_n G_n X_nᵀ               (F, C·KH·KW)  — every position where a weight was used
        db  = Σ_n Σ_columns G_n          (F,)          — the bias is added at every position
        dX_n = Wmᵀ G_n,  dx = col2im(dX) (N, C, H, W)  — col2im adds each window's gradient
                                                         back into the pixels it came from.
    Written per pixel, dx is the *full* correlation of dL/dy (dilated by the stride, padded
    by KH-1-ph) with the kernel rotated by 180° and its F/C axes swapped, i.e. a transposed
    convolution; col2im computes exactly that sum without building the rotated kernel.

    Memory: the column matrices are KH·KW times the size of x, so they are not kept for the
    backward pass. Both passes walk the batch a few images at a time (``chunk`` images whose
    columns fit in a few MB, i.e. in the CPU's cache) and backward rebuilds each chunk's
    columns from x, which costs one more im2col and saves the whole batch's columns.
    """

    #: Bytes of column matrix per chunk on the CPU; the GPU takes the whole batch at once.
    chunk_bytes = 4 << 20

    def forward(self, x, w, b=None, stride=1, padding=0, dilation=1, impl=None):
        if x.ndim != 4 or w.ndim != 4:
            raise ValueError(f"conv2d: expected input (N, C, H, W) and weight (F, C, KH, KW), got shapes {x.shape} and {w.shape}")
        if x.shape[1] != w.shape[1]:
            raise ValueError(f"conv2d: input shape {x.shape} has {x.shape[1]} channels but weight shape {w.shape} expects {w.shape[1]}")
        if b is not None and b.shape != (w.shape[0],):
            raise ValueError(f"conv2d: bias shape {b.shape} does not match weight shape {w.shape} ({w.shape[0]} filters)")
        self.geometry = (w.shape[2:], pair(stride, "stride"), pair(padding, "padding"), pair(dilation, "dilation"))
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.geometry
        n, _, h, w_ = x.shape
        oh, ow = output_size(h, kh, sh, ph, dh), output_size(w_, kw, sw, pw, dw)
        if oh < 1 or ow < 1:
            raise ValueError(f"conv2d: input shape {x.shape} is smaller than the kernel {w.shape[2:]} (with padding {(ph, pw)}, dilation {(dh, dw)})")
        xp = get_array_module(x)
        self.x, self.w, self.impl = xp.ascontiguousarray(x), w, impl
        w_matrix = w.reshape(w.shape[0], -1)
        y = xp.empty((n, w.shape[0], oh * ow), dtype=x.dtype)
        for images, cols in self._columns_by_chunk(self._chunk_shape()):
            xp.matmul(w_matrix, cols, out=y[images])
        if b is not None:
            y += b[:, None]
        if not any(self.needs_input_grad):
            self.release()
        return y.reshape(n, w.shape[0], oh, ow)

    def backward(self, g):
        xp = get_array_module(g)
        filters = self.w.shape[0]
        g = xp.ascontiguousarray(g).reshape(len(g), filters, -1)  # G_n = g[n], (F, OH·OW)
        w_matrix = self.w.reshape(filters, -1)
        need_dx, need_dw = self.needs_input_grad[:2]
        dx = xp.empty_like(self.x) if need_dx else None
        dw = xp.zeros(w_matrix.shape, dtype=g.dtype) if need_dw else None
        chunk_shape = self._chunk_shape()
        dcols_buffer = workspace.take(chunk_shape, g.dtype, xp) if need_dx else None
        for images, cols in self._columns_by_chunk(chunk_shape, build=need_dw):
            if need_dw:  # Σ_n G_n X_nᵀ, one product per image, summed over the chunk
                dw += xp.matmul(g[images], cols.transpose(0, 2, 1)).sum(axis=0)
            if need_dx:  # the first layer's input needs none: skip the work
                size = images.stop - images.start
                dcols = xp.matmul(w_matrix.T, g[images], out=dcols_buffer[:size])
                col2im(dcols, (size,) + self.x.shape[1:], *self.geometry, impl=self.impl, out=dx[images])
        workspace.give(dcols_buffer)
        if need_dw:
            dw = dw.reshape(self.w.shape)
        if len(self.needs_input_grad) == 2:
            return dx, dw
        db = g.sum(axis=(0, 2)) if self.needs_input_grad[2] else None
        return dx, dw, db

    def _chunk_shape(self):
        """(B, C·KH·KW, OH·OW): the column matrices of B images, B chosen to fit chunk_bytes."""
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.geometry
        n, channels, h, w = self.x.shape
        rows, columns = channels * kh * kw, output_size(h, kh, sh, ph, dh) * output_size(w, kw, sw, pw, dw)
        chunk = n if is_cupy_array(self.x) else max(1, min(n, self.chunk_bytes // (rows * columns * self.x.dtype.itemsize)))
        return chunk, rows, columns

    def _columns_by_chunk(self, shape, build=True):
        """Yield (slice of images, their column matrices) over the batch, one chunk of
        ``shape`` (from _chunk_shape) at a time. The columns live in one reused buffer,
        overwritten chunk after chunk; with build=False only the slices are yielded."""
        xp = get_array_module(self.x)
        buffer = workspace.take(shape, self.x.dtype, xp) if build else None
        try:
            for start in range(0, len(self.x), shape[0]):
                images = slice(start, min(start + shape[0], len(self.x)))
                cols = None
                if build:
                    cols = im2col(self.x[images], *self.geometry, impl=self.impl, out=buffer[:images.stop - start])
                yield images, cols
        finally:
            workspace.give(buffer)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, impl=None):
    """Apply a 2-D convolution; see Conv2d for the math. ``impl`` pins an im2col implementation."""
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*inputs, stride=stride, padding=padding, dilation=dilation, impl=impl)
