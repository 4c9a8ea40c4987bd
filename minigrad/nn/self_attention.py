"""Single-head self-attention with a residual connection, for an encoder option.

    y = x + W_o · attention(W_q x, W_k x, W_v x)        (padded keys masked out)

Each position mixes in information from the whole sentence; the residual keeps the LSTM's
states intact when attention has nothing to add.
"""
from .. import ops
from ..backend import get_array_module
from ..tensor import Tensor
from .layers import Linear
from .module import Module


def key_mask(mask, keys):
    """(B, Tk) boolean mask of real keys -> (B, 1, Tk) for broadcasting over queries."""
    if mask is None:
        return None
    mask = mask.data if isinstance(mask, Tensor) else mask
    mask = get_array_module(keys.data).asarray(mask, dtype=bool)
    if mask.shape != (keys.shape[0], keys.shape[1]):
        raise ValueError(f"attention: mask must be (B, Tk) = {keys.shape[:2]}, got {mask.shape}")
    return mask[:, None, :]


class SelfAttention(Module):
    def __init__(self, size):
        super().__init__()
        self.query, self.key, self.value = Linear(size, size), Linear(size, size), Linear(size, size)
        self.out = Linear(size, size)

    def forward(self, x, mask=None):
        mixed = ops.scaled_dot_product_attention(self.query(x), self.key(x), self.value(x), key_mask(mask, x))
        return x + self.out(mixed)
