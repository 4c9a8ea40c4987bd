"""The checks shared by the op table (op_recipes) and the layer table (layer_recipes)."""
import numpy as np
from hypothesis import strategies as st

import minigrad as mg
from op_recipes import torch


def draw_inputs(data, recipe):
    """Draw shapes and parameters from the recipe's strategy, and values from its domain."""
    shapes, params = data.draw(recipe.cases, label="shapes, params")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    return recipe.domain(rng, shapes), params, rng


def assert_close(actual, desired, rtol, atol):
    """allclose with atol relative to the array's scale: float32 round-off is relative to the
    largest terms that cancelled, not to each (possibly small) result."""
    scale = max(1.0, float(np.abs(desired).max(initial=0)))
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=atol * scale)


def check_against_torch(recipe, arrays, params, rng, dtype, tol, no_worse_than_torch=False):
    """Forward outputs and every input gradient agree with PyTorch's, in ``dtype``.

    no_worse_than_torch: for a gradient that is a near-total cancellation (layer norm over two
    values), two float32 results can both be right to float32 and still differ in their
    leading digits. Then each of our gradients must be as close to the float64 truth as
    PyTorch's float32 one is (twice its error, plus the tolerance), rather than close to it."""
    arrays = [a.astype(dtype) for a in arrays]
    ours = [mg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = recipe.fn(*ours, **params), recipe.torch(*theirs, **params)
    assert_close(out.numpy(), ref.detach().numpy(), **tol)
    assert out.dtype == dtype
    upstream = rng.standard_normal(out.shape).astype(dtype)
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    if no_worse_than_torch:
        exact = [torch.tensor(a.astype(np.float64), requires_grad=True) for a in arrays]
        recipe.torch(*exact, **params).backward(torch.tensor(upstream.astype(np.float64)))
    for k, (mine, reference) in enumerate(zip(ours, theirs)):
        assert mine.grad.dtype == dtype
        if not no_worse_than_torch:
            assert_close(mine.grad.numpy(), reference.grad.numpy(), **tol)
            continue
        truth = exact[k].grad.numpy()
        their_error = np.abs(reference.grad.numpy() - truth)
        our_error = np.abs(mine.grad.numpy().astype(np.float64) - truth)
        limit = 2 * their_error + tol["atol"] * max(1.0, float(np.abs(truth).max(initial=0)))
        assert (our_error <= limit).all(), f"input {k}: float32 error {our_error.max():.3g} against PyTorch's {their_error.max():.3g}"


def check_cuda_matches_cpu(recipe, arrays, params, rng):
    """The same op on CuPy arrays gives the CPU's output and gradients (float64)."""
    to_gpu = lambda v: mg.backend.to_device(v, "cuda") if isinstance(v, np.ndarray) else v  # noqa: E731
    cpu = [mg.tensor(a, requires_grad=True) for a in arrays]
    gpu = [mg.tensor(a, device="cuda", requires_grad=True) for a in arrays]
    out, out_gpu = recipe.fn(*cpu, **params), recipe.fn(*gpu, **{k: to_gpu(v) for k, v in params.items()})
    assert out_gpu.device == "cuda"
    np.testing.assert_allclose(out_gpu.numpy(), out.numpy(), rtol=1e-9, atol=1e-11)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    out_gpu.backward(mg.backend.to_device(upstream, "cuda"))
    for a, b in zip(cpu, gpu):
        assert b.grad.device == "cuda"
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-9, atol=1e-11)
