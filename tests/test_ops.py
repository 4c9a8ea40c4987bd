"""Every core op, from one table (op_recipes.RECIPES), against three references:

* NumPy for the forward pass,
* central finite differences in float64 (minigrad.gradcheck) for the backward pass,
* PyTorch, forward and backward, in float32 and float64 (skipped without torch).
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from recipe_checks import check_against_torch, check_cuda_matches_cpu, draw_inputs
from op_recipes import RECIPES, torch

recipes = pytest.mark.parametrize("recipe", RECIPES, ids=[r.name for r in RECIPES])



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
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    cancels = dtype == np.float32 and "cancels" in recipe.tags  # (see check_against_torch)
    check_against_torch(recipe, arrays, params, rng, dtype, tol, no_worse_than_torch=cancels)


@recipes
@pytest.mark.skipif(not mg.cuda_is_available(), reason="CuPy with a CUDA GPU is not available")
@given(data=st.data())
def test_cuda_matches_cpu(recipe, data):
    arrays, params, rng = draw_inputs(data, recipe)
    check_cuda_matches_cpu(recipe, arrays, params, rng)
