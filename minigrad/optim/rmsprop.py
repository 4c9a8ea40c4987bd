"""RMSprop and Adagrad: per-parameter step sizes from a running sum of squared gradients."""
from ..backend import get_array_module
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """Divide the step by a running root mean square of the gradient (α the smoothing):

        g = g + λ p                              (weight decay)
        v = α v + (1 - α) g²
        centered: m = α m + (1 - α) g,  v̄ = v - m²   (the variance instead of the raw mean square)
        s = g / (sqrt(v̄) + eps)
        momentum μ: b = μ b + s,  p = p - lr · b      else  p = p - lr · s
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered))

    def update(self, p, grad, state, group):
        xp = get_array_module(grad)
        alpha = group["alpha"]
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.data
        if not state:
            state["square_avg"] = xp.zeros_like(p.data)
            if group["momentum"]:
                state["momentum_buffer"] = xp.zeros_like(p.data)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p.data)
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * grad * grad
        if group["centered"]:
            m = state["grad_avg"]
            m *= alpha
            m += (1 - alpha) * grad
            v = v - m * m
        scaled = grad / (xp.sqrt(v) + group["eps"])
        if group["momentum"]:
            b = state["momentum_buffer"]
            b *= group["momentum"]
            b += scaled
            scaled = b
        p.data -= group["lr"] * scaled


class Adagrad(Optimizer):
    """Divide each step by the root of the sum of all squared gradients so far:

        g = g + λ p;   s = s + g²;   p = p - lr_t · g / (sqrt(s) + eps),
        lr_t = lr / (1 + (t - 1) · lr_decay)   at step t.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                                      initial_accumulator_value=initial_accumulator_value))

    def update(self, p, grad, state, group):
        xp = get_array_module(grad)
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p.data
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(p.data, group["initial_accumulator_value"])
        state["step"] += 1
        state["sum"] += grad * grad
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        p.data -= lr * grad / (xp.sqrt(state["sum"]) + group["eps"])
