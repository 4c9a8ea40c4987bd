"""2-D convolution (cross-correlation, as in every deep-learning library) over NCHW tensors."""
import os

from .. import workspace
from ..backend import get_array_module, is_cupy_array
from ..tensor import Function
from .im2col import col2im, im2col, numba_available, output_size


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

    Forward as one matrix product. With X = im2col(x) (C·KH·KW, N·OH·OW), one receptive
    field per column (image n's fields are the block X_n of columns), and Wm = w reshaped to
    (F, C·KH·KW):
        Y = Wm X + b                     (F, N·OH·OW)  — block n of Y is image n of y

    Backward, from the matrix-product rule (dA = G Bᵀ, dB = Aᵀ G) with G = dL/dY
    (dL/dy with its N and F axes swapped, the layout of Y):
        dWm = G Xᵀ                       (F, C·KH·KW)  — every position where a weight was used
        db  = Σ_columns G                (F,)          — the bias is added at every position
        dX  = Wmᵀ G,  dx = col2im(dX)    (N, C, H, W)  — col2im adds each window's gradient
                                                         back into the pixels it came from.
    Written per pixel, dx is the *full* correlation of dL/dy (dilated by the stride, padded
    by KH-1-ph) with the kernel rotated by 180° and its F/C axes swapped, i.e. a transposed
    convolution; col2im computes exactly that sum without building the rotated kernel.

    Memory: the column matrix is KH·KW times the size of x, so a large one is not kept for
    the backward pass. Both passes walk the batch a few images at a time
    (``chunk`` images whose columns fit in a few MB, i.e. in the CPU's cache; the products
    above then run per chunk and dWm sums over the chunks) and backward rebuilds each chunk's
    columns from x, which costs one more im2col and saves the whole batch's columns. A batch
    whose whole column matrix is small (keep_bytes) keeps it instead, and skips that im2col.

    Few input channels (C·KH·KW <= direct_max_rows, stride and dilation 1, on the CPU with
    Numba): the same three sums are computed by direct loops (conv_direct_numba.py), without
    the column matrix, which for a first layer is 25-75 copies of a thin image that the
    products can only stream through. ``impl="direct"`` asks for that path, an im2col
    implementation's name ("numpy", "numba", "cupy") for the matrix one.
    """

    #: Bytes of column matrix per chunk on the CPU; the GPU takes the whole batch at once.
    chunk_bytes = 8 << 20
    #: Column matrices up to this size are kept from forward to backward instead of rebuilt.
    keep_bytes = 16 << 20
    keep_bytes_gpu = 1 << 30
    #: Direct loops up to this many rows of the column matrix (C·KH·KW). Measured on a 2-core
    #: Xeon, forward and dW: 3.5x faster than im2col for LeNet's first layer (25 rows), 2.2x
    #: for the CIFAR net's (75); 1.3x slower for LeNet's second layer (150).
    direct_max_rows = 100

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
        self.direct = self._use_direct(x, w, impl)
        if self.direct:
            from .conv_direct_numba import conv_forward
            y, x_padded = conv_forward(x, w, b, (ph, pw))
            self.x_shape, self.w = x.shape, w
            self.x_padded = x_padded if self.needs_input_grad[1] else None  # only dW reads it
            if not any(self.needs_input_grad):
                self.release()
            return y
        self.x, self.w, self.impl = xp.ascontiguousarray(x), w, impl
        filters, positions = w.shape[0], oh * ow
        w_matrix = w.reshape(filters, -1)
        y = xp.empty((n, filters, positions), dtype=x.dtype)
        bias = xp.zeros((filters, 1), dtype=x.dtype) if b is None else b[:, None]
        for images, cols in self._columns_by_chunk(keep=self.needs_input_grad[1]):
            y_chunk = xp.matmul(w_matrix, cols)  # (F, B·OH·OW): the chunk's images side by side
            # back to NCHW, adding the bias on the way (one pass over y instead of two)
            xp.add(y_chunk.reshape(filters, -1, positions).transpose(1, 0, 2), bias, out=y[images])
        if not any(self.needs_input_grad):
            self.release()
        return y.reshape(n, filters, oh, ow)

    def _use_direct(self, x, w, impl):
        (kh, kw), stride, _, dilation = self.geometry
        fits = stride == (1, 1) and dilation == (1, 1) and not is_cupy_array(x)
        if impl == "direct":
            if not fits:
                raise ValueError(f"conv2d: the direct implementation needs stride 1 and dilation 1 on the CPU, "
                                 f"got stride {stride}, dilation {dilation}, {type(x).__module__} array")
            return True
        return (fits and impl is None and not os.environ.get("MINIGRAD_IM2COL") and numba_available()
                and x.shape[1] * kh * kw <= self.direct_max_rows)

    def backward(self, g):
        dx, dw = self._direct_grads(g) if self.direct else self._matrix_grads(g)
        if len(self.needs_input_grad) == 2:
            return dx, dw
        return dx, dw, (g.sum(axis=(0, 2, 3)) if self.needs_input_grad[2] else None)

    def _matrix_grads(self, g):
        """dx and dW from the column matrices (the products of the docstring), chunk by chunk."""
        xp = get_array_module(g)
        filters = self.w.shape[0]
        g = g.reshape(len(g), filters, -1)  # (N, F, OH·OW)
        w_matrix = self.w.reshape(filters, -1)
        need_dx, need_dw = self.needs_input_grad[:2]
        dx = xp.empty_like(self.x) if need_dx else None
        dw = xp.zeros(w_matrix.shape, dtype=g.dtype) if need_dw else None
        for images, cols in self._columns_by_chunk(build=need_dw):
            g_chunk = g[images].transpose(1, 0, 2).reshape(filters, -1)  # G for the chunk, (F, B·OH·OW)
            if need_dw:  # G Xᵀ, as (X Gᵀ)ᵀ: OpenBLAS runs this orientation 1.5-2x faster here
                dw += xp.matmul(cols, g_chunk.T).T
            if need_dx:  # the first layer's input needs none: skip the work
                size = images.stop - images.start
                dcols = xp.matmul(w_matrix.T, g_chunk)
                col2im(dcols, (size,) + self.x.shape[1:], *self.geometry, impl=self.impl, out=dx[images])
        workspace.give(self.__dict__.pop("column_buffer", None))
        return dx, None if dw is None else dw.reshape(self.w.shape)

    def _direct_grads(self, g):
        """dx and dW from the direct loops (conv_direct_numba.py)."""
        from .conv_direct_numba import conv_input_grad, conv_weight_grad

        padding = self.geometry[2]
        dx = conv_input_grad(g, self.w, self.x_shape, padding) if self.needs_input_grad[0] else None
        dw = conv_weight_grad(self.x_padded, g, self.w.shape) if self.needs_input_grad[1] else None
        return dx, dw

    def _columns_by_chunk(self, build=True, keep=False):
        """Yield (slice of images, their column matrix (C·KH·KW, B·OH·OW)) over the batch, B
        images at a time with B chosen so that a chunk's columns fit in chunk_bytes (the GPU
        takes the whole batch). The columns live in one reused buffer, overwritten chunk after
        chunk; with build=False only the slices are yielded. keep=True (forward, when dW will
        be needed) builds the whole batch's columns at once if they fit in keep_bytes and keeps
        them for backward, which then yields them again instead of rebuilding."""
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.geometry
        n, channels, h, w = self.x.shape
        rows, positions = channels * kh * kw, output_size(h, kh, sh, ph, dh) * output_size(w, kw, sw, pw, dw)
        if getattr(self, "column_buffer", None) is not None:  # kept by the forward pass: the whole batch's
            yield slice(0, n), self.column_buffer.reshape(rows, n * positions)
            return
        per_image = rows * positions * self.x.dtype.itemsize
        on_gpu = is_cupy_array(self.x)
        keep = keep and build and n * per_image <= (self.keep_bytes_gpu if on_gpu else self.keep_bytes)
        chunk = n if on_gpu or keep else max(1, min(n, self.chunk_bytes // per_image))
        xp = get_array_module(self.x)
        buffer = workspace.take((rows * chunk * positions,), self.x.dtype, xp) if build else None
        try:
            for start in range(0, n, chunk):
                images = slice(start, min(start + chunk, n))
                cols = None
                if build:  # the first rows·B·positions entries of the buffer, as a matrix
                    size = images.stop - start
                    out = buffer[:rows * size * positions].reshape(rows, size * positions)
                    cols = im2col(self.x[images], *self.geometry, impl=self.impl, out=out)
                yield images, cols
        finally:
            if keep:  # backward gives the buffer back
                self.column_buffer = buffer
            else:
                workspace.give(buffer)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, impl=None):
    """Apply a 2-D convolution; see Conv2d for the math. ``impl`` pins the implementation:
    "direct" (loops, conv_direct_numba.py) or an im2col one ("numpy", "numba", "cupy")."""
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*inputs, stride=stride, padding=padding, dilation=dilation, impl=impl)
