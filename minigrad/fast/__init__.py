"""The fast room: compiled kernels for the ops of minigrad/ops/, and the one switch for them.

minigrad/ops/ is the math: each op's forward and backward as plain array code. This package
holds what makes some of those ops fast: Numba loops for im2col/col2im, pooling, batch norm,
the activations' backward passes, dropout, and a small batch's log_softmax and nll_loss;
linear layers and large softmaxes cut into pieces for the cores; an LSTM step's products
shared out over them;
direct convolution loops; chunks of a batch run on worker threads with reused buffers; CuPy
kernels for im2col on the GPU; and the process settings they want (process.py). Each fast
op is a *twin* of a reference op: a subclass of its Function with the same inputs and
outputs, tested to agree with it.

One switch selects the kernels for every op at once:

    MINIGRAD_KERNELS=reference python train.py   # the environment variable: a whole run
    minigrad.set_kernels("reference")            # the function: from here on
    with minigrad.use_kernels("reference"): ...  # a block

"fast" is the default. Where a twin cannot run (Numba is not installed, for the CPU twins)
its op runs the reference code. The reference mode never imports Numba.

The dispatch point is `Function.apply` in tensor.py. The engine does not know this room:
it offers a hook (`install_kernel_choice`), and importing this package installs `twin` in
it, which answers which class runs an op on its first input's array (two dictionary
look-ups per op). Without this package every op runs its own code. Nothing here imports
Numba at import time, and nothing changes the process until `process.tune()` is called.
"""
import contextlib
import os

MODES = ("fast", "reference")
_mode = None
# For each mode, {array type: {reference Function class: the class that runs it}}, each
# type's table built on first use; _active is the selected mode's (empty until first use).
_tables = {mode: {} for mode in MODES}
_active = {}


def get_kernels():
    """The kernels in use: "fast" or "reference"."""
    if _mode is None:
        set_kernels(os.environ.get("MINIGRAD_KERNELS") or "fast")
    return _mode


def set_kernels(mode):
    """Run every op with its "fast" twin (where one exists and can run) or its "reference" code."""
    global _mode, _active
    if mode not in MODES:
        raise ValueError(f"kernels must be one of {MODES}, got {mode!r} (from set_kernels or MINIGRAD_KERNELS)")
    _mode, _active = mode, _tables[mode]


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
    table = _active.get(type(array))
    if table is None:  # the first op on this type of array in this mode
        table = _table_for(type(array))
    return table.get(cls, cls)


def numba_available():
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _table_for(kind):
    """{reference class: twin class} for arrays of type ``kind`` in the selected mode."""
    fast = get_kernels() == "fast"  # (the reference mode must not even try to import Numba)
    on_gpu = fast and kind.__module__.startswith("cupy")
    numpy_array = fast and kind.__module__ == "numpy"
    on_cpu = numpy_array and numba_available()  # the CPU twins are Numba loops...
    table = {}
    if numpy_array:  # ...but these, plain NumPy, run wherever NumPy does
        from ..ops.activation import Softmax
        from ..ops.linalg import MatMul
        from ..ops.linear import Linear
        from ..ops.rnn import LSTMCellStep
        from . import linear as fast_linear, lstm as fast_lstm, matmul as fast_matmul, softmax as fast_softmax

        table[Linear] = fast_linear.Linear
        table[LSTMCellStep] = fast_lstm.LSTMCellStep
        table[Softmax] = fast_softmax.Softmax
        table[MatMul] = fast_matmul.MatMul
    if on_gpu or on_cpu:
        from ..ops import activation, batchnorm, conv, pooling
        from . import conv as fast_conv  # its CuPy or Numba kernels load when an array of theirs arrives

        table[conv.Conv2d] = fast_conv.Conv2d
        if on_cpu:
            from ..ops.dropout import Dropout
            from ..ops.loss import NLLLoss
            from . import activation as fast_activation, batchnorm as fast_batchnorm, classifier, pooling as fast_pooling
            from . import dropout as fast_dropout

            table.update({
                pooling.MaxPool2d: fast_pooling.MaxPool2d,
                pooling.AvgPool2d: fast_pooling.AvgPool2d,
                batchnorm.BatchNorm: fast_batchnorm.BatchNorm,
                activation.ReLU: fast_activation.ReLU,
                activation.Sigmoid: fast_activation.Sigmoid,
                activation.Tanh: fast_activation.Tanh,
                activation.LogSoftmax: classifier.LogSoftmax,
                NLLLoss: classifier.NLLLoss,
                Dropout: fast_dropout.Dropout,
            })
    _tables[_mode][kind] = table
    return table


from ..tensor import install_kernel_choice  # noqa: E402  (the fast room plugs into the engine's hook)

install_kernel_choice(twin)
