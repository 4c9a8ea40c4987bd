"""Every core op, from one table (op_recipes.RECIPES), against three references:

* NumPy for the forward pass,
* central finite differences in float64 (minigrad.gradcheck) for the backward pass,
* PyTorch, forward and backward, in float32 and float64 (skipped without torch).
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from op_recipes import RECIPES, torch

recipes = pytest.mark.parametrize("recipe", RECIPES, ids=[r.name for r in RECIPES])


def draw_inputs(data, recipe):
    shapes, params = data.draw(recipe.cases, label="shapes, params")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    return recipe.domain(rng, shapes), params, rng


@recipes
@given(data=st.data())
def test_forward_matches_numpy(recipe, data):
    arrays, params, _ = draw_inputs(data, recipe)
    out = recipe.fn(*[mg.tensor(a) for a in arrays], **params)
    np.testing.assert_allclose(out.numpy(), recipe.numpy(*arrays, **params), rtol=1e-12, atol=1e-12)
    assert out.dtype == np.float64


@recipes
@given(data=st.data())
def test_backward_matches_finite_differences(recipe, data):
    arrays, params, _ = draw_inputs(data, recipe)
    inputs = [mg.tensor(a, requires_grad=True) for a in arrays]
    assert mg.gradcheck(lambda *xs: recipe.fn(*xs, **params), *inputs)


@recipes
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_matches_torch(recipe, dtype, data):
    if torch is None or recipe.torch is None:
        pytest.skip("PyTorch is not installed")
    arrays, params, rng = draw_inputs(data, recipe)
    arrays = [a.astype(dtype) for a in arrays]
    ours = [mg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = recipe.fn(*ours, **params), recipe.torch(*theirs, **params)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), **tol)
    assert out.dtype == dtype

    upstream = rng.standard_normal(out.shape).astype(dtype)
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    for mine, reference in zip(ours, theirs):
        assert mine.grad.dtype == dtype
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), **tol)


@recipes
@pytest.mark.skipif(not mg.cuda_is_available(), reason="CuPy with a CUDA GPU is not available")
@given(data=st.data())
def test_cuda_matches_cpu(recipe, data):
    arrays, params, rng = draw_inputs(data, recipe)
    cpu = [mg.tensor(a, requires_grad=True) for a in arrays]
    gpu = [mg.tensor(a, device="cuda", requires_grad=True) for a in arrays]
    gpu_params = {k: mg.backend.to_device(v, "cuda") if isinstance(v, np.ndarray) else v for k, v in params.items()}
    out, out_gpu = recipe.fn(*cpu, **params), recipe.fn(*gpu, **gpu_params)
    assert out_gpu.device == "cuda"
    np.testing.assert_allclose(out_gpu.numpy(), out.numpy(), rtol=1e-10, atol=1e-12)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    out_gpu.backward(mg.backend.to_device(upstream, "cuda"))
    for a, b in zip(cpu, gpu):
        assert b.grad.device == "cuda"
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-10, atol=1e-12)
