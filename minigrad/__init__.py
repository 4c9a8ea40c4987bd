"""minigrad: a small deep-learning library for reading how backpropagation works.

    import minigrad as mg
    x = mg.tensor([[1.0, 2.0]], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()          # x.grad == 2x

Two rooms: minigrad/ops/ is the math (each op's forward and backward as plain array code),
minigrad/fast/ the compiled kernels that run in its place unless
``minigrad.set_kernels("reference")`` (or MINIGRAD_KERNELS=reference) says otherwise.
"""
from . import autograd, nn, ops, optim  # noqa: F401
from .fast import get_kernels, set_kernels, use_kernels  # the fast room installs its kernels in the engine
from .fast.process import tune as tune_process
from .version import __version__
from .backend import DeviceError, cuda_is_available, device, get_array_module, get_default_dtype, set_default_dtype
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .graph import GraphvizNotFound, draw_graph, to_dot
from .ops import (
    abs, add, amax, amin, argmax, argmin, cat, clamp, clip, concatenate, cross_entropy, div, exp, flatten, log, log_softmax,
    matmul, max, maximum, mean, min, mse_loss, mul, neg, nll_loss, pad, permute, pow, relu,
    reshape, sigmoid, softmax, split, sqrt, squeeze, stack, std, sub, sum, tanh, transpose, unsqueeze,
    var, where, leaky_relu, conv2d, max_pool2d, avg_pool2d, batch_norm, linear, dropout,
    embedding, scaled_dot_product_attention, sin, cos, gather, expand, repeat, chunk, masked_fill, bmm,
    logsumexp, norm, scatter_add, prod, einsum, binary_cross_entropy, binary_cross_entropy_with_logits, l1_loss, smooth_l1_loss, kl_div,
    sort, argsort, topk, dot, unbind, index_select,
)
from .creation import (  # noqa: F401
    arange, empty, eye, full, full_like, linspace, ones, ones_like, rand, randint, randn, randperm, zeros,
    zeros_like,
)
from .random import manual_seed
from .serialization import load, save
from .tensor import (
    Function, GradientError, Tensor, enable_grad, from_numpy, grad, inference_mode, is_grad_enabled, no_grad,
    set_grad_enabled, tensor,
)


import builtins  # noqa: E402 - (bool and float below are PyTorch's dtype names)


def isnan(x):
    return x.isnan()


def isinf(x):
    return x.isinf()


def isfinite(x):
    return x.isfinite()


def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    """PyTorch's allclose: |a - b| <= atol + rtol·|b| everywhere (a Python bool)."""
    xp = get_array_module(a.data)
    return builtins.bool(xp.allclose(a.data, b.data if isinstance(b, Tensor) else b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(a, b):
    """True when a and b have the same shape and the same values."""
    return a.shape == b.shape and builtins.bool((a.data == b.data).all())


# dtype names, as torch.float32 and friends (they are NumPy's dtypes)
import numpy as _np  # noqa: E402

float16, float32, float64 = _np.float16, _np.float32, _np.float64
int8, int16, int32, int64, uint8, bool_ = _np.int8, _np.int16, _np.int32, _np.int64, _np.uint8, _np.bool_
half, float, double, long, bool = float16, float32, float64, int64, bool_  # noqa: A001 - PyTorch's aliases

def __getattr__(name):
    """``mg.data``, ``mg.train`` and ``mg.distributed``, imported when first used: the rest of
    minigrad does not need them (and the layers must not import the distributed package)."""
    if name in ("data", "train", "distributed"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")


__all__ = [  # the package face: what the API reference lists, and `from minigrad import *` gives
    "data", "train", "distributed", "fast", "backend", "creation", "graph", "random",
    "autograd", "nn", "ops", "optim", "get_kernels", "set_kernels", "use_kernels", "tune_process",
    "__version__", "DeviceError", "cuda_is_available", "get_array_module", "get_default_dtype",
    "set_default_dtype", "GradcheckError", "gradcheck", "gradgradcheck", "GraphvizNotFound",
    "draw_graph", "to_dot", "abs", "add", "amax", "amin", "argmax", "argmin", "cat", "clamp",
    "clip", "concatenate", "cross_entropy", "div", "exp", "flatten", "log", "log_softmax", "matmul",
    "max", "maximum", "mean", "min", "mse_loss", "mul", "neg", "nll_loss", "pad", "permute", "pow",
    "relu", "reshape", "sigmoid", "softmax", "split", "sqrt", "squeeze", "stack", "std", "sub",
    "sum", "tanh", "transpose", "unsqueeze", "var", "where", "leaky_relu", "conv2d", "max_pool2d",
    "avg_pool2d", "batch_norm", "linear", "dropout", "embedding", "scaled_dot_product_attention",
    "sin", "cos", "gather", "expand", "repeat", "chunk", "masked_fill", "bmm", "logsumexp", "norm",
    "scatter_add", "prod", "einsum", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "l1_loss", "smooth_l1_loss", "kl_div", "manual_seed", "Function", "GradientError", "Tensor",
    "enable_grad", "from_numpy", "grad", "is_grad_enabled", "no_grad", "set_grad_enabled", "tensor",
    "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool_", "half",
    "float", "double", "long", "bool", "device", "sort", "argsort", "topk", "dot", "unbind", "index_select",
    "inference_mode", "isnan", "isinf", "isfinite", "allclose", "equal", "save", "load",
]
