"""Exercise batch_norm: training mode, statistics per channel. Grade: ``python -m exercises.grade batch_norm``.

Over the M = N·H·W values of each channel (M = N for an (N, C) input):

    μ = Σx/M    var = Σ(x - μ)²/M    σ = sqrt(var + eps)    x̂ = (x - μ)/σ    y = γ x̂ + β

dβ and dγ are sums over the M values. For dx, remember that μ and σ are functions of x too:
work out ∂μ/∂x_j and ∂σ/∂x_j first, then ∂x̂_i/∂x_j, then sum over i. The result fits in one
line with the sums Σdy and Σ dy·x̂. (Worked solution: solutions/batch_norm.py.)
"""
import numpy as np

import minigrad as mg


class BatchNorm(mg.Function):
    eps = 1e-5

    def forward(self, x, gamma, beta):
        self.axes = (0,) if x.ndim == 2 else (0, 2, 3)
        self.shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)       # a per-channel vector over x
        self.m = x.size // x.shape[1]
        mean, var = x.mean(axis=self.axes, keepdims=True), x.var(axis=self.axes, keepdims=True)
        self.inv_std = 1 / np.sqrt(var + self.eps)
        self.x_hat = (x - mean) * self.inv_std
        self.save_for_backward(gamma)
        return gamma.reshape(self.shape) * self.x_hat + beta.reshape(self.shape)

    def backward(self, dy):
        gamma, = self.saved_tensors
        raise NotImplementedError("return dx, dgamma, dbeta")
