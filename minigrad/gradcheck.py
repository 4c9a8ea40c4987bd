"""Check an op's backward pass against central finite differences, in float64.

    minigrad.gradcheck(lambda a, b: my_op(a, b), a, b)

How it works. Let f be the function and W a fixed random array shaped like its output.
The scalar L(x) = Σ W ⊙ f(x) has gradient dL/dx = f'(x)ᵀ W, which one backward pass with
upstream gradient W computes. Numerically, for each input element x_i,

    dL/dx_i ≈ (L(x + ε e_i) - L(x - ε e_i)) / (2ε)        (error O(ε²))

Random weights matter: with W = 1 a wrong softmax backward would pass, because the rows of
a softmax always sum to 1 and so d(Σ outputs)/dx = 0 whatever the backward says.

``mode="directional"`` checks one random direction d instead of every element:
⟨dL/dx, d⟩ against (L(x + εd) - L(x - εd)) / (2ε) — two forward passes, however many elements,
which makes wide randomized sweeps cheap (the idea of Chainer's check_backward).
"""
import copy

import numpy as np

from . import backend
from .tensor import Tensor, grad, set_grad_enabled


class GradcheckError(AssertionError):
    """The analytic gradient (backward) disagrees with the numeric one (finite differences)."""


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, mode="full", seed=0, _record=False):
    """Return True if ``fn``'s backward agrees with finite differences; raise GradcheckError if not.

    fn      a function of the given inputs returning a Tensor of any shape, or a tuple of
            Tensors. It must be deterministic (fix the mask of a dropout, for instance).
    inputs  Tensors (those with requires_grad=True are checked) or other values passed as-is.
            Floating-point tensors are copied to float64, so the check is not drowned in
            float32 round-off.
            fn may be a Module (float32 layers included): it is checked on a float64 copy,
            its parameters as well as the inputs, and the module itself is left as it is.
            Put it in eval mode first if it has dropout (the check needs a deterministic fn).
    mode    "full": every element of every input; "directional": one random direction.
    """
    if mode not in ("full", "directional"):
        raise ValueError(f"gradcheck: mode must be 'full' or 'directional', got {mode!r}")
    if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):  # gradcheck(fn, [a, b]) as in PyTorch
        inputs = tuple(inputs[0])
    rng = np.random.default_rng(seed)
    inputs = [_as_float64(x) for x in inputs]
    names = [f"input {i}" for i in range(len(inputs))]
    if hasattr(fn, "named_parameters"):  # a module: check its parameters too, on a float64 copy of it
        module = copy.deepcopy(fn).double()
        named = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
        count = len(inputs)
        inputs += [p for _, p in named]  # the module reads these very tensors, perturbed in place
        names += [f"parameter {name}" for name, _ in named]
        fn = lambda *args: module(*args[:count])  # noqa: E731
    fn = _one_output(fn)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")

    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    xp = backend.get_array_module(out.data)
    weights = xp.asarray(rng.standard_normal(out.shape))

    def loss():
        with set_grad_enabled(_record):  # (gradgradcheck's fn needs a graph to differentiate)
            return float((fn(*inputs).data.astype(np.float64) * weights).sum())

    for i in checked:
        inputs[i].grad = None
    if not out.requires_grad:
        raise GradcheckError("gradcheck: the output does not depend on any input that requires grad")
    out.backward(weights.astype(out.dtype))
    analytic = {i: _grad_or_zeros(inputs[i]) for i in checked}

    if mode == "directional":
        _check_direction(inputs, checked, analytic, loss, rng, eps, atol, rtol)
    else:
        for i in checked:
            _check_every_element(inputs[i], names[i], analytic[i], loss, eps, atol, rtol)
    return True


def gradgradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check second derivatives: that differentiating fn's first derivative (computed with
    create_graph=True) agrees with finite differences of that first derivative, in float64.

    With W a fixed random array shaped like fn's output, the first derivative is
    d(x) = dL/dx for L = Σ W ⊙ fn(x); gradcheck then checks d's own backward (the second
    derivative, contracted with random weights) against (d(x + εe_i) - d(x - εe_i)) / 2ε,
    after checking that d itself equals the first derivative of the plain backward pass.
    Return True, or raise GradcheckError naming the input and element."""
    rng = np.random.default_rng(seed + 1)
    inputs = [_as_float64(x) for x in inputs]
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck: no input has requires_grad=True, so there is nothing to check")
    fn = _one_output(fn)
    out = fn(*inputs)
    weights = Tensor(backend.get_array_module(out.data).asarray(rng.standard_normal(out.shape)))
    from .ops import concatenate, reshape

    def first_derivative(*xs):
        grads = grad((fn(*xs) * weights).sum(), [xs[i] for i in checked], create_graph=True, allow_unused=True)
        flat = [reshape(g, (-1,)) if g is not None else Tensor(np.zeros(xs[i].data.size))
                for g, i in zip(grads, checked)]
        # + 0·Σx: a first derivative that does not depend on x (a linear fn) still has a
        # graph, whose analytic second derivative, 0, the finite differences then confirm
        return concatenate(flat, 0) + 0 * sum(xs[i].sum() for i in checked)

    # the graph-building first derivative must be the first derivative: compare it with the
    # plain backward's (which gradcheck checks against finite differences)
    with_graph = grad((fn(*inputs) * weights).sum(), [inputs[i] for i in checked], create_graph=True, allow_unused=True)
    plain = grad((fn(*inputs) * weights).sum(), [inputs[i] for i in checked], allow_unused=True)
    for i, a, b in zip(checked, with_graph, plain):
        a = np.zeros(inputs[i].shape) if a is None else backend.to_numpy(a.data)
        b = np.zeros(inputs[i].shape) if b is None else backend.to_numpy(b.data)
        if not np.allclose(a, b, rtol=1e-7, atol=1e-10):
            worst = np.unravel_index(int(np.argmax(np.abs(a - b))), a.shape)
            raise GradcheckError(f"gradgradcheck: the first derivative built with create_graph=True differs from "
                                 f"backward's for input {i} at index {tuple(int(k) for k in worst)}: "
                                 f"{a[worst]:.8g} vs {b[worst]:.8g} (a bug in an op's backward when it runs on tensors)")
    try:
        return gradcheck(first_derivative, *inputs, eps=eps, atol=atol, rtol=rtol, seed=seed, _record=True)
    except GradcheckError as err:
        raise GradcheckError(f"gradgradcheck: the second derivative is wrong (the gradient of the first "
                             f"derivative disagrees with finite differences of it): {err}") from None


def _one_output(fn):
    """fn, with a tuple of output tensors (an LSTM cell's (h, c)) joined into one flat tensor."""
    from .ops import concatenate, reshape

    def joined(*args):
        out = fn(*args)
        if isinstance(out, (tuple, list)) and out and all(isinstance(o, Tensor) for o in out):
            return concatenate([reshape(o, (-1,)) for o in out], 0)
        return out
    return joined


def _as_float64(x):
    """A contiguous float64 copy: perturbing it in place leaves the caller's tensor alone."""
    if isinstance(x, Tensor) and x.dtype.kind == "f":
        xp = backend.get_array_module(x.data)
        return Tensor(xp.array(x.data, dtype=np.float64, order="C"), requires_grad=x.requires_grad)
    return x


def _grad_or_zeros(x):
    if x.grad is None:
        return np.zeros(x.shape)
    return backend.to_numpy(x.grad.data).astype(np.float64)


def _check_every_element(x, name, analytic, loss, eps, atol, rtol):
    numeric = np.zeros(x.shape)
    flat = x.data.reshape(-1)  # a view: writing to it perturbs x in place
    for k in range(flat.size):
        original = float(flat[k])
        flat[k] = original + eps
        plus = loss()
        flat[k] = original - eps
        minus = loss()
        flat[k] = original
        numeric.reshape(-1)[k] = (plus - minus) / (2 * eps)
    error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    if error.max(initial=-np.inf) > 0:
        worst = np.unravel_index(int(np.argmax(error)), x.shape)
        raise GradcheckError(
            f"gradcheck failed for {name} (shape {x.shape}) at index {tuple(int(i) for i in worst)}: "
            f"analytic {analytic[worst]:.8g} vs numeric {numeric[worst]:.8g} "
            f"(atol={atol}, rtol={rtol}); {int((error > 0).sum())} of {x.numel()} elements disagree"
        )


def _check_direction(inputs, checked, analytic, loss, rng, eps, atol, rtol):
    directions = {i: rng.standard_normal(inputs[i].shape) for i in checked}
    norm = np.sqrt(sum(float((d * d).sum()) for d in directions.values())) or 1.0
    originals = {i: inputs[i].data.copy() for i in checked}
    xp = backend.get_array_module(inputs[checked[0]].data)

    def shifted_loss(step):
        for i in checked:
            inputs[i].data[...] = originals[i] + xp.asarray(step * directions[i] / norm)
        return loss()

    numeric = (shifted_loss(eps) - shifted_loss(-eps)) / (2 * eps)
    shifted_loss(0.0)
    predicted = sum(float((analytic[i] * directions[i]).sum()) for i in checked) / norm
    if abs(predicted - numeric) > atol + rtol * abs(numeric):
        raise GradcheckError(
            f"gradcheck (directional) failed for inputs {checked}: analytic directional derivative "
            f"{predicted:.8g} vs numeric {numeric:.8g} (atol={atol}, rtol={rtol})"
        )
