"""Adam and AdamW."""
from ..backend import get_array_module
from .optimizer import Optimizer


class Adam(Optimizer):
    """Moment estimates of the gradient g, bias-corrected for their zero start (step t):

        m = β1 m + (1 - β1) g            v = β2 v + (1 - β2) g²
        m̂ = m / (1 - β1^t)               v̂ = v / (1 - β2^t)
        p = p - lr · m̂ / (sqrt(v̂) + eps)

    weight_decay adds λ p to g (L2 regularisation, which Adam's scaling weakens; see AdamW).
    amsgrad (Reddi et al.) divides by the largest v̂ seen so far instead, so that the step
    size of a parameter never grows again after v falls.
    """

    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))

    def update(self, p, grad, state, group):
        xp = get_array_module(grad)
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        if wd and self.decoupled:
            p.data *= 1 - lr * wd
        elif wd:
            grad = grad + wd * p.data
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p.data)
            state["exp_avg_sq"] = xp.zeros_like(p.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p.data)
        state["step"] += 1
        m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            v = xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        denominator = xp.sqrt(v / (1 - beta2**t)) + group["eps"]
        p.data -= (lr / (1 - beta1**t)) * m / denominator


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p = p·(1 - lr·λ) before the
    Adam step, so the decay is not rescaled by the adaptive denominator."""

    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
