"""DistributedDataParallel: one model per rank, kept identical by averaging gradients."""
import contextlib

from ..backend import get_array_module
from ..nn.module import Module
from ..tensor import Tensor, queue_callback


class DistributedDataParallel(Module):
    """Wrap ``module`` so that every rank trains the same model on its own part of each batch.

    * At start, every parameter and buffer is overwritten with rank 0's, so all ranks begin
      from the same weights.
    * During backward, each parameter's gradient is copied into one of a few flat *buckets*
      (about ``bucket_cap_mb`` each, filled from the last layer back, the order in which
      backward produces them). When a bucket is full its sum over the ranks starts at once
      (nonblocking on MPI; queued on NCCL's stream), while backward goes on with earlier
      layers. At the end of backward every bucket is waited for and divided by the number of
      ranks: each rank's ``.grad`` then holds the average over all ranks, the gradient of the
      whole batch's mean loss when the ranks' batches have equal sizes.
    * Inside ``with model.no_sync():`` gradients only accumulate locally (gradient
      accumulation); the next backward outside it averages the accumulated gradients.
    * With ``broadcast_buffers`` (the default), rank 0's buffers (batch norm's running
      statistics) are copied to every rank at each training forward; SyncBatchNorm keeps
      them identical without it.

    Buckets are summed in a fixed order, the same on every rank, as MPI requires.
    """

    def __init__(self, module, bucket_cap_mb=1.0, broadcast_buffers=True):
        super().__init__()
        from . import group

        self.module = module
        self.broadcast_buffers = broadcast_buffers
        object.__setattr__(self, "_group", group())
        for p in module.parameters():
            self._group.broadcast(p.data, 0)
        self._broadcast_buffers()
        trained = [p for p in module.parameters() if p.requires_grad]
        object.__setattr__(self, "_buckets", _make_buckets(list(reversed(trained)), bucket_cap_mb * 2**20))
        object.__setattr__(self, "_sync", True)
        object.__setattr__(self, "_running", False)
        for bucket in self._buckets:
            for p in bucket.params:
                p.register_hook(self._gradient_hook(bucket, p))

    def forward(self, *args, **kwargs):
        if self.training and self.broadcast_buffers:
            self._broadcast_buffers()
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Accumulate gradients locally, without averaging (the next synced backward does)."""
        previous = self._sync
        object.__setattr__(self, "_sync", False)
        try:
            yield
        finally:
            object.__setattr__(self, "_sync", previous)

    # ----- during backward -------------------------------------------------------------
    def _gradient_hook(self, bucket, p):
        def hook(grad):
            if not self._sync:
                return None
            if not self._running:
                self._start_backward()
            total = grad.data if p.grad is None else grad.data + p.grad.data  # what .grad will hold
            bucket.put(p, total)
            self._launch_ready_buckets()
            return None
        return hook

    def _start_backward(self):
        object.__setattr__(self, "_running", True)
        object.__setattr__(self, "_next", 0)
        for bucket in self._buckets:
            bucket.reset()
        queue_callback(self._finish_backward)

    def _launch_ready_buckets(self):
        """Start the sums of the full buckets, strictly in bucket order (the same on every rank)."""
        while self._next < len(self._buckets) and self._buckets[self._next].full():
            bucket = self._buckets[self._next]
            bucket.request = self._group.all_reduce_async(bucket.flat)
            object.__setattr__(self, "_next", self._next + 1)

    def _finish_backward(self):
        """Called once backward is done: a parameter that got no gradient on this rank
        contributes its current .grad (or zeros); then every sum is waited for and averaged."""
        for bucket in self._buckets:
            bucket.fill_missing()
        self._launch_ready_buckets()
        for bucket in self._buckets:
            bucket.request.Wait()
            bucket.flat /= self._group.size
            bucket.write_back()
        object.__setattr__(self, "_running", False)

    def _broadcast_buffers(self):
        for _, buffer in self.module.named_buffers():
            self._group.broadcast(buffer, 0)


class _Bucket:
    """Several parameters' gradients side by side in one flat array."""

    def __init__(self, params):
        self.params = params
        first = params[0].data
        xp = get_array_module(first)
        self.flat = xp.zeros(sum(p.data.size for p in params), dtype=first.dtype)
        self.slices, start = {}, 0
        for p in params:
            self.slices[id(p)] = slice(start, start + p.data.size)
            start += p.data.size
        self.reset()

    def reset(self):
        self.arrived, self.request = set(), None

    def put(self, p, gradient):
        self.flat[self.slices[id(p)]] = gradient.reshape(-1)
        self.arrived.add(id(p))

    def full(self):
        return len(self.arrived) == len(self.params)

    def fill_missing(self):
        for p in self.params:
            if id(p) not in self.arrived:
                self.put(p, p.grad.data if p.grad is not None else get_array_module(self.flat).zeros(p.data.shape, self.flat.dtype))

    def write_back(self):
        for p in self.params:
            p.grad = Tensor(self.flat[self.slices[id(p)]].reshape(p.data.shape).copy())


def _make_buckets(params, cap_bytes):
    """Consecutive parameters of one dtype, about ``cap_bytes`` per bucket."""
    buckets, current, size = [], [], 0
    for p in params:
        nbytes = p.data.nbytes
        if current and (size + nbytes > cap_bytes or p.data.dtype != current[0].data.dtype):
            buckets.append(_Bucket(current))
            current, size = [], 0
        current.append(p)
        size += nbytes
    if current:
        buckets.append(_Bucket(current))
    return buckets
