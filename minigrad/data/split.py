"""Seeded train/validation splits and nested training subsets."""
import numpy as np


def train_val_split(n, val_size, seed=0):
    """Indices (train, val) of a seeded random split of range(n); val_size is a count or a fraction."""
    if isinstance(val_size, float):
        val_size = int(round(val_size * n))
    if not 0 < val_size < n:
        raise ValueError(f"train_val_split: validation size {val_size} must be between 0 and {n}")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[val_size:]), np.sort(order[:val_size])


def nested_subsets(labels, fractions, seed=0):
    """{fraction: indices} such that each smaller subset is inside every larger one, and every
    subset keeps the class proportions (stratified): each class is shuffled once with the seed,
    and a fraction f takes the first round(f · n_class) of that order."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    orders = {c: rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)}
    subsets = {}
    for f in sorted(fractions):
        if not 0 < f <= 1:
            raise ValueError(f"nested_subsets: fraction {f} must be in (0, 1]")
        subsets[f] = np.sort(np.concatenate([order[:int(round(f * len(order)))] for order in orders.values()]))
    return subsets
