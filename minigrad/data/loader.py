"""DataLoader: batches of arrays, shuffled reproducibly, augmented, on the chosen device."""
import queue
import threading

import numpy as np

from .. import backend


class DataLoader:
    """Iterate over ``(x, y)`` batches of in-memory arrays.

        loader = DataLoader((images, labels), batch_size=128, shuffle=True, seed=0,
                            transform=augment, device="cpu", prefetch=2)
        for epoch in range(epochs):
            for x, y in loader: ...        # a new, reproducible order each pass

    The order and the augmentation's randomness of epoch e come from (seed, e) alone. Each
    pass over the loader uses the current epoch and moves on to the next (so a plain loop
    reshuffles every epoch, as in PyTorch); ``loader.set_epoch(e)`` chooses the epoch of the
    next pass, which is how a resumed run sees exactly the batches an uninterrupted one would. ``transform(x, rng)``
    gets a whole NumPy batch and a Generator and returns the new batch (see transforms.py).
    With ``prefetch`` > 0 a background thread prepares the next batches while the model
    computes (NumPy releases the GIL in most array work).
    """

    def __init__(self, arrays, batch_size=1, shuffle=False, seed=0, drop_last=False,
                 transform=None, device="cpu", prefetch=0):
        self.arrays = tuple(arrays)
        if not self.arrays:
            raise ValueError("DataLoader: no arrays given (expected a tuple such as (images, labels))")
        lengths = {len(a) for a in self.arrays}
        if len(lengths) != 1:
            raise ValueError(f"DataLoader: arrays have different lengths {sorted(lengths)}")
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

    def set_epoch(self, epoch):
        """The epoch whose order (and augmentation) the next pass uses."""
        self.epoch = epoch

    def __len__(self):
        full, rest = divmod(self.length, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def _batches(self, epoch):
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(self.length) if self.shuffle else np.arange(self.length)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start:start + self.batch_size]
            batch = [a[index] for a in self.arrays]
            if self.transform is not None:
                batch[0] = self.transform(batch[0], rng)
            yield tuple(backend.to_device(b, self.device) if self.device != "cpu" else b for b in batch)

    def __iter__(self):
        # Each pass uses the current epoch and moves to the next, so that a plain loop over
        # the loader reshuffles every epoch, as PyTorch's does; set_epoch(e) picks one.
        batches = self._batches(self.epoch)
        self.epoch += 1
        if not self.prefetch:
            yield from batches
            return
        yield from _prefetched(batches, self.prefetch)


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
