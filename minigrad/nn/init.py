"""Weight initialisers (in place on a Parameter), with PyTorch's names and formulas.

fan_in = input features · kernel area; fan_out = output features · kernel area.
  kaiming (He):  Var(w) = 2 / fan_in            keeps activations' variance through ReLUs
  xavier (Glorot): Var(w) = 2 / (fan_in + fan_out)  for tanh/sigmoid-like layers
  uniform(-b, b) has variance b²/3, which gives each uniform variant's bound.
"""
import math

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


def kaiming_uniform_(tensor, a=0.0, nonlinearity="relu"):
    gain = math.sqrt(2.0 / (1 + a * a)) if nonlinearity in ("relu", "leaky_relu") else 1.0
    bound = gain * math.sqrt(3.0 / fans(tensor)[0])
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, nonlinearity="relu"):
    gain = math.sqrt(2.0 / (1 + a * a)) if nonlinearity in ("relu", "leaky_relu") else 1.0
    return normal_(tensor, 0.0, gain / math.sqrt(fans(tensor)[0]))


def xavier_uniform_(tensor, gain=1.0):
    fan_in, fan_out = fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    fan_in, fan_out = fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def default_init_(weight, bias=None):
    """PyTorch's default for Linear and Conv2d: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both
    (kaiming_uniform_ with a = sqrt(5) gives exactly that bound for the weight)."""
    bound = 1 / math.sqrt(fans(weight)[0])
    uniform_(weight, -bound, bound)
    if bias is not None:
        uniform_(bias, -bound, bound)
