"""Train minigrad's models with your own ops: ``use_student_ops(["conv2d", "batch_norm"])``.

Each named exercise is graded first (grade.py), so that a wrong backward stops everything
before training starts. Then your class runs wherever the models call minigrad's own op: a
choice installed at the engine's one dispatch point (the hook through which the fast kernels
come in, `minigrad.tensor.install_kernel_choice`), wrapped around the choice already there.
The examples take it as a flag: ``python examples/lenet_mnist.py q1 --student conv2d``.

Your ops take the exercises' arguments; the adapters below give them minigrad's: conv2d with
stride 1, no dilation and the same padding on every side (as LeNet-5 and the CIFAR net use
it); batch norm in training mode (eval mode runs minigrad's own, with the running statistics
your forward's batches updated); the LSTM step as it is.
"""
from minigrad.ops import batchnorm as batchnorm_ops, conv as conv_ops, rnn as rnn_ops
from minigrad.ops.geometry import pair
from minigrad.tensor import install_kernel_choice, kernel_choice

from . import grade


def conv2d_adapter(module):
    class StudentConv2d(module.Conv2d):
        """Your Conv2d, called with minigrad's Conv2d's arguments."""

        def forward(self, x, w, b=None, stride=1, padding=0, dilation=1):
            top, left = pair(padding, "padding")
            if pair(stride, "stride") != (1, 1) or pair(dilation, "dilation") != (1, 1) or top != left:
                raise ValueError(f"your conv2d takes stride 1, no dilation and equal padding; this model asks for "
                                 f"stride {stride}, dilation {dilation}, padding {padding}")
            self.without_bias = b is None
            if b is None:
                b = x.dtype.type(0) * w[:, 0, 0, 0]  # zeros, one a filter
            return super().forward(x, w, b, padding=top)

        def backward(self, dy):
            dx, dw, db = super().backward(dy)
            return (dx, dw) if self.without_bias else (dx, dw, db)

    return StudentConv2d


def batch_norm_adapter(module):
    class StudentBatchNorm(module.BatchNorm):
        """Your BatchNorm in training mode; minigrad's own in eval mode."""

        def forward(self, x, gamma, beta, running_mean=None, running_var=None, training=True, momentum=0.1,
                    eps=1e-5):
            self.reference = None
            if not training:
                self.reference = batchnorm_ops.BatchNorm()
                self.reference.needs_input_grad = self.needs_input_grad
                return self.reference.forward(x, gamma, beta, running_mean, running_var, False, momentum, eps)
            axes = (0,) if x.ndim == 2 else (0, 2, 3)
            batchnorm_ops.update_running_statistics(running_mean, running_var, x.mean(axis=axes), x.var(axis=axes),
                                                    momentum, x.size // x.shape[1])
            self.eps = eps
            return super().forward(x, gamma, beta)

        def backward(self, dy):
            return super().backward(dy) if self.reference is None else self.reference.backward(dy)

    return StudentBatchNorm


SWAPPABLE = {  # exercise: (minigrad's op it replaces, the adapter that gives it minigrad's arguments)
    "conv2d": (conv_ops.Conv2d, conv2d_adapter),
    "batch_norm": (batchnorm_ops.BatchNorm, batch_norm_adapter),
    "lstm_cell": (rnn_ops.LSTMCellStep, lambda module: module.LSTMCellStep),
}


def use_student_ops(names, solution=False, report=print):
    """Grade the exercises ``names`` (ExerciseFailed if one fails: nothing is swapped then),
    and from now on run each of them in place of minigrad's op. ``solution``: the worked
    solutions instead of your files. Returns the choice it wrapped, to put back with
    ``install_kernel_choice(previous)``."""
    unknown = [n for n in names if n not in SWAPPABLE]
    if unknown:
        raise ValueError(f"cannot swap {', '.join(unknown)} into a model; these can be: {', '.join(SWAPPABLE)}")
    swaps = {}
    for name in names:
        module = grade.load(name, solution)
        report(grade.grade(name, module))
        reference, adapter = SWAPPABLE[name]
        swaps[reference] = adapter(module)
    previous = kernel_choice()

    def choose(cls, array):
        student = swaps.get(cls)
        if student is not None:
            return student
        return cls if previous is None else previous(cls, array)

    install_kernel_choice(choose)
    return previous


def use_in_example(names, solutions=False):
    """For an example's --student flag: use_student_ops, and False after a one-line error
    naming what is wrong if the grader fails an op (the example then exits with status 2,
    before any training)."""
    import sys

    try:
        use_student_ops(names, solution=solutions)
    except grade.ExerciseFailed as err:
        print(f"error: your op is not ready to train a model: {err}", file=sys.stderr)
        return False
    return True
