"""Every layer op (LAYER_RECIPES) against finite differences, its composed-from-primitives
reference, and PyTorch; plus the layer-specific behaviour (eval modes, running statistics)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from layer_recipes import LAYER_RECIPES
from recipe_checks import check_against_torch, check_cuda_matches_cpu, draw_inputs
from op_recipes import torch

recipes = pytest.mark.parametrize("recipe", LAYER_RECIPES, ids=[r.name for r in LAYER_RECIPES])



@recipes
@given(data=st.data())
def test_backward_matches_finite_differences(recipe, data):
    arrays, params, _ = draw_inputs(data, recipe)
    inputs = [mg.tensor(a, requires_grad=True) for a in arrays]
    assert mg.gradcheck(lambda *xs: recipe.fn(*xs, **params), *inputs)


@recipes
@given(data=st.data())
def test_hand_derived_backward_matches_autograd_of_composed_reference(recipe, data):
    arrays, params, rng = draw_inputs(data, recipe)
    fused = [mg.tensor(a, requires_grad=True) for a in arrays]
    composed = [mg.tensor(a, requires_grad=True) for a in arrays]
    out, ref = recipe.fn(*fused, **params), recipe.composed(*composed, **params)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-10, atol=1e-10)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    ref.backward(upstream)
    for a, b in zip(fused, composed):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-10)


@recipes
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_matches_torch(recipe, dtype, data):
    if torch is None:
        pytest.skip("PyTorch is not installed")
    arrays, params, rng = draw_inputs(data, recipe)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    check_against_torch(recipe, arrays, params, rng, dtype, tol)


def test_conv2d_skips_input_gradient_when_not_needed():
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((2, 1, 4, 5)))  # like the first layer's images: no grad wanted
    w = mg.tensor(rng.standard_normal((2, 1, 3, 3)), requires_grad=True)
    mg.conv2d(x, w).sum().backward()
    assert x.grad is None
    # d(sum y)/dw[f, c, i, j] = the sum of the input values tap (i, j) reads over all positions
    expected = np.stack([[x.numpy()[:, 0, i:i + 2, j:j + 3].sum() for j in range(3)] for i in range(3)])
    np.testing.assert_allclose(w.grad.numpy(), np.broadcast_to(expected, (2, 1, 3, 3)), rtol=1e-12)


def test_max_pool_tie_sends_gradient_to_one_winner():
    x = mg.tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    mg.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy().ravel(), [1, 0, 0, 0])


def test_dropout_is_inverted_and_identity_in_eval():
    mg.manual_seed(0)
    x = mg.ones(10_000, requires_grad=True)
    y = mg.dropout(x, 0.3, training=True)
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.numpy())  # same mask, same scale
    assert mg.dropout(x, 0.3, training=False) is x


def test_dropout_with_fixed_mask_passes_gradcheck():
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    mask = (rng.random((3, 4)) > 0.5) / 0.5
    assert mg.gradcheck(lambda x: mg.dropout(x, 0.5, mask=mask), x)


def test_batch_norm_eval_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((4, 3, 2, 2)), requires_grad=True)
    g = mg.tensor(rng.standard_normal(3), requires_grad=True)
    b = mg.tensor(rng.standard_normal(3), requires_grad=True)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    assert mg.gradcheck(lambda x, g, b: mg.batch_norm(x, mean, var, g, b, training=False), x, g, b)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5, 5)])
def test_batch_norm_running_statistics_and_eval_output_match_torch(shape):
    rng = np.random.default_rng(1)
    ours = (mg.nn.BatchNorm1d if len(shape) == 2 else mg.nn.BatchNorm2d)(3, momentum=0.2)
    theirs = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(3, momentum=0.2)
    for _ in range(5):
        x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
        np.testing.assert_allclose(ours(mg.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-5, atol=1e-6)
    ours.eval(), theirs.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(ours(mg.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "make, pattern",
    [
        (lambda: mg.conv2d(mg.ones(1, 3, 8, 8), mg.ones(4, 2, 3, 3)), r"conv2d: input shape \(1, 3, 8, 8\) has 3 channels but weight shape \(4, 2, 3, 3\)"),
        (lambda: mg.conv2d(mg.ones(1, 1, 2, 2), mg.ones(1, 1, 3, 3)), r"conv2d: input shape \(1, 1, 2, 2\) is smaller than the kernel"),
        (lambda: mg.linear(mg.ones(2, 5), mg.ones(3, 4)), r"linear: input shape \(2, 5\) .* weight shape \(3, 4\)"),
        (lambda: mg.max_pool2d(mg.ones(2, 3), 2), r"max_pool2d: expected input \(N, C, H, W\), got shape \(2, 3\)"),
        (lambda: mg.nn.BatchNorm2d(3)(mg.ones(4, 3)), r"BatchNorm2d: expected a 4-D input, got shape \(4, 3\)"),
    ],
)
def test_layer_errors_name_the_op_and_shapes(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


@recipes
@pytest.mark.skipif(not mg.cuda_is_available(), reason="CuPy with a CUDA GPU is not available")
@given(data=st.data())
def test_cuda_matches_cpu(recipe, data):
    arrays, params, rng = draw_inputs(data, recipe)
    check_cuda_matches_cpu(recipe, arrays, params, rng)
