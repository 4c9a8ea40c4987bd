"""The functions a backward pass calls beside the operators, for an array or a tensor alike.

Each op's backward is written once. At first order (``loss.backward()``) the engine hands it
arrays, and its lines run as plain NumPy (or CuPy) code. Under ``create_graph=True`` it hands
it tensors, and the same lines record minigrad ops, so that the gradients they compute can
be differentiated again. Operators (``+ - * / ** @``, unary ``-``), indexing, ``.T``,
``.reshape``, ``.sum(axis=, keepdims=)`` and ``.mean(axis=, keepdims=)`` mean the same on
both; the functions below cover the rest, each as NumPy's function on an array and as
minigrad's op on a tensor.
"""
from ..backend import get_array_module, scatter_add
from ..tensor import Tensor


def is_tensor(x):
    return isinstance(x, Tensor)


def constant(x):
    """The values of ``x`` as an array: a constant, through which no gradient flows."""
    return x.data if isinstance(x, Tensor) else x


def _ops():
    from .. import ops  # the ops package imports this module: look it up when first needed

    return ops


def exp(x):
    return _ops().exp(x) if isinstance(x, Tensor) else get_array_module(x).exp(x)


def log(x):
    return _ops().log(x) if isinstance(x, Tensor) else get_array_module(x).log(x)


def sqrt(x):
    return _ops().sqrt(x) if isinstance(x, Tensor) else get_array_module(x).sqrt(x)


def sin(x):
    return _ops().sin(x) if isinstance(x, Tensor) else get_array_module(x).sin(x)


def cos(x):
    return _ops().cos(x) if isinstance(x, Tensor) else get_array_module(x).cos(x)


def tanh(x):
    return _ops().tanh(x) if isinstance(x, Tensor) else get_array_module(x).tanh(x)


def sigmoid(x):
    """1 / (1 + e^-x), written through tanh so that large |x| neither overflows nor loses digits."""
    return _ops().sigmoid(x) if isinstance(x, Tensor) else 0.5 * (1 + get_array_module(x).tanh(0.5 * x))


def sign(x):
    """-1, 0 or 1: piecewise constant, so a constant even for a tensor (its derivative is 0)."""
    x = constant(x)
    return get_array_module(x).sign(x)


def where(condition, a, b):
    """a where ``condition`` (an array of booleans) holds, else b."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return _ops().where(condition, a, b)
    return get_array_module(a, b).where(condition, a, b)


def cast(x, dtype):
    return _ops().cast(x, dtype) if isinstance(x, Tensor) else x.astype(dtype, copy=False)


def permute(x, axes):
    """x with its axes in the order ``axes`` (NumPy's transpose(axes), PyTorch's permute)."""
    return _ops().permute(x, tuple(axes)) if isinstance(x, Tensor) else x.transpose(axes)


def swap_last_axes(x):
    """Each matrix of a stack transposed: (..., n, m) -> (..., m, n)."""
    return _ops().transpose(x, -1, -2) if isinstance(x, Tensor) else x.swapaxes(-1, -2)


def broadcast_to(x, shape):
    return _ops().expand(x, *shape) if isinstance(x, Tensor) else get_array_module(x).broadcast_to(x, shape)


def concatenate(xs, axis):
    if any(isinstance(x, Tensor) for x in xs):
        return _ops().concatenate(xs, axis)
    return get_array_module(*xs).concatenate(xs, axis=axis)


def split(x, parts, axis):
    """x cut into ``parts`` equal pieces along ``axis``."""
    if isinstance(x, Tensor):
        return _ops().split(x, x.shape[axis] // parts, axis)
    return get_array_module(x).split(x, parts, axis=axis)


def softmax(x, axis):
    if isinstance(x, Tensor):
        return _ops().softmax(x, axis)
    from .activation import stable_log_softmax

    return get_array_module(x).exp(stable_log_softmax(x, axis))


def log_softmax(x, axis):
    if isinstance(x, Tensor):
        return _ops().log_softmax(x, axis)
    from .activation import stable_log_softmax

    return stable_log_softmax(x, axis)


def scattered(g, shape, index, distinct=False):
    """zeros of ``shape`` with g added at ``index``: dx = 0; dx[index] += g, repeats adding up
    (the adjoint of indexing). ``distinct``: the caller knows no position repeats."""
    if isinstance(g, Tensor):
        from .shape import ScatterIndex

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


def im2col(x, geometry):
    """Every receptive field of x as a row (ops/im2col.py)."""
    from . import im2col as columns

    return columns.Im2col.apply(x, geometry=geometry) if isinstance(x, Tensor) else columns.im2col(x, *geometry)


def col2im(cols, shape, geometry):
    """The adjoint of im2col: each row added back into the pixels it came from."""
    from . import im2col as columns

    if isinstance(cols, Tensor):
        return columns.Col2im.apply(cols, shape=shape, geometry=geometry)
    return columns.col2im(cols, shape, *geometry)
