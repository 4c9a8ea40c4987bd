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
    check_against_torch(recipe, arrays, params, rng, dtype, tol)


@recipes
@pytest.mark.skipif(not mg.cuda_is_available(), reason="CuPy with a CUDA GPU is not available")
@given(data=st.data())
def test_cuda_matches_cpu(recipe, data):
    arrays, params, rng = draw_inputs(data, recipe)
    check_cuda_matches_cpu(recipe, arrays, params, rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, derivative", [
    ("relu", lambda x, y: (x > 0).astype(x.dtype)),
    ("sigmoid", lambda x, y: y * (1 - y)),
    ("tanh", lambda x, y: 1 - y * y),
])
def test_large_activation_backward_takes_the_numba_loop_and_agrees_with_numpy(name, derivative, dtype, monkeypatch):
    # The hypothesis recipes draw small arrays, which stay in NumPy; above LOOP_MIN_SIZE the
    # CPU takes one Numba loop (activation_numba.py). The upstream gradient is transposed
    # (not C-contiguous) to check that the loop reads it in the right order.
    from minigrad.ops import activation, activation_numba

    calls = []
    loop = activation_numba.backward
    monkeypatch.setattr(activation_numba, "backward", lambda *args: calls.append(args[0]) or loop(*args))

    rng = np.random.default_rng(0)
    shape = (activation.LOOP_MIN_SIZE // 64 + 3, 64)
    x = rng.standard_normal(shape).astype(dtype)
    x[0, :4] = 0  # ReLU's derivative at exactly 0 is 0
    g = rng.standard_normal(shape[::-1]).astype(dtype).T
    xt = mg.tensor(x, requires_grad=True)
    y = getattr(mg, name)(xt)
    y.backward(mg.tensor(g))
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(xt.grad.numpy(), g * derivative(x, y.numpy()), rtol=tol, atol=tol)
    assert calls == [name]
