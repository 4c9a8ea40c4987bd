"""Batch normalization over (N, C) or (N, C, H, W): statistics per channel C."""
from ..tensor import Function, Tensor
from .both import sqrt


class BatchNorm(Function):
    """y = γ · x̂ + β,   x̂ = (x - μ) / σ,   σ = sqrt(var + eps), per channel.

    Training mode: μ and var are the mean and (biased) variance of the M = N·H·W values of
    each channel in this batch; running_mean/var move towards them with ``momentum``
    (running_var gets the unbiased M/(M-1) estimate, as in PyTorch). Eval mode: μ and var
    are the running statistics, constants.

    Backward (per channel, sums over the M values; dy = dL/dy):

        dβ = Σ dy          dγ = Σ dy·x̂          dx̂ = γ·dy
    In training μ and σ depend on x too: ∂μ/∂x_j = 1/M, and from σ² = Σ(x - μ)²/M (+ eps),
    2σ ∂σ/∂x_j = 2(x_j - μ)/M, so ∂σ/∂x_j = x̂_j/M. Then

        ∂x̂_i/∂x_j = (δ_ij - 1/M)/σ - (x_i - μ)/σ² · ∂σ/∂x_j = (δ_ij - 1/M)/σ - x̂_i x̂_j/(M σ),

    and dx_j = Σ_i dx̂_i ∂x̂_i/∂x_j, with Σ_i dx̂_i = γ Σ dy and Σ_i dx̂_i x̂_i = γ Σ dy·x̂,
    gives the compact form

        dx = (1/M) · (γ/σ) · (M·dy - Σ dy - x̂ · Σ(dy·x̂))

    In eval mode μ and σ are constants:  dx = γ/σ · dy.

    The fast twin (minigrad/fast/batchnorm.py) computes the same formulas, training mode, in
    one compiled loop per channel.
    """

    def forward(self, x, gamma, beta, running_mean=None, running_var=None, training=True, momentum=0.1, eps=1e-5):
        self.axes, self.shape = check_batch_norm_inputs(x, gamma, beta, training)
        self.count = x.size // x.shape[1]                     # M
        self.training = training
        if training:                                          # μ, σ² of this batch: functions of x
            x_hat, _, mean, var = self.keep(standardize, x, axes=self.axes, eps=eps)
            update_running_statistics(running_mean, running_var, mean.reshape(-1), var.reshape(-1), momentum,
                                      self.count)
        else:                                                 # the running statistics: constants
            x_hat, _ = self.keep(standardize_with, x, mean=running_mean.reshape(self.shape).astype(x.dtype),
                                 var=running_var.reshape(self.shape).astype(x.dtype), eps=eps)
        self.save_for_backward(x, gamma)
        return gamma.reshape(self.shape) * x_hat + beta.reshape(self.shape)   # y = γ x̂ + β

    def backward(self, dy):
        x, gamma = self.saved_tensors
        x_hat, inv_std = self.kept(x)[:2]                     # x̂, 1/σ
        dbeta = dy.sum(axis=self.axes)                        # dβ = Σ dy
        dgamma = (dy * x_hat).sum(axis=self.axes)             # dγ = Σ dy·x̂
        scale = gamma.reshape(self.shape) * inv_std           # γ/σ
        if not self.training:
            return scale * dy, dgamma, dbeta                  # dx = γ/σ · dy
        m, shape = self.count, self.shape
        dx = (scale / m) * (m * dy - dbeta.reshape(shape) - x_hat * dgamma.reshape(shape))
        return dx, dgamma, dbeta


def standardize(x, axes, eps):
    """x̂ = (x - μ)/σ, μ and σ² = mean((x - μ)²) over ``axes``, σ = sqrt(σ² + eps).
    Returns x̂, 1/σ, μ and σ² (the last three with size-1 axes where ``axes`` were)."""
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    inv_std = 1 / sqrt(var + eps)
    return centered * inv_std, inv_std, mean, var


def standardize_with(x, mean, var, eps):
    """x̂ = (x - μ)/σ with given (running) statistics: returns x̂ and 1/σ."""
    inv_std = 1 / sqrt(var + eps)
    return (x - mean) * inv_std, inv_std


def check_batch_norm_inputs(x, gamma, beta, training):
    """Raise a clear error for inputs that do not fit; return the reduced axes and the shape
    that broadcasts a per-channel vector over x."""
    if x.ndim not in (2, 4):
        raise ValueError(f"batch_norm: expected input (N, C) or (N, C, H, W), got shape {x.shape}")
    channels = x.shape[1]
    if gamma.shape != (channels,) or beta.shape != (channels,):
        raise ValueError(f"batch_norm: input shape {x.shape} has {channels} channels but weight/bias have shapes {gamma.shape}/{beta.shape}")
    if training and x.size // channels < 2:
        raise ValueError(f"batch_norm: training needs more than 1 value per channel, got input shape {x.shape}")
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    return axes, (1, channels) + (1,) * (x.ndim - 2)


def update_running_statistics(running_mean, running_var, mean, var, momentum, count):
    """Move the running statistics (updated in place) towards this batch's; the variance
    with the unbiased M/(M-1) estimate, as in PyTorch."""
    if running_mean is not None:
        running_mean *= 1 - momentum
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += momentum * var * (count / (count - 1))


def batch_norm(x, running_mean, running_var, weight, bias, training=False, momentum=0.1, eps=1e-5):
    """PyTorch's argument order. running_mean/var: arrays or tensors (as PyTorch's buffers),
    updated in place in training."""
    running_mean, running_var = (r.data if isinstance(r, Tensor) else r for r in (running_mean, running_var))
    return BatchNorm.apply(
        x, weight, bias, running_mean=running_mean, running_var=running_var,
        training=training, momentum=momentum, eps=eps,
    )
