"""Tensor factories with PyTorch's names: zeros, ones, full, arange, randn, rand, randint, ...

Floating-point results take the default dtype (float32 unless set_default_dtype says
otherwise); random ones draw on minigrad's seeded generator (minigrad.manual_seed).
"""
import numpy as np

from . import random
from .backend import get_default_dtype
from .tensor import Tensor


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def _make(values, dtype, requires_grad, device):
    if dtype is None and values.dtype.kind == "f":
        dtype = get_default_dtype()
    return Tensor(values if dtype is None else values.astype(dtype), requires_grad, device=device)


def zeros(*shape, dtype=None, requires_grad=False, device=None):
    return _make(np.zeros(_shape(shape)), dtype, requires_grad, device)


def ones(*shape, dtype=None, requires_grad=False, device=None):
    return _make(np.ones(_shape(shape)), dtype, requires_grad, device)


def empty(*shape, dtype=None, requires_grad=False, device=None):
    return zeros(*shape, dtype=dtype, requires_grad=requires_grad, device=device)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    return _make(np.full(_shape((size,)), fill_value), dtype, requires_grad, device)


def zeros_like(t, dtype=None, requires_grad=False):
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, device=t.device)


def ones_like(t, dtype=None, requires_grad=False):
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad, device=t.device)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad, device=t.device)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """As torch.arange: integers give int64, any float argument the default float dtype."""
    values = np.arange(start, step=step) if end is None else np.arange(start, end, step)
    return _make(values, dtype, requires_grad, device)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    return _make(np.linspace(start, end, steps), dtype, requires_grad, device)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    return _make(np.eye(n, m), dtype, requires_grad, device)


def randn(*shape, dtype=None, requires_grad=False, device=None):
    return _make(random.generator().standard_normal(_shape(shape)), dtype, requires_grad, device)


def rand(*shape, dtype=None, requires_grad=False, device=None):
    return _make(random.generator().random(_shape(shape)), dtype, requires_grad, device)


def randint(low, high=None, size=None, dtype=None, device=None):
    """As torch.randint(low=0, high, size): integers in [low, high)."""
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    if size is None or high is None:
        raise TypeError("randint: give the size, as randint(high, (n,)) or randint(low, high, (n,))")
    return _make(random.generator().integers(low, high, _shape((size,))), dtype, False, device)


def randperm(n, dtype=None, device=None):
    return _make(random.generator().permutation(n), dtype, False, device)
