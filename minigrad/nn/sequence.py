"""Batches of uneven sequences: padding, masks, and an LSTM that respects the lengths.

Sequences in a batch are padded on the right to the longest one. A boolean mask (B, T) says
which positions are real. The LSTM below runs the cell over all T steps but, at a padded
step, keeps the previous state instead of the new one:

    h_t = where(mask_t, cell(x_t, h_{t-1}), h_{t-1})

so each sequence's final state is the state after its own last token, exactly as if it had
been run alone (PyTorch gets the same result by packing). The backward direction of a
bidirectional LSTM walks t = T-1 … 0: over a sequence's padding its state stays at the
initial zeros, and it starts reading at the sequence's last real token.
"""
import numpy as np

from .. import ops
from ..backend import get_array_module
from ..tensor import Tensor
from .module import Module
from .rnn import LSTMCell


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


class LSTM(Module):
    """One LSTM layer over a padded batch (B, T, input_size), optionally bidirectional.

    ``forward(x, lengths)`` returns ``(outputs, (h_n, c_n))``: outputs (B, T, H·directions) with
    zeros at padded positions (the forward and backward halves side by side), and the final
    states (directions, B, H), each direction's taken after the sequence's own last token.
    """

    def __init__(self, input_size, hidden_size, bidirectional=False):
        super().__init__()
        self.input_size, self.hidden_size, self.bidirectional = input_size, hidden_size, bidirectional
        self.forward_cell = LSTMCell(input_size, hidden_size)
        if bidirectional:
            self.backward_cell = LSTMCell(input_size, hidden_size)

    def forward(self, x, lengths=None):
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"LSTM: expected input (B, T, {self.input_size}), got shape {x.shape}")
        xp = get_array_module(x.data)
        steps = x.shape[1]
        lengths = xp.full(x.shape[0], steps) if lengths is None else xp.asarray(lengths)
        mask = length_mask(lengths, steps)
        inputs = [x[:, t] for t in range(steps)]
        runs = [self._run(self.forward_cell, inputs, mask, range(steps))]
        if self.bidirectional:
            runs.append(self._run(self.backward_cell, inputs, mask, range(steps - 1, -1, -1)))
        outputs = ops.concatenate([out for out, _ in runs], axis=2) if len(runs) > 1 else runs[0][0]
        outputs = outputs * xp.asarray(mask[:, :, None], dtype=x.dtype)
        h_n = ops.stack([h for _, (h, _) in runs], axis=0)
        c_n = ops.stack([c for _, (_, c) in runs], axis=0)
        return outputs, (h_n, c_n)

    @staticmethod
    def _run(cell, inputs, mask, order):
        state, outputs = None, [None] * len(inputs)
        for t in order:
            h, c = cell(inputs[t], state)
            if state is not None or not bool(mask[:, t].all()):
                previous = state if state is not None else (cell.zeros(inputs[t]), cell.zeros(inputs[t]))
                keep = mask[:, t, None]
                h, c = ops.where(keep, h, previous[0]), ops.where(keep, c, previous[1])
            state = (h, c)
            outputs[t] = h
        return ops.stack(outputs, axis=1), state

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}, bidirectional={self.bidirectional}"
