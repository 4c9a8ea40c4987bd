"""Grade your own backward: ``python -m exercises.grade linear`` (from the repository's root).

Each exercise in this folder is a skeleton: a `minigrad.Function` whose forward or backward
you write. The grader runs your op on a few inputs in float64 and checks, in this order:

  1. forward: your output against minigrad's own op;
  2. backward: the gradient of every input against minigrad's own op (the loss is a random
     weighting of the outputs, so that no term can cancel);
  3. the same gradients against central finite differences (`minigrad.gradcheck`);
  4. for the second-derivative exercise, the gradient of your gradient (`gradgradcheck`).

The first check that fails stops the grading with a message that names the input, the
element, the expected and the actual value. ``--solution`` grades the worked solution in
exercises/solutions/ instead of your file; ``python -m exercises.grade --list`` lists them.
"""
import argparse
import importlib
import sys
from dataclasses import dataclass, field

import numpy as np

import minigrad as mg
from minigrad.ops import conv2d, max_pool2d

RTOL, ATOL = 1e-6, 1e-8


class ExerciseFailed(AssertionError):
    """Your op disagrees with minigrad's or with finite differences; the message says where."""


@dataclass
class Exercise:
    """What one exercise asks for: ``build(module)`` is your op as a function of tensors,
    ``reference`` minigrad's own, ``cases(rng)`` the inputs (each an (array, name) list)."""
    summary: str
    build: object
    reference: object
    cases: object
    names: tuple
    second_order: bool = False
    hints: dict = field(default_factory=dict)


def _distinct(rng, shape):
    """Values that are all different, with gaps: no tie in a max pooling window."""
    values = rng.permutation(np.prod(shape)).reshape(shape).astype(np.float64)
    return (values + rng.uniform(0.1, 0.4, shape)) / np.prod(shape)


def _lstm_weights(rng, n, i, h):
    return [rng.standard_normal((n, i)), rng.standard_normal((n, h)), rng.standard_normal((n, h)),
            0.5 * rng.standard_normal((4 * h, i)), 0.5 * rng.standard_normal((4 * h, h)),
            0.1 * rng.standard_normal(4 * h), 0.1 * rng.standard_normal(4 * h)]


EXERCISES = {
    "tanh": Exercise(
        "an elementwise op: y = tanh(x), dy/dx from the saved output",
        lambda m: m.Tanh.apply, mg.tanh,
        lambda rng: [[rng.standard_normal((3, 4))], [rng.standard_normal(7)]],
        ("x",),
        hints={"x": "differentiate tanh, and write the result with the saved y = tanh x"}),
    "linear": Exercise(
        "linear: y = x Wᵀ + b",
        lambda m: m.Linear.apply, mg.linear,
        lambda rng: [[rng.standard_normal((6, 4)), rng.standard_normal((4, 4)), rng.standard_normal(4)],
                     [rng.standard_normal((5, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)]],
        ("x", "weight", "bias"),
        hints={"x": "which way is W transposed? y_nk = Σ_i W_ki x_ni",
               "weight": "dW pairs each sample's g with that same sample's x, for every sample",
               "bias": "every sample of the batch added the same b"}),
    "log_softmax_nll": Exercise(
        "log_softmax then the mean negative log-likelihood",
        lambda m: lambda z, t: m.NLLLoss.apply(m.LogSoftmax.apply(z), target=t.data),
        lambda z, t: mg.nll_loss(mg.log_softmax(z, 1), t),
        lambda rng: [[rng.standard_normal((5, 4)), rng.integers(0, 4, 5)],
                     [rng.standard_normal((8, 3)), rng.integers(0, 3, 8)]],
        ("logits", "targets"),
        hints={"logits": "is the loss a sum or a mean over the rows? and each output of a log-softmax "
                         "row depends on every input of that row"}),
    "conv2d": Exercise(
        "conv2d through im2col, forward and backward (stride 1, padding 1)",
        lambda m: lambda x, w, b: m.Conv2d.apply(x, w, b, padding=1),
        lambda x, w, b: conv2d(x, w, b, padding=1),
        lambda rng: [[rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)],
                     [rng.standard_normal((1, 2, 4, 6)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)]],
        ("x", "weight", "bias"),
        hints={"x": "windows overlap: a pixel read by several windows gets the sum of their gradients",
               "weight": "X's columns are in (i, j, c) order; w's axes are (F, C, KH, KW)",
               "bias": "b was added at every image and every position"}),
    "max_pool": Exercise(
        "max pooling, 2x2 windows, stride 2",
        lambda m: m.MaxPool2d.apply, lambda x: max_pool2d(x, 2),
        lambda rng: [[_distinct(rng, (2, 3, 4, 4))], [_distinct(rng, (1, 2, 6, 4))]],
        ("x",),
        hints={"x": "which elements of a window moved y, and by how much?"}),
    "batch_norm": Exercise(
        "batch norm in training mode, statistics per channel",
        lambda m: m.BatchNorm.apply,
        lambda x, gamma, beta: mg.batch_norm(x, None, None, gamma, beta, training=True),
        lambda rng: [[rng.standard_normal((6, 3)) * 2 + 1, rng.standard_normal(3), rng.standard_normal(3)],
                     [rng.standard_normal((3, 2, 2, 3)), rng.standard_normal(2), rng.standard_normal(2)]],
        ("x", "gamma", "beta"),
        hints={"x": "μ and σ are functions of x too, and the result averages over the M values",
               "gamma": "γ multiplies x̂ at all M values of its channel", "beta": "β is added at all M values"}),
    "lstm_cell": Exercise(
        "one LSTM step: (h', c') from (x, h, c)",
        lambda m: m.LSTMCellStep.apply,
        lambda x, h, c, *p: mg.cat(mg.ops.lstm_cell(x, h, c, *p), 1),
        lambda rng: [_lstm_weights(rng, 3, 4, 5), _lstm_weights(rng, 2, 3, 2)],
        ("x", "h", "c", "weight_ih", "weight_hh", "bias_ih", "bias_hh"),
        hints={"x": "x reaches the loss through all four gates: check each gate's share of da",
               "c": "c reaches c' through one gate only",
               "weight_ih": "the forget gate multiplies this step's input state, not the new one",
               "h": "c' reaches the loss two ways: directly, and through h'"}),
    "second_derivative": Exercise(
        "softplus, differentiable twice: y = log(1 + e^x)",
        lambda m: m.Softplus.apply, lambda x: mg.log(1 + mg.exp(x)),
        lambda rng: [[rng.standard_normal((3, 4))], [rng.standard_normal(5)]],
        ("x",), second_order=True,
        hints={"x": "save x with save_for_backward and write the backward with operators and "
                    "minigrad.ops.both's functions, so that it runs on tensors too"}),
}


def grade(name, module):
    """Grade ``module`` (your file, imported) on exercise ``name``; raise ExerciseFailed with a
    message naming what is wrong, or return a one-line report."""
    exercise = EXERCISES[name]
    rng = np.random.default_rng(0)
    cases = exercise.cases(rng)
    for number, arrays in enumerate(cases, 1):
        where = f"{name}, case {number} of {len(cases)} (shapes {', '.join(str(a.shape) for a in arrays)})"
        try:
            _grade_case(exercise, module, arrays, rng, where)
        except ExerciseFailed:
            raise
        except NotImplementedError as err:
            raise ExerciseFailed(f"{where}: not written yet ({err})") from None
        except Exception as err:  # a crash in the student's code is a finding too
            raise ExerciseFailed(f"{where}: your op raised {type(err).__name__}: {err}") from err
    what = "forward, backward, finite differences" + (", second derivative" if exercise.second_order else "")
    return f"{name}: passed ({what}) on {len(cases)} cases"


def _grade_case(exercise, module, arrays, rng, where):
    with mg.use_kernels("reference"):
        ours = [mg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]   # (targets: integers)
        theirs = [mg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
        student_fn = exercise.build(module)
        out, expected = student_fn(*ours), exercise.reference(*theirs)
        _compare(f"{where}: forward", "the output", out, expected, hint=None)
        weights = mg.tensor(rng.standard_normal(expected.shape))
        checked = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
        grads = mg.grad((out * weights).sum(), [ours[i] for i in checked], allow_unused=True)
        wanted = mg.grad((expected * weights).sum(), [theirs[i] for i in checked], allow_unused=True)
        for i, got, exp in zip(checked, grads, wanted):
            name = exercise.names[i]
            _compare(f"{where}: backward", f"dL/d{name} (input {i})", got, exp, exercise.hints.get(name))
        try:
            mg.gradcheck(student_fn, *ours)
        except mg.GradcheckError as err:
            raise ExerciseFailed(f"{where}: finite differences disagree with your backward: {err}") from None
        if exercise.second_order:
            _grade_second_order(exercise, student_fn, arrays, rng, where)


def _grade_second_order(exercise, student_fn, arrays, rng, where):
    x, x_ref = mg.tensor(arrays[0], requires_grad=True), mg.tensor(arrays[0], requires_grad=True)
    direction = mg.tensor(rng.standard_normal(arrays[0].shape))
    try:
        first, = mg.grad(student_fn(x).sum(), [x], create_graph=True)
    except RuntimeError as err:
        raise ExerciseFailed(f"{where}: your backward cannot be differentiated again: {err}") from None
    first_ref, = mg.grad(exercise.reference(x_ref).sum(), [x_ref], create_graph=True)
    hint = exercise.hints.get("x")
    if not first.requires_grad:
        raise ExerciseFailed(f"{where}: second derivative: your gradient does not depend on x (it was computed "
                             f"without a graph, as a constant); hint: {hint}")
    second = mg.grad((first * direction).sum(), [x], allow_unused=True)[0]
    second_ref, = mg.grad((first_ref * direction).sum(), [x_ref])
    if second is None:
        raise ExerciseFailed(f"{where}: second derivative: your gradient does not depend on x; hint: {hint}")
    _compare(f"{where}: second derivative", "d/dx (dL/dx · v)", second, second_ref, hint)
    try:
        mg.gradgradcheck(student_fn, x)
    except mg.GradcheckError as err:
        raise ExerciseFailed(f"{where}: the second derivative disagrees with finite differences: {err}") from None


def _compare(stage, what, got, expected, hint):
    expected = expected.numpy()
    if got is None:
        raise ExerciseFailed(f"{stage}: {what} is missing (your backward returned None for it)")
    got = np.asarray(got.numpy() if hasattr(got, "numpy") else got, dtype=np.float64)
    if got.shape != expected.shape:
        raise ExerciseFailed(f"{stage}: {what} has shape {got.shape}, expected {expected.shape}")
    wrong = ~np.isclose(got, expected, rtol=RTOL, atol=ATOL)
    if wrong.any():
        worst = np.unravel_index(int(np.argmax(np.abs(got - expected) * wrong)), got.shape)
        index = tuple(int(k) for k in worst)
        message = (f"{stage}: {what} is wrong at index {index}: expected {expected[worst]:.6g}, got {got[worst]:.6g} "
                   f"({int(wrong.sum())} of {wrong.size} elements differ)")
        raise ExerciseFailed(message + (f"; hint: {hint}" if hint else ""))


def load(name, solution=False):
    """Your module for exercise ``name`` (exercises/NAME.py), or the worked solution."""
    return importlib.import_module(f"exercises.{'solutions.' if solution else ''}{name}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="exercises to grade (all when none is given)")
    parser.add_argument("--solution", action="store_true", help="grade the worked solutions instead")
    parser.add_argument("--list", action="store_true", help="list the exercises")
    args = parser.parse_args(argv)
    if args.list:
        for name, exercise in EXERCISES.items():
            print(f"{name:18} {exercise.summary}")
        return 0
    unknown = [n for n in args.names if n not in EXERCISES]
    if unknown:
        parser.error(f"no exercise named {', '.join(unknown)}; choose from {', '.join(EXERCISES)}")
    failed = 0
    for name in args.names or list(EXERCISES):
        try:
            print(grade(name, load(name, args.solution)))
        except ExerciseFailed as err:
            print(f"FAILED {err}")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
