"""The gradient checker must catch wrong backward passes, not only bless right ones."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import array_shapes

import minigrad as mg
from minigrad.tensor import Function


class SoftmaxWithSumBug(Function):
    """Softmax whose backward forgets the -Σ g·y term: invisible to a check of d(Σ y)."""

    def forward(self, x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        self.y = e / e.sum(axis=-1, keepdims=True)
        return self.y

    def backward(self, g):
        return self.y * g


class SquareOffByFactor(Function):
    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        return g * self.x  # should be 2x


def test_checker_fails_on_a_wrong_backward():
    x = mg.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    with pytest.raises(mg.GradcheckError, match=r"input 0 \(shape \(3, 4\)\) at index .*analytic .* numeric"):
        mg.gradcheck(SquareOffByFactor.apply, x)


@pytest.mark.parametrize("mode", ["full", "directional"])
def test_checker_catches_softmax_bug_that_an_unweighted_sum_would_miss(mode):
    x = mg.tensor(np.random.default_rng(1).standard_normal((2, 5)), requires_grad=True)
    # With upstream gradient 1 the true backward gives y(1 - Σy) = 0 and a numeric d(Σy)/dx
    # is 0 too, so only random output weights reveal the missing -Σ g·y term.
    with pytest.raises(mg.GradcheckError):
        mg.gradcheck(SoftmaxWithSumBug.apply, x, mode=mode)
    assert mg.gradcheck(mg.softmax, x, mode=mode)


def test_checker_checks_every_input_and_leaves_callers_tensors_alone():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)

    def half_wrong(a, b):
        return mg.mul(a, b.detach()) + SquareOffByFactor.apply(b)

    with pytest.raises(mg.GradcheckError, match="input 1"):
        mg.gradcheck(half_wrong, a, b)
    assert a.dtype == np.float32 and a.grad is None


def test_checker_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="nothing to check"):
        mg.gradcheck(mg.exp, mg.tensor([1.0]))


@given(shape=array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=8), seed=st.integers(0, 2**31))
def test_directional_mode_agrees_on_a_composite_function_of_larger_inputs(shape, seed):
    rng = np.random.default_rng(seed)
    x = mg.tensor(rng.standard_normal(shape), requires_grad=True)
    w = mg.tensor(rng.standard_normal(shape[-1:]), requires_grad=True)

    def composite(x, w):
        return (x * w).tanh().log_softmax(axis=-1) * x.sigmoid()

    assert mg.gradcheck(composite, x, w, mode="directional")


def test_a_float32_module_is_checked_on_a_float64_copy_parameters_included():
    mg.manual_seed(0)
    model = mg.nn.Sequential(mg.nn.Conv2d(2, 3, 3, padding=1), mg.nn.BatchNorm2d(3), mg.nn.Tanh(), mg.nn.Flatten(),
                             mg.nn.Linear(3 * 4 * 4, 2))
    x = mg.tensor(np.random.default_rng(0).standard_normal((2, 2, 4, 4)).astype(np.float32), requires_grad=True)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    assert mg.gradcheck(model, x)
    after = model.state_dict()
    assert all(after[k].dtype == np.float32 and (after[k] == before[k]).all() for k in before)  # left as it was
    assert model.double() is model and all(p.dtype == np.float64 for p in model.parameters())


def test_a_wrong_parameter_gradient_in_a_module_is_named():
    class Scale(mg.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = mg.nn.Parameter(np.array([2.0, 3.0], dtype=np.float32))

        def forward(self, x):
            return BrokenMul.apply(x, self.weight)

    class BrokenMul(mg.Function):
        def forward(self, x, w):
            self.x, self.w = x, w
            return x * w

        def backward(self, g):
            return g * self.w, (g * self.x * 2).sum(axis=0)  # dw is off by a factor 2

    x = mg.tensor(np.array([[1.0, -1.0]]), requires_grad=True)
    with pytest.raises(mg.GradcheckError, match="parameter weight"):
        mg.gradcheck(Scale(), x)
