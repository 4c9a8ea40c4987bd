"""The differentiable ops as functions: ``add(a, b)``, ``sum(x, dim)``, ``cross_entropy(z, t)``.

Each is a thin wrapper that turns PyTorch-style arguments (dim= or NumPy's axis=, keepdim,
reduction, ...) into a call of one `Function` of a family file (elementwise.py, activation.py,
reduction.py, shape.py, linalg.py, loss.py), where the math lives. A few losses at the end
are written with the others. minigrad.ops hands all of them on.
"""
from collections import namedtuple

import builtins

import numpy as np

from ..backend import get_array_module
from ..tensor import Tensor
from .activation import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .elementwise import (
    Abs, Add, Cast, Clip, Cos, Div, Exp, Log, Maximum, Mul, Neg, Pow, Sin, Sqrt, Sub, ToDevice, Where,
)
from .linalg import Einsum, MatMul
from .loss import BCEWithLogits, CrossEntropy, MSELoss, NLLLoss, SoftCrossEntropy
from .normalization import LayerNorm, NormalCDF
from .reduction import Max, Mean, Min, Prod, Sum, Var
from .shape import Concatenate, Gather, GetItem, Pad, Permute, Reshape, ScatterAdd


__all__ = [  # what minigrad.ops hands on
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "abs", "sin", "cos", "clip",
    "maximum", "where", "cast", "to_device", "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "layer_norm",
    "normal_cdf",
    "log_softmax", "sum", "mean", "amax", "amin", "max", "min", "argmax", "argmin", "var",
    "std", "reshape", "permute", "getitem", "concatenate", "pad", "matmul", "nll_loss",
    "cross_entropy", "mse_loss", "binary_cross_entropy_with_logits", "binary_cross_entropy",
    "l1_loss", "smooth_l1_loss", "kl_div", "gather", "scatter_add", "prod", "einsum", "clamp",
    "cat", "MaxMin",
]


def _array(x):
    return x.data if isinstance(x, Tensor) else x


# ----- elementwise ------------------------------------------------------------------------
def add(a, b):
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.data.dtype != b.data.dtype:
        a, b = _promoted(a, b)
    return Add.apply(a, b)


def sub(a, b):
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.data.dtype != b.data.dtype:
        a, b = _promoted(a, b)
    return Sub.apply(a, b)


def mul(a, b):
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.data.dtype != b.data.dtype:
        a, b = _promoted(a, b)
    return Mul.apply(a, b)


def div(a, b):
    """a / b, true division: integers divide into the default float dtype, as in PyTorch."""
    a, b = _promoted(a, b)
    if _kind(a) in "biu" and _kind(b) in "biu":  # (a Python number takes the float tensor's dtype in apply)
        from ..backend import get_default_dtype

        a, b = (cast(x, get_default_dtype()) if isinstance(x, Tensor) else x for x in (a, b))
    return Div.apply(a, b)


def _kind(x):
    return x.dtype.kind if hasattr(x, "dtype") else np.asarray(x).dtype.kind


def _promoted(a, b):
    """PyTorch's promotion between a float tensor and an integer (or bool) tensor: the integer
    one takes the float one's dtype (NumPy would widen int64 + float32 to float64). add, sub
    and mul call it only for two tensors of different dtypes: the common case pays a compare."""
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        return a, b  # (a Python number takes the tensor's dtype in Function.apply)
    kind_a, kind_b = a.data.dtype.kind, b.data.dtype.kind
    if kind_a == "f" and kind_b in "biu":
        return a, cast(b, a.dtype)
    if kind_b == "f" and kind_a in "biu":
        return cast(a, b.dtype), b
    return a, b


def neg(x):
    return Neg.apply(x)


def pow(a, b):  # noqa: A001 - PyTorch's name
    return Pow.apply(a, b)


def exp(x):
    return Exp.apply(x)


def log(x):
    return Log.apply(x)


def sqrt(x):
    return Sqrt.apply(x)


def abs(x):  # noqa: A001 - PyTorch's name
    return Abs.apply(x)


def sin(x):
    return Sin.apply(x)


def cos(x):
    return Cos.apply(x)


def clip(x, min=None, max=None):  # noqa: A002 - PyTorch's argument names
    return Clip.apply(x, low=min, high=max)


clamp = clip


def maximum(a, b):
    return Maximum.apply(a, b)


def where(condition, a, b):
    return Where.apply(a, b, cond=_array(condition).astype(bool))


def cast(x, dtype):
    return x if x.dtype == np.dtype(dtype) else Cast.apply(x, dtype=np.dtype(dtype))


def to_device(x, device):
    from ..backend import normalize_device

    return x if x.device == normalize_device(device) else ToDevice.apply(x, device=device)


# ----- activations --------------------------------------------------------------------------
def relu(x):
    return ReLU.apply(x)


def leaky_relu(x, negative_slope=0.01):
    return LeakyReLU.apply(x, negative_slope=negative_slope)


def sigmoid(x):
    return Sigmoid.apply(x)


def normal_cdf(x):
    """Φ(x), the standard normal CDF (GELU is x·Φ(x))."""
    return NormalCDF.apply(x)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002 - PyTorch's names
    """Normalize each sample over its last dimensions (``normalized_shape``), then scale and shift."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    params = [p for p in (weight, bias) if p is not None]
    if weight is None and bias is not None:
        raise ValueError("layer_norm: a bias without a weight is not supported; pass weight=ones")
    return LayerNorm.apply(input, *params, normalized_shape=shape, eps=eps)


def tanh(x):
    return Tanh.apply(x)


def softmax(x, dim=None, *, axis=None):
    return Softmax.apply(x, axis=_dim(dim, axis, default=-1))


def log_softmax(x, dim=None, *, axis=None):
    return LogSoftmax.apply(x, axis=_dim(dim, axis, default=-1))


# ----- reductions ---------------------------------------------------------------------------
def sum(x, dim=None, keepdim=False, *, axis=None, keepdims=None):  # noqa: A001 - PyTorch's name
    """Sum over ``dim`` (an int, a tuple, or None for all); NumPy's axis=/keepdims= too."""
    return Sum.apply(x, axis=_dim(dim, axis), keepdims=_keep(keepdim, keepdims))


def mean(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return Mean.apply(x, axis=_dim(dim, axis), keepdims=_keep(keepdim, keepdims))


def amax(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The largest values over ``dim`` (an int, a tuple, or None for all); NumPy's axis=/keepdims= too."""
    return Max.apply(x, axis=_dim(dim, axis), keepdims=_keep(keepdim, keepdims))


def amin(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return Min.apply(x, axis=_dim(dim, axis), keepdims=_keep(keepdim, keepdims))


MaxMin = namedtuple("MaxMin", ["values", "indices"])  # what PyTorch's max(x, dim) returns


def max(x, dim=None, keepdim=False, *, axis=None, keepdims=None):  # noqa: A001 - PyTorch's name
    """PyTorch's max: ``max(x)`` the largest value; ``max(x, dim)`` the pair (values, indices)
    along one dimension (``_, predicted = scores.max(1)``); ``max(a, b)`` the elementwise maximum."""
    return _extreme(x, dim, keepdim, axis, keepdims, amax, "argmax", "max")


def min(x, dim=None, keepdim=False, *, axis=None, keepdims=None):  # noqa: A001 - PyTorch's name
    """PyTorch's min: as max, with the smallest values."""
    return _extreme(x, dim, keepdim, axis, keepdims, amin, "argmin", "min")


def _extreme(x, dim, keepdim, axis, keepdims, reduce, arg, name):
    if isinstance(dim, Tensor) or (dim is not None and not isinstance(dim, (int, np.integer))):
        if isinstance(dim, (tuple, list)):
            raise TypeError(f"{name}(x, dim) takes one dimension, as in PyTorch; use a{name}(x, dims) for several")
        return maximum(x, dim) if name == "max" else neg(maximum(neg(x), neg(dim)))  # max(a, b): elementwise
    dim, keepdim = _dim(dim, axis), _keep(keepdim, keepdims)
    if dim is None:
        return reduce(x)
    dim = dim % x.ndim
    kept = get_array_module(x.data).expand_dims(getattr(x.data, arg)(axis=dim), dim)
    # the element at the returned index, picked: it alone gets the gradient, ties or not (as
    # in PyTorch; amax/amin split it between ties instead)
    values = Gather.apply(x, dim=dim, index=kept)
    if not keepdim:
        values = reshape(values, x.shape[:dim] + x.shape[dim + 1:])
    return MaxMin(values, Tensor(kept if keepdim else kept.squeeze(dim)))


def argmax(x, dim=None, keepdim=False, *, axis=None):
    """Index of the largest value along ``dim`` (of the flattened tensor without it); no gradient."""
    return _argextreme(x, dim, keepdim, axis, "argmax")


def argmin(x, dim=None, keepdim=False, *, axis=None):
    return _argextreme(x, dim, keepdim, axis, "argmin")


def _argextreme(x, dim, keepdim, axis, arg):
    dim = _dim(dim, axis)
    indices = getattr(x.data, arg)(axis=dim)
    if keepdim and dim is not None:
        indices = get_array_module(x.data).expand_dims(indices, dim)
    return Tensor(indices)


def _dim(dim, axis, default=None):
    """PyTorch's dim=, or NumPy's axis= as an alias (``default`` when neither is given)."""
    if axis is not None and dim is not None and axis != dim:
        raise TypeError(f"give dim= or axis=, not both (got dim={dim}, axis={axis})")
    return dim if dim is not None else axis if axis is not None else default


def _keep(keepdim, keepdims):
    return keepdim if keepdims is None else keepdims


def var(x, dim=None, keepdim=False, correction=1, *, axis=None, keepdims=None, unbiased=None):
    """Variance with PyTorch's correction (1: unbiased; unbiased=False is correction 0)."""
    if unbiased is not None:
        correction = 1 if unbiased else 0
    return Var.apply(x, axis=_dim(dim, axis), keepdims=_keep(keepdim, keepdims), correction=correction)


def std(x, dim=None, keepdim=False, correction=1, *, axis=None, keepdims=None, unbiased=None):
    """sqrt(var): autograd composes the backward, ds = dv / (2s)."""
    return sqrt(var(x, dim, keepdim, correction, axis=axis, keepdims=keepdims, unbiased=unbiased))


# ----- shape --------------------------------------------------------------------------------
def reshape(x, *shape):
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Reshape.apply(x, shape=shape)


def permute(x, *dims):
    dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
    return Permute.apply(x, dims=tuple(d % x.ndim for d in dims))


def getitem(x, index):
    if isinstance(index, tuple):
        index = tuple(_array(i) for i in index)
    else:
        index = _array(index)
    return GetItem.apply(x, index=index)


def concatenate(tensors, dim=None, *, axis=None):
    return Concatenate.apply(*tensors, axis=_dim(dim, axis, default=0))


cat = concatenate


def pad(x, pad_width, value=0.0):
    """Constant padding with NumPy's pad_width: an int, or (before, after) per axis."""
    if isinstance(pad_width, int):
        pad_width = ((pad_width, pad_width),) * x.ndim
    return Pad.apply(x, pad_width=tuple(tuple(p) for p in pad_width), value=value)


def matmul(a, b):
    return MatMul.apply(a, b)


# ----- losses -------------------------------------------------------------------------------
def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):  # noqa: A002
    """Negative log-likelihood of log-probabilities (N, C) or (N, C, d1, ...): see NLLLoss."""
    logp, target, restore = _classes_last(input, _target(target, "nll_loss"), "nll_loss")
    loss = NLLLoss.apply(logp, target=target, reduction=reduction, ignore_index=ignore_index,
                         weight=_class_weight(weight, input))
    return restore(loss, reduction)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):  # noqa: A002
    """Cross-entropy from raw scores (logits), not from probabilities, as PyTorch's:

    * input (N, C) or (N, C, d1, ...) (one score per class along dim 1), or (C,) for one sample;
    * target class indices (N,) / (N, d1, ...), or class probabilities of the input's shape;
    * ``weight`` one value per class; ``ignore_index``, ``label_smoothing``, ``reduction``.

    Index targets run CrossEntropy (loss.py); probabilities, or weights with smoothing, run
    SoftCrossEntropy against the target distribution."""
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must lie in [0, 1], got {label_smoothing}")
    labels = _target(target, "cross_entropy")
    if _is_float(labels):  # class probabilities: passed on as given (a tensor keeps its graph)
        return _soft_cross_entropy(input, target, weight, reduction, label_smoothing)
    logits, target, restore = _classes_last(input, labels, "cross_entropy")
    weight = _class_weight(weight, input)
    if weight is not None and label_smoothing:
        loss = _smoothed_weighted_cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing)
    else:
        loss = CrossEntropy.apply(logits, target=target, reduction=reduction, ignore_index=ignore_index,
                                  label_smoothing=label_smoothing, weight=weight)
    return restore(loss, reduction)


def _soft_cross_entropy(input, target, weight, reduction, label_smoothing):
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"cross_entropy: probability targets of shape {tuple(target.shape)} do not match "
                         f"the input {tuple(input.shape)}")
    logits, q, restore = _classes_last(input, target, "cross_entropy")
    if label_smoothing:
        q = q * (1 - label_smoothing) + label_smoothing / logits.shape[1]
    loss = SoftCrossEntropy.apply(logits, q, weight=_class_weight(weight, input), reduction=reduction,
                                  divisor=logits.shape[0])
    return restore(loss, reduction)


def _smoothed_weighted_cross_entropy(logits, target, weight, ignore_index, reduction, eps):
    """PyTorch's weighted, smoothed loss: q = (1-ε)·one-hot + ε/C on the counted rows, and the
    mean divides by Σ w[t_i] over them."""
    xp = get_array_module(logits.data)
    n, classes = logits.shape
    counted = target != ignore_index
    safe = xp.where(counted, target, 0)
    q = xp.full((n, classes), eps / classes, dtype=logits.dtype)
    q[xp.arange(n), safe] += 1 - eps
    q *= counted[:, None]
    divisor = (weight[safe] * counted).sum()
    return SoftCrossEntropy.apply(logits, q, weight=weight, reduction=reduction, divisor=divisor)


def _class_weight(weight, like):
    if weight is None:
        return None
    return get_array_module(like.data).asarray(_array(weight), dtype=like.dtype)


def _classes_last(input, target, op):
    """(N, C, d1, ...) scores as (N·d1·..., C) rows, the target alike, and a function that
    gives a 'none' loss back its (N, d1, ...) shape. (C,) is one sample: (1, C)."""
    if input.ndim == 1:
        return reshape(input, (1, -1)), _reshape_target(target, (1, -1) if _is_float(target) else (1,)), \
            lambda loss, reduction: reshape(loss, ()) if reduction == "none" else loss
    if input.ndim == 2:
        return input, target, lambda loss, reduction: loss
    moved = (0,) + tuple(range(2, input.ndim)) + (1,)
    rows = reshape(permute(input, moved), (-1, input.shape[1]))
    if _is_float(target):
        target = reshape(permute(target, moved), (-1, input.shape[1]))
    else:
        expected = (input.shape[0],) + tuple(input.shape[2:])
        if tuple(target.shape) != expected:
            raise ValueError(f"{op}: expected target of shape {expected} for input {tuple(input.shape)}, "
                             f"got {tuple(target.shape)}")
        target = target.reshape(-1)
    outer = (input.shape[0],) + tuple(input.shape[2:])
    return rows, target, lambda loss, reduction: reshape(loss, outer) if reduction == "none" else loss


def _target(target, op):
    """A loss's target as an array. A list or a number is refused, as PyTorch refuses them."""
    target = _array(target)
    if not hasattr(target, "shape") or not hasattr(target, "dtype"):
        raise TypeError(f"{op}: target must be a tensor or an array, not {type(target).__name__} "
                        "(wrap it: minigrad.tensor(target))")
    return target


def _is_float(target):
    return getattr(target, "dtype", np.int64).kind == "f"


def _reshape_target(target, shape):
    return reshape(target, shape) if isinstance(target, Tensor) else target.reshape(shape)


def mse_loss(input, target, reduction="mean"):  # noqa: A002 - PyTorch's argument name
    return MSELoss.apply(input, target, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):  # noqa: A002
    """Binary cross-entropy from logits (stable; see BCEWithLogits). Targets may be soft, in [0, 1].
    ``pos_weight`` weighs the positive term (per class, broadcast over the last axis), ``weight``
    each element's loss, as in PyTorch (both constants)."""
    if isinstance(weight, (int, float)) or isinstance(pos_weight, (int, float)):
        raise TypeError("binary_cross_entropy_with_logits: weight and pos_weight are tensors or arrays, as in PyTorch")
    pos = None if pos_weight is None else _array(pos_weight)
    if weight is None:
        return BCEWithLogits.apply(input, target, reduction=reduction, pos_weight=pos)
    per_element = BCEWithLogits.apply(input, target, reduction="none", pos_weight=pos)
    return _reduce(mul(per_element, _array(weight)), reduction, "binary_cross_entropy_with_logits")


def binary_cross_entropy(input, target, reduction="mean"):  # noqa: A002
    """-[t log p + (1 - t) log(1 - p)] from probabilities p (the logits version is stabler).
    As PyTorch, each log is at least -100, so that p = 0 or 1 gives a finite loss."""
    floor = float(np.exp(-100.0))
    per_element = -(target * log(clip(input, floor)) + (1 - target) * log(clip(1 - input, floor)))
    return _reduce(per_element, reduction, "binary_cross_entropy")


def l1_loss(input, target, reduction="mean"):  # noqa: A002
    return _reduce(abs(input - target), reduction, "l1_loss")


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):  # noqa: A002
    """0.5·d²/beta where |d| < beta, else |d| - 0.5·beta (d = input - target), as PyTorch;
    beta = 0 is the L1 loss (PyTorch's rule: the quadratic piece would divide by zero)."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction)
    d = input - target
    per_element = where(abs(d).data < beta, 0.5 * d * d / beta, abs(d) - 0.5 * beta)
    return _reduce(per_element, reduction, "smooth_l1_loss")


def kl_div(input, target, reduction="mean", log_target=False):  # noqa: A002
    """KL(target ‖ q) with ``input`` = log q (PyTorch's convention): Σ t (log t - input).
    reduction "batchmean" divides by the batch size, the true KL divergence per sample."""
    log_t = target if log_target else log(clip(target, 1e-45))
    t = exp(target) if log_target else target
    per_element = t * (log_t - input)
    if reduction == "batchmean":
        return sum(per_element) / input.shape[0]
    return _reduce(per_element, reduction, "kl_div")


def _reduce(per_element, reduction, op):
    if reduction == "none":
        return per_element
    if reduction == "mean":
        return mean(per_element)
    if reduction == "sum":
        return sum(per_element)
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def gather(x, dim, index):
    """PyTorch's gather: out[..., j, ...] = x[..., index[..., j, ...], ...] along ``dim``."""
    return Gather.apply(x, dim=dim % x.ndim, index=_array(index))


def scatter_add(x, dim, index, src):
    """PyTorch's scatter_add: x with src[..., j, ...] added at x[..., index[..., j, ...], ...]."""
    return ScatterAdd.apply(x, src, dim=dim % x.ndim, index=_array(index))


def prod(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The product of all elements, or along one dimension (PyTorch's prod takes one)."""
    dim = _dim(dim, axis)
    if isinstance(dim, (tuple, list)):
        raise TypeError("prod: dim must be one int (as in PyTorch); call prod once per dimension")
    return Prod.apply(x, axis=dim, keepdims=_keep(keepdim, keepdims))


def einsum(equation, *operands):
    """Einstein summation, as torch.einsum("bij,bjk->bik", a, b). PyTorch's shorthands are
    written out first: "...ij,...jk" names the leading axes with letters of their own, and
    without "->" the output is the letters used once, in alphabetical order. See Einsum for
    the one limit (no letter repeated within an operand)."""
    if len(operands) == 1 and isinstance(operands[0], (tuple, list)):
        operands = tuple(operands[0])
    return Einsum.apply(*operands, equation=_explicit_equation(equation, operands))


def _explicit_equation(equation, operands):
    """The equation with '...' replaced by letters and the output written out."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string, got {type(equation).__name__}")
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    inputs = inputs.split(",")
    if len(inputs) != len(operands):
        raise ValueError(f"einsum: {equation!r} names {len(inputs)} operands, got {len(operands)}")
    if "..." in equation:
        used = set(equation) - {".", ",", "-", ">"}
        spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
        widest = 0
        for i, (letters, x) in enumerate(zip(inputs, operands)):
            if "..." in letters:
                width = x.ndim - (len(letters) - 3)
                if width < 0:
                    raise ValueError(f"einsum: {letters!r} names more axes than its operand's {x.ndim}")
                inputs[i] = letters.replace("...", "".join(spare[len(spare) - width:]) if width else "")
                widest = builtins.max(widest, width)
        leading = "".join(spare[len(spare) - widest:]) if widest else ""
        sizes = {}
        for letters, x in zip(inputs, operands):
            for c, n in zip(letters, x.shape):
                if c in leading and sizes.setdefault(c, n) != n:
                    raise ValueError(f"einsum: the '...' axes of the operands differ in size ({sizes[c]} and {n}); "
                                     f"minigrad's einsum does not broadcast them: expand them first")
        if arrow:
            output = output.replace("...", leading)
        else:
            output = leading + "".join(sorted(c for c in set("".join(inputs)) if c not in leading
                                              and "".join(inputs).count(c) == 1))
            arrow = "->"
    if not arrow:
        joined = "".join(inputs)
        output = "".join(sorted(c for c in set(joined) if joined.count(c) == 1))
    return ",".join(inputs) + "->" + output
