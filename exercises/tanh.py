"""Exercise tanh: an elementwise op. Grade it with ``python -m exercises.grade tanh``.

Derive dy/dx for y = tanh x and write it in terms of the output y, which forward saves.
(Worked solution: solutions/tanh.py. Read it after the grader passes.)
"""
import numpy as np

import minigrad as mg


class Tanh(mg.Function):
    """y = tanh x, elementwise."""

    def forward(self, x):
        y = np.tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        y, = self.saved_tensors
        raise NotImplementedError("return dx = g · dy/dx, written with y")
