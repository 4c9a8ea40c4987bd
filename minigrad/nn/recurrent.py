"""Recurrent layers over whole sequences: ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU``, laid out as
PyTorch lays them out.

Input is time-major (T, B, F) — PyTorch's default — or (B, T, F) with ``batch_first=True``,
or one unbatched sequence (T, F). Layer 0 reads the input; layer l > 0 reads layer l-1's
outputs, both directions side by side (with dropout between layers while training). In each
layer and direction a cell of ``rnn.py`` runs step by step, and autograd does backpropagation
through time over the loop:

    h_t = cell(x_t, h_{t-1})       forward direction, t = 0 … T-1
    h_t = cell(x_t, h_{t+1})       reverse direction, t = T-1 … 0

``forward(input, hx)`` returns ``(output, h_n)`` — for the LSTM ``(output, (h_n, c_n))`` —
with output (T, B, directions·H) and h_n (num_layers·directions, B, H), layer by layer, the
forward direction before the reverse one. The parameters carry PyTorch's names and shapes
(``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, ``…_reverse``), so a
state_dict moves between the two frameworks without renaming.

Uneven lengths: give a PackedSequence (``nn.utils.rnn.pack_padded_sequence``), or padded
input with ``lengths=``. At a padded step the state is kept instead of updated,

    h_t = where(t < length, cell(x_t, h_{t-1}), h_{t-1}),

so each sequence's final state is the one after its own last element (the reverse direction
starts there), and the output is zero at padded steps: what PyTorch computes by packing.
"""
import math
import warnings

import numpy as np

from .. import ops
from ..backend import get_array_module, get_default_dtype, to_numpy
from ..ops import rnn as rnn_ops
from ..tensor import Tensor
from . import init
from .module import Module, Parameter
from .utils.rnn import PackedSequence, _pack, checked_lengths, pad_packed_sequence
from .sequence import length_mask


class _RecurrentLayers(Module):
    gates = 1
    states = 1  # hidden-state tensors per step: 2 for the LSTM (h, c)

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0):
        super().__init__()
        name = type(self).__name__
        for what, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: {what} must be a positive integer, got {value!r}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout}")
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size (PyTorch's LSTM projections) is not supported")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout={dropout} acts between layers, so with num_layers=1 it does "
                          "nothing (PyTorch warns the same)", stacklevel=2)
        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        self.directions = 2 if bidirectional else 1
        dtype = get_default_dtype()
        rows = self.gates * hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.directions
            for suffix in self._suffixes():
                setattr(self, f"weight_ih_l{layer}{suffix}", Parameter(np.zeros((rows, layer_input), dtype)))
                setattr(self, f"weight_hh_l{layer}{suffix}", Parameter(np.zeros((rows, hidden_size), dtype)))
                if bias:
                    setattr(self, f"bias_ih_l{layer}{suffix}", Parameter(np.zeros(rows, dtype)))
                    setattr(self, f"bias_hh_l{layer}{suffix}", Parameter(np.zeros(rows, dtype)))
        bound = 1 / math.sqrt(hidden_size)  # PyTorch: every parameter ~ U(-1/sqrt(H), 1/sqrt(H))
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _suffixes(self):
        return ("", "_reverse")[:self.directions]

    def _weights(self, layer, suffix):
        w_ih, w_hh = getattr(self, f"weight_ih_l{layer}{suffix}"), getattr(self, f"weight_hh_l{layer}{suffix}")
        if self.bias:
            return w_ih, w_hh, getattr(self, f"bias_ih_l{layer}{suffix}"), getattr(self, f"bias_hh_l{layer}{suffix}")
        xp = get_array_module(w_ih.data)
        zeros = Tensor(xp.zeros(w_ih.shape[0], dtype=w_ih.dtype))
        return w_ih, w_hh, zeros, zeros

    # ----- one step of one cell: (x_t, state) -> state, a tuple ------------------------
    def _step(self, x, state, weights):
        raise NotImplementedError

    # ----- the whole input --------------------------------------------------------------
    def forward(self, input, hx=None, *, lengths=None):  # noqa: A002 - PyTorch's name
        name = type(self).__name__
        if isinstance(input, PackedSequence):
            if lengths is not None:
                raise ValueError(f"{name}: a PackedSequence carries its lengths; do not pass lengths= too")
            padded, packed_lengths = pad_packed_sequence(input)
            output, final = self._forward_padded(padded, hx, to_numpy(packed_lengths.data), batched=True)
            sorted_indices = input.sorted_indices
            return _pack(output, to_numpy(packed_lengths.data), sorted_indices), final
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor or a PackedSequence, got {type(input).__name__}")
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            layout = "(B, T, F)" if self.batch_first else "(T, B, F)"
            raise ValueError(f"{name}: expected input {layout} or (T, F) with F = {self.input_size}, "
                             f"got shape {input.shape}")
        batched = input.ndim == 3
        x = input if batched else input.reshape(input.shape[0], 1, self.input_size)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        if lengths is not None:
            lengths = checked_lengths(lengths, x.shape[1], x.shape[0], name)
        output, final = self._forward_padded(x, hx, lengths, batched)
        if not batched:
            output = output.reshape(output.shape[0], output.shape[2])
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, final

    def _forward_padded(self, x, hx, lengths, batched):
        """x time-major (T, B, F) -> (output (T, B, D·H), final states)."""
        steps, batch = x.shape[0], x.shape[1]
        mask = None if lengths is None else length_mask(lengths, steps)
        initial = self._initial_states(hx, x, batch, batched)
        inputs = [x[t] for t in range(steps)]
        finals = []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                inputs = [ops.dropout(x_t, self.dropout, training=True) for x_t in inputs]
            runs = []
            for direction, suffix in enumerate(self._suffixes()):
                index = layer * self.directions + direction
                state = tuple(s[index] for s in initial)
                order = range(steps) if direction == 0 else range(steps - 1, -1, -1)
                outputs, state = self._run(inputs, state, self._weights(layer, suffix), mask, order)
                runs.append(outputs)
                finals.append(state)
            last = layer == self.num_layers - 1
            if last:
                per_direction = [ops.stack(outputs, axis=0) for outputs in runs]
                output = ops.concatenate(per_direction, axis=2) if len(runs) > 1 else per_direction[0]
            else:
                inputs = [ops.concatenate(pair, axis=1) for pair in zip(*runs)] if len(runs) > 1 else runs[0]
        if mask is not None:
            xp = get_array_module(output.data)
            output = output * xp.asarray(mask.T[:, :, None], dtype=output.dtype)
        final = tuple(ops.stack([state[k] for state in finals], axis=0) for k in range(self.states))
        if not batched:
            final = tuple(f.reshape(f.shape[0], f.shape[2]) for f in final)
        return output, (final if self.states > 1 else final[0])

    def _run(self, inputs, state, weights, mask, order):
        all_real = None if mask is None else np.asarray(to_numpy(mask)).all(axis=0)
        outputs = [None] * len(inputs)
        for t in order:
            new = self._step(inputs[t], state, weights)
            if mask is not None and not all_real[t]:
                keep = mask[:, t, None]
                new = tuple(ops.where(keep, n, s) for n, s in zip(new, state))
            state = new
            outputs[t] = state[0]
        return outputs, state

    def _initial_states(self, hx, x, batch, batched):
        """hx as a tuple of (L·D, B, H) tensors (zeros when not given), checked against x."""
        name = type(self).__name__
        expected = (self.num_layers * self.directions, batch, self.hidden_size)
        if hx is None:
            xp = get_array_module(x.data)
            return tuple(Tensor(xp.zeros(expected, dtype=x.dtype)) for _ in range(self.states))
        given = tuple(hx) if self.states > 1 and isinstance(hx, (tuple, list)) else (hx,)
        if len(given) != self.states or not all(isinstance(h, Tensor) for h in given):
            what = "a tuple (h_0, c_0) of tensors" if self.states > 1 else "a tensor h_0"
            raise TypeError(f"{name}: the second argument is the initial state hx, {what}, as in PyTorch; "
                            f"pass sequence lengths as lengths=... or give a PackedSequence")
        shaped = expected if batched else (expected[0], expected[2])
        for h in given:
            if tuple(h.shape) != shaped:
                raise ValueError(f"{name}: initial state of shape {h.shape}, expected {shaped} "
                                 f"(num_layers·directions, batch, hidden_size)")
        return tuple(h if batched else h.reshape(expected) for h in given)

    def extra_repr(self):
        options = [f"{self.input_size}, {self.hidden_size}"]
        if self.num_layers != 1:
            options.append(f"num_layers={self.num_layers}")
        for key, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, key) != default:
                options.append(f"{key}={getattr(self, key)}")
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            options.append(f"nonlinearity={self.nonlinearity!r}")
        return ", ".join(options)


class RNN(_RecurrentLayers):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (or relu with
    ``nonlinearity='relu'``)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False):  # PyTorch's order: nonlinearity comes fourth
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)
        self.nonlinearity = nonlinearity

    def _step(self, x, state, weights):
        if self.nonlinearity == "tanh":
            return (rnn_ops.rnn_cell(x, state[0], *weights),)
        w_ih, w_hh, b_ih, b_hh = weights
        return (ops.relu(ops.linear(x, w_ih, b_ih) + ops.linear(state[0], w_hh, b_hh)),)


class LSTM(_RecurrentLayers):
    """Long short-term memory; ``forward(input, (h_0, c_0))`` returns ``(output, (h_n, c_n))``."""

    gates, states = 4, 2

    def _step(self, x, state, weights):
        return rnn_ops.lstm_cell(x, state[0], state[1], *weights)


class GRU(_RecurrentLayers):
    """Gated recurrent unit; ``forward(input, h_0)`` returns ``(output, h_n)``."""

    gates = 3

    def _step(self, x, state, weights):
        return (rnn_ops.gru_cell(x, state[0], *weights),)


__all__ = ["RNN", "LSTM", "GRU"]
