"""Reductions over axes: sum, mean, max, min, var, prod.

Each output element is a function of a whole slice of the input. The backward first puts the
reduced axes back (as size-1 axes when keepdims was False) so the gradient broadcasts over
the slice it came from.
"""
from ..backend import get_array_module
from ..tensor import Function
from .both import broadcast_to, is_tensor


def normalize_axes(axis, ndim):
    """``axis`` (None, int or tuple, negatives allowed) as a sorted tuple of positive axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for an array with {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def expand_reduced(g, shape, axes):
    """Give ``g`` back the reduced axes of ``shape`` (size 1) so it broadcasts over the input."""
    return g.reshape([1 if i in axes else n for i, n in enumerate(shape)])


def count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class Sum(Function):
    """y = Σ_{reduced axes} x.   Every x in a slice adds to y with weight 1: dx = g broadcast."""

    def forward(self, x, axis=None, keepdims=False):
        self.shape = x.shape
        self.axes = normalize_axes(axis, x.ndim)
        return x.sum(axis=self.axes, keepdims=keepdims)

    def backward(self, g):
        return broadcast_to(expand_reduced(g, self.shape, self.axes), self.shape)


class Mean(Function):
    """y = (1/n) Σ x over n reduced elements.   dx = g / n broadcast."""

    def forward(self, x, axis=None, keepdims=False):
        self.shape = x.shape
        self.axes = normalize_axes(axis, x.ndim)
        return x.mean(axis=self.axes, keepdims=keepdims)

    def backward(self, g):
        return broadcast_to(expand_reduced(g, self.shape, self.axes) / count(self.shape, self.axes), self.shape)


class Max(Function):
    """y = max over the reduced axes (``Min`` reuses it through min x = -max(-x)).

    Only the maximal element affects y: dx = g where x == y, else 0.
    When several elements tie for the max the gradient is split equally between them
    (a subgradient, as PyTorch's ``amax`` does).
    """

    def forward(self, x, axis=None, keepdims=False):
        self.axes = normalize_axes(axis, x.ndim)
        y = x.max(axis=self.axes, keepdims=True)
        winners = x == y
        self.share = (winners / winners.sum(axis=self.axes, keepdims=True)).astype(x.dtype)  # a constant
        return y if keepdims else y.reshape([n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, g):
        return expand_reduced(g, self.share.shape, self.axes) * self.share


class Min(Max):
    """y = min over the reduced axes; the smallest element(s) get the gradient."""

    def forward(self, x, axis=None, keepdims=False):
        return -super().forward(-x, axis, keepdims)


class Var(Function):
    """y = Σ (x - m)² / (n - correction), m the mean over the n reduced elements.

    dy/dx_i = 2 (x_i - m) / (n - correction)   (the term through m vanishes, since
    Σ (x_j - m) = 0). correction=1 is the unbiased estimate, PyTorch's default.
    """

    def forward(self, x, axis=None, keepdims=False, correction=1):
        self.axes = normalize_axes(axis, x.ndim)
        n = count(x.shape, self.axes)
        if n - correction <= 0:
            raise ValueError(f"var: {n} element(s) with correction={correction} leave no degrees of freedom")
        centered = self.keep(centered_on_mean, x, axes=self.axes)
        self.save_for_backward(x)
        self.denominator = n - correction
        return (centered**2).sum(axis=self.axes, keepdims=keepdims) / self.denominator

    def backward(self, g):
        x, = self.saved_tensors
        centered = self.kept(x)                               # x - m
        return expand_reduced(g, x.shape, self.axes) * (2 / self.denominator) * centered


def centered_on_mean(x, axes):
    return x - x.mean(axis=axes, keepdims=True)


class Prod(Function):
    """y = Π x_k over one axis (or the whole array when axis is None).

    dy/dx_k = Π_{j≠k} x_j, the product of the *other* elements (products_of_others: dividing
    y by x_k would give it only where x_k ≠ 0):

        dx_k = g · Π_{j≠k} x_j
    """

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis = x.shape, axis
        self.save_for_backward(x)
        return x.prod(axis=axis, keepdims=keepdims)

    def backward(self, g):
        x, = self.saved_tensors
        if self.axis is None:
            return g * products_of_others(x.reshape(-1), 0).reshape(self.shape)
        along = self.axis % len(self.shape)
        return expand_reduced(g, self.shape, (along,)) * products_of_others(x, along)


def products_of_others(x, axis):
    """Π_{j≠k} x_j along ``axis``, for every k. On an array, from two running products that
    never divide:

        left_k  = x_0 · … · x_{k-1}   (exclusive cumulative product from the start)
        right_k = x_{k+1} · … · x_n   (the same from the end)
        Π_{j≠k} x_j = left_k · right_k

    On a tensor (create_graph) as a Prod, so that the engine can differentiate it again: of
    the matrix whose row k is x with x_k replaced by 1 (n² numbers for an axis of length n)."""
    n = x.shape[axis]
    if is_tensor(x):
        last = x.transpose(axis, -1)                                             # the axis last
        rows = last.unsqueeze(-2).expand(*last.shape[:-1], n, n).masked_fill(
            get_array_module(x.data).eye(n, dtype=bool), 1.0)                   # row k: x_k -> 1
        return Prod.apply(rows, axis=-1).transpose(axis, -1)
    xp = get_array_module(x)
    ones = xp.ones_like(xp.take(x, [0], axis=axis))
    before = xp.concatenate([ones, xp.take(x, range(n - 1), axis=axis)], axis=axis)
    after = xp.concatenate([xp.take(x, range(1, n), axis=axis), ones], axis=axis)
    left = xp.cumprod(before, axis=axis)
    right = xp.flip(xp.cumprod(xp.flip(after, axis=axis), axis=axis), axis=axis)
    return left * right
