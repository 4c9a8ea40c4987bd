"""The fast twin of ops/conv.py's Conv2d: the same products, computed in chunks of images on
every core, with compiled im2col/col2im, or as direct loops for layers with few channels.

Three things make it faster than the reference, each measured in benchmarks/README.md:

* Chunks of images. The column matrix is KH·KW times the size of x. Both passes walk the
  batch a few images at a time (chunks whose columns fit in ``chunk_bytes``; the products of
  the reference then run per chunk and dWm sums over the chunks), each core taking its own
  chunks start to finish (parallel.py), in column buffers reused from step to step
  (workspace.py). Backward rebuilds each chunk's columns from x, one more im2col instead of
  keeping the whole batch's columns; a batch whose column matrix fits in ``keep_bytes``
  keeps it instead and skips that im2col (on the GPU; on the CPU a rebuilt chunk, fresh in
  the core's cache, costs no more than reading a kept one back from memory).
* Compiled im2col/col2im: Numba loops on the CPU (im2col_numba.py), CUDA kernels through
  CuPy on the GPU (im2col_cupy.py; the GPU takes the whole batch as one chunk).
* Direct loops (conv_direct.py) for layers with few input channels (C·KH·KW <=
  ``direct_max_field``, stride and dilation 1, on the CPU): the same three sums without the
  column matrix, which for a first layer is 25-75 copies of a thin image that the products
  can only stream through. Somewhat larger fields (``mixed_max_field``) in small batches
  take a mixed path: the direct loops for y and dW, the column path for dx.
"""
from ..backend import get_array_module, is_cupy_array
from ..ops import conv as reference
from ..ops.geometry import output_size
from . import parallel, workspace


def _kernels(x):
    """The im2col/col2im module for this array: CuPy kernels on the GPU, Numba on the CPU."""
    if is_cupy_array(x):
        from . import im2col_cupy
        return im2col_cupy
    from . import im2col_numba
    return im2col_numba


def l2_cache_bytes(cache_dir="/sys/devices/system/cpu/cpu0/cache", default=512 << 10):
    """One core's L2 cache as Linux reports it (sysfs: "512K", "2M"), or ``default`` where it
    says nothing believable (no file, no level 2, or under 64 KB)."""
    import glob

    units = {"K": 1 << 10, "M": 1 << 20}
    for index in sorted(glob.glob(f"{cache_dir}/index*")):
        try:
            with open(f"{index}/level") as level, open(f"{index}/size") as size:
                if level.read().strip() != "2":
                    continue
                text = size.read().strip().upper()
                value = int(text[:-1]) * units[text[-1]] if text[-1:] in units else int(text)
        except (OSError, ValueError):
            continue
        if value >= 64 << 10:
            return value
    return default


class Conv2d(reference.Conv2d):
    differentiable_backward = False  # array kernels: a first-order backward only

    #: Bytes of column matrix per chunk on the CPU (at most); the GPU takes the whole batch at once.
    #: Twice a core's L2 cache: a chunk's columns, their gradient and the products' panels then
    #: stay in that core's caches while the two workers run. 4 MB chunks (the old fixed size)
    #: ran the CIFAR net's second conv layer 1.5x slower on a Zen 3 EPYC with 512 KB of L2 per core.
    chunk_bytes = 2 * l2_cache_bytes()
    #: The same without gradients (inference): half a core's L2. As fast (the forward product
    #: reads each chunk's columns once), and the column buffers take a quarter of the memory:
    #: the CIFAR net's inference step at batch 32 rose 6.6 MB above its activations with the
    #: training size, 1.7 MB with this one (PyTorch's whole step: 4-11 MB).
    inference_chunk_bytes = l2_cache_bytes() // 2
    #: Column matrices up to this size are kept from forward to backward instead of rebuilt.
    #: Nothing (0) on the CPU: keeping up to 16 MB (the CIFAR net's third layer, at batch 32 its
    #: second too) ran no faster and raised the step's peak memory by 12 MB at batch 128 and
    #: 11 MB at batch 32, above PyTorch's there.
    keep_bytes = 0
    keep_bytes_gpu = 1 << 30
    #: Direct loops up to this many values per receptive field (C·KH·KW): faster than im2col
    #: for the first layers of LeNet (25) and the CIFAR net (75).
    direct_max_field = 100
    #: Up to this many values per field, in batches of up to mixed_max_batch images,
    #: y and dW from the direct loops and dx from the column path (LeNet's second layer: 150).
    #: In a small batch the column path is mostly fixed costs (two chunks handed to two
    #: workers, the columns built for each), while the direct loops' cost grows with the
    #: batch; their dx (a read-modify-write per tap) is the slowest of the three at any size.
    #: LeNet's second layer on a 2-core Xeon, forward + backward, column path -> this: 1.58 ->
    #: 1.46 ms at batch 32, 4.43 -> 4.39 ms at 128 (medians of three alternating processes);
    #: dW alone at batch 32 0.59 -> 0.31 ms; at 512 the direct forward alone took 5.0-5.4 ms
    #: against the column path's 3.7.
    mixed_max_field = 160
    mixed_max_batch = 128

    def forward(self, x, w, b=None, stride=1, padding=0, dilation=1):
        self.geometry = reference.check_conv_inputs(x, w, b, stride, padding, dilation)
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.geometry
        n, _, h, w_ = x.shape
        oh, ow = output_size(h, kh, sh, ph, dh), output_size(w_, kw, sw, pw, dw)
        xp = get_array_module(x)
        self.path, self.w = self._path(x, w), w
        if self.path != "columns":
            from .conv_direct import conv_forward
            y, x_padded = conv_forward(x, w, b, (ph, pw))
            self.x_shape = x.shape
            self.x_padded = x_padded if self.needs_input_grad[1] else None  # only dW reads it
            if self.path == "mixed" and self.needs_input_grad[0]:
                # dx from the column path, which builds no columns: it reads only x's shape,
                # dtype and array type (the column path's helpers take them from self.x)
                self.x, self.kernels = x, _kernels(x)
            if not any(self.needs_input_grad):
                self.release()
            return y
        self.x, self.kernels = xp.ascontiguousarray(x), _kernels(x)
        filters, positions = w.shape[0], oh * ow
        w_matrix = reference.weight_matrix(w)
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

    def _path(self, x, w):
        """"direct" (the direct loops for y, dW and dx), "mixed" (the direct loops for y and dW,
        the column path for dx) or "columns" (the column path for all three)."""
        (kh, kw), stride, _, dilation = self.geometry
        if stride != (1, 1) or dilation != (1, 1) or is_cupy_array(x):
            return "columns"
        field = x.shape[1] * kh * kw
        if field <= self.direct_max_field:
            return "direct"
        if field <= self.mixed_max_field and len(x) <= self.mixed_max_batch:
            return "mixed"
        return "columns"

    def backward(self, g):
        # db = Σ G over images and positions, summed where the loops below read G anyway
        # (in the worker threads, while G is in cache) whenever they run; else here
        need_db = len(self.needs_input_grad) == 3 and self.needs_input_grad[2]
        dx, dw, db = self._matrix_grads(g, need_db) if self.path == "columns" else self._direct_grads(g)
        if len(self.needs_input_grad) == 2:  # no bias
            return dx, dw
        if not need_db:
            return dx, dw, None
        return dx, dw, (g.sum(axis=(0, 2, 3)) if db is None else db)

    def _matrix_grads(self, g, need_db, need_dw=None):
        """dx, dW and db (None unless need_db) from the column matrices (the products of the
        reference), chunk by chunk; dW only if need_dw (by default: if wanted)."""
        xp = get_array_module(g)
        filters = self.w.shape[0]
        g = g.reshape(len(g), filters, -1)  # (N, F, OH·OW)
        w_matrix = reference.weight_matrix(self.w)
        need_dx = self.needs_input_grad[0]
        need_dw = self.needs_input_grad[1] if need_dw is None else need_dw
        dx = xp.empty(self.x.shape, dtype=self.x.dtype) if need_dx else None  # C order, whatever x's layout

        def backward_chunk(images, cols, parallel_kernels):
            # along G's rows: faster than down g_rows
            db_share = g[images].sum(axis=(0, 2), dtype=xp.float64) if need_db else None
            g_rows = g[images].transpose(0, 2, 1).reshape(-1, filters)  # G for the chunk, (B·OH·OW, F)
            # the chunk's share of Gᵀ X, as (Xᵀ G)ᵀ: OpenBLAS runs this orientation faster
            dw_share = xp.matmul(cols.T, g_rows) if need_dw else None
            if need_dx:  # the first layer's input needs none: skip the work
                size = images.stop - images.start
                # dcols into the columns' buffer, which dW has finished reading: no second
                # chunk-sized array per worker
                dcols = xp.matmul(g_rows, w_matrix, out=cols)
                self.kernels.col2im(dcols, (size,) + self.x.shape[1:], *self.geometry, out=dx[images],
                                    parallel=parallel_kernels)
            return dw_share, db_share

        shares = self._for_each_chunk(backward_chunk, build=need_dw)
        workspace.give(self.__dict__.pop("column_buffer", None))
        dw_t, db = shares[0]
        for dw_share, db_share in shares[1:]:  # in chunk order, whichever thread finished first: reproducible
            if need_db:
                db += db_share
            if need_dw:
                dw_t += dw_share
        db = db.astype(g.dtype) if need_db else None
        if not need_dw:
            return dx, None, db
        f, c, kh, kw = self.w.shape
        dw = dw_t.T.reshape(f, kh, kw, c).transpose(0, 3, 1, 2)  # back from (i, j, c) to (c, i, j)
        return dx, dw, db

    def _direct_grads(self, g):
        """dW and db from the direct loop (conv_direct.py; db None where dW was not needed); dx
        from the direct loop too, or on the mixed path from the column path's dx alone (which
        builds no columns of x)."""
        from .conv_direct import conv_input_grad, conv_weight_grad

        padding = self.geometry[2]
        dw, db = conv_weight_grad(self.x_padded, g, self.w.shape) if self.needs_input_grad[1] else (None, None)
        if not self.needs_input_grad[0]:
            return None, dw, db
        if self.path == "direct":
            return conv_input_grad(g, self.w, self.x_shape, padding), dw, db
        return self._matrix_grads(g, need_db=False, need_dw=False)[0], dw, db

    def _for_each_chunk(self, work, build=True, keep=False):
        """Call work(images, cols, parallel_kernels) for every chunk of the batch, where images
        is a slice of B images and cols their column matrix (B·OH·OW, KH·KW·C), and return
        the results in chunk order. B is chosen so that a chunk's columns fit in chunk_bytes
        (the GPU takes the whole batch). With build=False cols is None.

        On the CPU the chunks are shared among parallel.workers() threads, one per core,
        each taking the next chunk when it is free: each worker builds its chunks' columns in its own
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
        im2col = self.kernels.im2col
        kept = getattr(self, "column_buffer", None)  # the forward pass's, if it kept them
        keep = kept is None and keep and build and n * per_image <= (self.keep_bytes_gpu if on_gpu else self.keep_bytes)
        # Chunks of at most chunk_bytes, an even number of them (two workers finish together).
        # The count follows the shapes and the cache size alone, never the number of workers:
        # the chunks' dW shares are summed in chunk order, so a run gives the same bits on any
        # core count.
        chunk_bytes = self.chunk_bytes if any(self.needs_input_grad) else self.inference_chunk_bytes
        count = 1 if on_gpu else min(n, -(-n * per_image // (2 * chunk_bytes)) * 2)
        workers = 1 if on_gpu else min(count, parallel.workers())
        chunks = parallel.even_slices(n, count)  # chunk sizes differ by one image at most
        chunk = -(-n // count)  # the largest
        if keep:
            kept = workspace.take((n * positions * field,), self.x.dtype, xp)
        own_buffers = build and kept is None
        buffers = [workspace.take((chunk * positions * field,), self.x.dtype, xp) for _ in range(workers)] if own_buffers else []
        results = [None] * len(chunks)

        def run(worker, k):
            images = chunks[k]
            size = (images.stop - images.start) * positions * field
            cols = None
            if kept is not None:  # this chunk's rows of the whole batch's matrix
                cols = kept[images.start * positions * field:][:size].reshape(-1, field)
                if keep:
                    im2col(self.x[images], *self.geometry, out=cols, parallel=workers == 1)
            elif build:  # the first B·positions·field entries of this worker's buffer
                out = buffers[worker][:size].reshape(-1, field)
                cols = im2col(self.x[images], *self.geometry, out=out, parallel=workers == 1)
            results[k] = work(images, cols, workers == 1)

        try:
            parallel.for_each_chunk(run, len(chunks), workers)
        finally:
            if keep:  # backward gives it back
                self.column_buffer = kept
            for buffer in buffers:
                workspace.give(buffer)
        return results
