"""Exercise tanh, worked solution: an elementwise op whose derivative comes from its output."""
import numpy as np

import minigrad as mg


class Tanh(mg.Function):
    """y = tanh x.   dy/dx = 1 - tanh²x = 1 - y², so dx = g · (1 - y²): the saved output is
    all the backward needs."""

    def forward(self, x):
        y = np.tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        y, = self.saved_tensors
        return g * (1 - y * y)
