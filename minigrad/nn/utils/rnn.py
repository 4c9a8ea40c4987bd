"""Packed sequences: a batch of uneven sequences stored without padding, as PyTorch stores them.

Sort the sequences by length, longest first, and read the batch time step by time step,
keeping at step t only the sequences still running (``batch_sizes[t]`` of them):

    lengths 3, 2, 1:   a1 a2 a3        data  = a1 b1 c1 | a2 b2 | a3
                       b1 b2           batch_sizes = [3, 2, 1]
                       c1

``pack_padded_sequence`` builds that from a padded batch, ``pad_packed_sequence`` undoes it,
and a recurrent layer (``nn.LSTM``, ``nn.GRU``, ``nn.RNN``) given a PackedSequence returns
one, with final states taken after each sequence's own last element. Both functions are
made of indexing and concatenation, so gradients flow through them.
"""
from collections import namedtuple

import numpy as np

from ... import ops
from ...backend import get_array_module, to_numpy
from ...tensor import Tensor


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """``data`` (sum of lengths, *), ``batch_sizes`` (T,) int64, and the permutation that sorted
    the batch by length (``None`` when it came sorted): PyTorch's fields."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes, sorted_indices=None, unsorted_indices=None):
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def lengths(self):
        """Each sequence's length, in the batch's original order."""
        batch_sizes = np.asarray(self.batch_sizes)
        lengths = (np.arange(batch_sizes[0])[:, None] < batch_sizes[None, :]).sum(axis=1)
        return lengths if self.unsorted_indices is None else lengths[np.asarray(self.unsorted_indices)]


def checked_lengths(lengths, batch, steps, op):
    """``lengths`` (a list, an array or a tensor) as an int64 array, checked: one integer in
    [1, steps] per sequence of the batch. (The recurrent layers' ``lengths=`` uses it too.)"""
    lengths = np.asarray(to_numpy(lengths.data if isinstance(lengths, Tensor) else lengths))
    if lengths.ndim != 1 or lengths.dtype.kind not in "iu":
        raise ValueError(f"{op}: lengths must be a 1-D list of integers, got {lengths.dtype} of shape {lengths.shape}")
    if len(lengths) != batch or lengths.min(initial=1) < 1 or lengths.max(initial=0) > steps:
        raise ValueError(f"{op}: lengths must hold one length in [1, {steps}] per sequence ({batch}); every "
                         f"length must be at least 1 (PyTorch's rule); got {lengths.tolist()}")
    return lengths.astype(np.int64)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):  # noqa: A002 - PyTorch's name
    """Pack a padded batch (T, B, *) — or (B, T, *) with ``batch_first`` — whose sequence b has
    ``lengths[b]`` real steps. With ``enforce_sorted`` (PyTorch's default) the lengths must
    already be in decreasing order; otherwise the batch is sorted here and unsorted on output."""
    if not isinstance(input, Tensor):
        raise TypeError(f"pack_padded_sequence: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: input must have a time and a batch dimension, got shape {input.shape}")
    time_major = input.transpose(0, 1) if batch_first else input
    steps, batch = time_major.shape[0], time_major.shape[1]
    lengths = checked_lengths(lengths, batch, steps, "pack_padded_sequence")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise ValueError("pack_padded_sequence: lengths must be sorted in decreasing order when "
                             "enforce_sorted=True (pass enforce_sorted=False to sort them here)")
        sorted_indices = None
    else:
        sorted_indices = np.argsort(-lengths, kind="stable")
    return _pack(time_major, lengths, sorted_indices)


def _pack(time_major, lengths, sorted_indices):
    """PackedSequence of a time-major batch whose sequence b has lengths[b] steps."""
    order = np.arange(len(lengths)) if sorted_indices is None else np.asarray(sorted_indices)
    batch_sizes = (lengths[None, :] > np.arange(int(lengths.max()))[:, None]).sum(axis=1).astype(np.int64)
    ordered = time_major if sorted_indices is None else time_major[:, order]
    data = ops.concatenate([ordered[t, :int(size)] for t, size in enumerate(batch_sizes)], axis=0)
    unsorted = None if sorted_indices is None else np.argsort(order)
    return PackedSequence(data, batch_sizes, None if sorted_indices is None else order, unsorted)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo ``pack_padded_sequence``: returns (padded (T, B, *) or (B, T, *), lengths), the
    lengths as an int64 tensor in the batch's original order (PyTorch's return values)."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got {type(sequence).__name__}")
    data, batch_sizes = sequence.data, np.asarray(sequence.batch_sizes)
    batch, steps = int(batch_sizes[0]), len(batch_sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"pad_packed_sequence: total_length={total_length} is shorter than the longest "
                             f"sequence ({steps} steps)")
        steps = total_length
    xp = get_array_module(data.data)
    rows, start = [], 0
    for t in range(steps):
        size = int(batch_sizes[t]) if t < len(batch_sizes) else 0
        step = data[start:start + size]
        start += size
        if size < batch:
            fill = Tensor(xp.full((batch - size,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype))
            step = ops.concatenate([step, fill], axis=0) if size else fill
        rows.append(step)
    padded = ops.stack(rows, axis=0)
    if sequence.unsorted_indices is not None:
        padded = padded[:, np.asarray(sequence.unsorted_indices)]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, Tensor(sequence.lengths().astype(np.int64))


def pad_sequence(sequences, batch_first=False, padding_value=0.0):
    """Stack tensors of shapes (L_i, *) into one padded (T, B, *) — (B, T, *) with ``batch_first``."""
    if not sequences:
        raise ValueError("pad_sequence: no sequences given")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        if s.shape[0] < longest:
            xp = get_array_module(s.data)
            fill = Tensor(xp.full((longest - s.shape[0],) + tuple(s.shape[1:]), padding_value, dtype=s.dtype))
            s = ops.concatenate([s, fill], axis=0)
        padded.append(s)
    return ops.stack(padded, axis=0 if batch_first else 1)


__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence"]
