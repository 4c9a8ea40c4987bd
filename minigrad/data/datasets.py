"""PyTorch's dataset pieces: a Dataset base class, Subset, random_split and
SubsetRandomSampler. A Dataset is anything with ``__len__`` and ``__getitem__``; the
DataLoader reads it sample by sample and ``collate_fn`` makes the batch."""
import numbers

import numpy as np

from .. import random


class Dataset:
    """Subclass it and define ``__getitem__(i)`` (one sample) and ``__len__``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, [int(i) for i in indices]
        if self.indices and not -len(dataset) <= min(self.indices) <= max(self.indices) < len(dataset):
            raise IndexError(f"Subset: indices outside a dataset of {len(dataset)} samples")

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping Subsets of the given lengths, or of the given
    fractions (summing to 1; the remainder goes round-robin from the first, as PyTorch does).
    The permutation comes from ``generator`` (a NumPy Generator), else from minigrad's
    generator (``mg.manual_seed``)."""
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(f, numbers.Real) and not isinstance(f, numbers.Integral) for f in lengths):
        if not np.isclose(sum(lengths), 1) or min(lengths) < 0:
            raise ValueError(f"random_split: fractions must be non-negative and sum to 1, got {lengths}")
        counts = [int(np.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if not all(isinstance(k, numbers.Integral) and k >= 0 for k in lengths) or sum(lengths) != n:
        raise ValueError(f"random_split: lengths {lengths} must be non-negative integers summing to the "
                         f"dataset's {n} samples (or fractions summing to 1)")
    order = (generator if generator is not None else random.generator("cpu")).permutation(n)
    bounds = np.cumsum([0] + lengths)
    return [Subset(dataset, order[start:stop]) for start, stop in zip(bounds[:-1], bounds[1:])]


class SubsetRandomSampler:
    """The given indices in a new random order on every pass (``DataLoader(sampler=...)``)."""

    def __init__(self, indices, generator=None):
        self.indices, self.generator = np.asarray(list(indices), dtype=np.int64), generator

    def __iter__(self):
        rng = self.generator if self.generator is not None else random.generator("cpu")
        return iter(self.indices[rng.permutation(len(self.indices))].tolist())

    def __len__(self):
        return len(self.indices)


__all__ = ["Dataset", "Subset", "random_split", "SubsetRandomSampler"]
