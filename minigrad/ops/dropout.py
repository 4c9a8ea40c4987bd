"""Inverted dropout."""
from .. import random
from ..backend import device_of
from ..tensor import Function


class Dropout(Function):
    """Training: y = x · m / (1 - p), with m_i ~ Bernoulli(1 - p) drawn fresh each call.
    Dividing by 1 - p keeps E[y] = x, so evaluation needs no rescaling: there y = x.

    dx = g · m / (1 - p)   (the same mask: a dropped unit passes no gradient).
    """

    def forward(self, x, p=0.5, mask=None):
        if mask is None:
            keep = random.generator(device_of(x)).random(x.shape) >= p
            mask = keep.astype(x.dtype) / x.dtype.type(1 - p)
        self.mask = mask
        return x * mask

    def backward(self, g):
        return g * self.mask


def dropout(x, p=0.5, training=True, mask=None):
    """``mask`` (optional) fixes the scaled keep-mask, e.g. to gradient-check dropout."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout: probability p must be in [0, 1), got {p}")
    if not training or p == 0:
        return x
    return Dropout.apply(x, p=p, mask=mask)
