"""The functions a backward pass calls beside the operators, for an array or a tensor alike.

Each op's backward is written once. At first order (``loss.backward()``) the engine hands it
arrays, and its lines run as plain NumPy (or CuPy) code. Under ``create_graph=True`` it hands
it tensors, and the same lines record minigrad ops, so that the gradients they compute can
be differentiated again. Operators (``+ - * / ** @``, unary ``-``), indexing, ``.T``,
``.reshape``, ``.sum(axis=, keepdims=)`` and ``.mean(axis=, keepdims=)`` mean the same on
both; the functions below cover the rest, each as NumPy's function on an array and as
minigrad's op on a tensor (through the Tensor's methods, or the ops of shape.py).
"""
from ..backend import get_array_module
from ..tensor import Tensor
from .shape import concatenate, permute, scattered  # noqa: F401  (handed on: shape.py defines them)


def is_tensor(x):
    return isinstance(x, Tensor)


def constant(x):
    """The values of ``x`` as an array: a constant, through which no gradient flows."""
    return x.data if isinstance(x, Tensor) else x


def exp(x):
    return x.exp() if isinstance(x, Tensor) else get_array_module(x).exp(x)


def log(x):
    return x.log() if isinstance(x, Tensor) else get_array_module(x).log(x)


def sqrt(x):
    return x.sqrt() if isinstance(x, Tensor) else get_array_module(x).sqrt(x)


def sin(x):
    return x.sin() if isinstance(x, Tensor) else get_array_module(x).sin(x)


def cos(x):
    return x.cos() if isinstance(x, Tensor) else get_array_module(x).cos(x)


def tanh(x):
    return x.tanh() if isinstance(x, Tensor) else get_array_module(x).tanh(x)


def sigmoid(x):
    """1 / (1 + e^-x), written through tanh so that large |x| neither overflows nor loses digits."""
    return x.sigmoid() if isinstance(x, Tensor) else 0.5 * (1 + get_array_module(x).tanh(0.5 * x))


def sign(x):
    """-1, 0 or 1: piecewise constant, so a constant even for a tensor (its derivative is 0)."""
    x = constant(x)
    return get_array_module(x).sign(x)


def where(condition, a, b):
    """a where ``condition`` (an array of booleans) holds, else b."""
    if isinstance(a, Tensor):
        return a.where(condition, b)
    if isinstance(b, Tensor):
        return b.where(~condition, a)
    return get_array_module(a, b).where(condition, a, b)


def cast(x, dtype):
    return x.to(dtype) if isinstance(x, Tensor) else x.astype(dtype, copy=False)


def swap_last_axes(x):
    """Each matrix of a stack transposed: (..., n, m) -> (..., m, n)."""
    return x.transpose(-1, -2) if isinstance(x, Tensor) else x.swapaxes(-1, -2)


def broadcast_to(x, shape):
    return x.expand(*shape) if isinstance(x, Tensor) else get_array_module(x).broadcast_to(x, shape)


def split(x, parts, axis):
    """x cut into ``parts`` equal pieces along ``axis``."""
    return x.chunk(parts, axis) if isinstance(x, Tensor) else get_array_module(x).split(x, parts, axis=axis)


def softmax(x, axis):
    if isinstance(x, Tensor):
        return x.softmax(axis)
    return get_array_module(x).exp(stable_log_softmax(x, axis))


def log_softmax(x, axis):
    return x.log_softmax(axis) if isinstance(x, Tensor) else stable_log_softmax(x, axis)


def stable_log_softmax(x, axis):
    """log softmax(x) = x - logsumexp(x) of an array, with the max subtracted first so exp never overflows."""
    xp = get_array_module(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
