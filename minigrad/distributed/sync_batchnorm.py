"""Batch normalization whose statistics are those of the whole batch across all ranks."""
from ..backend import get_array_module
from ..nn.layers import _BatchNorm
from ..ops.batchnorm import BatchNorm, check_batch_norm_inputs, update_running_statistics
from ..tensor import Function


class SyncBatchNormStep(Function):
    """Batch norm (see ops/batchnorm.py for the single-process derivation) with μ and σ over
    the M values of each channel on *all* ranks together, M = Σ_r M_r:

        μ = (1/M) Σ_all x          var = (1/M) Σ_all (x - μ)²      (two sums over the ranks)

    Backward. Each rank's upstream gradient dy is that of its own loss, and the ranks'
    parameter gradients are averaged afterwards (DistributedDataParallel). The input's
    gradient must then carry, besides its own direct term, what every rank's loss owes to
    this rank's x through μ and σ: the single-process formula with its two sums taken over
    all ranks,

        dx = (γ/σ) · (dy - (1/M) Σ_all dy - x̂ · (1/M) Σ_all dy·x̂)

    (one more sum over the ranks, of both vectors at once). dγ = Σ dy·x̂ and dβ = Σ dy stay
    this rank's own: the averaging of parameter gradients combines them.
    """

    differentiable_backward = False  # its backward sums arrays across the ranks

    def forward(self, x, gamma, beta, running_mean=None, running_var=None, momentum=0.1, eps=1e-5, group=None):
        self.axes, shape = check_batch_norm_inputs(x, gamma, beta, True)
        xp = get_array_module(x)
        self.group = group
        local = x.size // x.shape[1]
        sums = xp.concatenate([x.sum(axis=self.axes, dtype=xp.float64), xp.asarray([float(local)])])
        group.all_reduce(sums)                                     # Σ_all x, and M
        self.count = int(round(float(sums[-1])))
        mean = sums[:-1] / self.count
        centered = x - mean.reshape(shape).astype(x.dtype)
        squares = (centered * centered).sum(axis=self.axes, dtype=xp.float64)
        group.all_reduce(squares)                                  # Σ_all (x - μ)²
        var = squares / self.count
        update_running_statistics(running_mean, running_var, mean.astype(x.dtype), var.astype(x.dtype), momentum,
                                  self.count)
        self.inv_std = (1 / xp.sqrt(var + eps)).astype(x.dtype).reshape(shape)   # 1/σ
        self.gamma = gamma.reshape(shape)
        self.x_hat = centered * self.inv_std                                      # x̂
        return self.gamma * self.x_hat + beta.reshape(shape)

    def backward(self, dy):
        xp = get_array_module(dy)
        dbeta = dy.sum(axis=self.axes)                             # this rank's Σ dy
        dgamma = (dy * self.x_hat).sum(axis=self.axes)             # this rank's Σ dy·x̂
        both = xp.concatenate([dbeta, dgamma]).astype(xp.float64)
        self.group.all_reduce(both)                                # Σ_all dy, Σ_all dy·x̂
        channels, shape = len(dbeta), self.inv_std.shape
        sum_dy = both[:channels].astype(dy.dtype).reshape(shape)
        sum_dy_xhat = both[channels:].astype(dy.dtype).reshape(shape)
        m = self.count
        dx = self.gamma * self.inv_std * (dy - sum_dy / m - self.x_hat * (sum_dy_xhat / m))
        return dx, dgamma, dbeta


class SyncBatchNorm(_BatchNorm):
    """BatchNorm whose training statistics span every rank (PyTorch's nn.SyncBatchNorm), for
    (N, C) or (N, C, H, W) inputs. Without a process group, or in eval mode, it is BatchNorm."""

    expected_ndim = None

    def forward(self, x):
        from . import _group

        if x.ndim not in (2, 4):
            raise ValueError(f"SyncBatchNorm: expected a 2-D or 4-D input, got shape {x.shape}")
        if not self.training or _group is None or _group.size == 1:
            return BatchNorm.apply(x, self.weight, self.bias, running_mean=self.running_mean,
                                   running_var=self.running_var, training=self.training,
                                   momentum=self.momentum, eps=self.eps)
        return SyncBatchNormStep.apply(x, self.weight, self.bias, running_mean=self.running_mean,
                                       running_var=self.running_var, momentum=self.momentum, eps=self.eps,
                                       group=_group)

    @classmethod
    def convert_sync_batchnorm(cls, module):
        """``module`` with every BatchNorm1d/2d replaced by a SyncBatchNorm holding the same
        parameters and running statistics (the same tensors), as PyTorch's."""
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            sync = cls(module.num_features, module.eps, module.momentum)
            sync.weight, sync.bias = module.weight, module.bias
            sync.register_buffer("running_mean", module.running_mean)
            sync.register_buffer("running_var", module.running_var)
            sync.train(module.training)
            return sync
        for name, child in list(module._modules.items()):
            converted = cls.convert_sync_batchnorm(child)
            if converted is not child:
                setattr(module, name, converted)
        return module
