"""Exercise batch_norm, worked solution: training mode, statistics per channel."""
import numpy as np

import minigrad as mg


class BatchNorm(mg.Function):
    """Over the M = N·H·W values of each channel (M = N for an (N, C) input):

        μ = Σx/M    var = Σ(x - μ)²/M    σ = sqrt(var + eps)    x̂ = (x - μ)/σ    y = γ x̂ + β

    dβ = Σ dy and dγ = Σ dy·x̂. For x, μ and σ depend on x too: ∂μ/∂x_j = 1/M and
    ∂σ/∂x_j = x̂_j/M, so ∂x̂_i/∂x_j = (δ_ij - 1/M)/σ - x̂_i x̂_j/(Mσ), and summing over i:

        dx = (γ/σ)/M · (M·dy - Σdy - x̂ · Σ(dy·x̂))
    """

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
        dbeta = dy.sum(axis=self.axes)
        dgamma = (dy * self.x_hat).sum(axis=self.axes)
        scale = gamma.reshape(self.shape) * self.inv_std / self.m
        dx = scale * (self.m * dy - dbeta.reshape(self.shape) - self.x_hat * dgamma.reshape(self.shape))
        return dx, dgamma, dbeta
