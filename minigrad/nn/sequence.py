"""Batches of uneven sequences: padding, masks, and a loss that skips the padding.

Sequences in a batch are padded on the right to the longest one. A boolean mask (B, T) says
which positions are real; the recurrent layers (recurrent.py) take the lengths and keep a
sequence's state over its padding.
"""
import numpy as np

from .. import ops
from ..backend import get_array_module
from ..tensor import Tensor


def pad_sequences(sequences, pad_value=0, dtype=np.int64):
    """A list of integer sequences -> (array (B, T) padded on the right, lengths (B,))."""
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    out = np.full((len(sequences), max(lengths.max(initial=0), 1)), pad_value, dtype=dtype)
    for row, seq in zip(out, sequences):
        row[:len(seq)] = seq
    return out, lengths


def length_mask(lengths, max_len=None):
    """mask[b, t] = t < lengths[b]: True at real positions, False at padding."""
    xp = get_array_module(lengths)
    lengths = xp.asarray(lengths)
    max_len = int(lengths.max(initial=0)) if max_len is None else max_len
    return xp.arange(max_len)[None, :] < lengths[:, None]


def sequence_cross_entropy(logits, targets, pad_index, label_smoothing=0.0):
    """Mean cross-entropy over the real (non-padding) positions of (B, T, V) logits and (B, T)
    targets: padded positions add nothing to the loss and are not counted in the mean."""
    b, t, v = logits.shape
    if targets.shape != (b, t):
        raise ValueError(f"sequence_cross_entropy: logits {logits.shape} and targets {targets.shape} do not match")
    targets = targets.data if isinstance(targets, Tensor) else targets
    return ops.cross_entropy(logits.reshape(b * t, v), targets.reshape(-1), ignore_index=pad_index,
                             label_smoothing=label_smoothing)
