"""Every layer op (LAYER_RECIPES) against finite differences, its composed-from-primitives
reference, and PyTorch; plus the layer-specific behaviour (eval modes, running statistics)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from layer_recipes import LAYER_RECIPES
from recipe_checks import check_against_torch, check_cuda_matches_cpu, draw_inputs
from op_recipes import TF, torch

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
    x = mg.tensor(np.ones((1, 1, 4, 4)))  # like the first layer's images: no grad wanted
    w = mg.tensor(np.ones((2, 1, 3, 3)), requires_grad=True)
    mg.conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad.shape == w.shape


@given(batch=st.integers(1, 7), per_chunk=st.integers(1, 4), workers=st.integers(1, 3), needs_x_grad=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_conv2d_in_chunks_of_images_equals_the_whole_batch_at_once(batch, per_chunk, workers, needs_x_grad, seed):
    # The conv walks the batch a few images at a time (Conv2d.chunk_bytes), the chunks shared
    # among worker threads; chunks may differ in size. Shrink the chunks to a few images, ask
    # for 1-3 workers, and compare with one chunk.
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((batch, 3, 6, 5)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
    upstream = rng.standard_normal((batch, 4, 3, 6))
    results = []
    # chunks of per_chunk images' columns, rebuilt in backward, then kept (written chunk by
    # chunk into the whole batch's matrix), and last the whole batch as one chunk
    per_chunk_bytes = per_chunk * (3 * 3 * 2) * (3 * 6) * 8
    for chunk_bytes, keep_bytes in ((per_chunk_bytes, 0), (per_chunk_bytes, 1 << 30), (1 << 30, 1 << 30)):
        original = mg.ops.conv.Conv2d.chunk_bytes, mg.ops.conv.Conv2d.keep_bytes, mg.parallel.workers
        mg.ops.conv.Conv2d.chunk_bytes, mg.ops.conv.Conv2d.keep_bytes = chunk_bytes, keep_bytes
        mg.parallel.workers = lambda: workers
        try:
            xt, wt, bt = mg.tensor(x, requires_grad=needs_x_grad), mg.tensor(w, requires_grad=True), mg.tensor(b, requires_grad=True)
            y = mg.conv2d(xt, wt, bt, stride=(2, 1), padding=1)
            y.backward(upstream)
            results.append((y.numpy(), None if xt.grad is None else xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()))
        finally:
            mg.ops.conv.Conv2d.chunk_bytes, mg.ops.conv.Conv2d.keep_bytes, mg.parallel.workers = original
    for rebuilt, kept, whole in zip(*results):
        if whole is None:
            assert rebuilt is None and kept is None
        else:
            np.testing.assert_allclose(rebuilt, whole, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(kept, whole, rtol=1e-12, atol=1e-12)


def test_conv2d_keeps_only_its_input_and_weight_for_backward_when_the_columns_are_large(monkeypatch):
    # The column matrices are 25x the input here; above keep_bytes they are rebuilt in
    # backward, not saved; below it they are kept (and backward skips the rebuild).
    x = mg.tensor(np.ones((8, 3, 16, 16), dtype=np.float32), requires_grad=True)
    w = mg.tensor(np.ones((4, 3, 5, 5), dtype=np.float32), requires_grad=True)
    columns = 3 * 5 * 5 * 8 * 16 * 16 * 4

    def saved_bytes(y):
        return sum(v.nbytes for v in vars(y._ctx).values() if isinstance(v, np.ndarray))

    for keep_bytes, kept in ((columns - 1, False), (columns, True)):
        monkeypatch.setattr(mg.ops.conv.Conv2d, "keep_bytes", keep_bytes)
        assert saved_bytes(mg.conv2d(x, w, padding=2, impl="numba")) == x.data.nbytes + w.data.nbytes + kept * columns
    # the direct loops keep the input padded (2 above, 3 below, 2 each side) and no columns
    padded = 8 * 3 * (16 + 5) * (16 + 4) * 4
    assert saved_bytes(mg.conv2d(x, w, padding=2, impl="direct")) == padded + w.data.nbytes
    # and are what a first layer gets by default (3·5·5 rows), not a deeper one
    assert "x_padded" in vars(mg.conv2d(x, w, padding=2)._ctx)
    assert "x_padded" not in vars(mg.conv2d(mg.tensor(np.ones((2, 8, 6, 6))), mg.tensor(np.ones((4, 8, 5, 5)), requires_grad=True))._ctx)
    with pytest.raises(ValueError, match="direct implementation needs stride 1"):
        mg.conv2d(x, w, stride=2, impl="direct")
    # a frozen weight: only dx is wanted, and dx needs no saved input at all
    frozen = mg.tensor(np.random.default_rng(0).standard_normal((4, 3, 5, 5)).astype(np.float32))
    y = mg.conv2d(x, frozen, padding=2, impl="direct")
    assert saved_bytes(y) == frozen.data.nbytes
    y.backward(np.ones(y.shape, dtype=np.float32))
    direct_dx, x.grad = x.grad.numpy(), None
    mg.conv2d(x, frozen, padding=2, impl="numba").backward(np.ones(y.shape, dtype=np.float32))
    np.testing.assert_allclose(direct_dx, x.grad.numpy(), rtol=1e-5, atol=1e-4)


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


def pool_both_ways(data, pool, make_input):
    """(output, input gradient) of ``pool`` through the im2col reference and the direct Numba
    loops, on a drawn window geometry."""
    from layer_recipes import pool_case

    shapes, params = data.draw(pool_case())
    x = make_input(np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))), shapes[0])
    results = []
    for impl in ("numpy", "numba"):
        t = mg.tensor(x, requires_grad=True)
        y = pool(t, **params, impl=impl)
        y.backward(np.arange(y.size, dtype=x.dtype).reshape(y.shape))
        results.append((y.numpy(), t.grad.numpy()))
    return results


@given(data=st.data())
def test_direct_numba_max_pool_matches_the_im2col_reference_even_with_ties(data):
    # few distinct values: many ties
    results = pool_both_ways(data, mg.max_pool2d, lambda rng, shape: rng.integers(0, 3, shape).astype(np.float32))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])  # the same winner gets each gradient


@given(data=st.data())
def test_fused_numba_batch_norm_matches_the_numpy_reference(data):
    """Training-mode batch norm: the Numba loops give the reference's output, gradients and
    running statistics (float64: to round-off; the formulas are the same)."""
    ndim = data.draw(st.sampled_from([2, 4]))
    shape = (data.draw(st.integers(2, 5)), data.draw(st.integers(1, 4))) + ((data.draw(st.integers(1, 4)),) * 2 if ndim == 4 else ())
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal(shape) * 3 + 1
    gamma, beta, upstream = rng.standard_normal(shape[1]), rng.standard_normal(shape[1]), rng.standard_normal(shape)
    results = []
    for impl in ("numpy", "numba"):
        stats = [np.zeros(shape[1]), np.ones(shape[1])]
        tensors = [mg.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
        y = mg.ops.batch_norm(tensors[0], *stats, tensors[1], tensors[2], training=True, impl=impl)
        y.backward(upstream)
        results.append([y.numpy()] + [t.grad.numpy() for t in tensors] + stats)
    for reference, fused in zip(*results):
        np.testing.assert_allclose(fused, reference, rtol=1e-10, atol=1e-10)


@given(data=st.data())
def test_direct_numba_avg_pool_matches_the_im2col_reference(data):
    results = pool_both_ways(data, mg.avg_pool2d, lambda rng, shape: rng.standard_normal(shape))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12, atol=1e-12)
