"""Batch normalization over (N, C) or (N, C, H, W): statistics per channel C."""
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
        self.axes, shape = check_batch_norm_inputs(x, gamma, beta, training)
        self.count = x.size // x.shape[1]                     # M
        self.training = training
        if training:
            mean, var = x.mean(axis=self.axes), x.var(axis=self.axes)
            update_running_statistics(running_mean, running_var, mean, var, momentum, self.count)
        else:
            mean, var = running_mean, running_var
        xp = get_array_module(x)
        self.x, self.gamma_array, self.mean, self.eps = x, gamma, mean, eps  # for backward_graph
        self.inv_std = (1 / xp.sqrt(var + eps)).astype(x.dtype).reshape(shape)   # 1/σ
        self.gamma = gamma.reshape(shape)
        self.x_hat = (x - mean.reshape(shape).astype(x.dtype)) * self.inv_std    # x̂ = (x - μ)/σ
        return self.gamma * self.x_hat + beta.reshape(shape)                      # y = γ x̂ + β

    def backward(self, dy):
        dbeta = dy.sum(axis=self.axes)                        # dβ = Σ dy
        dgamma = (dy * self.x_hat).sum(axis=self.axes)        # dγ = Σ dy·x̂
        scale = self.gamma * self.inv_std                     # γ/σ
        if not self.training:
            return scale * dy, dgamma, dbeta                  # dx = γ/σ · dy
        m, shape = self.count, scale.shape
        dx = (scale / m) * (m * dy - dbeta.reshape(shape) - self.x_hat * dgamma.reshape(shape))
        return dx, dgamma, dbeta

    def backward_graph(self, dy):
        """The same formulas on tensors (create_graph=True); in training x̂ and σ are
        recomputed from x with minigrad's ops, since they depend on x."""
        x, gamma = self.input_tensor(0, self.x), self.input_tensor(1, self.gamma_array)
        shape = self.inv_std.shape
        gamma = gamma.reshape(shape)
        if not self.training:
            x_hat, inv_std = (x - self.mean.reshape(shape)) * self.inv_std, self.inv_std
        else:
            centered = x - x.mean(self.axes, keepdim=True)
            inv_std = ((centered * centered).mean(self.axes, keepdim=True) + self.eps) ** -0.5
            x_hat = centered * inv_std
        dbeta = dy.sum(self.axes)
        dgamma = (dy * x_hat).sum(self.axes)
        if not self.training:
            return gamma * inv_std * dy, dgamma, dbeta
        m = self.count
        dx = (gamma * inv_std / m) * (m * dy - dbeta.reshape(shape) - x_hat * dgamma.reshape(shape))
        return dx, dgamma, dbeta


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
    """PyTorch's argument order. running_mean/var are arrays updated in place in training."""
    return BatchNorm.apply(
        x, weight, bias, running_mean=running_mean, running_var=running_var,
        training=training, momentum=momentum, eps=eps,
    )
