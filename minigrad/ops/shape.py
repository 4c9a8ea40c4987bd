"""Ops that move elements around without changing their values.

Each element of the output is some element of the input, so every backward routes the
gradient back to where the element came from: reshape back, permute back, scatter back,
slice back.
"""
from ..backend import get_array_module, scatter_add
from ..tensor import Function, Tensor


class Reshape(Function):
    """y = x with a new shape (same elements, same order).   dx = g reshaped back."""

    def forward(self, x, shape=None):
        self.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape shape {x.shape} ({x.size} elements) into {tuple(shape)}") from None

    def backward(self, g):
        return g.reshape(self.shape)


def permute(x, axes):
    """x with its axes in the order ``axes`` (NumPy's transpose(axes), PyTorch's permute), for an
    array or a tensor (ops/both.py hands this on)."""
    return Permute.apply(x, dims=tuple(axes)) if isinstance(x, Tensor) else x.transpose(axes)


def scattered(g, shape, index, distinct=False):
    """zeros of ``shape`` with g added at ``index``: dx = 0; dx[index] += g, repeats adding up
    (the adjoint of indexing), for an array or a tensor. ``distinct``: no position repeats."""
    if isinstance(g, Tensor):
        return ScatterIndex.apply(g, shape=shape, index=index)
    dx = get_array_module(g).zeros(shape, dtype=g.dtype)
    if distinct or _never_repeats(index):
        dx[index] = g  # slices, integers and masks pick each element once
    else:
        scatter_add(dx, index, g)
    return dx


def _never_repeats(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        p is None or p is Ellipsis or isinstance(p, (int, slice)) or getattr(p, "dtype", None) == bool
        for p in parts
    )


def concatenate(xs, axis):
    """xs joined along ``axis``, for arrays or tensors."""
    if any(isinstance(x, Tensor) for x in xs):
        return Concatenate.apply(*xs, axis=axis)
    return get_array_module(*xs).concatenate(xs, axis=axis)


class Permute(Function):
    """y = x with axes reordered: y.shape[i] = x.shape[dims[i]].

    Undoing a permutation is permuting by its inverse: dx = g.transpose(argsort(dims)).
    """

    def forward(self, x, dims=None):
        if sorted(dims) != list(range(x.ndim)):
            raise ValueError(f"permute: dims {tuple(dims)} are not a permutation of the {x.ndim} axes of shape {x.shape}")
        self.inverse = tuple(sorted(range(len(dims)), key=lambda i: dims[i]))
        return x.transpose(dims)

    def backward(self, g):
        return permute(g, self.inverse)


class GetItem(Function):
    """y = x[index] for integer, slice, boolean-mask and integer-array (fancy) indices.

    y takes some elements of x, possibly some several times (fancy indexing with repeats).
    dx is zero except at the taken positions, where each use adds its gradient:
    dx = zeros_like(x);  dx[index] += g  — a scatter-add, so repeated indices accumulate.
    """

    def forward(self, x, index=None):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        return x[index]

    def backward(self, g):
        return scattered(g, self.shape, self.index)


class ScatterIndex(Function):
    """dx = zeros of ``shape`` with g added at ``index`` (GetItem's backward as an op, so that
    it can be differentiated again). It is linear in g, and its adjoint is the indexing
    itself: dg = dy[index]."""

    def forward(self, g, shape=None, index=None):
        self.index = index
        return scattered(g, shape, index)

    def backward(self, dy):
        return dy[self.index]


def _shape_without(shape, axis):
    """The sizes that must match for a concatenation along ``axis``: all the others."""
    return shape[:axis] + shape[axis + 1:]


class Concatenate(Function):
    """y = [x_1, x_2, ...] joined along ``axis``.   dx_k = the slice of g that x_k filled."""

    def forward(self, *xs, axis=0):
        xp = get_array_module(*xs)
        first = xs[0].shape
        self.axis = axis % len(first)
        for x in xs[1:]:
            if len(x.shape) != len(first) or _shape_without(x.shape, self.axis) != _shape_without(first, self.axis):
                raise ValueError(f"concatenate: shapes {first} and {x.shape} differ outside axis {axis}")
        self.sizes = [x.shape[self.axis] for x in xs]
        return xp.concatenate(xs, axis=self.axis)

    def backward(self, g):
        grads, start = [], 0
        for size in self.sizes:
            index = [slice(None)] * g.ndim
            index[self.axis] = slice(start, start + size)
            grads.append(g[tuple(index)])
            start += size
        return tuple(grads)


class Pad(Function):
    """y = x surrounded by ``value``; pad_width as in numpy.pad: ((before, after), ...) per axis.

    The padding is constant, so only the interior depends on x: dx = g[interior].
    """

    def forward(self, x, pad_width=None, value=0.0):
        xp = get_array_module(x)
        if len(pad_width) != x.ndim:
            raise ValueError(f"pad: pad_width has {len(pad_width)} entries for an input of shape {x.shape}")
        self.interior = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
        return xp.pad(x, pad_width, mode="constant", constant_values=value)

    def backward(self, g):
        return g[self.interior]


class Gather(Function):
    """y[i][j][k] = x[i][index[i][j][k]][k] along dim 1 (any dim likewise): PyTorch's gather.

    Each output element copies one input element, chosen by ``index`` along ``dim``; an input
    element may be chosen several times. dx = zeros_like(x), then every g[i][j][k] is added at
    the position it was copied from: a scatter-add along dim (repeats accumulate).
    """

    def forward(self, x, dim=0, index=None):
        xp = get_array_module(x)
        _check_index("gather", x, dim, index)
        self.shape, self.dim, self.index = x.shape, dim, index
        # PyTorch lets the index be shorter than x in the other dims: only that corner is read
        corner = tuple(slice(None) if i == dim else slice(0, m) for i, m in enumerate(index.shape))
        return xp.take_along_axis(x[corner], index, axis=dim)

    def backward(self, g):
        return scattered(g, self.shape, positions_along(self.index, self.dim))


class ScatterAdd(Function):
    """y = x, then y[…, index[i][j][k], …] += src[i][j][k] along ``dim``: PyTorch's scatter_add.

    y is x plus a sum of src elements, each added once at the position ``index`` names, so

        dx   = g                                   (x passes through unchanged)
        dsrc = g gathered at the same positions    (dsrc[i][j][k] = g[…, index[i][j][k], …])

    Only the corner of src that ``index`` covers is used, as in PyTorch; the rest of src gets 0.
    """

    def forward(self, x, src, dim=0, index=None):
        _check_index("scatter_add", x, dim, index)
        if src.ndim != x.ndim or any(m > n for m, n in zip(index.shape, src.shape)):
            raise ValueError(f"scatter_add: src {src.shape} must have the index's {index.ndim} dimensions, "
                             f"each at least as long as the index's {index.shape}")
        self.src_shape, self.dim, self.index = src.shape, dim, index
        self.corner = tuple(slice(0, m) for m in index.shape)
        self.where = positions_along(index, dim)
        y = x.copy()
        scatter_add(y, self.where, src[self.corner])
        return y

    def backward(self, g):
        dsrc = None
        if self.needs_input_grad[1]:                          # g at the positions, in src's corner
            dsrc = scattered(g[self.where], self.src_shape, self.corner)
        return g, dsrc


def positions_along(index, dim):
    """Every position of ``index``, with its ``dim``-th coordinate replaced by the index's
    value there: where gather reads from, and where scatter_add writes to."""
    where = list(get_array_module(index).indices(index.shape, sparse=True))
    where[dim] = index
    return tuple(where)


def _check_index(op, x, dim, index):
    if index.ndim != x.ndim:
        raise ValueError(f"{op}: index has {index.ndim} dimensions, the input {x.ndim} (shape {x.shape})")
    if index.size and (int(index.min()) < 0 or int(index.max()) >= x.shape[dim]):
        raise ValueError(f"{op}: index values must lie in 0..{x.shape[dim] - 1} along dim {dim}")
    if any(m > n for i, (m, n) in enumerate(zip(index.shape, x.shape)) if i != dim):
        raise ValueError(f"{op}: index shape {index.shape} is larger than input shape {x.shape} outside dim {dim}")
