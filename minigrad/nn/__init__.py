"""Layers and models: Module, Parameter and the standard layers (PyTorch's names)."""
from . import functional, init, utils  # noqa: F401
from .layers import (  # noqa: F401
    AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, ConvTranspose2d, Dropout, Embedding, Flatten, GELU,
    GroupNorm, Identity, LayerNorm, LeakyReLU, Linear, LogSoftmax, MaxPool2d, ReLU, Sequential, Sigmoid, Softmax, Tanh,
)
from .loss import (  # noqa: F401
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss,
)
from .containers import ModuleDict, ModuleList, ParameterList  # noqa: F401
from .module import Module, Parameter  # noqa: F401
from .rnn import GRUCell, LSTMCell, RNNCell, detach_state  # noqa: F401
from .attention import Attention  # noqa: F401
from .self_attention import SelfAttention  # noqa: F401
from .sequence import length_mask, pad_sequences, sequence_cross_entropy  # noqa: F401
from .recurrent import GRU, LSTM, RNN  # noqa: F401
from . import parallel  # noqa: E402,F401


def __getattr__(name):
    """``nn.SyncBatchNorm``, PyTorch's name for minigrad.distributed's layer, found when first
    asked for: layers do not need the distributed package, which builds on them."""
    if name == "SyncBatchNorm":
        from ..distributed.sync_batchnorm import SyncBatchNorm

        return SyncBatchNorm
    if name in _NOT_IN_MINIGRAD:
        raise AttributeError(f"minigrad.nn has no {name} (PyTorch's layer): {_NOT_IN_MINIGRAD[name]}")
    raise AttributeError(f"module 'minigrad.nn' has no attribute {name!r}")


_NOT_IN_MINIGRAD = {  # PyTorch layers a tutorial reaches for that minigrad does not have, and what to use
    "ConvTranspose1d": "only the 2-D transposed convolution (ConvTranspose2d)",
    "Conv3d": "only 1-D and 2-D convolutions",
    "MultiheadAttention": "use nn.SelfAttention or nn.Attention",
    "Transformer": "no transformer layers; nn.SelfAttention and nn.LayerNorm are the pieces",
    "AdaptiveMaxPool2d": "only AdaptiveAvgPool2d",
}
