"""PyTorch-style functional namespace: ``import minigrad.nn.functional as F``."""
from ..ops import (  # noqa: F401
    avg_pool2d, batch_norm, conv2d, cross_entropy, dropout, embedding, flatten, leaky_relu, linear,
    log_softmax, max_pool2d, mse_loss, nll_loss, relu, scaled_dot_product_attention, sigmoid, softmax, tanh,
    binary_cross_entropy, binary_cross_entropy_with_logits, l1_loss, smooth_l1_loss, kl_div, gather, einsum,
)
