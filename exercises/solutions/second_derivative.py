"""Exercise second_derivative, worked solution: softplus, whose backward is differentiable again."""
import numpy as np

import minigrad as mg
from minigrad.ops.both import sigmoid


class Softplus(mg.Function):
    """y = log(1 + e^x).   dy/dx = e^x / (1 + e^x) = σ(x), so dx = g · σ(x).

    The same line serves the second derivative: under create_graph=True the engine hands the
    backward a tensor g, and saved_tensors gives x back as the tensor it is in the graph;
    ``sigmoid`` from minigrad.ops.both takes a tensor as well as an array, so g · σ(x) is
    recorded and can be differentiated again (d²y/dx² = σ(x)(1 - σ(x))).
    """

    def forward(self, x):
        self.save_for_backward(x)
        return np.logaddexp(0, x)

    def backward(self, g):
        x, = self.saved_tensors
        return g * sigmoid(x)
