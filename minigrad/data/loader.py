"""DataLoader: batches as tensors, shuffled reproducibly, augmented, on the chosen device."""
import queue
import threading

import numpy as np

from .. import backend
from ..tensor import Tensor


class TensorDataset:
    """Samples from arrays of equal length: ``dataset[i] = (a[i], b[i], ...)`` (PyTorch's)."""

    def __init__(self, *arrays):
        self.arrays = tuple(backend.to_numpy(a.data if hasattr(a, "_ctx") else a) for a in arrays)
        if not self.arrays or len({len(a) for a in self.arrays}) != 1:
            raise ValueError(f"TensorDataset: needs arrays of one length, got lengths {[len(a) for a in self.arrays]}")

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, i):
        return tuple(a[i] for a in self.arrays)


def default_collate(samples):
    """A list of samples as one batch: tuples field by field, arrays and numbers stacked."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(default_collate([s[i] for s in samples]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    return np.stack([backend.to_numpy(s.data if hasattr(s, "_ctx") else s) for s in samples])


class DataLoader:
    """Iterate over batches of a dataset: either a tuple of in-memory arrays (fast: each batch
    is one fancy index per array) or any object with ``__len__`` and ``__getitem__`` (a
    PyTorch-style Dataset, whose samples ``collate_fn`` turns into a batch).

        loader = DataLoader((images, labels), batch_size=128, shuffle=True, seed=0,
                            transform=augment, device="cpu", prefetch=2)
        loader = DataLoader(my_dataset, batch_size=32, shuffle=True, collate_fn=pad_batch)
        for epoch in range(epochs):
            for x, y in loader: ...        # a new, reproducible order each pass

    The order and the augmentation's randomness of epoch e come from (seed, e) alone. Each
    pass over the loader uses the current epoch and moves on to the next (so a plain loop
    reshuffles every epoch, as in PyTorch); ``loader.set_epoch(e)`` chooses the epoch of the
    next pass, which is how a resumed run sees exactly the batches an uninterrupted one would. ``transform(x, rng)``
    gets a whole NumPy batch and a Generator and returns the new batch (see transforms.py).
    The batches come out as tensors (sharing the arrays' memory), as PyTorch's do; a
    ``collate_fn`` of your own decides its batches' types itself.
    With ``prefetch`` > 0 a background thread prepares the next batches while the model
    computes (NumPy releases the GIL in most array work).
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, seed=0, drop_last=False,
                 transform=None, device="cpu", prefetch=0, collate_fn=None, sampler=None, num_workers=0):
        if num_workers:
            raise ValueError(f"DataLoader: num_workers={num_workers}: minigrad has no worker processes; "
                             f"prefetch=N prepares N batches ahead in a background thread instead")
        if isinstance(dataset, tuple):  # minigrad's shortcut: (images, labels) arrays
            self.arrays = tuple(dataset)
            if not self.arrays:
                raise ValueError("DataLoader: no arrays given (expected a tuple such as (images, labels))")
            lengths = {len(a) for a in self.arrays}
            if len(lengths) != 1:
                raise ValueError(f"DataLoader: arrays have different lengths {sorted(lengths)}")
            self._dataset = None  # made when asked for: len(loader.dataset), loader.dataset[i], as PyTorch
        elif hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__"):
            self.arrays, self._dataset = None, dataset
            lengths = {len(dataset)}
        else:
            raise TypeError(f"DataLoader: expected a tuple of arrays or a Dataset (with __len__ and __getitem__), "
                            f"got {type(dataset).__name__}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")
        if collate_fn is not None and self.arrays is not None:
            self.arrays, self._dataset = None, TensorDataset(*dataset)
        self.collate_fn = collate_fn or default_collate
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True exclude each other (the sampler chooses the order; "
                             "DistributedSampler(shuffle=True) shuffles)")
        self.sampler = sampler
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        if not isinstance(prefetch, (int, np.integer)) or prefetch < 0:
            raise ValueError(f"DataLoader: prefetch must be a non-negative integer, got {prefetch!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"DataLoader: transform must be callable as transform(x, rng), got {type(transform).__name__}")
        self.length = lengths.pop()
        self.batch_size, self.shuffle, self.seed, self.drop_last = batch_size, shuffle, seed, drop_last
        self.transform, self.device, self.prefetch = transform, backend.normalize_device(device), prefetch
        self.epoch = 0

    @property
    def dataset(self):
        if self._dataset is None:
            self._dataset = TensorDataset(*self.arrays)
        return self._dataset

    def set_epoch(self, epoch):
        """The epoch whose order (and augmentation) the next pass uses; a sampler's epoch too."""
        self.epoch = epoch
        if self.sampler is not None and hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def __len__(self):
        full, rest = divmod(self.length if self.sampler is None else len(self.sampler), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def _batches(self, epoch):
        if self.sampler is None:
            rng = np.random.default_rng([self.seed, epoch])
            order = rng.permutation(self.length) if self.shuffle else np.arange(self.length)
        else:  # a sampler (DistributedSampler: this rank's shard), at the epoch set on it, as in PyTorch
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
            rng = None  # each image its own random stream (below): the same augmentation on 1 or N ranks
        sampler_epoch = getattr(self.sampler, "epoch", epoch)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start:start + self.batch_size]
            if self.sampler is not None:
                rng = SampleStreams(self.seed, sampler_epoch, index)
            if self.arrays is not None:
                batch = [a[index] for a in self.arrays]
            else:
                batch = self.collate_fn([self.dataset[int(i)] for i in index])
                if not isinstance(batch, (tuple, list)):  # one value per batch
                    value = self._on_device(self.transform(batch, rng) if self.transform else batch)
                    yield _tensor(value) if self.collate_fn is default_collate else value
                    continue
                batch = list(batch)
            if self.transform is not None:
                batch[0] = self.transform(batch[0], rng)
            as_tensors = self.collate_fn is default_collate  # PyTorch's default; a collate_fn's own values stay
            yield tuple(_tensor(self._on_device(b)) if as_tensors else self._on_device(b) for b in batch)

    def _on_device(self, value):
        if self.device == "cpu" or not hasattr(value, "shape"):
            return value
        return backend.to_device(value, self.device)

    def __iter__(self):
        # Each pass uses the current epoch and moves to the next, so that a plain loop over
        # the loader reshuffles every epoch, as PyTorch's does; set_epoch(e) picks one.
        batches = self._batches(self.epoch)
        self.epoch += 1
        if not self.prefetch:
            yield from batches
            return
        yield from _prefetched(batches, self.prefetch)


class SampleStreams:
    """The random generator a transform gets for a batch under a sampler: image i's draws come
    from a stream of its own, seeded by (seed, epoch, its index in the dataset). An image is
    then augmented the same way whichever rank and batch it lands in, so that 1 and N ranks
    train on the same augmented images. It has the Generator methods the transforms use, each
    drawing one value per image (size = the batch's length)."""

    def __init__(self, seed, epoch, indices):
        self.streams = [np.random.default_rng([seed, epoch, int(i)]) for i in indices]

    def integers(self, low, high=None, size=None):
        return self._each(size, lambda g, rest: g.integers(low, high, rest))

    def random(self, size=None):
        return self._each(size, lambda g, rest: g.random(rest))

    def uniform(self, low=0.0, high=1.0, size=None):
        return self._each(size, lambda g, rest: g.uniform(low, high, rest))

    def _each(self, size, draw):
        shape = (size,) if isinstance(size, (int, np.integer)) else tuple(size or ())
        if not shape or shape[0] != len(self.streams):
            raise ValueError(f"a transform under a sampler draws one value per image: size must start with the "
                             f"batch's {len(self.streams)} images, got {size!r}")
        return np.stack([np.asarray(draw(g, shape[1:])) for g in self.streams])

    def __getattr__(self, name):
        raise AttributeError(f"a transform under a sampler gets per-image random streams with integers, random and "
                             f"uniform only, not {name!r}")


def _tensor(value):
    """A batch's array as a Tensor (sharing its memory), as PyTorch's loader gives them."""
    return Tensor(value) if hasattr(value, "shape") and not isinstance(value, Tensor) else value


def _prefetched(iterator, depth):
    """Run ``iterator`` in a background thread, ``depth`` items ahead of the consumer."""
    items = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce():
        try:
            for item in iterator:
                if stop.is_set():
                    return
                items.put(item)
        except BaseException as err:  # hand the error to the consumer
            items.put(err)
        items.put(done)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                items.get_nowait()
            except queue.Empty:
                thread.join(0.01)
