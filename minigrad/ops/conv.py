"""2-D convolution (cross-correlation, as in every deep-learning library) over NCHW tensors."""
import os

from .. import parallel, workspace
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

    Forward as one matrix product. With X = im2col(x) (N·OH·OW, KH·KW·C), one receptive
    field per row (image n's fields are the block X_n of rows, entries in (i, j, c) order),
    and Wm = w with its axes ordered (F, KH, KW, C) to match, reshaped to (F, KH·KW·C):
        Yᵀ = X Wmᵀ + b                   (N·OH·OW, F)  — block n of Yᵀ is image n of y, transposed

    Backward, from the matrix-product rule (for P = A B: dA = G Bᵀ, dB = Aᵀ G) with
    Gᵀ = dL/dYᵀ (dL/dy with its F axis moved last, the layout of Yᵀ):
        dWm = G X = (Xᵀ Gᵀ)ᵀ             (F, KH·KW·C)  — every position where a weight was used
        db  = Σ_rows Gᵀ                  (F,)          — the bias is added at every position
        dX  = Gᵀ Wm,  dx = col2im(dX)    (N, C, H, W)  — col2im adds each window's gradient
                                                         back into the pixels it came from.
    Written per pixel, dx is the *full* correlation of dL/dy (dilated by the stride, padded
    by KH-1-ph) with the kernel rotated by 180° and its F/C axes swapped, i.e. a transposed
    convolution; col2im computes exactly that sum without building the rotated kernel.

    Memory: the column matrix is KH·KW times the size of x, so a large one is not kept for
    the backward pass. Both passes walk the batch a few images at a time (chunks whose
    columns fit in a few MB; the products above then run per chunk and dWm sums over the
    chunks), each core taking its own chunks start to finish (parallel.py), and backward
    rebuilds each chunk's columns from x, which costs one more im2col and saves the whole
    batch's columns. A batch whose whole column matrix is small (keep_bytes) keeps it
    instead, and skips that im2col.

    Few input channels (C·KH·KW <= direct_max_field, stride and dilation 1, on the CPU with
    Numba): the same three sums are computed by direct loops (conv_direct_numba.py), without
    the column matrix, which for a first layer is 25-75 copies of a thin image that the
    products can only stream through. ``impl="direct"`` asks for that path, an im2col
    implementation's name ("numpy", "numba", "cupy") for the matrix one.
    """

    #: Bytes of column matrix per chunk on the CPU (at most); the GPU takes the whole batch at once.
    chunk_bytes = 4 << 20
    #: Column matrices up to this size are kept from forward to backward instead of rebuilt.
    keep_bytes = 16 << 20
    keep_bytes_gpu = 1 << 30
    #: Direct loops up to this many values per receptive field (C·KH·KW). Measured on a 2-core
    #: Xeon, forward and dW: 3.5x faster than im2col for LeNet's first layer (25 values), 2.2x
    #: for the CIFAR net's (75); 1.3x slower for LeNet's second layer (150).
    direct_max_field = 100

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
        w_matrix = self._weight_matrix(w)
        y = xp.empty((n, filters, positions), dtype=x.dtype)
        bias = xp.zeros((filters, 1), dtype=x.dtype) if b is None else b[:, None]

        def forward_chunk(images, cols, parallel_kernels):
            y_rows = xp.matmul(cols, w_matrix.T)  # (B·OH·OW, F): a row per output position of the chunk
            # back to NCHW, adding the bias on the way (one pass over y instead of two)
            xp.add(y_rows.reshape(-1, positions, filters).transpose(0, 2, 1), bias, out=y[images])

        self._for_each_chunk(forward_chunk, keep=self.needs_input_grad[1])
        if not any(self.needs_input_grad):
            self.release()
        return y.reshape(n, filters, oh, ow)

    @staticmethod
    def _weight_matrix(w):
        """w (F, C, KH, KW) as Wm (F, KH·KW·C): its columns in the (i, j, c) order of im2col's."""
        return w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1)

    def _use_direct(self, x, w, impl):
        (kh, kw), stride, _, dilation = self.geometry
        fits = stride == (1, 1) and dilation == (1, 1) and not is_cupy_array(x)
        if impl == "direct":
            if not fits:
                raise ValueError(f"conv2d: the direct implementation needs stride 1 and dilation 1 on the CPU, "
                                 f"got stride {stride}, dilation {dilation}, {type(x).__module__} array")
            return True
        return (fits and impl is None and not os.environ.get("MINIGRAD_IM2COL") and numba_available()
                and x.shape[1] * kh * kw <= self.direct_max_field)

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
        w_matrix = self._weight_matrix(self.w)
        need_dx, need_dw = self.needs_input_grad[:2]
        dx = xp.empty_like(self.x) if need_dx else None

        def backward_chunk(images, cols, parallel_kernels):
            g_rows = g[images].transpose(0, 2, 1).reshape(-1, filters)  # Gᵀ for the chunk, (B·OH·OW, F)
            if need_dx:  # the first layer's input needs none: skip the work
                size = images.stop - images.start
                dcols = xp.matmul(g_rows, w_matrix)
                col2im(dcols, (size,) + self.x.shape[1:], *self.geometry, impl=self.impl, out=dx[images],
                       parallel=parallel_kernels)
            if need_dw:  # the chunk's share of G X, as (Xᵀ Gᵀ)ᵀ: OpenBLAS runs this orientation 1.3x faster here
                return xp.matmul(cols.T, g_rows)

        shares = self._for_each_chunk(backward_chunk, build=need_dw)
        workspace.give(self.__dict__.pop("column_buffer", None))
        if not need_dw:
            return dx, None
        dw_t = shares[0]
        for share in shares[1:]:  # in chunk order, whichever thread finished first: reproducible
            dw_t += share
        f, c, kh, kw = self.w.shape
        return dx, dw_t.T.reshape(f, kh, kw, c).transpose(0, 3, 1, 2)  # back from (i, j, c) to (c, i, j)

    def _direct_grads(self, g):
        """dx and dW from the direct loops (conv_direct_numba.py)."""
        from .conv_direct_numba import conv_input_grad, conv_weight_grad

        padding = self.geometry[2]
        dx = conv_input_grad(g, self.w, self.x_shape, padding) if self.needs_input_grad[0] else None
        dw = conv_weight_grad(self.x_padded, g, self.w.shape) if self.needs_input_grad[1] else None
        return dx, dw

    def _for_each_chunk(self, work, build=True, keep=False):
        """Call work(images, cols, parallel_kernels) for every chunk of the batch, where images
        is a slice of B images and cols their column matrix (B·OH·OW, KH·KW·C), and return
        the results in chunk order. B is chosen so that a chunk's columns fit in chunk_bytes
        (the GPU takes the whole batch), in a number of chunks that the workers share evenly.
        With build=False cols is None.

        On the CPU the chunks are shared among parallel.workers() threads, one per core,
        chunk k going to worker k mod W: each worker builds its chunks' columns in its own
        reused buffer and runs work on them with a single-threaded BLAS (parallel.py says
        why). parallel_kernels tells work whether its own kernels may use every core (one
        worker) or must stay on this one.

        keep=True (forward, when dW will be needed) writes the whole batch's columns into one
        buffer if they fit in keep_bytes and keeps it for backward, whose chunks then read
        their rows of it instead of rebuilding them."""
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.geometry
        n, channels, h, w = self.x.shape
        field, positions = kh * kw * channels, output_size(h, kh, sh, ph, dh) * output_size(w, kw, sw, pw, dw)
        per_image = field * positions * self.x.dtype.itemsize
        on_gpu = is_cupy_array(self.x)
        xp = get_array_module(self.x)
        kept = getattr(self, "column_buffer", None)  # the forward pass's, if it kept them
        keep = kept is None and keep and build and n * per_image <= (self.keep_bytes_gpu if on_gpu else self.keep_bytes)
        count = 1 if on_gpu else min(n, -(-n * per_image // self.chunk_bytes))  # chunks of at most chunk_bytes
        workers = 1 if on_gpu else min(count, parallel.workers())
        count = min(n, -(-count // workers) * workers)  # a multiple of the workers: they finish together
        bounds = [n * k // count for k in range(count + 1)]  # chunk sizes differ by one image at most
        chunks = [slice(start, stop) for start, stop in zip(bounds, bounds[1:])]
        chunk = -(-n // count)  # the largest
        if keep:
            kept = workspace.take((n * positions * field,), self.x.dtype, xp)
        own_buffers = build and kept is None
        buffers = [workspace.take((chunk * positions * field,), self.x.dtype, xp) for _ in range(workers)] if own_buffers else []
        results = [None] * len(chunks)

        def run(worker):
            for k in range(worker, len(chunks), workers):
                images = chunks[k]
                size = (images.stop - images.start) * positions * field
                cols = None
                if kept is not None:  # this chunk's rows of the whole batch's matrix
                    cols = kept[images.start * positions * field:][:size].reshape(-1, field)
                    if keep:
                        im2col(self.x[images], *self.geometry, impl=self.impl, out=cols, parallel=workers == 1)
                elif build:  # the first B·positions·field entries of this worker's buffer
                    out = buffers[worker][:size].reshape(-1, field)
                    cols = im2col(self.x[images], *self.geometry, impl=self.impl, out=out, parallel=workers == 1)
                results[k] = work(images, cols, workers == 1)

        try:
            parallel.run_on_workers(run, workers)
        finally:
            if keep:  # backward gives it back
                self.column_buffer = kept
            for buffer in buffers:
                workspace.give(buffer)
        return results


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, impl=None):
    """Apply a 2-D convolution; see Conv2d for the math. ``impl`` pins the implementation:
    "direct" (loops, conv_direct_numba.py) or an im2col one ("numpy", "numba", "cupy")."""
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*inputs, stride=stride, padding=padding, dilation=dilation, impl=impl)
