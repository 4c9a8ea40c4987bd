"""Utilities on parameters and sequences, at PyTorch's paths: ``nn.utils.clip_grad_norm_``,
``nn.utils.rnn.pack_padded_sequence``."""
from . import rnn  # noqa: F401
from .clip_grad import clip_grad_norm_, clip_grad_value_  # noqa: F401
