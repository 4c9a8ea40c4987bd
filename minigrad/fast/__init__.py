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

The dispatch point is `Function.apply` in tensor.py, which asks `twin(cls, device)` which
class to run. Nothing here imports NumPy or Numba at import time: `import minigrad` loads
this module before NumPy (process.py explains why).
"""
import contextlib
import os

MODES = ("fast", "reference")
_mode = None
_twins = None  # {(reference Function class, "cpu" | "cuda"): twin class}, built on first use


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


def twin(cls, device):
    """The class that runs op ``cls`` on ``device`` ("cpu" or "cuda"): its fast twin in fast
    mode where there is one, else ``cls`` itself."""
    if (_mode or get_kernels()) == "reference":
        return cls
    return (_twins if _twins is not None else _load_twins()).get((cls, device), cls)


def numba_available():
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _load_twins():
    global _twins
    twins = {}
    from . import im2col_cupy  # noqa: F401  (CuPy itself loads only when a GPU array arrives)
    from .conv import Conv2d
    from ..ops import conv

    twins[conv.Conv2d, "cuda"] = Conv2d
    if numba_available():
        from . import activation, batchnorm, pooling
        from ..ops import activation as act, batchnorm as bn, pooling as pool

        twins.update({
            (conv.Conv2d, "cpu"): Conv2d,
            (pool.MaxPool2d, "cpu"): pooling.MaxPool2d,
            (pool.AvgPool2d, "cpu"): pooling.AvgPool2d,
            (bn.BatchNorm, "cpu"): batchnorm.BatchNorm,
            (act.ReLU, "cpu"): activation.ReLU,
            (act.Sigmoid, "cpu"): activation.Sigmoid,
            (act.Tanh, "cpu"): activation.Tanh,
        })
    _twins = twins
    return twins
