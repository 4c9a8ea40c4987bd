"""Weight initialisers (in place on a Parameter), with PyTorch's names and formulas.

fan_in = input features · kernel area; fan_out = output features · kernel area.
  kaiming (He):  Var(w) = 2 / fan_in            keeps activations' variance through ReLUs
  xavier (Glorot): Var(w) = 2 / (fan_in + fan_out)  for tanh/sigmoid-like layers
  uniform(-b, b) has variance b²/3, which gives each uniform variant's bound.

The gain multiplies the standard deviation to undo what the nonlinearity after the layer does
to the variance (calculate_gain: √2 for ReLU, which zeroes half its inputs; 5/3 for tanh).
"""
import math

import numpy as np

from .. import backend, random


def fans(tensor):
    if tensor.ndim < 2:
        raise ValueError(f"fan in/out needs a weight with at least 2 dimensions, got shape {tensor.shape}")
    receptive = 1
    for n in tensor.shape[2:]:
        receptive *= n
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fill(tensor, values):
    tensor.data[...] = backend.to_device(values.astype(tensor.dtype), tensor.device)
    return tensor


def uniform_(tensor, low=0.0, high=1.0):
    return _fill(tensor, random.generator().uniform(low, high, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0):
    return _fill(tensor, random.generator().normal(mean, std, tensor.shape))


def zeros_(tensor):
    tensor.data[...] = 0
    return tensor


def ones_(tensor):
    tensor.data[...] = 1
    return tensor


def constant_(tensor, val):
    tensor.data[...] = val
    return tensor


def calculate_gain(nonlinearity, param=None):
    """PyTorch's recommended gain for a nonlinearity (param: leaky_relu's negative slope)."""
    if nonlinearity in ("linear", "identity", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope * slope))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fans(tensor)
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """U(-b, b) with b = gain · sqrt(3 / fan): Var(w) = gain² / fan (He et al.)."""
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode)))


def xavier_uniform_(tensor, gain=1.0):
    fan_in, fan_out = fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    fan_in, fan_out = fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """N(mean, std²) restricted to [a, b] (a and b are values, not multiples of std, as in
    PyTorch): draws outside are drawn again, which gives exactly that distribution."""
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    rng = random.generator()
    values = rng.normal(mean, std, tensor.shape)
    outside = (values < a) | (values > b)
    while outside.any():
        values[outside] = rng.normal(mean, std, int(outside.sum()))
        outside = (values < a) | (values > b)
    return _fill(tensor, values)


def orthogonal_(tensor, gain=1.0):
    """A (semi-)orthogonal matrix (Saxe et al.): the Q of the QR decomposition of a Gaussian
    matrix, signs fixed by R's diagonal so that Q is uniformly distributed. Dimensions after
    the first are flattened: rows = shape[0]."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_ needs at least 2 dimensions, got shape {tensor.shape}")
    rows = tensor.shape[0]
    cols = tensor.data.size // rows
    flat = random.generator().standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def default_init_(weight, bias=None):
    """PyTorch's default for Linear and Conv2d: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both
    (kaiming_uniform_ with a = sqrt(5) gives exactly that bound for the weight)."""
    bound = 1 / math.sqrt(fans(weight)[0])
    uniform_(weight, -bound, bound)
    if bias is not None:
        uniform_(bias, -bound, bound)
