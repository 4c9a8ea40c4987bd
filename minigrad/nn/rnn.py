"""Recurrent cells as modules (PyTorch's names, parameter layout and initialisation).

Each call advances one time step; unroll them in a loop and autograd does
backpropagation through time:

    cell = LSTMCell(10, 20)
    state = None
    for x_t in sequence:          # x_t: (N, 10)
        h, c = state = cell(x_t, state)
"""
import math

import numpy as np


from ..backend import get_array_module, get_default_dtype
from ..ops import rnn as rnn_ops
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


class _Cell(Module):
    gates = 1

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        dtype = get_default_dtype()
        self.weight_ih = Parameter(np.zeros((self.gates * hidden_size, input_size), dtype))
        self.weight_hh = Parameter(np.zeros((self.gates * hidden_size, hidden_size), dtype))
        self.bias_ih = Parameter(np.zeros(self.gates * hidden_size, dtype))
        self.bias_hh = Parameter(np.zeros(self.gates * hidden_size, dtype))
        bound = 1 / math.sqrt(hidden_size)  # PyTorch: every parameter ~ U(-1/sqrt(H), 1/sqrt(H))
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def zeros(self, x):
        xp = get_array_module(x.data)
        return Tensor(xp.zeros((x.shape[0], self.hidden_size), dtype=x.dtype))

    def weights(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


class RNNCell(_Cell):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh)."""

    def forward(self, x, h=None):
        return rnn_ops.rnn_cell(x, self.zeros(x) if h is None else h, *self.weights())


class LSTMCell(_Cell):
    """Long short-term memory; ``forward(x, (h, c))`` returns ``(h', c')``."""

    gates = 4

    def forward(self, x, state=None):
        h, c = (self.zeros(x), self.zeros(x)) if state is None else state
        return rnn_ops.lstm_cell(x, h, c, *self.weights())


class GRUCell(_Cell):
    """Gated recurrent unit; ``forward(x, h)`` returns ``h'``."""

    gates = 3

    def forward(self, x, h=None):
        return rnn_ops.gru_cell(x, self.zeros(x) if h is None else h, *self.weights())


def detach_state(state):
    """Cut the graph behind a hidden state (truncated BPTT): gradients stop here."""
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


__all__ = ["RNNCell", "LSTMCell", "GRUCell", "detach_state"]
