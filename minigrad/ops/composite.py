"""Ops built from other ops: reshape, expand, split and friends, each a few calls of the
functions in functions.py, so autograd derives their backward (no Function of their own).
"""
import builtins

from ..backend import get_array_module
from .functions import _dim, abs, add, concatenate, exp, getitem, log, matmul, mul, permute, pow, reshape, sqrt, sub, sum, where

__all__ = [
    "expand", "repeat", "chunk", "masked_fill", "bmm", "logsumexp", "norm", "transpose",
    "unsqueeze", "squeeze", "flatten", "stack", "split",
]


def expand(x, *sizes):
    """x broadcast to ``sizes`` (-1 keeps a dimension): x + zeros, so the engine's
    un-broadcasting sums the gradient back to x's shape."""
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    lead = len(sizes) - x.ndim
    shape = tuple(n if n != -1 else x.shape[i - lead] for i, n in enumerate(sizes))
    return add(x, get_array_module(x.data).zeros(shape, dtype=x.dtype))


def repeat(x, *repeats):
    """PyTorch's repeat (NumPy's tile): the whole tensor copied ``repeats[i]`` times along axis i.
    As reshape, expand, reshape: (a, b) -> (1, a, 1, b) -> (r1, a, r2, b) -> (r1·a, r2·b)."""
    repeats = tuple(repeats[0]) if len(repeats) == 1 and isinstance(repeats[0], (tuple, list)) else repeats
    shape = (1,) * (len(repeats) - x.ndim) + x.shape
    interleaved = [d for n in shape for d in (1, n)]
    target = [d for r, n in zip(repeats, shape) for d in (r, n)]
    return reshape(expand(reshape(x, interleaved), target), tuple(r * n for r, n in zip(repeats, shape)))


def chunk(x, chunks, dim=0):
    """``chunks`` pieces along ``dim``, each ceil(n / chunks) long but the last (PyTorch's rule)."""
    return split(x, -(-x.shape[dim] // chunks), dim)


def masked_fill(x, mask, value):
    """``value`` where ``mask`` is true, x elsewhere: no gradient reaches the filled places."""
    return where(mask, get_array_module(x.data).asarray(value, dtype=x.dtype), x)


def bmm(a, b):
    """Batched matrix product of (B, N, K) and (B, K, M): matmul, with PyTorch's shape check."""
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ValueError(f"bmm: expected (B, N, K) and (B, K, M), got shapes {a.shape} and {b.shape}")
    return matmul(a, b)


def logsumexp(x, dim, keepdim=False):
    """log Σ e^x along ``dim``, as m + log Σ e^(x - m) with m the (constant) max, so exp never
    overflows; autograd gives the backward, softmax(x) · g."""
    m = x.data.max(axis=dim, keepdims=True)
    out = log(sum(exp(sub(x, m)), dim, keepdim=True)) + m
    return out if keepdim else squeeze(out, dim)


def norm(x, p=2, dim=None, keepdim=False):
    """The p-norm over ``dim`` (all elements by default): (Σ |x|^p)^(1/p)."""
    if p == 2:
        return sqrt(sum(mul(x, x), dim, keepdim))
    if p == 1:
        return sum(abs(x), dim, keepdim)
    return pow(sum(pow(abs(x), p), dim, keepdim), 1.0 / p)



def transpose(x, dim0=-2, dim1=-1):
    """Swap two axes (PyTorch's transpose)."""
    dims = list(range(x.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return permute(x, dims)


def unsqueeze(x, dim=None, *, axis=None):
    axis = _dim(dim, axis) % (x.ndim + 1)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def squeeze(x, dim=None, *, axis=None):
    axis = _dim(dim, axis)
    if axis is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    axis = axis % x.ndim
    if x.shape[axis] != 1:
        return x
    return reshape(x, x.shape[:axis] + x.shape[axis + 1:])


def flatten(x, start_dim=0, end_dim=-1):
    start, end = start_dim % x.ndim, end_dim % x.ndim
    middle = 1
    for n in x.shape[start:end + 1]:
        middle *= n
    return reshape(x, x.shape[:start] + (middle,) + x.shape[end + 1:])


def stack(tensors, dim=None, *, axis=None):
    """Join along a new axis: each input gets a size-1 axis, then concatenate."""
    axis = _dim(dim, axis, default=0)
    return concatenate([unsqueeze(t, axis) for t in tensors], axis=axis)


def split(x, split_size_or_sections, dim=None, *, axis=None):
    """Pieces of ``x`` along ``axis`` (PyTorch's rule: an int is the size of each piece,
    a list gives the sizes). Each piece is a slice, so its gradient lands in its place."""
    axis = _dim(dim, axis, default=0)
    n = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections:
            sizes.append(n % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} do not add up to {n}, the length of axis {axis} of shape {x.shape}")
    pieces, start = [], 0
    for size in sizes:
        index = [slice(None)] * x.ndim
        index[axis] = slice(start, start + size)
        pieces.append(getitem(x, tuple(index)))
        start += size
    return pieces
