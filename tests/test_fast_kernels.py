"""The fast room's own machinery, each part against the reference it replaces: the conv's
chunks, workers and kept columns, its direct loops, the Numba pooling, batch norm and
activation loops. (The op and layer tables check every op in whichever mode the run
selects; test_kernels.py checks that the two modes agree.)"""
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg

pytest.importorskip("numba", reason="the CPU fast kernels need Numba")
from minigrad.fast import activation as fast_activation, classifier as fast_classifier, conv as fast_conv, parallel  # noqa: E402
from minigrad.fast import linear as fast_linear, lstm as fast_lstm  # noqa: E402

@pytest.fixture(autouse=True)
def fast_kernels():
    with mg.use_kernels("fast"):
        yield


def run_both(make, *arrays, upstream=None):
    """[(output, input gradients)] of ``make`` on fresh tensors, reference then fast."""
    results = []
    for mode in ("reference", "fast"):
        with mg.use_kernels(mode):
            tensors = [mg.tensor(a, requires_grad=True) for a in arrays]
            y = make(*tensors)
            y.backward(np.ones(y.shape, y.dtype) if upstream is None else upstream)
            results.append((y.numpy(), [t.grad.numpy() for t in tensors]))
    return results


@given(batch=st.integers(1, 7), per_chunk=st.integers(1, 4), workers=st.integers(1, 3), needs_x_grad=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_conv2d_in_chunks_of_images_equals_the_whole_batch_at_once(batch, per_chunk, workers, needs_x_grad, seed):
    # The fast conv walks the batch a few images at a time (chunk_bytes), the chunks shared
    # among worker threads; chunks may differ in size. Shrink the chunks to a few images, ask
    # for 1-3 workers, and compare with one chunk and with the reference.
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((batch, 3, 6, 5)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
    upstream = rng.standard_normal((batch, 4, 3, 6))
    results = []
    # chunks of per_chunk images' columns, rebuilt in backward, then kept (written chunk by
    # chunk into the whole batch's matrix), then the whole batch as one chunk, then the reference
    per_chunk_bytes = per_chunk * (3 * 3 * 2) * (3 * 6) * 8
    cases = ((per_chunk_bytes, 0, "fast"), (per_chunk_bytes, 1 << 30, "fast"), (1 << 30, 1 << 30, "fast"),
             (1 << 30, 1 << 30, "reference"))
    for chunk_bytes, keep_bytes, mode in cases:
        original = fast_conv.Conv2d.chunk_bytes, fast_conv.Conv2d.keep_bytes, parallel.workers
        fast_conv.Conv2d.chunk_bytes, fast_conv.Conv2d.keep_bytes = chunk_bytes, keep_bytes
        parallel.workers = lambda: workers
        try:
            with mg.use_kernels(mode):
                xt, wt, bt = mg.tensor(x, requires_grad=needs_x_grad), mg.tensor(w, requires_grad=True), mg.tensor(b, requires_grad=True)
                y = mg.conv2d(xt, wt, bt, stride=(2, 1), padding=1)
                y.backward(upstream)
            results.append((y.numpy(), None if xt.grad is None else xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()))
        finally:
            fast_conv.Conv2d.chunk_bytes, fast_conv.Conv2d.keep_bytes, parallel.workers = original
    for *chunked, reference in zip(*results):
        for result in chunked:
            if reference is None:
                assert result is None
            else:
                np.testing.assert_allclose(result, reference, rtol=1e-12, atol=1e-12)


def test_conv_chunks_are_sized_from_the_l2_cache_linux_reports(tmp_path):
    # sysfs: one folder per cache, with its level and a size such as "512K" or "2M"
    def cache(index, level, size):
        folder = tmp_path / f"index{index}"
        folder.mkdir()
        (folder / "level").write_text(f"{level}\n")
        (folder / "size").write_text(f"{size}\n")

    assert fast_conv.l2_cache_bytes(tmp_path, default=123) == 123  # nothing reported
    cache(0, 1, "32K")
    cache(2, 3, "32768K")
    assert fast_conv.l2_cache_bytes(tmp_path, default=123) == 123  # no level 2
    cache(1, 2, "2M")
    assert fast_conv.l2_cache_bytes(tmp_path) == 2 << 20
    (tmp_path / "index1" / "size").write_text("512K\n")
    assert fast_conv.l2_cache_bytes(tmp_path) == 512 << 10
    for nonsense in ("0K", "abc", "", "12K"):  # never a zero chunk size
        (tmp_path / "index1" / "size").write_text(nonsense)
        assert fast_conv.l2_cache_bytes(tmp_path, default=123) == 123
    assert fast_conv.Conv2d.chunk_bytes == 2 * fast_conv.l2_cache_bytes()


def test_conv2d_keeps_only_its_input_and_weight_for_backward_when_the_columns_are_large(monkeypatch):
    # The column matrices are 25x the input here; above keep_bytes they are rebuilt in
    # backward, not saved; below it they are kept (and backward skips the rebuild).
    x = mg.tensor(np.ones((8, 3, 16, 16), dtype=np.float32), requires_grad=True)
    w = mg.tensor(np.ones((4, 3, 5, 5), dtype=np.float32), requires_grad=True)
    columns = 3 * 5 * 5 * 8 * 16 * 16 * 4

    def saved_bytes(y):
        return sum(v.nbytes for v in vars(y._ctx).values() if isinstance(v, np.ndarray))

    with monkeypatch.context() as patch:
        patch.setattr(fast_conv.Conv2d, "direct_max_field", 0)  # the im2col path
        patch.setattr(fast_conv.Conv2d, "mixed_max_field", 0)
        for keep_bytes, kept in ((columns - 1, False), (columns, True)):
            patch.setattr(fast_conv.Conv2d, "keep_bytes", keep_bytes)
            assert saved_bytes(mg.conv2d(x, w, padding=2)) == x.data.nbytes + w.data.nbytes + kept * columns
    # the direct loops keep the input padded (2 above, 3 below, 2 each side) and no columns,
    # and are what a first layer gets by default (3·5·5 values per field), not a deeper one
    padded = 8 * 3 * (16 + 5) * (16 + 4) * 4
    assert saved_bytes(mg.conv2d(x, w, padding=2)) == padded + w.data.nbytes
    assert "x_padded" not in vars(mg.conv2d(mg.tensor(np.ones((2, 8, 6, 6))), mg.tensor(np.ones((4, 8, 5, 5)), requires_grad=True))._ctx)
    assert "x_padded" not in vars(mg.conv2d(x, w, padding=2, stride=2)._ctx)  # stride 2: im2col
    # a frozen weight: only dx is wanted, and dx needs no saved input at all
    frozen = np.random.default_rng(0).standard_normal((4, 3, 5, 5)).astype(np.float32)
    y = mg.conv2d(x, mg.tensor(frozen), padding=2)
    assert saved_bytes(y) == frozen.nbytes
    (_, (reference_dx,)), (_, (direct_dx,)) = run_both(lambda t: mg.conv2d(t, mg.tensor(frozen), padding=2), x.numpy())
    np.testing.assert_allclose(direct_dx, reference_dx, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("batch, contiguous", [(2, True), (2, False), (3, True)])
def test_a_mid_sized_field_in_a_small_batch_takes_the_direct_loops_for_y_and_dw_and_columns_for_dx(
        batch, contiguous, monkeypatch):
    # 6 channels, 5x5 (150 values per field, LeNet's second layer): in a batch of up to
    # mixed_max_batch images (here 2), y and dW from the direct loops and dx from the
    # column path (no columns of x built); a larger batch takes the column path for all three.
    # The reference's values either way (float64, so only a wrong sum can differ).
    from minigrad.fast import conv_direct

    monkeypatch.setattr(fast_conv.Conv2d, "mixed_max_batch", 2)
    calls = []
    for name in ("conv_forward", "conv_weight_grad", "conv_input_grad"):
        original = getattr(conv_direct, name)
        monkeypatch.setattr(conv_direct, name, lambda *args, _f=original, _name=name: (calls.append(_name), _f(*args))[1])
    matrix_grads = fast_conv.Conv2d._matrix_grads
    monkeypatch.setattr(fast_conv.Conv2d, "_matrix_grads", lambda self, g, need_db, need_dw=None: (
        calls.append(("columns", need_dw)), matrix_grads(self, g, need_db, need_dw))[1])
    rng = np.random.default_rng(batch)
    x, w, b = rng.standard_normal((batch, 6, 9, 8)), rng.standard_normal((5, 6, 5, 5)), rng.standard_normal(5)
    if not contiguous:  # the same values as a view with other strides (channels last in memory)
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    upstream = rng.standard_normal((batch, 5, 7, 6))
    results = []
    for mode in ("reference", "fast"):
        with mg.use_kernels(mode):
            xt, wt, bt = mg.tensor(x, requires_grad=True), mg.tensor(w, requires_grad=True), mg.tensor(b, requires_grad=True)
            y = mg.conv2d(xt, wt, bt, padding=1)
            y.backward(upstream)
            results.append([y.numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()])
    if batch <= 2:
        assert calls == ["conv_forward", "conv_weight_grad", ("columns", False)]
    else:
        assert calls == [("columns", None)]
    for fast, reference in zip(results[1], results[0]):
        np.testing.assert_allclose(fast, reference, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kernel", [(5, 5), (3, 3), (2, 4), (4, 1)])
def test_direct_conv_loops_match_the_reference_for_every_kernel_width(kernel):
    # The direct loops take 5- and 3-wide kernel rows with their width compiled in (dw takes a
    # separate loop for 5), other widths one generic loop: check each, for six filters (a
    # full block of four, then a short one), float64 so that only a wrong sum can differ.
    rng = np.random.default_rng(sum(kernel))
    x, w, b = rng.standard_normal((3, 2, 9, 8)), rng.standard_normal((6, 2) + kernel), rng.standard_normal(6)
    upstream = rng.standard_normal((3, 6, 9 + 2 - kernel[0] + 1, 8 + 4 - kernel[1] + 1))
    results = []
    for mode in ("reference", "fast"):
        with mg.use_kernels(mode):
            xt, wt, bt = mg.tensor(x, requires_grad=True), mg.tensor(w, requires_grad=True), mg.tensor(b, requires_grad=True)
            y = mg.conv2d(xt, wt, bt, padding=(1, 2))
            if mode == "fast":
                assert y._ctx.path == "direct"  # 2·KH·KW values per field: the direct loops
            y.backward(upstream)
            results.append([y.numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()])
    for fast, reference in zip(results[1], results[0]):
        np.testing.assert_allclose(fast, reference, rtol=1e-10, atol=1e-10)


def draw_pool(data, make_input):
    from layer_recipes import pool_case

    shapes, params = data.draw(pool_case())
    return make_input(np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))), shapes[0]), params


@given(data=st.data())
def test_numba_max_pool_matches_the_reference_even_with_ties(data):
    # few distinct values: many ties, and the same winner must get each gradient
    x, params = draw_pool(data, lambda rng, shape: rng.integers(0, 3, shape).astype(np.float32))
    out_shape = mg.max_pool2d(mg.tensor(x), **params).shape
    upstream = np.arange(np.prod(out_shape), dtype=x.dtype).reshape(out_shape)
    (ref_y, (ref_dx,)), (y, (dx,)) = run_both(lambda t: mg.max_pool2d(t, **params), x, upstream=upstream)
    np.testing.assert_array_equal(y, ref_y)
    np.testing.assert_array_equal(dx, ref_dx)


@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 2, 0), (3, 3, 0), (2, 1, 0), (4, 2, 0), (2, 2, 1), (3, 2, 1)])
def test_numba_max_pool_matches_the_reference_for_the_common_windows(kernel, stride, padding):
    # 2x2 and 3x3 windows without padding run loops of their own (sizes compiled in), and
    # the hypothesis draws reach them only now and then: each here, with ties and a NaN plane.
    x = np.random.default_rng(kernel * 10 + stride).integers(0, 3, (2, 3, 9, 11)).astype(np.float32)
    x[1, 2, 4, 5] = np.nan
    params = dict(kernel_size=kernel, stride=stride, padding=padding)
    out_shape = mg.max_pool2d(mg.tensor(x), **params).shape
    upstream = np.arange(np.prod(out_shape), dtype=x.dtype).reshape(out_shape)
    (ref_y, (ref_dx,)), (y, (dx,)) = run_both(lambda t: mg.max_pool2d(t, **params), x, upstream=upstream)
    np.testing.assert_array_equal(y, ref_y)
    np.testing.assert_array_equal(dx, ref_dx)


@given(data=st.data())
def test_numba_avg_pool_matches_the_reference(data):
    x, params = draw_pool(data, lambda rng, shape: rng.standard_normal(shape))
    (ref_y, (ref_dx,)), (y, (dx,)) = run_both(lambda t: mg.avg_pool2d(t, **params), x)
    np.testing.assert_allclose(y, ref_y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (2, 1, 0), (3, 2, 0), (2, 2, 1)])
def test_numba_avg_pool_matches_the_reference_for_the_common_windows(kernel, stride, padding):
    # 2x2 windows without padding run with their size compiled in (LeNet's pools)
    x = np.random.default_rng(kernel * 10 + stride).standard_normal((2, 3, 9, 11))
    params = dict(kernel_size=kernel, stride=stride, padding=padding)
    out_shape = mg.avg_pool2d(mg.tensor(x), **params).shape
    upstream = np.random.default_rng(1).standard_normal(out_shape)
    (ref_y, (ref_dx,)), (y, (dx,)) = run_both(lambda t: mg.avg_pool2d(t, **params), x, upstream=upstream)
    np.testing.assert_allclose(y, ref_y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("pool", ["max", "avg"])
@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 2, 0), (3, 2, 1)])
def test_pooling_backward_zeroes_its_own_output(monkeypatch, pool, kernel, stride, padding):
    # The backward loops take dx uninitialised and zero it plane by plane; a plane they forget
    # would keep whatever the memory held. Hand them memory full of NaN to make that show.
    def dirty_empty(shape, dtype=float, **kwargs):
        return np.full(shape, np.nan, dtype=dtype)

    op = mg.max_pool2d if pool == "max" else mg.avg_pool2d
    params = dict(kernel_size=kernel, stride=stride, padding=padding)
    x = np.random.default_rng(kernel + padding).standard_normal((2, 3, 9, 11))
    with mg.use_kernels("reference"):
        reference = mg.tensor(x, requires_grad=True)
        y = op(reference, **params)
        y.backward(np.ones(y.shape))
    fast = mg.tensor(x, requires_grad=True)
    y = op(fast, **params)
    assert type(y._ctx).__module__ == "minigrad.fast.pooling"
    monkeypatch.setattr(np, "empty", dirty_empty)
    y.backward(np.ones(y.shape))
    monkeypatch.undo()
    np.testing.assert_allclose(fast.grad.numpy(), reference.grad.numpy(), rtol=1e-12, atol=1e-12)


@given(data=st.data())
def test_fused_numba_batch_norm_matches_the_reference(data):
    """Training-mode batch norm: the Numba loops give the reference's output, gradients and
    running statistics (float64: to round-off; the formulas are the same)."""
    ndim = data.draw(st.sampled_from([2, 4]))
    shape = (data.draw(st.integers(2, 5)), data.draw(st.integers(1, 4))) + ((data.draw(st.integers(1, 4)),) * 2 if ndim == 4 else ())
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal(shape) * 3 + 1
    gamma, beta, upstream = rng.standard_normal(shape[1]), rng.standard_normal(shape[1]), rng.standard_normal(shape)
    results = []
    for mode in ("reference", "fast"):
        stats = [np.zeros(shape[1]), np.ones(shape[1])]
        with mg.use_kernels(mode):
            tensors = [mg.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
            y = mg.batch_norm(tensors[0], *stats, tensors[1], tensors[2], training=True)
            assert type(y._ctx).__module__ == f"minigrad.{'ops' if mode == 'reference' else 'fast'}.batchnorm"
            y.backward(upstream)
        results.append([y.numpy()] + [t.grad.numpy() for t in tensors] + stats)
    for reference, fused in zip(*results):
        np.testing.assert_allclose(fused, reference, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, derivative", [
    ("relu", lambda x, y: (x > 0).astype(x.dtype)),
    ("sigmoid", lambda x, y: y * (1 - y)),
    ("tanh", lambda x, y: 1 - y * y),
])
def test_large_activation_backward_takes_the_numba_loop_and_agrees_with_numpy(name, derivative, dtype, monkeypatch):
    # The hypothesis recipes draw small arrays, which stay in NumPy; above LOOP_MIN_SIZE the
    # fast twin takes one Numba loop. The upstream gradient is transposed (not C-contiguous)
    # to check that the loop reads it in the right order.
    calls = []
    loop = fast_activation.backward
    monkeypatch.setattr(fast_activation, "backward", lambda kernel, g, y: calls.append(kernel.__name__) or loop(kernel, g, y))
    for kernel in ("_relu_forward", "_relu"):  # ReLU's twin calls its two loops itself
        compiled = getattr(fast_activation, kernel)
        monkeypatch.setattr(fast_activation, kernel,
                            lambda *a, compiled=compiled, kernel=kernel: calls.append(kernel) or compiled(*a))

    rng = np.random.default_rng(0)
    shape = (fast_activation.LOOP_MIN_SIZE // 64 + 3, 64)
    x = rng.standard_normal(shape).astype(dtype)
    x[0, :4] = 0  # ReLU's derivative at exactly 0 is 0
    x[1, :2] = np.nan, -0.0  # and relu(NaN) is NaN, as np.maximum gives
    g = rng.standard_normal(shape[::-1]).astype(dtype).T
    xt = mg.tensor(x, requires_grad=True)
    y = getattr(mg, name)(xt)
    y.backward(mg.tensor(g))
    tol = 1e-6 if dtype == np.float32 else 1e-14
    if name == "relu":
        np.testing.assert_array_equal(y.numpy(), np.maximum(x, 0))
        x[1, 0] = 0  # (the NaN's gradient is 0: it was not > 0)
    np.testing.assert_allclose(xt.grad.numpy(), g * derivative(x, y.numpy()), rtol=tol, atol=tol)
    assert calls == (["_relu_forward", "_relu"] if name == "relu" else [f"_{name}"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1000, parallel.PARALLEL_MIN_VALUES + 1000])  # the second: one piece per core
def test_fast_sigmoid_forward_agrees_with_the_reference_out_to_the_extremes(dtype, size):
    # The twin computes 1 / (1 + exp(-x)); far below zero exp(-x) overflows to inf, which must
    # give 0 quietly (no overflow warning), as the reference's tanh form does.
    x = np.concatenate([np.random.default_rng(0).standard_normal(size) * 8,
                        [-1e4, -800.0, -100.0, -88.8, 0.0, 88.8, 100.0, 800.0, 1e4]]).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fast = mg.sigmoid(mg.tensor(x)).numpy()
        with mg.use_kernels("reference"):
            reference = mg.sigmoid(mg.tensor(x)).numpy()
    assert fast.dtype == reference.dtype == dtype
    np.testing.assert_allclose(fast, reference, rtol=2e-7 if dtype == np.float32 else 1e-15, atol=1e-7 if dtype == np.float32 else 1e-16)
    assert fast[-9] == 0 and fast[-1] == 1


def test_fast_sigmoid_of_integers_is_the_references_float():
    x = np.array([[-3, 0, 2]])
    with mg.use_kernels("reference"):
        reference = mg.sigmoid(mg.tensor(x)).numpy()
    np.testing.assert_array_equal(mg.sigmoid(mg.tensor(x)).numpy(), reference)


@pytest.mark.parametrize("kept_columns", [False, True])
def test_a_cifar_training_step_gives_the_same_bits_with_1_2_and_3_workers(kept_columns, monkeypatch):
    # The chunking follows the shapes, not the workers; each chunk's products run on a
    # single-threaded BLAS whoever runs it; dW sums the chunks in order. So the same bits.
    from cifar10_cnn import cifar_cnn

    monkeypatch.setattr(fast_conv.Conv2d, "chunk_bytes", 1 << 20)  # several images a chunk, 2-6 chunks a layer
    monkeypatch.setattr(fast_conv.Conv2d, "keep_bytes", (1 << 30) if kept_columns else 0)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((12, 3, 32, 32)).astype(np.float32), rng.integers(0, 10, 12)
    results = []
    for workers in (1, 2, 3):
        monkeypatch.setattr(parallel, "workers", lambda: workers)
        mg.manual_seed(0)
        model = cifar_cnn()
        opt = mg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        for _ in range(2):
            loss = mg.nll_loss(model(mg.tensor(x)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        results.append([p.data.copy() for p in model.parameters()])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4, 3, 5, 5), (7, 3), (8, 3, 80, 80)])  # the last: ReLU's loop (LOOP_MIN_SIZE)
def test_inference_paths_agree_with_the_reference(dtype, shape):
    """Without gradients, batch norm in eval mode folds its statistics into a scale and a
    shift (one parallel loop), and ReLU keeps no mask: the same outputs as the reference."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(dtype)
    x.reshape(-1)[:2] = np.nan, -0.0
    gamma, beta = rng.uniform(0.5, 1.5, 3).astype(dtype), rng.standard_normal(3).astype(dtype)
    mean, var = rng.standard_normal(3).astype(dtype), rng.uniform(0.5, 2, 3).astype(dtype)
    outputs = {}
    for mode in ("reference", "fast"):
        with mg.use_kernels(mode), mg.no_grad():
            y = mg.batch_norm(mg.tensor(x), mean.copy(), var.copy(), mg.tensor(gamma), mg.tensor(beta), training=False)
            outputs[mode] = (y.numpy(), mg.relu(y).numpy(), mg.relu(mg.tensor(x)).numpy())
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(outputs["fast"][0], outputs["reference"][0], rtol=tol, atol=tol)
    np.testing.assert_allclose(outputs["fast"][1], outputs["reference"][1], rtol=tol, atol=tol)
    np.testing.assert_array_equal(outputs["fast"][2], outputs["reference"][2])  # NaN stays NaN


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("rows", [1, 6, fast_classifier.SMALL_SIZE // 7 + 1])  # the last: NumPy's log_softmax
def test_small_batch_log_softmax_and_nll_loss_agree_with_the_reference(rows, reduction, dtype, monkeypatch):
    # A character model's classifier head, one compiled loop per op for a small batch: scores
    # far from 0 (the max must be subtracted before exp), a -inf score, an ignored row.
    calls = []
    for kernel in ("_log_softmax", "_log_softmax_backward", "_nll_pick", "_nll_backward"):
        compiled = getattr(fast_classifier, kernel)
        monkeypatch.setattr(fast_classifier, kernel, lambda *a, compiled=compiled, kernel=kernel: calls.append(kernel) or compiled(*a))
    rng = np.random.default_rng(rows)
    scores = (rng.standard_normal((rows, 7)) * 30 + 500).astype(dtype)
    scores[0, 1] = -np.inf
    target = rng.integers(0, 7, rows)
    target[0] = 2
    if rows > 1:
        target[-1] = -100  # padding: counts for nothing
    upstream = rng.standard_normal(rows).astype(dtype) if reduction == "none" else None
    results = run_both(lambda s: mg.nll_loss(mg.log_softmax(s, dim=1), target, reduction=reduction), scores, upstream=upstream)
    (loss_ref, [grad_ref]), (loss_fast, [grad_fast]) = results
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(loss_fast, loss_ref, rtol=tol)
    np.testing.assert_allclose(grad_fast, grad_ref, rtol=tol, atol=tol)
    assert grad_fast.dtype == dtype and np.isfinite(grad_fast).all()
    small = rows * 7 < fast_classifier.SMALL_SIZE  # (nll_loss's loop takes every size)
    assert calls == (["_log_softmax", "_nll_pick", "_nll_backward", "_log_softmax_backward"] if small else
                     ["_nll_pick", "_nll_backward"])


@pytest.mark.parametrize("target", [7, -3])
def test_fast_nll_loss_names_a_target_out_of_range(target):
    logp = mg.log_softmax(mg.tensor(np.zeros((3, 7))), dim=1)
    with pytest.raises(ValueError, match=f"target {target} is out of range for 7 classes"):
        mg.nll_loss(logp, np.array([0, target, 1]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_dropout_draws_the_references_mask_and_gives_the_same_bits(dtype):
    # The twin draws from the same generator in the same order: one seed, one mask, either mode.
    # (x transposed: the twin must read a non-contiguous input in its logical order.)
    x = np.random.default_rng(0).standard_normal((40, 3)).astype(dtype).T
    upstream = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
    results = []
    for mode in ("reference", "fast"):
        with mg.use_kernels(mode):
            mg.manual_seed(7)
            xt = mg.tensor(x, requires_grad=True)
            y = mg.dropout(xt, 0.3)
            y.backward(upstream)
            results.append((y.numpy(), xt.grad.numpy(), mg.dropout(mg.tensor(x), 0.3).numpy()))  # and the next draw
    for reference, fast in zip(*results):
        np.testing.assert_array_equal(fast, reference)
    kept = results[1][0] != 0
    assert 0.5 < kept.mean() < 0.9
    np.testing.assert_allclose(results[1][0][kept], x[kept] / dtype(0.7), rtol=1e-6)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_of_one_sample_agrees_with_the_reference(bias):
    # One sample at a time takes the matrix-vector product and copies g for db.
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((1, 5)), rng.standard_normal((4, 5)), rng.standard_normal(4)
    arrays = (x, w, b) if bias else (x, w)
    results = run_both(mg.linear, *arrays, upstream=rng.standard_normal((1, 4)))
    (y_ref, grads_ref), (y_fast, grads_fast) = results
    np.testing.assert_allclose(y_fast, y_ref, rtol=1e-13)
    assert y_fast.shape == (1, 4)
    for fast, reference in zip(grads_fast, grads_ref):
        np.testing.assert_allclose(fast, reference, rtol=1e-13)


@given(leading=st.sampled_from([(9,), (3, 5), (2, 2, 3)]), features=st.integers(1, 6), outputs=st.integers(1, 20),
       bias=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_linear_in_pieces_agrees_with_the_reference_and_gives_the_same_bits_on_any_worker_count(
        leading, features, outputs, bias, seed):
    # Pieces of a few multiply-adds and rows, so that even these small products are cut (by
    # rows, or by columns where there are more outputs than samples); 1-3 workers take them.
    # Same bits whoever ran which piece.
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal(leading + (features,)), rng.standard_normal((outputs, features)), rng.standard_normal(outputs)
    arrays = (x, w, b) if bias else (x, w)
    upstream = rng.standard_normal(leading + (outputs,))
    original = fast_linear.PIECE_WORK, fast_linear.MIN_SIDE, parallel.workers
    results = []
    try:
        fast_linear.PIECE_WORK, fast_linear.MIN_SIDE = 4, 1
        rows = x.size // features
        assert len(fast_linear.pieces(max(rows, outputs), rows * features * outputs)) == \
            min(max(rows, outputs), 16, rows * features * outputs // 4)
        for workers in (1, 2, 3):
            parallel.workers = lambda: workers
            results.append(run_both(mg.linear, *arrays, upstream=upstream))
    finally:
        fast_linear.PIECE_WORK, fast_linear.MIN_SIDE, parallel.workers = original
    (y_ref, grads_ref), (y_fast, grads_fast) = results[0]
    np.testing.assert_allclose(y_fast, y_ref, rtol=1e-12, atol=1e-12)
    for fast, reference in zip(grads_fast, grads_ref):
        np.testing.assert_allclose(fast, reference, rtol=1e-12, atol=1e-12)
    for (_, (y_other, grads_other)) in results[1:]:
        np.testing.assert_array_equal(y_other, y_fast)
        for other, fast in zip(grads_other, grads_fast):
            np.testing.assert_array_equal(other, fast)


def test_conv2d_without_gradients_walks_smaller_chunks_with_the_same_result(monkeypatch):
    # Inference takes chunks of inference_chunk_bytes (smaller buffers); same values as the
    # reference and as one whole-batch chunk.
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((7, 3, 6, 5)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
    counts = []
    original = parallel.for_each_chunk
    monkeypatch.setattr(parallel, "for_each_chunk", lambda work, chunks, n: (counts.append(chunks), original(work, chunks, n))[1])
    monkeypatch.setattr(fast_conv.Conv2d, "direct_max_field", 0)  # the column path
    monkeypatch.setattr(fast_conv.Conv2d, "mixed_max_field", 0)
    results = {}
    for name, inference_bytes, mode in (("small", 2 * 18 * 18 * 8, "fast"), ("whole", 1 << 30, "fast"), ("ref", 0, "reference")):
        monkeypatch.setattr(fast_conv.Conv2d, "inference_chunk_bytes", max(inference_bytes, 1))
        with mg.use_kernels(mode), mg.no_grad():
            results[name] = mg.conv2d(mg.tensor(x), mg.tensor(w), mg.tensor(b), padding=1).numpy()
    assert counts[0] > 2 and counts[1] == 2  # (the fewest there are: an even number)
    np.testing.assert_allclose(results["small"], results["ref"], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(results["small"], results["whole"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axis", [((3, 7, 20000), 2), ((300, 1000), -1), ((40, 30, 500), 1)])
def test_large_softmax_in_pieces_agrees_with_the_reference_and_gives_the_same_bits_on_any_worker_count(
        dtype, shape, axis, monkeypatch):
    # Rows in cache-sized pieces, one exponential per number: the reference's values (its
    # rounding differs), and the same bits whoever ran which piece. (An axis other than the
    # last runs the reference itself.)
    from minigrad.fast import softmax as fast_softmax

    rng = np.random.default_rng(5)
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    upstream = rng.standard_normal(shape).astype(dtype)
    assert x.size >= fast_softmax.MIN_SIZE
    results = []
    for mode, workers in (("reference", 1), ("fast", 1), ("fast", 2), ("fast", 3)):
        monkeypatch.setattr(parallel, "workers", lambda: workers)
        with mg.use_kernels(mode):
            t = mg.tensor(x, requires_grad=True)
            y = mg.softmax(t, axis=axis)
            y.backward(upstream)
            results.append((y.numpy(), t.grad.numpy()))
    tolerance = dict(rtol=2e-5, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(results[1][0], results[0][0], **tolerance)
    np.testing.assert_allclose(results[1][1], results[0][1], **tolerance)
    np.testing.assert_allclose(results[1][0].sum(axis=axis), 1, rtol=1e-5 if dtype == np.float32 else 1e-13)
    for y, dx in results[2:]:
        np.testing.assert_array_equal(y, results[1][0])
        np.testing.assert_array_equal(dx, results[1][1])


def test_large_softmax_of_a_row_with_minus_infinity_gives_zeros_there_as_the_reference():
    x = np.random.default_rng(9).standard_normal((40, 8000)).astype(np.float32)
    x[:, ::3] = -np.inf
    (y_ref, (dx_ref,)), (y_fast, (dx_fast,)) = run_both(lambda t: mg.softmax(t, axis=-1), x,
                                                         upstream=np.ones_like(x))
    assert (y_fast[:, ::3] == 0).all() and np.isfinite(y_fast).all() and np.isfinite(dx_fast).all()
    np.testing.assert_allclose(y_fast, y_ref, rtol=2e-5, atol=1e-8)
    np.testing.assert_allclose(dx_fast, dx_ref, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("a_shape, b_shape", [((5, 1, 7), (5, 7, 4)), ((5, 3, 7), (5, 7, 1)), ((1, 6), (2, 6, 3)),
                                              ((2, 4, 1, 3), (4, 3, 5)), ((3, 1, 4), (3, 4, 1))])
def test_matmul_backward_of_single_rows_and_columns_agrees_with_the_reference(a_shape, b_shape):
    # Outer products (inner dimension 1) by broadcasting; broadcast batch axes still summed.
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    upstream = rng.standard_normal(np.broadcast_shapes(a_shape[:-2], b_shape[:-2]) + (a_shape[-2], b_shape[-1]))
    (y_ref, grads_ref), (y_fast, grads_fast) = run_both(lambda x, y: x @ y, a, b, upstream=upstream)
    np.testing.assert_array_equal(y_fast, y_ref)
    for fast, reference in zip(grads_fast, grads_ref):
        assert fast.shape == reference.shape
        np.testing.assert_array_equal(fast, reference)  # one product per entry, as the reference's


def test_matmul_outer_product_gradient_of_a_transposed_input_comes_in_its_memory_order():
    # An attention step's scores q keysᵀ: dB = Aᵀ G (an outer product) for the transposed view
    # keysᵀ is written column by column, so that the transpose's backward hands on a
    # contiguous array; the same numbers as the reference.
    from minigrad.fast import matmul as fast_matmul
    from minigrad.ops.both import swap_last_axes

    rng = np.random.default_rng(8)
    q, keys = rng.standard_normal((6, 1, 9)), rng.standard_normal((6, 4, 9))
    upstream = rng.standard_normal((6, 1, 4))
    (_, grads_ref), (_, grads_fast) = run_both(lambda a, k: a @ k.transpose(1, 2), q, keys, upstream=upstream)
    for fast, reference in zip(grads_fast, grads_ref):
        np.testing.assert_array_equal(fast, reference)
    fn = fast_matmul.MatMul()
    fn.needs_input_grad = (True, True)
    fn.forward(q, swap_last_axes(keys))
    _, d_keys_t = fn.backward(upstream)
    assert swap_last_axes(d_keys_t).flags.c_contiguous
    fn.forward(q, np.ascontiguousarray(swap_last_axes(keys)))  # a contiguous input: a contiguous gradient
    assert fn.backward(upstream)[1].flags.c_contiguous


@given(case=st.sampled_from(["linear rows", "linear columns", "softmax", "matmul outer a", "matmul outer b", "lstm"]),
       batch=st.integers(1, 4), size=st.integers(2, 6), seed=st.integers(0, 2**32 - 1))
def test_the_new_fast_twins_pass_gradcheck_on_their_own_paths(case, batch, size, seed):
    # The fast paths' thresholds lowered so that small float64 inputs take them: Linear cut in
    # pieces, Softmax in pieces of rows, MatMul's outer products by broadcasting, the LSTM
    # step's products on two workers.
    from minigrad.fast import softmax as fast_softmax

    lowered = [(fast_linear, "PIECE_WORK", 1), (fast_linear, "MIN_SIDE", 1), (fast_softmax, "MIN_SIZE", 1),
               (fast_softmax, "PIECE_SIZE", size), (fast_lstm, "MIN_WORK", 1), (parallel, "workers", lambda: 2)]
    original = [(module, name, getattr(module, name)) for module, name, _ in lowered]
    try:
        for module, name, value in lowered:
            setattr(module, name, value)
        check_new_twin(case, batch, size, seed)
    finally:
        for module, name, value in original:
            setattr(module, name, value)


def check_new_twin(case, batch, size, seed):
    rng = np.random.default_rng(seed)
    t = lambda *shape: mg.tensor(rng.standard_normal(shape), requires_grad=True)  # noqa: E731
    if case == "linear rows":
        fn, inputs = mg.linear, (t(batch + 3, size), t(2, size), t(2))
    elif case == "linear columns":
        fn, inputs = mg.linear, (t(batch, size), t(batch + 5, size), t(batch + 5))
    elif case == "softmax":
        fn, inputs = (lambda x: mg.softmax(x, axis=-1)), (t(batch, 3, size),)
    elif case == "matmul outer a":
        fn, inputs = (lambda a, b: a @ b), (t(batch, 1, size), t(batch, size, 3))
    elif case == "lstm":
        def fn(x, h, c, w_ih, w_hh, b_ih, b_hh):
            h_new, c_new = mg.ops.lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh)
            return h_new * c_new.sin()  # both outputs reach the loss
        inputs = (t(batch, size), t(batch, 2), t(batch, 2), t(8, size), t(8, 2), t(8), t(8))
    else:
        fn, inputs = (lambda a, b: a @ b), (t(batch, 3, size), t(batch, size, 1))
    with mg.use_kernels("fast"):
        assert mg.gradcheck(fn, *inputs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("needs", ["all", "no x", "no h or c"])
def test_lstm_step_on_two_workers_agrees_with_the_reference_and_gives_the_same_bits_on_any_worker_count(
        dtype, needs, monkeypatch):
    # The GEC decoder's step (64 x 384 input, 256 hidden: above MIN_WORK): its products in two
    # groups on the workers, the gates as the reference; the inputs that need no gradient get none.
    rng = np.random.default_rng(11)
    batch, inputs, hidden = 64, 384, 256
    arrays = [rng.standard_normal(shape).astype(dtype) * scale for shape, scale in [
        ((batch, inputs), 1), ((batch, hidden), 1), ((batch, hidden), 1), ((4 * hidden, inputs), 0.05),
        ((4 * hidden, hidden), 0.05), ((4 * hidden,), 0.1), ((4 * hidden,), 0.1)]]
    assert batch * 4 * hidden * (inputs + hidden) >= fast_lstm.MIN_WORK
    wants = [needs == "all" or (needs == "no x" and k != 0) or (needs == "no h or c" and k not in (1, 2))
             for k in range(7)]
    upstream = rng.standard_normal((batch, 2 * hidden)).astype(dtype)
    results = []
    for mode, workers in (("reference", 1), ("fast", 1), ("fast", 2), ("fast", 3)):
        monkeypatch.setattr(parallel, "workers", lambda: workers)
        with mg.use_kernels(mode):
            tensors = [mg.tensor(a, requires_grad=want) for a, want in zip(arrays, wants)]
            h_new, c_new = mg.ops.lstm_cell(*tensors)
            step = h_new._ctx.parents[0]  # (h' and c' are two views of the step's one output)
            assert type(step).__module__ == ("minigrad.fast.lstm" if mode == "fast" else "minigrad.ops.rnn")
            mg.ops.concatenate([h_new, c_new], axis=1).backward(upstream)
            results.append([h_new.numpy(), c_new.numpy()] + [t.grad.numpy() if t.grad is not None else None
                                                             for t in tensors])
    tolerance = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
    for fast, reference, want in zip(results[1], results[0], [True, True] + wants):
        assert (fast is None) == (not want) and (reference is None) == (not want)
        if want:
            np.testing.assert_allclose(fast, reference, **tolerance)
    for other in results[2:]:
        for a, b in zip(other, results[1]):
            if a is not None:
                np.testing.assert_array_equal(a, b)


def test_lstm_step_second_derivative_through_the_fast_twin_is_the_references(monkeypatch):
    # Under create_graph the twin's backward runs the reference's lines on tensors (its kept
    # gates recomputed from the saved inputs): second derivatives as the reference's.
    monkeypatch.setattr(fast_lstm, "MIN_WORK", 1)
    rng = np.random.default_rng(12)
    arrays = [rng.standard_normal(shape) for shape in [(3, 4), (3, 2), (3, 2), (8, 4), (8, 2), (8,), (8,)]]
    results = []
    for mode in ("reference", "fast"):
        with mg.use_kernels(mode):
            tensors = [mg.tensor(a, requires_grad=True) for a in arrays]
            h_new, c_new = mg.ops.lstm_cell(*tensors)
            assert type(h_new._ctx.parents[0]).__module__ == ("minigrad.fast.lstm" if mode == "fast" else "minigrad.ops.rnn")
            first = mg.autograd.grad((h_new * c_new).sum(), tensors, create_graph=True)
            second = mg.autograd.grad(sum((g * g).sum() for g in first), tensors)
            results.append([g.numpy() for g in first + second])
    for fast, reference in zip(results[1], results[0]):
        np.testing.assert_allclose(fast, reference, rtol=1e-12, atol=1e-13)


def test_numba_loops_run_on_one_thread_below_the_threshold_and_on_every_core_above_it(monkeypatch):
    # Waking OpenMP's sleeping threads costs more than a short loop: below PARALLEL_MIN_VALUES
    # values the loops run on the calling thread, and Numba's thread count comes back after.
    import numba

    asked = []
    real_set = numba.set_num_threads
    monkeypatch.setattr(numba, "set_num_threads", lambda n: (asked.append(n), real_set(n)))
    before = numba.get_num_threads()
    with parallel.loop_threads(parallel.PARALLEL_MIN_VALUES - 1):
        assert numba.get_num_threads() == 1
    assert asked == [1, before] and numba.get_num_threads() == before
    asked.clear()
    with parallel.loop_threads(parallel.PARALLEL_MIN_VALUES):
        assert numba.get_num_threads() == before
    assert asked == []
    with pytest.raises(ZeroDivisionError), parallel.loop_threads(0):
        1 / 0
    assert numba.get_num_threads() == before
    x = mg.tensor(np.random.default_rng(13).standard_normal((2, 3, 8, 8)).astype(np.float32), requires_grad=True)
    mg.max_pool2d(mg.relu(x), 2, 2).sum().backward()  # a small step's loops: one thread each
    assert asked and set(asked[::2]) == {1}


@pytest.mark.parametrize("op", ["relu", "sigmoid", "batch_norm", "max_pool", "avg_pool", "batch_norm eval"])
def test_numba_loops_give_the_same_bits_on_one_thread_and_on_every_core(op, monkeypatch):
    rng = np.random.default_rng(14)
    x = rng.standard_normal((8, 6, 64, 64)).astype(np.float32)
    assert x.size >= fast_activation.LOOP_MIN_SIZE  # (the activations take their Numba loops)
    gamma, beta = rng.standard_normal(6).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    upstream = None
    results = []
    for threshold in (0, 1 << 40):  # every loop on every core; every loop on one thread
        monkeypatch.setattr(parallel, "PARALLEL_MIN_VALUES", threshold)
        t = mg.tensor(x, requires_grad=op != "batch_norm eval")
        if op == "relu":
            y = mg.relu(t)
        elif op == "sigmoid":
            y = mg.sigmoid(t)
        elif op == "batch_norm":
            y = mg.batch_norm(t, None, None, mg.tensor(gamma), mg.tensor(beta), training=True)
        elif op == "max_pool":
            y = mg.max_pool2d(t, 3, 2)
        elif op == "avg_pool":
            y = mg.avg_pool2d(t, 2, 2)
        else:
            with mg.no_grad():
                y = mg.batch_norm(t, np.zeros(6, np.float32), np.ones(6, np.float32),  # (running stats: arrays)
                                  mg.tensor(gamma), mg.tensor(beta), training=False)
        if upstream is None:
            upstream = rng.standard_normal(y.shape).astype(np.float32)
        if t.requires_grad:
            y.backward(upstream)
        results.append((y.numpy(), None if t.grad is None else t.grad.numpy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    if results[0][1] is not None:
        np.testing.assert_array_equal(results[0][1], results[1][1])
