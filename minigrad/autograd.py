"""PyTorch's torch.autograd names: ``minigrad.autograd.grad``, ``backward`` and ``gradcheck``.
The engine itself is in tensor.py."""
from .gradcheck import gradcheck, gradgradcheck  # noqa: F401
from .tensor import _backpropagate, grad, queue_callback  # noqa: F401


def backward(tensors, grad_tensors=None, retain_graph=False):
    """Backward from several outputs at once: their gradients add up in the leaves' ``.grad``."""
    tensors = [tensors] if hasattr(tensors, "data") else list(tensors)
    grad_tensors = [None] * len(tensors) if grad_tensors is None else list(grad_tensors)
    _backpropagate(tensors, grad_tensors, retain_graph)
