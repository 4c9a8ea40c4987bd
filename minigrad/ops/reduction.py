"""Reductions over axes: sum, mean, max, min, var, prod.

Each output element is a function of a whole slice of the input. The backward first puts the
reduced axes back (as size-1 axes when keepdims was False) so the gradient broadcasts over
the slice it came from.
"""
from ..backend import get_array_module
from ..tensor import Function


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


def expand_reduced(g, axes, keepdims):
    """Give ``g`` back the reduced axes (size 1) so it broadcasts over the input."""
    if keepdims or not axes:
        return g
    return get_array_module(g).expand_dims(g, axes)


def count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class Sum(Function):
    """y = Σ_{reduced axes} x.   Every x in a slice adds to y with weight 1: dx = g broadcast."""

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.keepdims = x.shape, keepdims
        self.axes = normalize_axes(axis, x.ndim)
        return x.sum(axis=self.axes, keepdims=keepdims)

    def backward(self, g):
        g = expand_reduced(g, self.axes, self.keepdims)
        return get_array_module(g).broadcast_to(g, self.shape)

    def backward_graph(self, g):  # the same on tensors (create_graph=True)
        return _tensor_expand(g, self.axes, self.keepdims, self.shape)


class Mean(Function):
    """y = (1/n) Σ x over n reduced elements.   dx = g / n broadcast."""

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.keepdims = x.shape, keepdims
        self.axes = normalize_axes(axis, x.ndim)
        return x.mean(axis=self.axes, keepdims=keepdims)

    def backward(self, g):
        g = expand_reduced(g, self.axes, self.keepdims) / count(self.shape, self.axes)
        return get_array_module(g).broadcast_to(g, self.shape)

    def backward_graph(self, g):
        return _tensor_expand(g, self.axes, self.keepdims, self.shape) / count(self.shape, self.axes)


class Max(Function):
    """y = max over the reduced axes (``Min`` reuses it through min x = -max(-x)).

    Only the maximal element affects y: dx = g where x == y, else 0.
    When several elements tie for the max the gradient is split equally between them
    (a subgradient, as PyTorch's ``amax`` does).
    """

    def forward(self, x, axis=None, keepdims=False):
        self.keepdims = keepdims
        self.axes = normalize_axes(axis, x.ndim)
        y = x.max(axis=self.axes, keepdims=True)
        winners = x == y
        self.share = winners / winners.sum(axis=self.axes, keepdims=True)
        self.share = self.share.astype(x.dtype)
        return y if keepdims else y.reshape([n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, g):
        return expand_reduced(g, self.axes, self.keepdims) * self.share

    def backward_graph(self, g):
        kept = [1 if i in self.axes else n for i, n in enumerate(self.share.shape)]
        return g.reshape(kept) * self.share


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
        self.keepdims = keepdims
        self.axes = normalize_axes(axis, x.ndim)
        n = count(x.shape, self.axes)
        if n - correction <= 0:
            raise ValueError(f"var: {n} element(s) with correction={correction} leave no degrees of freedom")
        self.x, self.centered = x, x - x.mean(axis=self.axes, keepdims=True)
        self.denominator = n - correction
        return (self.centered**2).sum(axis=self.axes, keepdims=keepdims) / self.denominator

    def backward(self, g):
        g = expand_reduced(g, self.axes, self.keepdims)
        return g * (2 / self.denominator) * self.centered

    def backward_graph(self, g):
        x = self.input_tensor(0, self.x)
        centered = x - x.mean(self.axes, keepdim=True)
        kept = [1 if i in self.axes else n for i, n in enumerate(self.centered.shape)]
        return g.reshape(kept) * (2 / self.denominator) * centered


class Prod(Function):
    """y = Π x_k over one axis (or the whole array when axis is None).

    dy/dx_k = Π_{j≠k} x_j, the product of the *other* elements. Dividing y by x_k would give
    it only when x_k ≠ 0, so it is built from two running products that never divide:

        left_k  = x_0 · … · x_{k-1}   (exclusive cumulative product from the start)
        right_k = x_{k+1} · … · x_n   (the same from the end)
        dx_k    = g · left_k · right_k
    """

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.keepdims, self.axis = x.shape, keepdims, axis
        flat = x.reshape(-1) if axis is None else x
        self.x, self.along = flat, 0 if axis is None else axis % x.ndim
        return x.prod(axis=axis, keepdims=keepdims)

    def backward(self, g):
        xp = get_array_module(g)
        along = self.along
        ones = xp.ones_like(xp.take(self.x, [0], axis=along))
        before = xp.concatenate([ones, xp.take(self.x, range(self.x.shape[along] - 1), axis=along)], axis=along)
        after = xp.concatenate([xp.take(self.x, range(1, self.x.shape[along]), axis=along), ones], axis=along)
        left = xp.cumprod(before, axis=along)
        right = xp.flip(xp.cumprod(xp.flip(after, axis=along), axis=along), axis=along)
        if self.axis is None:
            return (g * left * right).reshape(self.shape)
        g = expand_reduced(g, (along,), self.keepdims)
        return g * left * right

    def backward_graph(self, g):
        """The same on tensors (create_graph=True). The products of the other elements are
        themselves a Prod: of the matrix whose row k is x with x_k replaced by 1."""
        from . import masked_fill

        xp = get_array_module(self.x)
        x = self.input_tensor(0, self.x.reshape(self.shape) if self.axis is None else self.x)
        x = x.reshape(-1) if self.axis is None else x.transpose(self.along, -1)   # the reduced axis last
        n = x.shape[-1]
        rows = masked_fill(x.unsqueeze(-2).expand(*x.shape[:-1], n, n), xp.eye(n, dtype=bool), 1.0)
        others = Prod.apply(rows, axis=-1)                                        # Π_{j≠k} x_j
        if self.axis is None:
            return (g * others).reshape(self.shape)
        kept = [1 if i == self.along else m for i, m in enumerate(self.shape)]
        return g.reshape(kept) * others.transpose(self.along, -1)


def _tensor_expand(g, axes, keepdims, shape):
    """expand_reduced then broadcast, with minigrad's ops: g back over the reduced axes."""
    kept = [1 if i in axes else n for i, n in enumerate(shape)]
    return g.reshape(kept).expand(*shape)
