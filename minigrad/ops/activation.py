"""Activation functions and the softmax family.

Where the derivative is a function of the output (sigmoid, tanh, softmax) the backward uses
the saved output, which is cheaper and more accurate than recomputing from the input.
"""
from ..backend import get_array_module
from ..tensor import Function
from .both import exp, sigmoid, stable_log_softmax


class ReLU(Function):
    """y = max(x, 0).   dx = g·[x > 0]  (0 at exactly x = 0, as in PyTorch).

    The backward needs only where x was positive: it saves that mask (a byte per element)
    rather than x or y. The mask is piecewise constant: a constant to a second derivative."""

    def forward(self, x):
        self.positive = x > 0                                 # [x > 0]
        return get_array_module(x).maximum(x, 0)

    def backward(self, g):
        return g * self.positive                              # dx = g·[x > 0]


class LeakyReLU(Function):
    """y = x if x > 0 else slope·x.   dx = g if x > 0 else slope·g."""

    def forward(self, x, negative_slope=0.01):
        xp = get_array_module(x)
        self.scale = xp.where(x > 0, xp.ones((), x.dtype), xp.asarray(negative_slope, x.dtype))
        return x * self.scale

    def backward(self, g):
        return g * self.scale


class Sigmoid(Function):
    """y = 1 / (1 + e^-x).   dy/dx = y(1 - y)."""

    def forward(self, x):
        y = sigmoid(x)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        y, = self.saved_tensors
        return g * y * (1 - y)


class Tanh(Function):
    """y = tanh x.   dy/dx = 1 - y²."""

    def forward(self, x):
        y = get_array_module(x).tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        y, = self.saved_tensors
        return g * (1 - y * y)


class Softmax(Function):
    """y_i = e^{x_i} / Σ_j e^{x_j} along ``axis``.

    Jacobian: dy_i/dx_j = y_i (δ_ij - y_j).  So
    dx_j = Σ_i g_i y_i (δ_ij - y_j) = y_j (g_j - Σ_i g_i y_i).
    (The Σ_i g_i y_i term is why checking d(sum of outputs) cannot catch a wrong softmax
    backward: with g = 1 it cancels, since Σ y = 1.)
    """

    def forward(self, x, axis=-1):
        self.axis = axis
        y = get_array_module(x).exp(stable_log_softmax(x, axis))
        self.save_for_backward(y)
        return y

    def backward(self, g):
        y, = self.saved_tensors
        return y * (g - (g * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """y_i = x_i - log Σ_j e^{x_j} along ``axis``.

    dy_i/dx_j = δ_ij - softmax_j, so dx_j = g_j - softmax_j · Σ_i g_i,
    with softmax = e^y from the saved output.
    """

    def forward(self, x, axis=-1):
        self.axis = axis
        y = stable_log_softmax(x, axis)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        y, = self.saved_tensors
        return g - exp(y) * g.sum(axis=self.axis, keepdims=True)
