"""Activation functions and the softmax family.

Where the derivative is a function of the output (sigmoid, tanh, softmax) the backward uses
the saved output, which is cheaper and more accurate than recomputing from the input.
"""
from ..backend import get_array_module
from ..tensor import Function


class ReLU(Function):
    """y = max(x, 0).   dx = g·[x > 0]  (0 at exactly x = 0, as in PyTorch).

    The backward needs only where x was positive: it saves that mask (a byte per element)
    rather than x or y."""

    def forward(self, x):
        self.positive = x > 0                                 # [x > 0]
        return get_array_module(x).maximum(x, 0)

    def backward(self, g):
        return g * self.positive                              # dx = g·[x > 0]

    def backward_graph(self, g):  # the same on tensors (create_graph=True); the mask is a constant
        return g * self.positive


class LeakyReLU(Function):
    """y = x if x > 0 else slope·x.   dx = g if x > 0 else slope·g."""

    def forward(self, x, negative_slope=0.01):
        xp = get_array_module(x)
        self.scale = xp.where(x > 0, xp.ones((), x.dtype), xp.asarray(negative_slope, x.dtype))
        return x * self.scale

    def backward(self, g):
        return g * self.scale

    def backward_graph(self, g):
        return g * self.scale


class Sigmoid(Function):
    """y = 1 / (1 + e^-x).   dy/dx = y(1 - y)."""

    def forward(self, x):
        # 1 / (1 + e^-x) = (1 + tanh(x/2)) / 2: written through tanh so that large |x|
        # neither overflows exp nor loses precision
        self.y = 0.5 * (1 + get_array_module(x).tanh(0.5 * x))
        return self.y

    def backward(self, g):
        return g * self.y * (1 - self.y)

    def backward_graph(self, g):
        y = self.output_tensor(self.y)
        return g * y * (1 - y)


class Tanh(Function):
    """y = tanh x.   dy/dx = 1 - y²."""

    def forward(self, x):
        self.y = get_array_module(x).tanh(x)
        return self.y

    def backward(self, g):
        return g * (1 - self.y * self.y)

    def backward_graph(self, g):
        y = self.output_tensor(self.y)
        return g * (1 - y * y)


def stable_log_softmax(x, axis):
    """log softmax(x) = x - logsumexp(x), with the max subtracted first so exp never overflows."""
    xp = get_array_module(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    """y_i = e^{x_i} / Σ_j e^{x_j} along ``axis``.

    Jacobian: dy_i/dx_j = y_i (δ_ij - y_j).  So
    dx_j = Σ_i g_i y_i (δ_ij - y_j) = y_j (g_j - Σ_i g_i y_i).
    (The Σ_i g_i y_i term is why checking d(sum of outputs) cannot catch a wrong softmax
    backward: with g = 1 it cancels, since Σ y = 1.)
    """

    def forward(self, x, axis=-1):
        self.axis = axis
        self.y = get_array_module(x).exp(stable_log_softmax(x, axis))
        return self.y

    def backward(self, g):
        y = self.y
        return y * (g - (g * y).sum(axis=self.axis, keepdims=True))

    def backward_graph(self, g):
        y = self.output_tensor(self.y)
        return y * (g - (g * y).sum(self.axis, keepdim=True))


class LogSoftmax(Function):
    """y_i = x_i - log Σ_j e^{x_j} along ``axis``.

    dy_i/dx_j = δ_ij - softmax_j, so dx_j = g_j - softmax_j · Σ_i g_i,
    with softmax = e^y from the saved output.
    """

    def forward(self, x, axis=-1):
        self.axis = axis
        self.y = stable_log_softmax(x, axis)
        return self.y

    def backward(self, g):
        softmax = get_array_module(g).exp(self.y)
        return g - softmax * g.sum(axis=self.axis, keepdims=True)

    def backward_graph(self, g):
        softmax = self.output_tensor(self.y).exp()
        return g - softmax * g.sum(self.axis, keepdim=True)
