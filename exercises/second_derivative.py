"""Exercise second_derivative: softplus, differentiable twice. Grade: ``python -m exercises.grade second_derivative``.

y = log(1 + e^x). Derive dy/dx, then write the backward so that it also runs on tensors:
under create_graph=True the engine hands backward a tensor g and gives the saved x back as a
tensor in the graph (stop 8), so the gradient can be differentiated again. Use operators and
the functions of minigrad.ops.both (sigmoid, exp, tanh, ...), which take either; NumPy's own
functions would turn a tensor into a plain array, a constant. (Worked solution:
solutions/second_derivative.py.)
"""
import numpy as np

import minigrad as mg
from minigrad.ops import both  # noqa: F401  (yours to use)


class Softplus(mg.Function):
    def forward(self, x):
        self.save_for_backward(x)
        return np.logaddexp(0, x)

    def backward(self, g):
        x, = self.saved_tensors
        raise NotImplementedError("return dx")
