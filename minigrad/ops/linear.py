"""The fully connected layer."""
from ..tensor import Function


class Linear(Function):
    """y = x Wᵀ + b,   x (..., in), W (out, in), b (out,), y (..., out).

    y_k = Σ_i W_ki x_i + b_k, so  dx = g W,   dW = Σ_batch gᵀ x,   db = Σ_batch g
    (sums over all leading axes: every sample used the same W and b).
    """

    def forward(self, x, w, b=None):
        if x.shape[-1] != w.shape[1]:
            raise ValueError(f"linear: input shape {x.shape} has {x.shape[-1]} features but weight shape {w.shape} expects {w.shape[1]}")
        self.save_for_backward(x, w)
        y = x @ w.T
        if b is not None:
            y += b
        return y

    def backward(self, g):
        x, w = self.saved_tensors
        g2 = g.reshape(-1, g.shape[-1])                       # every leading axis is a sample
        dx = g @ w if self.needs_input_grad[0] else None      # dx = g W
        dw = g2.T @ x.reshape(-1, x.shape[-1]) if self.needs_input_grad[1] else None  # dW = gᵀ x
        if len(self.needs_input_grad) == 2:
            return dx, dw
        return dx, dw, g2.sum(axis=0) if self.needs_input_grad[2] else None  # db = Σ g


def linear(x, weight, bias=None):
    return Linear.apply(x, weight) if bias is None else Linear.apply(x, weight, bias)
