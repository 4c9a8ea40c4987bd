"""Ops built from other ops: reshape, expand, split and friends, each a few calls of the
functions in functions.py, so autograd derives their backward (no Function of their own).
"""
import builtins
from collections import namedtuple

import numpy as np

from ..backend import get_array_module
from ..tensor import Tensor
from .functions import (
    _dim, abs, add, amax, amin, concatenate, exp, gather, getitem, layer_norm, log, matmul, mean, mul, normal_cdf, pad,
    permute, pow, reshape, sqrt, sub, sum, tanh, where,
)

__all__ = [
    "expand", "repeat", "chunk", "masked_fill", "bmm", "logsumexp", "norm", "transpose",
    "unsqueeze", "squeeze", "flatten", "stack", "split", "sort", "argsort", "topk", "dot", "unbind", "index_select",
    "gelu", "group_norm", "conv1d", "adaptive_avg_pool2d", "conv_transpose2d",
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
    overflows; autograd gives the backward, softmax(x) · g. A row whose max is ±inf uses
    m = 0 instead (as PyTorch), so that an all -inf row gives -inf and a row with +inf gives
    +inf, not inf - inf = NaN."""
    xp = get_array_module(x.data)
    m = x.data.max(axis=dim, keepdims=True)
    m = xp.where(xp.isinf(m), xp.zeros_like(m), m)
    out = log(sum(exp(sub(x, m)), dim, keepdim=True)) + m
    return out if keepdim else squeeze(out, dim)


def norm(x, p=2, dim=None, keepdim=False):
    """The p-norm over ``dim`` (all elements by default): (Σ |x|^p)^(1/p); p = inf is max |x|.

    At a zero vector the norm is 0 and, as in PyTorch, so is its gradient (the derivative
    x |x|^(p-2) / ‖x‖^(p-1) is 0/0 there). The 'double where' does it: the power is taken of
    s where s ≠ 0 and of 1 elsewhere, so no inf or NaN is ever made, and the outer where sends
    the zero rows' gradient to the constant 0."""
    if p == "fro":
        p = 2
    if p in (float("inf"), float("-inf")):
        return (amax if p > 0 else amin)(abs(x), dim, keepdim)
    if not isinstance(p, (int, float)) or p < 1:
        raise ValueError(f"norm: p must be a number >= 1, inf, -inf or 'fro', got {p!r}")
    if p == 1:
        return sum(abs(x), dim, keepdim)
    xp = get_array_module(x.data)
    s = sum(mul(x, x) if p == 2 else pow(abs(x), p), dim, keepdim)
    zero = s.data == 0
    safe = where(zero, xp.ones((), dtype=s.dtype), s)
    root = sqrt(safe) if p == 2 else pow(safe, 1.0 / p)
    return where(zero, xp.zeros((), dtype=s.dtype), root)



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


SortResult = namedtuple("SortResult", ["values", "indices"])  # PyTorch's (values, indices) pair


def argsort(x, dim=-1, descending=False, stable=False):
    """The indices that sort x along ``dim``; ties keep their order (a stable sort)."""
    data = x.data if isinstance(x, Tensor) else x
    xp = get_array_module(data)
    if descending:  # sort the negated values (stable: ties stay in order, as PyTorch's stable sort)
        data = -(data.astype(np.int64) if data.dtype.kind in "bu" else data)
    return Tensor(xp.argsort(data, axis=dim, kind="stable"))


def sort(x, dim=-1, descending=False, stable=False):
    """(values, indices) along ``dim``. values = gather(x, dim, indices), so each value's
    gradient goes back to the place it came from."""
    indices = argsort(x, dim, descending)
    return SortResult(gather(x, dim, indices.data), indices)


def topk(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - PyTorch's name
    """The k largest (or smallest) values along ``dim`` and their indices, largest first."""
    if not 0 <= k <= x.shape[dim]:
        raise ValueError(f"topk: k={k} is out of range for dimension {dim} of size {x.shape[dim]}")
    order = argsort(x, dim, descending=largest).data
    first_k = get_array_module(order).take(order, np.arange(k), axis=dim)
    return SortResult(gather(x, dim, first_k), Tensor(first_k))


def dot(a, b):
    """The dot product of two 1-D tensors (PyTorch's dot refuses anything else)."""
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"dot: expected two 1-D tensors of one length, got shapes {a.shape} and {b.shape} "
                         f"(matmul multiplies matrices)")
    return matmul(a, b)


def unbind(x, dim=0):
    """The slices along ``dim``, as a tuple, each without that axis."""
    return tuple(getitem(x, (slice(None),) * (dim % x.ndim) + (i,)) for i in range(x.shape[dim]))


def index_select(x, dim, index):
    """The entries of ``x`` at the 1-D integer ``index`` along ``dim``."""
    index = index.data if isinstance(index, Tensor) else np.asarray(index)
    if index.ndim != 1:
        raise ValueError(f"index_select: index must be 1-D, got shape {index.shape}")
    return getitem(x, (slice(None),) * (dim % x.ndim) + (index,))


def gelu(x, approximate="none"):
    """GELU(x) = x·Φ(x), Φ the standard normal CDF; autograd gives dGELU/dx = Φ(x) + x·φ(x).
    ``approximate='tanh'``: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), PyTorch's option."""
    if approximate == "none":
        return mul(x, normal_cdf(x))
    if approximate == "tanh":
        inner = mul(add(x, mul(pow(x, 3), 0.044715)), (2 / np.pi) ** 0.5)
        return mul(mul(x, 0.5), add(tanh(inner), 1))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalize each sample's channels in ``num_groups`` groups (statistics over a group's
    channels and positions), then scale and shift per channel: a layer norm of (N, G, rest)."""
    n, c = x.shape[0], x.shape[1]
    if c % num_groups:
        raise ValueError(f"group_norm: {c} channels do not split into {num_groups} groups")
    grouped = reshape(x, (n, num_groups, -1))
    y = reshape(layer_norm(grouped, grouped.shape[2:], eps=eps), x.shape)
    per_channel = (1, c) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = mul(y, reshape(weight, per_channel))
    return add(y, reshape(bias, per_channel)) if bias is not None else y


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """A 1-D convolution of (N, C, L) as a 2-D one over (N, C, 1, L) with (K, C, 1, k) kernels."""
    from .conv import conv2d

    if x.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv1d: expected input (N, C, L) and weight (K, C, k), got {x.shape} and {weight.shape}")
    pad = padding if isinstance(padding, str) else (0, padding)
    out = conv2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias, (1, stride), pad, (1, dilation))
    return squeeze(out, 2)


def adaptive_avg_pool2d(x, output_size):
    """Average over windows that tile (H, W) into ``output_size`` cells, PyTorch's rule:
    cell i covers rows floor(i·H/h) .. ceil((i+1)·H/h) - 1. Built from slices and means."""
    from .pooling import avg_pool2d

    h_out, w_out = (output_size, output_size) if isinstance(output_size, int) else output_size
    h, w = x.shape[-2:]
    h_out, w_out = h if h_out is None else h_out, w if w_out is None else w_out
    if h % h_out == 0 and w % w_out == 0:  # equal windows: one pooling op
        k = (h // h_out, w // w_out)
        return avg_pool2d(x, k, k)
    rows = []
    for i in range(h_out):
        r0, r1 = (i * h) // h_out, -((-(i + 1) * h) // h_out)
        cells = [mean(getitem(x, (Ellipsis, slice(r0, r1), slice((j * w) // w_out, -((-(j + 1) * w) // w_out)))),
                      (-2, -1)) for j in range(w_out)]
        rows.append(stack(cells, -1))
    return stack(rows, -2)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1):
    """The transposed convolution: the map that conv2d's backward applies to dL/dy, used as a
    forward pass (it upsamples). weight: (C_in, C_out, KH, KW), PyTorch's layout.

    conv2d computes y = im2col(x) · W, W of shape (KH·KW·C, F). Its input gradient is
    dx = col2im(dy · Wᵀ): every input pixel of a window receives the window's value times
    its kernel tap. The transposed convolution does exactly that to its input x:

        cols = x_rows · W'    (x_rows: (N·H·W, C_in); W': (C_in, KH·KW·C_out))
        full = col2im(cols)   (N, C_out, (H-1)·s + d·(KH-1) + 1, ...)
        y    = full cropped by p at the top and left, by p - output_padding at the bottom and right

    so each input pixel paints a KH×KW patch of weights into the output, overlapping patches
    adding up. Built from permute, reshape, matmul and col2im (whose adjoint is im2col),
    autograd derives its backward: dx is a convolution of dy with the same kernel."""
    from .geometry import pair
    from .im2col import fold

    if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[0]:
        raise ValueError(f"conv_transpose2d: expected input (N, C_in, H, W) and weight (C_in, C_out, KH, KW) with one "
                         f"C_in, got shapes {x.shape} and {weight.shape}")
    (sh, sw), (ph, pw) = pair(stride, "stride"), pair(padding, "padding")
    (oph, opw), (dh, dw) = pair(output_padding, "output_padding"), pair(dilation, "dilation")
    if not (0 <= oph < max(sh, dh) and 0 <= opw < max(sw, dw)):
        raise ValueError(f"conv_transpose2d: output_padding {output_padding} must be smaller than the stride or "
                         f"the dilation (PyTorch's rule)")
    n, c_in, h, w = x.shape
    c_out, kh, kw = weight.shape[1:]
    full_h, full_w = (h - 1) * sh + dh * (kh - 1) + 1, (w - 1) * sw + dw * (kw - 1) + 1  # before cropping
    if full_h - 2 * ph + oph < 1 or full_w - 2 * pw + opw < 1:
        raise ValueError(f"conv_transpose2d: input {x.shape} with kernel {(kh, kw)} and padding {padding} gives an "
                         f"empty output")
    rows = reshape(permute(x, (0, 2, 3, 1)), (n * h * w, c_in))
    taps = reshape(permute(weight, (0, 2, 3, 1)), (c_in, kh * kw * c_out))  # columns (i, j, c), as im2col's
    full = fold(matmul(rows, taps), (n, c_out, full_h, full_w), ((kh, kw), (sh, sw), (0, 0), (dh, dw)))
    # crop the padding, less output_padding at the bottom and right (zeros where that runs past)
    beyond_h, beyond_w = max(0, oph - ph), max(0, opw - pw)
    if beyond_h or beyond_w:
        full = pad(full, ((0, 0), (0, 0), (0, beyond_h), (0, beyond_w)))
    y = getitem(full, (slice(None), slice(None), slice(ph, full_h - ph + oph), slice(pw, full_w - pw + opw)))
    return y if bias is None else add(y, reshape(bias, (1, c_out, 1, 1)))
