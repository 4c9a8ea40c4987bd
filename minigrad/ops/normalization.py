"""Layer normalization (per sample, over its last dimensions) and the Gaussian CDF behind GELU."""
import math

import numpy as np

from ..backend import is_cupy_array
from ..tensor import Function
from .batchnorm import standardize
from .both import exp


class LayerNorm(Function):
    """y = γ ⊙ x̂ + β,   x̂ = (x - μ) / σ,   σ = sqrt(var + eps), where μ and var are the mean
    and (biased) variance of each sample's M values over the last dimensions
    (``normalized_shape``); γ and β have that shape, one value per position.

    Backward (sums Σ over those M values of one sample; dy = dL/dy):

        dβ = Σ_batch dy        dγ = Σ_batch dy ⊙ x̂        dx̂ = γ ⊙ dy

    As in batch norm, μ and σ depend on x (∂μ/∂x_j = 1/M, ∂σ/∂x_j = x̂_j/(Mσ)), so

        ∂x̂_i/∂x_j = (δ_ij - 1/M)/σ - x̂_i x̂_j/(M σ)

    and dx_j = Σ_i dx̂_i ∂x̂_i/∂x_j gives

        dx = (1/(Mσ)) · (M·dx̂ - Σ dx̂ - x̂ · Σ(dx̂ ⊙ x̂)).

    The difference from batch norm: the statistics run over a sample's features instead of
    a channel's batch, and γ sits inside the sums (dx̂ = γ ⊙ dy), one γ per feature.
    """

    def forward(self, x, gamma=None, beta=None, normalized_shape=(), eps=1e-5):
        d = len(normalized_shape)
        if tuple(x.shape[x.ndim - d:]) != tuple(normalized_shape) or d == 0:
            raise ValueError(f"layer_norm: input of shape {x.shape} does not end in normalized_shape "
                             f"{tuple(normalized_shape)}")
        for name, p in (("weight", gamma), ("bias", beta)):
            if p is not None and tuple(p.shape) != tuple(normalized_shape):
                raise ValueError(f"layer_norm: {name} has shape {p.shape}, expected {tuple(normalized_shape)}")
        self.axes = tuple(range(x.ndim - d, x.ndim))            # the normalized dimensions
        self.batch_axes = tuple(range(x.ndim - d))              # the others: γ's gradient sums them
        self.count = int(np.prod(normalized_shape))             # M
        self.has_gamma, self.has_beta = gamma is not None, beta is not None
        x_hat = self.keep(standardize, x, axes=self.axes, eps=eps)[0]
        self.save_for_backward(x, *([gamma] if gamma is not None else []))
        y = x_hat * gamma if gamma is not None else x_hat
        return y + beta if beta is not None else y

    def backward(self, dy):
        x, *gamma = self.saved_tensors
        x_hat, inv_std = self.kept(x)[:2]                       # x̂, 1/σ
        dgamma = (dy * x_hat).sum(axis=self.batch_axes) if self.has_gamma else None
        dbeta = dy.sum(axis=self.batch_axes) if self.has_beta else None
        dx_hat = dy * gamma[0] if gamma else dy                 # dx̂ = γ ⊙ dy
        m = self.count
        sum_dx_hat = dx_hat.sum(axis=self.axes, keepdims=True)
        sum_dx_hat_x_hat = (dx_hat * x_hat).sum(axis=self.axes, keepdims=True)
        dx = (inv_std / m) * (m * dx_hat - sum_dx_hat - x_hat * sum_dx_hat_x_hat)
        return (dx,) + ((dgamma,) if self.has_gamma else ()) + ((dbeta,) if self.has_beta else ())


class NormalCDF(Function):
    """Φ(x) = (1 + erf(x/√2)) / 2, the standard normal distribution's CDF.
    dΦ/dx = φ(x) = e^(-x²/2) / √(2π), the normal density."""

    def forward(self, x):
        self.save_for_backward(x)
        return (0.5 * (1 + _erf(x * (1 / math.sqrt(2))))).astype(x.dtype)

    def backward(self, g):
        x, = self.saved_tensors
        return g * exp(x * x * -0.5) * (1 / math.sqrt(2 * math.pi))


def _erf(x):
    """erf elementwise: NumPy has none, so Python's math.erf per element (CuPy has one)."""
    if is_cupy_array(x):
        from cupyx.scipy.special import erf

        return erf(x)
    return np.frompyfunc(math.erf, 1, 1)(x).astype(x.dtype) if x.ndim else np.asarray(math.erf(float(x)), x.dtype)


__all__ = ["LayerNorm", "NormalCDF"]
