"""Training utilities that act on parameters' gradients."""
import math

import numpy as np

from ...backend import get_array_module, get_default_dtype
from ...tensor import Tensor


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    for p in parameters:
        if p.grad is not None:
            xp = get_array_module(p.grad.data)
            p.grad.data = xp.clip(p.grad.data, -clip_value, clip_value)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0):
    """Scale all gradients together so their global norm is at most ``max_norm``.

    Returns the norm before clipping as a 0-d tensor (to log exploding gradients), as
    PyTorch does. As in PyTorch the scale is max_norm / (norm + 1e-6), applied only when that
    is below 1.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return Tensor(np.zeros((), get_default_dtype()))
    if norm_type == math.inf:
        total = max(float(abs(g.data).max()) for g in grads)
    else:
        total = sum(float((abs(g.data) ** norm_type).sum()) for g in grads) ** (1.0 / norm_type)
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g.data = g.data * g.data.dtype.type(scale)
    xp = get_array_module(grads[0].data)
    return Tensor(xp.asarray(total, dtype=grads[0].dtype))
