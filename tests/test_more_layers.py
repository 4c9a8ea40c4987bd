"""The layers a PyTorch tutorial reaches for beside the course's: Identity, LeakyReLU, GELU,
LayerNorm, GroupNorm, Conv1d, AdaptiveAvgPool2d, BCEWithLogitsLoss's weights; each against
PyTorch in float64 (values and gradients, PyTorch's weights loaded by key), gradient-checked
over hypothesis shapes; and the clear errors for what minigrad does not have."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from op_recipes import torch

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is the reference here")


def float64(make):
    mg.set_default_dtype(np.float64)
    try:
        return make()
    finally:
        mg.set_default_dtype(np.float32)


def compare_with_torch(ours, theirs, x):
    theirs = theirs.double()
    ours.load_state_dict(theirs.state_dict())
    xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_m, out_t = ours(xm), theirs(xt)
    np.testing.assert_allclose(out_m.numpy(), out_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    w = np.random.default_rng(1).standard_normal(out_m.shape)
    (out_m * w).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(), rtol=1e-9, atol=1e-12)


CASES = {
    "Identity": (lambda lib: lib.nn.Identity(), (2, 3)),
    "LeakyReLU": (lambda lib: lib.nn.LeakyReLU(0.2), (2, 3)),
    "GELU": (lambda lib: lib.nn.GELU(), (2, 3)),
    "GELU tanh": (lambda lib: lib.nn.GELU(approximate="tanh"), (2, 3)),
    "LayerNorm": (lambda lib: lib.nn.LayerNorm(4), (3, 2, 4)),
    "LayerNorm 2-D": (lambda lib: lib.nn.LayerNorm([2, 4]), (3, 2, 4)),
    "GroupNorm": (lambda lib: lib.nn.GroupNorm(2, 4), (3, 4, 3, 2)),
    "Conv1d": (lambda lib: lib.nn.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 9)),
    "AdaptiveAvgPool2d even": (lambda lib: lib.nn.AdaptiveAvgPool2d(2), (2, 3, 4, 6)),
    "AdaptiveAvgPool2d uneven": (lambda lib: lib.nn.AdaptiveAvgPool2d((3, 2)), (2, 1, 5, 7)),
    "AdaptiveAvgPool2d global": (lambda lib: lib.nn.AdaptiveAvgPool2d(1), (2, 3, 5, 5)),
    "ConvTranspose2d": (lambda lib: lib.nn.ConvTranspose2d(3, 2, 3), (2, 3, 4, 5)),
    "ConvTranspose2d strided": (lambda lib: lib.nn.ConvTranspose2d(3, 4, (3, 2), stride=2, padding=1,
                                                                   output_padding=1), (2, 3, 4, 3)),
    "ConvTranspose2d dilated": (lambda lib: lib.nn.ConvTranspose2d(2, 2, 2, stride=3, dilation=2, bias=False),
                                (1, 2, 3, 3)),
}


@needs_torch
@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name):
    make, shape = CASES[name]
    # perturbed parameters, so that γ ≠ 1 and β ≠ 0 are tested too
    theirs = make(torch)
    with torch.no_grad():
        for p in theirs.parameters():
            p.add_(torch.randn(p.shape) * 0.3)
    compare_with_torch(float64(lambda: make(mg)), theirs, np.random.default_rng(0).standard_normal(shape))


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 3), groups=st.sampled_from([1, 2]), per_group=st.integers(1, 2), h=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_group_norm_gradcheck(n, groups, per_group, h, seed):
    rng = np.random.default_rng(seed)
    layer = float64(lambda: nn.GroupNorm(groups, groups * per_group))
    x = mg.tensor(rng.standard_normal((n, groups * per_group, h, 2)), requires_grad=True)
    assert mg.gradcheck(lambda x, *p: layer(x), x, *layer.parameters())


@settings(max_examples=10, deadline=None)
@given(length=st.integers(3, 8), kernel=st.integers(1, 3), stride=st.integers(1, 2), padding=st.integers(0, 1),
       seed=st.integers(0, 2**16))
def test_conv1d_and_adaptive_pool_gradcheck(length, kernel, stride, padding, seed):
    rng = np.random.default_rng(seed)
    conv = float64(lambda: nn.Conv1d(2, 3, kernel, stride=stride, padding=padding))
    x = mg.tensor(rng.standard_normal((2, 2, length)), requires_grad=True)
    assert mg.gradcheck(lambda x, *p: conv(x), x, *conv.parameters())
    image = mg.tensor(rng.standard_normal((1, 2, length, 3)), requires_grad=True)
    assert mg.gradcheck(lambda t: mg.ops.adaptive_avg_pool2d(t, (2, 2)), image)


@needs_torch
def test_bce_with_logits_weight_and_pos_weight_match_torch():
    rng = np.random.default_rng(2)
    x, t = rng.standard_normal((4, 3)), rng.uniform(0, 1, (4, 3))
    weight, pos_weight = rng.uniform(0.5, 2, (4, 3)), np.array([0.5, 2.0, 3.0])
    for reduction in ("mean", "sum", "none"):
        xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ours = nn.BCEWithLogitsLoss(weight=mg.tensor(weight), pos_weight=mg.tensor(pos_weight), reduction=reduction)
        theirs = torch.nn.BCEWithLogitsLoss(weight=torch.tensor(weight), pos_weight=torch.tensor(pos_weight),
                                            reduction=reduction)
        out_m, out_t = ours(xm, mg.tensor(t)), theirs(xt, torch.tensor(t))
        np.testing.assert_allclose(out_m.numpy(), out_t.detach().numpy(), rtol=1e-12)
        out_m.sum().backward()
        out_t.sum().backward()
        np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10)


def test_what_minigrad_lacks_fails_clearly():
    with pytest.raises(NotImplementedError, match="groups=2"):
        nn.Conv2d(4, 4, 3, groups=2)
    with pytest.raises(NotImplementedError, match="dilation=2"):
        nn.MaxPool2d(2, dilation=2)
    with pytest.raises(ValueError, match="at most half the kernel"):
        mg.ops.avg_pool2d(mg.zeros(1, 1, 5, 5), 2, padding=2, ceil_mode=True)
    with pytest.raises(AttributeError, match="no ConvTranspose1d"):
        nn.ConvTranspose1d(3, 3, 2)
    with pytest.raises(ValueError, match="output_padding"):
        nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=2)(mg.zeros(1, 2, 3, 3))
    with pytest.raises(ValueError, match="do not split into 3 groups"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="does not end in normalized_shape"):
        nn.LayerNorm(5)(mg.zeros(2, 4))


@needs_torch
@settings(max_examples=25, deadline=None)
@given(h=st.integers(2, 8), w=st.integers(2, 8), kernel=st.integers(1, 3), stride=st.integers(1, 3),
       ceil_mode=st.booleans(), count_include_pad=st.booleans(), divisor=st.sampled_from([None, 3]),
       seed=st.integers(0, 2**16), data=st.data())
def test_pooling_options_match_torch(h, w, kernel, stride, ceil_mode, count_include_pad, divisor, seed, data):
    """ceil_mode, count_include_pad and divisor_override: values and gradients as PyTorch's."""
    padding = data.draw(st.integers(0, kernel // 2))
    if min(h, w) + 2 * padding < kernel:
        return
    x = np.random.default_rng(seed).standard_normal((2, 2, h, w))
    for name in ("max", "avg"):
        xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        if name == "max":
            ours = mg.ops.max_pool2d(xm, kernel, stride, padding, ceil_mode)
            theirs = torch.nn.functional.max_pool2d(xt, kernel, stride, padding, ceil_mode=ceil_mode)
        else:
            ours = mg.ops.avg_pool2d(xm, kernel, stride, padding, ceil_mode, count_include_pad, divisor)
            theirs = torch.nn.functional.avg_pool2d(xt, kernel, stride, padding, ceil_mode, count_include_pad, divisor)
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
        weights = np.random.default_rng(seed + 1).standard_normal(ours.shape)
        (ours * weights).sum().backward()
        (theirs * torch.tensor(weights)).sum().backward()
        np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_pooling_options_pass_gradcheck():
    x = mg.tensor(np.random.default_rng(3).standard_normal((1, 2, 5, 6)), requires_grad=True)
    assert mg.gradcheck(lambda t: mg.ops.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), x)
    assert mg.gradcheck(lambda t: mg.ops.max_pool2d(t, 3, 2, 1, ceil_mode=True), x)
    layer = nn.AvgPool2d(2, 2, ceil_mode=True, divisor_override=3)
    assert mg.gradcheck(lambda t: layer(t), x)
