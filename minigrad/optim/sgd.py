"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay."""
from .optimizer import Optimizer


class SGD(Optimizer):
    """PyTorch's update (g the gradient, μ the momentum, λ the weight decay):

        d = g + λ p
        v = d (first step), then v = μ v + (1 - dampening) d
        d = d + μ v  (Nesterov)   or   d = v
        p = p - lr · d
    """

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def update(self, p, grad, state, group):
        d = grad + group["weight_decay"] * p.data if group["weight_decay"] else grad
        momentum = group["momentum"]
        if momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = d.copy()
            else:
                buf = state["momentum_buffer"]
                buf *= momentum
                buf += (1 - group["dampening"]) * d
            buf = state["momentum_buffer"]
            d = d + momentum * buf if group["nesterov"] else buf
        p.data -= group["lr"] * d
