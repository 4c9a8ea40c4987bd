"""Batch normalization over (N, C) or (N, C, H, W): statistics per channel C."""
import numpy as np

from ..backend import get_array_module
from ..tensor import Function


class BatchNorm(Function):
    """y = γ · x̂ + β,   x̂ = (x - μ) / σ,   σ = sqrt(var + eps), per channel.

    Training mode: μ and var are the mean and (biased) variance of the M = N·H·W values of
    each channel in this batch; running_mean/var move towards them with ``momentum``
    (running_var gets the unbiased M/(M-1) estimate, as in PyTorch). Eval mode: μ and var
    are the running statistics, constants.

    Backward (per channel, sums over the M values; dy = dL/dy):
        dβ = Σ dy          dγ = Σ dy·x̂          dx̂ = γ·dy
    In training μ and σ depend on x too. With dx̂/dx_j = (δ_ij - 1/M)/σ - x̂_i x̂_j/(M σ)
    (from dμ/dx_j = 1/M and dσ/dx_j = x̂_j/(M σ)), summing over i gives the compact form

        dx = (1/M) · (γ/σ) · (M·dy - Σ dy - x̂ · Σ(dy·x̂))

    In eval mode μ and σ are constants:  dx = γ/σ · dy.
    """

    def forward(self, x, gamma, beta, running_mean=None, running_var=None, training=True, momentum=0.1, eps=1e-5,
                impl=None):
        if x.ndim not in (2, 4):
            raise ValueError(f"batch_norm: expected input (N, C) or (N, C, H, W), got shape {x.shape}")
        channels = x.shape[1]
        if gamma.shape != (channels,) or beta.shape != (channels,):
            raise ValueError(f"batch_norm: input shape {x.shape} has {channels} channels but weight/bias have shapes {gamma.shape}/{beta.shape}")
        xp = get_array_module(x)
        self.axes = (0,) if x.ndim == 2 else (0, 2, 3)
        shape = (1, channels) + (1,) * (x.ndim - 2)  # broadcasts a per-channel vector over x
        self.count = x.size // channels
        self.training = training
        # Training on the CPU takes the fused Numba loops (batchnorm_numba.py) unless impl="numpy"
        # pins this plain NumPy version, the reference they are tested against.
        self.fused = training and impl != "numpy" and xp is np and x.dtype.kind == "f"
        if training:
            if self.count < 2:
                raise ValueError(f"batch_norm: training needs more than 1 value per channel, got input shape {x.shape}")
            if self.fused:
                from . import batchnorm_numba

                y, mean, var = batchnorm_numba.forward(x, gamma, beta, eps)
                self.x, self.mean = x, mean  # backward recomputes x̂ from them and inv_std
            else:
                mean = x.mean(axis=self.axes)
                var = x.var(axis=self.axes)
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += momentum * mean
                running_var *= 1 - momentum
                running_var += momentum * var * (self.count / (self.count - 1))
        else:
            mean, var = running_mean, running_var
        self.inv_std = (1 / xp.sqrt(var + eps)).astype(x.dtype).reshape(shape)
        self.gamma = gamma.reshape(shape)
        if self.fused:
            return y
        self.x_hat = (x - mean.reshape(shape).astype(x.dtype)) * self.inv_std
        return self.x_hat * self.gamma + beta.reshape(shape)

    def backward(self, dy):
        if self.fused:
            from . import batchnorm_numba

            return batchnorm_numba.backward(dy, self.x, self.mean, self.gamma.ravel(), self.inv_std.ravel())
        dbeta = dy.sum(axis=self.axes)
        dgamma = (dy * self.x_hat).sum(axis=self.axes)
        scale = self.gamma * self.inv_std
        if not self.training:
            return dy * scale, dgamma, dbeta
        shape = scale.shape
        m = self.count
        dx = (scale / m) * (m * dy - dbeta.reshape(shape) - self.x_hat * dgamma.reshape(shape))
        return dx, dgamma, dbeta


def batch_norm(x, running_mean, running_var, weight, bias, training=False, momentum=0.1, eps=1e-5, impl=None):
    """PyTorch's argument order. running_mean/var are arrays updated in place in training.
    ``impl="numpy"`` pins the plain NumPy code instead of the fused Numba loops on the CPU."""
    return BatchNorm.apply(
        x, weight, bias, running_mean=running_mean, running_var=running_var,
        training=training, momentum=momentum, eps=eps, impl=impl,
    )
