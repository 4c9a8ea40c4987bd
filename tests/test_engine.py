"""The autograd engine itself: graph walking, accumulation, freeing, error messages."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.tensor import Function


def test_ten_thousand_step_chain_has_exact_gradient():
    # h_t = 0.9999 h_{t-1} + 0.001 x : dh_T/dh_0 = 0.9999^T, dh_T/dx = 0.001 Σ_t 0.9999^t
    h0 = mg.tensor(1.0, dtype=np.float64, requires_grad=True)
    x = mg.tensor(2.0, dtype=np.float64, requires_grad=True)
    h = h0
    steps = 10_000
    for _ in range(steps):
        h = h * 0.9999 + x * 0.001
    h.backward()
    assert h0.grad.item() == pytest.approx(0.9999**steps, rel=1e-9)
    assert x.grad.item() == pytest.approx(0.001 * sum(0.9999**t for t in range(steps)), rel=1e-9)


def test_gradients_accumulate_across_backward_calls():
    x = mg.tensor([1.0, -2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 + 2 * x.numpy())


def test_retained_graph_backward_twice_accumulates_exactly():
    x = mg.tensor([0.5, 1.5], dtype=np.float64, requires_grad=True)
    hidden = x.exp()
    hidden.retain_grad()
    y = (hidden * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    # the intermediate's gradient also accumulates (no stale value left from the first pass)
    np.testing.assert_allclose(hidden.grad.numpy(), 2 * x.numpy())


def test_graph_is_freed_after_backward():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_intermediate_tensors_keep_no_gradient():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    hidden = x * 2
    (hidden * hidden).sum().backward()
    assert hidden.grad is None
    assert x.grad is not None


def test_broadcast_gradient_is_summed_back_to_input_shape():
    a = mg.tensor(np.ones((3, 1)), requires_grad=True)
    b = mg.tensor(np.arange(4.0), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,)
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 1), 6.0))
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, 3.0))


def test_nonscalar_backward_needs_a_gradient():
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\) needs a gradient"):
        (x * 2).backward()


@pytest.mark.parametrize(
    "make, pattern",
    [
        (lambda: mg.ones(2, 3) + mg.ones(4), r"add: shapes \(2, 3\) and \(4,\)"),
        (lambda: mg.ones(2, 3) @ mg.ones(2, 3), r"matmul: shapes \(2, 3\) and \(2, 3\) are not aligned"),
        (lambda: mg.ones(2, 3).reshape(4, 2), r"reshape: cannot reshape shape \(2, 3\)"),
        (lambda: mg.mse_loss(mg.ones(2, 3), mg.ones(3, 2)), r"mse_loss: input shape \(2, 3\) and target shape \(3, 2\)"),
        (lambda: mg.cross_entropy(mg.ones(4, 3), np.zeros(5, dtype=int)), r"cross_entropy: .* \(4, 3\) and \(5,\)"),
        (lambda: mg.cat([mg.ones(2, 3), mg.ones(2, 4), mg.ones(3, 4)], dim=1),
         r"concatenate: shapes \(2, 3\) and \(3, 4\) differ outside axis 1"),
        (lambda: mg.cat([mg.ones(2, 3), mg.ones(2, 3, 1)], dim=0), r"concatenate: shapes \(2, 3\) and \(2, 3, 1\)"),
    ],
)
def test_shape_errors_name_the_op_and_both_shapes(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


class WrongShapeBackward(Function):
    def forward(self, x):
        return x.sum(axis=0)

    def backward(self, g):
        return g  # bug: should broadcast back to the input's shape


def test_engine_names_the_op_whose_backward_returns_a_wrong_shape():
    x = mg.tensor(np.ones((3, 2)), requires_grad=True)
    with pytest.raises(mg.GradientError, match=r"WrongShapeBackward.backward has a bug: .* shape \(2,\).* \(3, 2\)"):
        WrongShapeBackward.apply(x).sum().backward()


class WrongDtypeBackward(Function):
    def forward(self, x):
        return x * 2

    def backward(self, g):
        return (g * 2).astype(np.float64)


def test_engine_names_the_op_whose_backward_returns_a_wrong_dtype():
    x = mg.tensor([1.0, 2.0], requires_grad=True)  # float32
    with pytest.raises(mg.GradientError, match="WrongDtypeBackward.*dtype float64.*float32"):
        WrongDtypeBackward.apply(x).sum().backward()


def test_no_grad_records_nothing_and_detach_cuts_the_graph():
    x = mg.tensor([1.0], requires_grad=True)
    with mg.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    z = (x * 2).detach()
    assert not z.requires_grad
    assert mg.is_grad_enabled()


def test_saved_arrays_are_not_mutated_by_backward():
    data = np.array([1.0, -2.0, 3.0])
    x = mg.tensor(data.copy(), requires_grad=True)
    y = x.relu() * x
    y.sum().backward()
    np.testing.assert_array_equal(x.data, data)


def test_python_scalars_keep_the_tensor_dtype():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert (x * 2).dtype == np.float32 and (2.5 - x).dtype == np.float32 and (x**2).dtype == np.float32
    assert mg.tensor([1.0]).dtype == np.float32 and mg.tensor([1, 2]).dtype == np.int64


def test_mixed_dtypes_are_refused_with_a_clear_message():
    a = mg.tensor([1.0], requires_grad=True)
    b = mg.tensor(np.array([1.0]), requires_grad=True)
    with pytest.raises(TypeError, match="float32 and float64"):
        a * b


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        mg.tensor([1, 2], requires_grad=True)


def test_cuda_request_without_cupy_or_gpu_says_what_is_missing():
    if mg.cuda_is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(mg.DeviceError, match="cuda"):
        mg.ones(2).to("cuda")


def test_repr_is_readable():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert "grad_fn=<Mul>" in repr(x * 2)
    assert "dtype=float64" in repr(x.double())


def test_cast_is_differentiable():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])
