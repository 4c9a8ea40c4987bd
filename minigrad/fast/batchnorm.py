"""Batch norm in training mode as Numba loops: the fast CPU twin of ops/batchnorm.py's BatchNorm.

The same formulas as that op's docstring, computed one channel per parallel iteration
over a (N, C, L) view (L = H·W, or 1 for a (N, C) input), with float64 accumulators:

    forward:   μ = Σx / M,  var = Σ(x - μ)² / M  (two passes: stable),  x̂ = (x - μ)/σ,  y = γ x̂ + β
    backward:  Σdy, Σdy·x̂, then dx = (γ/σ)/M · (M·dy - Σdy - x̂ Σdy·x̂)

NumPy needs a separate pass (and a temporary array) for each reduction and each elementwise
step; here each channel's values are read from memory a few times and written once. x̂ is
not stored: backward recomputes it from x, μ and σ as it reads x (the graph keeps x alive
anyway, as the input of this op), which saves writing and keeping an array the size of x
(15 MB in the CIFAR CNN's train step).

The kernels may reassociate sums (fastmath "reassoc"): a sum kept in one accumulator is a
chain of dependent additions, one every few cycles; split over vector lanes it runs several
times faster (the forward pass of the CIFAR CNN's first batch norm: 4.2 -> 2.0 ms). The
accumulators are float64, so the changed rounding order is far below float32 precision.
"""
import math

import numpy as np
from numba import njit, prange

from ..ops import batchnorm as reference
from . import parallel


FAST_SUMS = {"reassoc", "contract"}  # reorder additions, fuse multiply-adds; nothing else


@njit(parallel=True, cache=True, fastmath=FAST_SUMS)
def _forward(x, gamma, beta, eps, y, mean, var):
    n, channels, length = x.shape
    m = n * length
    for c in prange(channels):
        total = 0.0
        for i in range(n):
            for k in range(length):
                total += x[i, c, k]
        mu = total / m
        squares = 0.0
        for i in range(n):
            for k in range(length):
                d = x[i, c, k] - mu
                squares += d * d
        v = squares / m
        inv_std = 1.0 / math.sqrt(v + eps)
        for i in range(n):
            for k in range(length):
                y[i, c, k] = (x[i, c, k] - mu) * inv_std * gamma[c] + beta[c]
        mean[c], var[c] = mu, v


@njit(parallel=True, cache=True, fastmath=FAST_SUMS)
def _backward(dy, x, mean, gamma, inv_std, dx, dgamma, dbeta):
    n, channels, length = dy.shape
    m = n * length
    for c in prange(channels):
        mu, sigma_inv = mean[c], inv_std[c]
        sum_dy = 0.0
        sum_dy_xhat = 0.0
        for i in range(n):
            for k in range(length):
                sum_dy += dy[i, c, k]
                sum_dy_xhat += dy[i, c, k] * ((x[i, c, k] - mu) * sigma_inv)
        scale = gamma[c] * sigma_inv / m
        for i in range(n):
            for k in range(length):
                x_hat = (x[i, c, k] - mu) * sigma_inv
                dx[i, c, k] = scale * (m * dy[i, c, k] - sum_dy - x_hat * sum_dy_xhat)
        dgamma[c], dbeta[c] = sum_dy_xhat, sum_dy


@njit(parallel=True, cache=True)
def _scale_shift(x, scale, shift, y):
    """Inference: y = x·scale + shift per channel, one (image, channel) plane per iteration."""
    n, channels, length = x.shape
    for p in prange(n * channels):
        i, c = p // channels, p % channels
        for k in range(length):
            y[i, c, k] = x[i, c, k] * scale[c] + shift[c]


def as_ncl(a):
    """(N, C) or (N, C, H, W) -> a contiguous (N, C, L) view."""
    return np.ascontiguousarray(a).reshape(a.shape[0], a.shape[1], -1)


def forward(x, gamma, beta, eps):
    """-> (y, mean, var), y shaped like x; mean/var float64 (C,)."""
    x3 = as_ncl(x)
    y = np.empty_like(x3)
    mean, var = np.empty(x.shape[1]), np.empty(x.shape[1])
    with parallel.loop_threads(3 * x.size):  # three passes over x
        _forward(x3, gamma, beta, eps, y, mean, var)
    return y.reshape(x.shape), mean, var


def backward(dy, x, mean, gamma, inv_std):
    """-> (dx, dgamma, dbeta); mean (C,) as forward computed it, inv_std (C,)."""
    dy3 = as_ncl(dy)
    dx = np.empty_like(dy3)
    dgamma, dbeta = np.empty(dy.shape[1]), np.empty(dy.shape[1])
    with parallel.loop_threads(3 * dy.size):  # two passes, each reading dy and x
        _backward(dy3, as_ncl(x), mean, gamma, inv_std, dx, dgamma, dbeta)
    return dx.reshape(dy.shape), dgamma.astype(dy.dtype), dbeta.astype(dy.dtype)



class BatchNorm(reference.BatchNorm):
    """Training mode on floating-point arrays runs the loops above. Inference (eval mode,
    no gradient wanted) folds the running statistics into one scale and shift per channel,
    y = x·(γ/σ) + (β - μγ/σ), one parallel pass instead of the reference's four. Eval mode
    with gradients runs the reference."""
    differentiable_backward = False  # array kernels: a first-order backward only


    def forward(self, x, gamma, beta, running_mean=None, running_var=None, training=True, momentum=0.1, eps=1e-5):
        self.fused = training and x.dtype.kind == "f"
        if not training and not any(self.needs_input_grad) and x.dtype.kind == "f":
            reference.check_batch_norm_inputs(x, gamma, beta, training)
            scale = (gamma / np.sqrt(running_var + eps)).astype(x.dtype)
            shift = (beta - running_mean * scale).astype(x.dtype)
            x3 = as_ncl(x)
            y = np.empty_like(x3)
            with parallel.loop_threads(x.size):
                _scale_shift(x3, scale, shift, y)
            return y.reshape(x.shape)
        if not self.fused:
            return super().forward(x, gamma, beta, running_mean, running_var, training, momentum, eps)
        reference.check_batch_norm_inputs(x, gamma, beta, training)
        y, mean, var = forward(x, gamma, beta, eps)
        reference.update_running_statistics(running_mean, running_var, mean, var, momentum, x.size // x.shape[1])
        self.x, self.mean, self.gamma = x, mean, gamma  # backward recomputes x̂ from them and inv_std
        self.inv_std = (1 / np.sqrt(var + eps)).astype(x.dtype)
        return y

    def backward(self, dy):
        if not self.fused:
            return super().backward(dy)
        return backward(dy, self.x, self.mean, self.gamma, self.inv_std)
