"""The fast room: compiled kernels for the ops of minigrad/ops/, and the one switch for them.

minigrad/ops/ is the math: each op's forward and backward as plain array code. This package
holds what makes some of those ops fast: Numba loops for im2col/col2im, pooling, batch norm
and the activations' backward passes; direct convolution loops; chunks of a batch run on
worker threads with reused buffers; CuPy kernels for im2col on the GPU; and the process
settings they want (process.py). Each fast op is a *twin* of a reference op: a subclass of
its Function with the same inputs and outputs, tested to agree with it.

One switch selects the kernels for every op at once:

    MINIGRAD_KERNELS=reference python train.py   # the environment variable: a whole run
    minigrad.set_kernels("reference")            # the function: from here on
    with minigrad.use_kernels("reference"): ...  # a block

"fast" is the default. Where a twin cannot run (Numba is not installed, for the CPU twins)
its op runs the reference code. The reference mode never imports Numba.

The dispatch point is `Function.apply` in tensor.py, which asks `twin(cls, array)` which
class to run on its first input's array. Nothing here imports NumPy or Numba at import time: `import minigrad` loads
this module before NumPy (process.py explains why).
"""
import contextlib
import os

MODES = ("fast", "reference")
_mode = None
_twins = None  # {array type: {reference Function class: twin class}}, built on first use


def get_kernels():
    """The kernels in use: "fast" or "reference"."""
    global _mode
    if _mode is None:
        set_kernels(os.environ.get("MINIGRAD_KERNELS") or "fast")
    return _mode


def set_kernels(mode):
    """Run every op with its "fast" twin (where one exists and can run) or its "reference" code."""
    global _mode
    if mode not in MODES:
        raise ValueError(f"kernels must be one of {MODES}, got {mode!r} (from set_kernels or MINIGRAD_KERNELS)")
    _mode = mode


@contextlib.contextmanager
def use_kernels(mode):
    """Context manager: `set_kernels(mode)` inside the block, the previous mode after it."""
    previous = get_kernels()
    set_kernels(mode)
    try:
        yield
    finally:
        set_kernels(previous)


def twin(cls, array):
    """The class that runs op ``cls`` whose first input is ``array``: in fast mode its fast
    twin for that kind of array (NumPy or CuPy) where there is one, else ``cls`` itself."""
    if _mode != "fast":
        return cls if _mode == "reference" or get_kernels() == "reference" else twin(cls, array)
    kind = type(array)
    table = _twins.get(kind) if _twins is not None else None
    if table is None:
        table = _twins_for(kind)
    return table.get(cls, cls)


def numba_available():
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _twins_for(kind):
    """{reference class: twin class} for arrays of type ``kind``, built once per type."""
    global _twins
    from ..ops import activation, batchnorm, conv, pooling
    from . import conv as fast_conv  # its CuPy and Numba kernels load when an array of theirs arrives

    if kind.__module__.startswith("cupy"):
        table = {conv.Conv2d: fast_conv.Conv2d}
    elif kind.__module__ == "numpy" and numba_available():
        from . import activation as fast_activation, batchnorm as fast_batchnorm, pooling as fast_pooling

        table = {
            conv.Conv2d: fast_conv.Conv2d,
            pooling.MaxPool2d: fast_pooling.MaxPool2d,
            pooling.AvgPool2d: fast_pooling.AvgPool2d,
            batchnorm.BatchNorm: fast_batchnorm.BatchNorm,
            activation.ReLU: fast_activation.ReLU,
            activation.Sigmoid: fast_activation.Sigmoid,
            activation.Tanh: fast_activation.Tanh,
        }
    else:  # NumPy without Numba, or anything else: the reference ops
        table = {}
    _twins = {**(_twins or {}), kind: table}
    return table
