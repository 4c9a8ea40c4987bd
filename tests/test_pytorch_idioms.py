"""PyTorch idioms, written as a PyTorch user writes them, each compared with PyTorch: they do
what PyTorch does, or fail with a clear message; never a different answer in silence."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import data, nn
from op_recipes import torch

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def both(array, requires_grad=False):
    return mg.tensor(array, requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)


# ----- in-place ops -----------------------------------------------------------------------

@needs_torch
def test_a_hand_written_sgd_step_changes_the_weights_in_place():
    rng = np.random.default_rng(0)
    w0, x = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    results = []
    for lib, make in ((mg, lambda a, g=False: mg.tensor(a, requires_grad=g)),
                      (torch, lambda a, g=False: torch.tensor(a, requires_grad=g))):
        w = make(w0, True)
        same_object = w
        for _ in range(3):
            loss = ((make(x) @ w) ** 2).sum()
            loss.backward()
            with lib.no_grad():
                w -= 0.01 * w.grad
                w.grad.zero_()
        assert w is same_object  # updated in place, not rebound
        results.append(np.asarray(w.detach().numpy()))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


@needs_torch
@pytest.mark.parametrize("idiom", [
    lambda t, o: t.add_(o), lambda t, o: t.add_(o, alpha=-2), lambda t, o: t.sub_(o), lambda t, o: t.mul_(o),
    lambda t, o: t.div_(o + 3), lambda t, o: t.zero_(), lambda t, o: t.fill_(1.5), lambda t, o: t.copy_(o),
    lambda t, o: t.clamp_(-0.5, 0.5),
])
def test_in_place_methods_match_pytorch(idiom):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    ours, theirs = mg.tensor(a), torch.tensor(a)
    assert idiom(ours, mg.tensor(b)) is ours
    idiom(theirs, torch.tensor(b))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


@needs_torch
def test_setitem_matches_pytorch():
    a = np.arange(12.0).reshape(3, 4)
    ours, theirs = mg.tensor(a), torch.tensor(a)
    for index, value in (((0, 1), -1.0), ((slice(None), 2), 7.0), (np.array([True, False, True]), 0.5)):
        ours[index] = value
        theirs[torch.as_tensor(index) if isinstance(index, np.ndarray) else index] = value
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_in_place_on_a_leaf_that_requires_grad_is_refused_outside_no_grad():
    w = mg.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"-=: a leaf tensor that requires grad .* no_grad"):
        w -= 1
    with pytest.raises(RuntimeError, match=r"add_: a leaf tensor that requires grad"):
        w.add_(1)


@needs_torch
def test_in_place_inside_a_graph_is_recorded_as_pytorch_does():
    """h = w * 2; h.add_(1) is an op in the graph (PyTorch allows it); a value changed under an
    op that saved it makes backward refuse, in both."""
    results = []
    for lib in (mg, torch):
        w = lib.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
        h = w * 2
        view = h[1:]
        h.add_(1)
        h.mul_(w)
        h[0] = 5.0
        h.clamp_(max=20.0)
        x = lib.zeros(3, dtype=lib.float64)
        x.copy_(w)  # a plain tensor takes values that require grad: it joins the graph
        x[1:] = w[:2] * 3
        x += h
        x.sum().backward()
        results.append((x.detach().numpy().copy(), view.detach().numpy().copy(), w.grad.numpy().copy()))
        w2 = lib.tensor(np.array([1.0, 2.0]), requires_grad=True)
        h2 = w2 * w2
        y = h2 * h2  # saves h2
        h2.add_(1)
        with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
            y.sum().backward()
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)  # values, the view, the gradient


def test_changing_a_tensor_a_recorded_op_used_makes_its_backward_refuse():
    w = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    x = mg.tensor(np.array([3.0, 4.0]))
    y = (w * x).sum()  # dy/dw = x, as it was
    x += 1
    with pytest.raises(RuntimeError, match=r"modified by an in-place operation: input 1 of Mul .* version 1, expected version 0"):
        y.backward()


# ----- reductions -------------------------------------------------------------------------

@needs_torch
def test_max_and_min_along_a_dim_return_values_and_indices():
    a = np.random.default_rng(2).permutation(24).reshape(2, 3, 4).astype(np.float64)
    ours, theirs = both(a)
    for name in ("max", "min"):
        for dim, keepdim in ((1, False), (-1, True), (0, False)):
            mine, ref = getattr(ours, name)(dim, keepdim=keepdim), getattr(theirs, name)(dim, keepdim=keepdim)
            values, indices = mine  # unpacks as a pair
            np.testing.assert_array_equal(values.numpy(), ref.values.numpy())
            np.testing.assert_array_equal(indices.numpy(), ref.indices.numpy())
            assert mine.indices is indices
        np.testing.assert_array_equal(getattr(ours, name)().numpy(), getattr(theirs, name)().numpy())
    _, predicted = ours.reshape(6, 4).max(1)
    np.testing.assert_array_equal(predicted.numpy(), theirs.reshape(6, 4).max(1)[1].numpy())
    np.testing.assert_array_equal(ours.argmax(dim=1, keepdim=True).numpy(), theirs.argmax(dim=1, keepdim=True).numpy())
    np.testing.assert_array_equal(mg.max(ours, mg.tensor(np.full(a.shape, 10.0))).numpy(),
                                  torch.max(theirs, torch.full(a.shape, 10.0, dtype=torch.float64)).numpy())
    np.testing.assert_array_equal(ours.amax((0, 2)).numpy(), theirs.amax((0, 2)).numpy())


@needs_torch
def test_the_gradient_of_max_along_a_dim_goes_to_the_winner():
    a = np.random.default_rng(3).permutation(12).reshape(3, 4).astype(np.float64)
    ours, theirs = both(a, requires_grad=True)
    ours.max(1).values.sum().backward()
    theirs.max(1).values.sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


# ----- containers -------------------------------------------------------------------------

class Stack(nn.Module):
    def __init__(self, container):
        super().__init__()
        self.layers = container([nn.Linear(3, 3) for _ in range(2)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def test_module_list_registers_its_layers_and_a_plain_list_is_refused_naming_the_fix():
    model = Stack(nn.ModuleList)
    assert len(list(model.parameters())) == 4
    assert list(model.state_dict()) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    model.layers.append(nn.Linear(3, 3))
    assert len(model.layers) == 3 and len(list(model.parameters())) == 6 and len(model.layers[1:]) == 2
    with pytest.raises(TypeError, match=r"Stack.layers: a plain list of Modules .* nn.ModuleList"):
        Stack(list)
    heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})
    assert list(heads) == ["a", "b"] and heads["b"].weight.shape == (3, 2)
    assert [n for n, _ in heads.named_parameters()] == ["a.weight", "a.bias", "b.weight", "b.bias"]
    scales = nn.ParameterList([nn.Parameter(np.ones(2, np.float32)) for _ in range(3)])
    assert len(list(scales.parameters())) == 3
    with pytest.raises(TypeError, match="nn.ModuleDict"):
        Stack(lambda layers: {"first": layers[0]})


@needs_torch
def test_a_module_list_state_dict_has_pytorchs_keys():
    theirs = torch.nn.Module()
    theirs.layers = torch.nn.ModuleList([torch.nn.Linear(3, 3) for _ in range(2)])
    assert list(Stack(nn.ModuleList).state_dict()) == list(theirs.state_dict())


# ----- data, conv, tensor protocol -----------------------------------------------------------

def test_a_shuffled_loader_gives_a_new_reproducible_order_every_pass():
    x = np.arange(20)
    loader = data.DataLoader((x,), batch_size=20, shuffle=True, seed=3)
    orders = [next(iter(loader))[0].tolist() for _ in range(3)]
    assert orders[0] != orders[1] != orders[2]
    again = data.DataLoader((x,), batch_size=20, shuffle=True, seed=3)
    assert [next(iter(again))[0].tolist() for _ in range(3)] == orders  # the same seed, the same orders
    again.set_epoch(1)
    assert next(iter(again))[0].tolist() == orders[1]


@needs_torch
@pytest.mark.parametrize("kernel, dilation", [(3, 1), (4, 1), ((2, 5), 2)])
def test_same_and_valid_padding_match_pytorch(kernel, dilation):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 7, 10))
    ours = nn.Conv2d(3, 4, kernel, padding="same", dilation=dilation)
    theirs = torch.nn.Conv2d(3, 4, kernel, padding="same", dilation=dilation, dtype=torch.float64)
    ours.double()
    ours.weight.data[...] = theirs.weight.detach().numpy()
    ours.bias.data[...] = theirs.bias.detach().numpy()
    xo, xt = both(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    assert yo.shape == yt.shape == (2, 4, 7, 10)
    np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    yo.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    valid = mg.conv2d(xo, ours.weight, padding="valid", dilation=dilation)
    assert valid.shape == torch.nn.functional.conv2d(xt, theirs.weight, padding="valid", dilation=dilation).shape
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")  # refused when built, as in PyTorch


@needs_torch
def test_tensor_protocol_matches_pytorch():
    a = np.arange(6.0).reshape(2, 3)
    ours, theirs = both(a)
    assert ours.size() == tuple(theirs.size()) and ours.size(1) == theirs.size(1) == 3
    assert ours.dim() == theirs.dim() == 2
    assert float(ours[1, 2]) == float(theirs[1, 2]) == 5.0 and int(ours[0, 1]) == int(theirs[0, 1]) == 1
    array = np.asarray(ours)
    assert array.dtype == np.float64 and (array == a).all()
    copy = ours.clone()
    copy += 1
    assert (ours.numpy() == a).all() and (copy.numpy() == a + 1).all()
    ours += 1  # mg.tensor copies its data, as torch.tensor does: the caller's array is untouched
    assert (a == np.arange(6.0).reshape(2, 3)).all()
    shared = mg.from_numpy(a)  # from_numpy shares it, as in PyTorch
    shared += 1
    assert a[0, 0] == 1.0
    w = mg.tensor(a, requires_grad=True)
    w.clone().sum().backward()  # a clone stays in the graph
    np.testing.assert_array_equal(w.grad.numpy(), np.ones_like(a))


@needs_torch
@pytest.mark.parametrize("call", [
    lambda lib, t: t.sum(dim=1), lambda lib, t: t.sum(dim=(0, 2), keepdim=True), lambda lib, t: t.mean(1, keepdim=True),
    lambda lib, t: t.var(dim=2), lambda lib, t: t.var(dim=0, unbiased=False), lambda lib, t: t.std(dim=1, keepdim=True),
    lambda lib, t: t.std(), lambda lib, t: t.amax(dim=-1), lambda lib, t: t.softmax(dim=1),
    lambda lib, t: t.log_softmax(dim=-1), lambda lib, t: lib.cat([t, t], dim=2), lambda lib, t: lib.stack([t, t], dim=1),
    lambda lib, t: lib.cat(lib.split(t, 2, dim=2)[::-1], dim=2), lambda lib, t: t.unsqueeze(dim=1).squeeze(dim=1),
])
def test_reductions_and_joins_take_dim_and_keepdim_as_in_pytorch(call):
    a = np.random.default_rng(5).standard_normal((2, 3, 4))
    ours, theirs = both(a, requires_grad=True)
    yo, yt = call(mg, ours), call(torch, theirs)
    np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = np.random.default_rng(6).standard_normal(yt.shape)
    yo.backward(upstream)
    yt.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


@needs_torch
def test_logical_ops_casts_and_dtype_names_match_pytorch():
    a = np.array([[1.5, -2.0, 0.0], [3.0, 0.5, -1.0]])
    ours, theirs = both(a)
    for make in (lambda t: (t > 0) & (t < 2), lambda t: (t > 0) | (t < -1.5), lambda t: ~(t > 0),
                 lambda t: (t > 0) ^ (t > 1), lambda t: t.long(), lambda t: t.int(), lambda t: (t > 0).any(dim=1),
                 lambda t: (t > -3).all(dim=0), lambda t: t.half().double(), lambda t: (t != 0).bool()):
        np.testing.assert_array_equal(make(ours).numpy(), make(theirs).numpy())
    assert ours.long().dtype == np.int64 and ours.int().dtype == np.int32 and ours.half().dtype == np.float16
    for name in ("float32", "float64", "int64", "float", "double", "long", "half", "bool"):
        assert np.dtype(getattr(mg, name)) == np.dtype(str(getattr(torch, name)).replace("torch.", "").replace("bool", "bool"))
    assert mg.zeros(2, dtype=mg.float64).dtype == np.float64


@needs_torch
def test_binary_cross_entropy_from_probabilities_at_0_and_1_is_finite_as_in_pytorch():
    p, t = np.array([0.0, 1.0, 0.5]), np.array([1.0, 0.0, 1.0])
    ours = mg.binary_cross_entropy(mg.tensor(p), t, reduction="none").numpy()
    theirs = torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(t), reduction="none").numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    with pytest.raises(ValueError, match="reduction must be"):
        mg.l1_loss(mg.tensor(p), mg.tensor(t), reduction="average")


# ----- Module and optimizer API -------------------------------------------------------------

@needs_torch
def test_a_pytorch_state_dict_loads_strictly_and_gives_pytorchs_outputs():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.ReLU(), torch.nn.Flatten(),
                                 torch.nn.Linear(3 * 4 * 4, 2)).double()
    x = np.random.default_rng(7).standard_normal((4, 2, 6, 6))
    theirs.train()
    theirs(torch.tensor(x))  # moves the running statistics (and num_batches_tracked)
    theirs.eval()
    ours = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2)).double()
    ours.load_state_dict(theirs.state_dict())  # strict: every key known
    ours.eval()
    np.testing.assert_allclose(ours(mg.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)


def test_module_registration_traversal_and_freezing_follow_pytorch():
    model = nn.Module()
    model.add_module("encoder-1", nn.Linear(2, 3))  # any name, as in PyTorch
    model.register_parameter("scale", nn.Parameter(np.ones(3, np.float32)))
    assert [n for n, _ in model.named_parameters()] == ["scale", "encoder-1.weight", "encoder-1.bias"]
    assert [n for n, _ in model.named_parameters(prefix="net", recurse=False)] == ["net.scale"]
    assert len(list(model.parameters(recurse=False))) == 1
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Module"]  # children first, as in PyTorch
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    assert model.cpu() is model
    with pytest.raises(TypeError, match="must be a Module"):
        model.add_module("x", 3)


@needs_torch
def test_zero_grad_keeps_zeros_when_asked_and_step_takes_a_closure():
    w0 = np.array([1.0, -2.0])
    results = []
    for lib, make_opt in ((mg, lambda p: mg.optim.SGD(p, lr=0.1)), (torch, lambda p: torch.optim.SGD(p, lr=0.1))):
        w = mg.nn.Parameter(w0.copy()) if lib is mg else torch.nn.Parameter(torch.tensor(w0))
        opt = make_opt([w])

        def closure():
            opt.zero_grad(set_to_none=False)
            loss = (w * w).sum()
            loss.backward()
            return loss

        for _ in range(3):
            loss = opt.step(closure)
        assert float(loss) > 0
        results.append(np.array(w.detach().numpy() if lib is torch else w.numpy()))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)
    extra = mg.nn.Parameter(np.zeros(2))
    opt = mg.optim.SGD([mg.nn.Parameter(np.zeros(2))], lr=0.1)
    opt.add_param_group({"params": [extra], "lr": 0.01})
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["params"] == [extra]


# ----- schedulers and gradient clipping ------------------------------------------------------

@needs_torch
@pytest.mark.parametrize("make", [
    lambda lib, opt: lib.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 5], gamma=0.5),
    lambda lib, opt: lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.8),
    lambda lib, opt: lib.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 1 / (1 + epoch)),
    lambda lib, opt: lib.optim.lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=4),
    lambda lib, opt: lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, epochs=3, steps_per_epoch=4),
    lambda lib, opt: lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=12, three_phase=True,
                                                       anneal_strategy="linear"),
    lambda lib, opt: lib.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5),
    lambda lib, opt: lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=3, eta_min=0.01),
])
def test_schedulers_give_pytorchs_learning_rates(make):
    rates = []
    for lib, params in ((mg, [mg.nn.Parameter(np.zeros(1))]), (torch, [torch.nn.Parameter(torch.zeros(1))])):
        opt = lib.optim.SGD(params, lr=0.1, momentum=0.9)
        scheduler = make(lib, opt)
        seen = []
        for _ in range(10 if "OneCycle" not in type(scheduler).__name__ else 12):
            seen.append(opt.param_groups[0]["lr"])
            opt.step()
            scheduler.step()
        rates.append(seen)
    np.testing.assert_allclose(rates[0], rates[1], rtol=1e-12)


@needs_torch
@pytest.mark.parametrize("make", [
    lambda lib, opt: [lib.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)],
    lambda lib, opt: [lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.001)],
    lambda lib, opt: [lib.optim.lr_scheduler.MultiStepLR(opt, milestones=[3, 6]),
                      lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)],  # two on one optimizer
    lambda lib, opt: [lib.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=4),
                      lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.8)],
    lambda lib, opt: [lib.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.9 ** epoch)],  # overwrites, as PyTorch
])
def test_a_rate_set_by_hand_is_kept_or_overwritten_as_pytorch_does(make):
    rates = []
    for lib, params in ((mg, [mg.nn.Parameter(np.zeros(1))]), (torch, [torch.nn.Parameter(torch.zeros(1))])):
        opt = lib.optim.SGD(params, lr=0.1)
        schedulers = make(lib, opt)
        seen = []
        for epoch in range(10):
            if epoch == 4:
                opt.param_groups[0]["lr"] = 0.05
            seen.append(opt.param_groups[0]["lr"])
            opt.step()
            for scheduler in schedulers:
                scheduler.step()
        rates.append(seen)
    np.testing.assert_allclose(rates[0], rates[1], rtol=1e-12)


@needs_torch
def test_reduce_on_plateau_follows_pytorch():
    losses = [1.0, 0.9, 0.95, 0.95, 0.96, 0.97, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6]
    rates = []
    for lib, params in ((mg, [mg.nn.Parameter(np.zeros(1))]), (torch, [torch.nn.Parameter(torch.zeros(1))])):
        opt = lib.optim.SGD(params, lr=1.0)
        scheduler = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=0.2)
        seen = []
        for loss in losses:
            scheduler.step(loss)
            seen.append(opt.param_groups[0]["lr"])
        rates.append(seen)
    assert rates[0] == rates[1]


@needs_torch
def test_clip_grad_value_matches_pytorch():
    g = np.array([[-3.0, 0.5], [2.0, -0.1]])
    ours, theirs = mg.nn.Parameter(np.zeros((2, 2))), torch.nn.Parameter(torch.zeros(2, 2, dtype=torch.float64))
    ours.grad, theirs.grad = mg.tensor(g), torch.tensor(g)
    mg.nn.utils.clip_grad_value_([ours], 1.0)
    torch.nn.utils.clip_grad_value_([theirs], 1.0)
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


# ----- autograd: hooks and grad() ---------------------------------------------------------

@needs_torch
def test_tensor_hooks_see_and_replace_gradients_as_in_pytorch():
    x0 = np.array([1.0, -2.0, 3.0])
    results = []
    for lib in (mg, torch):
        x = lib.tensor(x0, requires_grad=True)
        hidden = x * 2
        seen = []
        hidden.register_hook(lambda g: seen.append(np.asarray(g.detach().numpy()).copy()))
        hidden.register_hook(lambda g: g * 10)  # replaces the gradient that flows on
        handle = x.register_hook(lambda g: g + 1)
        (hidden * hidden).sum().backward(retain_graph=True)
        first = np.asarray(x.grad.numpy()).copy()
        handle.remove()  # a removed hook is not called again
        x.grad = None
        (hidden * hidden).sum().backward()
        results.append((seen, first, np.asarray(x.grad.numpy())))
    (seen_mg, first_mg, second_mg), (seen_t, first_t, second_t) = results
    np.testing.assert_allclose(seen_mg[0], seen_t[0])
    np.testing.assert_allclose(first_mg, first_t)
    np.testing.assert_allclose(second_mg, second_t)


@needs_torch
def test_grad_returns_gradients_without_touching_dot_grad():
    rng = np.random.default_rng(3)
    a0, b0 = rng.standard_normal(3), rng.standard_normal(3)
    a, b = mg.tensor(a0, requires_grad=True), mg.tensor(b0, requires_grad=True)
    at, bt = torch.tensor(a0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    ours = mg.grad([(a * b).sum(), (a * a).sum()], [a, b])
    theirs = torch.autograd.grad([(at * bt).sum(), (at * at).sum()], [at, bt])
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12)
    assert a.grad is None and b.grad is None
    hidden = a * 3  # a non-leaf input gets the gradient that reaches it
    np.testing.assert_allclose(mg.autograd.grad((hidden ** 2).sum(), hidden)[0].numpy(), 2 * 3 * a0, rtol=1e-12)
    with pytest.raises(RuntimeError, match="not used to compute the outputs; pass allow_unused=True"):
        mg.grad(a.sum(), [a, b])
    assert mg.grad(a.sum(), [a, b], allow_unused=True)[1] is None


# ----- the ops PyTorch users reach for ------------------------------------------------------

@needs_torch
def test_scatter_add_prod_and_einsum_idioms_match_pytorch():
    rng = np.random.default_rng(4)
    counts, tokens = both(np.zeros(5)), rng.integers(0, 5, 12)
    np.testing.assert_allclose(counts[0].scatter_add(0, tokens, mg.ones(12, dtype=mg.float64)).numpy(),
                               counts[1].scatter_add(0, torch.tensor(tokens), torch.ones(12, dtype=torch.float64)))
    x = rng.standard_normal((2, 3, 4))
    ours, theirs = both(x)
    np.testing.assert_allclose(ours.prod(1).numpy(), theirs.prod(1).numpy(), rtol=1e-12)
    q, k = rng.standard_normal((2, 5, 8)), rng.standard_normal((2, 7, 8))
    np.testing.assert_allclose(mg.einsum("bqd,bkd->bqk", mg.tensor(q), mg.tensor(k)).numpy(),
                               torch.einsum("bqd,bkd->bqk", torch.tensor(q), torch.tensor(k)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(mg.einsum("ij,jk", mg.tensor(q[0]), mg.tensor(k[0].T)).numpy(),  # implicit output
                               torch.einsum("ij,jk", torch.tensor(q[0]), torch.tensor(k[0].T)).numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match="one int"):
        ours.prod((0, 1))


@needs_torch
def test_factories_follow_pytorchs_dtypes():
    assert mg.arange(5).dtype == np.int64 and mg.arange(0.0, 1.0, 0.25).dtype == np.float32
    assert mg.randn(2, 3).shape == (2, 3) and mg.randn(2, 3).dtype == np.float32
    assert mg.randint(3, (4,)).dtype == np.int64 and mg.zeros(2, dtype=mg.int64).dtype == np.int64
    assert mg.full((2,), 3.0).dtype == np.float32 and mg.zeros_like(mg.tensor([1, 2])).dtype == np.int64
    mg.manual_seed(7)
    first = mg.randn(4).numpy()
    mg.manual_seed(7)
    np.testing.assert_array_equal(mg.randn(4).numpy(), first)


# ----- losses -------------------------------------------------------------------------------

@needs_torch
@pytest.mark.parametrize("kwargs", [dict(), dict(weight=[0.2, 1.0, 3.0]), dict(label_smoothing=0.1),
                                    dict(weight=[0.2, 1.0, 3.0], label_smoothing=0.1, reduction="sum"),
                                    dict(ignore_index=1, reduction="none")])
def test_cross_entropy_on_images_with_class_weights_as_in_pytorch(kwargs):
    rng = np.random.default_rng(5)
    scores, labels = rng.standard_normal((2, 3, 4, 4)), rng.integers(0, 3, (2, 4, 4))  # segmentation-shaped
    ours, theirs = both(scores, requires_grad=True)
    ours_kw = dict(kwargs)
    theirs_kw = dict(kwargs, **({"weight": torch.tensor(kwargs["weight"], dtype=torch.float64)} if "weight" in kwargs else {}))
    loss = nn.CrossEntropyLoss(**ours_kw)(ours, labels)
    expected = torch.nn.CrossEntropyLoss(**theirs_kw)(theirs, torch.tensor(labels))
    np.testing.assert_allclose(loss.numpy(), expected.detach().numpy(), rtol=1e-12)
    loss.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-14)


@needs_torch
@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_an_ignored_row_with_a_masked_score_adds_nothing_as_in_pytorch(name, reduction):
    # Padding positions often have their scores masked to -inf; the ignored row's safe index
    # then picks a -inf, which must not turn the loss into NaN (-inf · 0). No warning either.
    scores = np.array([[-np.inf, 0.0, -1.0], [-1.0, -0.5, -2.0], [0.3, -np.inf, 0.1]])
    target = np.array([-100, 1, 2])
    ours, theirs = both(scores, requires_grad=True)
    expected = getattr(torch.nn.functional, name)(theirs, torch.tensor(target), reduction=reduction)
    expected.sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = getattr(mg, name)(ours, target, reduction=reduction)
        loss.sum().backward()
    np.testing.assert_allclose(loss.numpy(), expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-15)


@needs_torch
@pytest.mark.parametrize("name", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("target", [[0, 2], 1])
def test_a_loss_refuses_a_list_or_number_target_as_pytorch_does(name, target):
    ours, theirs = both(np.zeros((2, 3)))
    with pytest.raises(TypeError):
        getattr(torch.nn.functional, name)(theirs, target)
    with pytest.raises(TypeError, match=f"{name}: target must be a tensor or an array, not {type(target).__name__}"):
        getattr(mg, name)(ours, target)
    assert getattr(mg, name)(ours, np.array([0, 2])).item() == pytest.approx(
        getattr(torch.nn.functional, name)(theirs, torch.tensor([0, 2])).item())  # an array or tensor: fine


@needs_torch
def test_cross_entropy_with_probability_targets_as_in_pytorch():
    rng = np.random.default_rng(6)
    scores, probabilities = rng.standard_normal((4, 5)), rng.dirichlet(np.ones(5), 4)
    ours, theirs = both(scores, requires_grad=True)
    loss = mg.cross_entropy(ours, probabilities, label_smoothing=0.2)
    expected = torch.nn.functional.cross_entropy(theirs, torch.tensor(probabilities), label_smoothing=0.2)
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
    loss.backward()
    expected.backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="probability targets of shape"):
        mg.cross_entropy(ours, probabilities[:, :3])


@needs_torch
@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "SmoothL1Loss", "BCEWithLogitsLoss", "NLLLoss", "KLDivLoss"])
def test_loss_modules_match_pytorch(name):
    rng = np.random.default_rng(7)
    x, t = rng.uniform(-0.9, 0.9, (4, 3)), rng.uniform(0.05, 0.95, (4, 3))
    if name == "NLLLoss":
        t = rng.integers(0, 3, 4)
    ours = getattr(nn, name)(reduction="sum")(mg.tensor(x), t if name == "NLLLoss" else mg.tensor(t))
    theirs = getattr(torch.nn, name)(reduction="sum")(torch.tensor(x), torch.tensor(t))
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-12)


# ----- training pieces ----------------------------------------------------------------------

@needs_torch
@pytest.mark.parametrize("make", [
    lambda lib, p: lib.optim.RMSprop(p, lr=0.01),
    lambda lib, p: lib.optim.RMSprop(p, lr=0.01, momentum=0.9, centered=True, weight_decay=0.1),
    lambda lib, p: lib.optim.Adagrad(p, lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1),
    lambda lib, p: lib.optim.Adam(p, lr=0.01, amsgrad=True),
    lambda lib, p: lib.optim.AdamW(p, lr=0.01, amsgrad=True),
])
def test_more_optimizers_follow_pytorch_step_for_step(make):
    rng = np.random.default_rng(8)
    w0, x = rng.standard_normal((3, 2)), rng.standard_normal((5, 3))
    finals = []
    for lib in (mg, torch):
        w = lib.tensor(w0, requires_grad=True)
        opt = make(lib, [w])
        for step in range(6):
            opt.zero_grad()
            (lib.tensor(x) @ w).sin().sum().backward() if lib is torch else mg.sin(mg.tensor(x) @ w).sum().backward()
            opt.step()
        finals.append(np.asarray(w.detach().numpy()))
    np.testing.assert_allclose(finals[0], finals[1], rtol=1e-10, atol=1e-12)


def test_a_dataset_object_with_a_collate_fn_and_drop_last():
    class Squares:
        def __len__(self):
            return 7

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=np.float32), i

    loader = data.DataLoader(Squares(), batch_size=3, shuffle=True, drop_last=True, seed=1)
    batches = list(loader)
    assert len(batches) == len(loader) == 2 and all(x.shape == (3, 2) and y.shape == (3,) for x, y in batches)
    seen = np.concatenate([y for _, y in batches])
    assert len(set(seen)) == 6 and all((x[:, 1] == x[:, 0] ** 2).all() for x, _ in batches)
    assert [list(y) for _, y in loader] != [list(y) for _, y in batches]  # the next epoch reshuffles
    lengths = list(data.DataLoader(Squares(), batch_size=3, collate_fn=len))
    assert lengths == [3, 3, 1]
    with pytest.raises(TypeError, match="Dataset"):
        data.DataLoader(42)


@needs_torch
@pytest.mark.parametrize("nonlinearity,param", [("relu", None), ("tanh", None), ("leaky_relu", 0.2),
                                                ("sigmoid", None), ("selu", None), ("linear", None)])
def test_calculate_gain_matches_pytorch(nonlinearity, param):
    assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity, param))


def test_initialisers_give_the_distributions_pytorch_defines():
    mg.manual_seed(0)
    w = nn.Parameter(np.zeros((400, 300)))
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert w.numpy().std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    nn.init.kaiming_uniform_(w, a=0.2, mode="fan_in")
    assert w.numpy().std() == pytest.approx(np.sqrt(2 / (1 + 0.04) / 300), rel=0.02)
    nn.init.trunc_normal_(w, mean=0.5, std=1.0, a=0.0, b=1.0)
    assert w.numpy().min() >= 0.0 and w.numpy().max() <= 1.0 and w.numpy().mean() == pytest.approx(0.5, abs=0.01)
    q = nn.Parameter(np.zeros((5, 3, 2, 2)))
    nn.init.orthogonal_(q, gain=2.0)
    flat = q.numpy().reshape(5, 12)
    np.testing.assert_allclose(flat @ flat.T, 4.0 * np.eye(5), atol=1e-12)
    nn.init.constant_(q, 0.3)
    assert (q.numpy() == 0.3).all()
    with pytest.raises(ValueError, match="mode must be"):
        nn.init.kaiming_normal_(w, mode="fan_avg")


# ----- issue 36's silent differences ---------------------------------------------------------

@needs_torch
def test_load_state_dict_returns_the_missing_and_unexpected_keys_as_pytorch_does():
    ours, theirs = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    state = {"weight": np.zeros((2, 3), np.float32), "extra": np.zeros(1, np.float32)}
    missing, unexpected = ours.load_state_dict(state, strict=False)
    result = theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()}, strict=False)
    assert (missing, unexpected) == (result.missing_keys, result.unexpected_keys) == (["bias"], ["extra"])
    assert ours.load_state_dict(ours.state_dict()).missing_keys == []


@needs_torch
@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_along_a_dim_gives_a_tie_all_the_gradient_at_the_returned_index(name, keepdim):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0], [5.0, 5.0, 5.0]])
    ours, theirs = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    mine, ref = getattr(ours, name)(1, keepdim=keepdim), getattr(theirs, name)(1, keepdim=keepdim)
    weights = np.arange(1.0, 4.0).reshape(mine.values.shape)
    (mine.values * mg.tensor(weights)).sum().backward()
    (ref.values * torch.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(mine.values.numpy(), ref.values.detach().numpy())
    np.testing.assert_array_equal(mine.indices.numpy(), ref.indices.numpy())
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    amax = mg.tensor(x, requires_grad=True)  # amax keeps splitting between ties, as PyTorch's does
    mg.amax(amax, 1).sum().backward()
    torch_amax = torch.tensor(x, requires_grad=True)
    torch.amax(torch_amax, 1).sum().backward()
    np.testing.assert_allclose(amax.grad.numpy(), torch_amax.grad.numpy())


@needs_torch
@pytest.mark.parametrize("expression", ["a / 2", "2 / a", "a / a", "a + f", "f * a", "a - f", "f / a"])
def test_integers_meet_floats_in_pytorchs_dtypes(expression):
    ours = eval(expression, {"a": mg.tensor([1, 2]), "f": mg.tensor([0.5, 1.5])})
    theirs = eval(expression, {"a": torch.tensor([1, 2]), "f": torch.tensor([0.5, 1.5])})
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), expression
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@needs_torch
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_powers_give_pytorchs_numbers_where_a_formula_would_give_nan(order):
    # d/dx x⁰ = 0 at x = 0 (b·x^(b-1) would be 0·∞), relu(x)⁰ likewise, and every derivative
    # of x³ at 0, up to the 4th (whose formula meets 6·x⁰)
    x = np.array([0.0, 1.5, -2.0])
    for fn, torch_fn in [(lambda t: t ** 0, lambda t: t ** 0), (lambda t: mg.relu(t) ** 0, lambda t: torch.relu(t) ** 0),
                         (lambda t: t ** 3, lambda t: t ** 3)]:
        ours, theirs = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        mine, ref = fn(ours).sum(), torch_fn(theirs).sum()
        for k in range(order):
            last = k == order - 1
            mine, = mg.grad(mine, [ours], create_graph=not last, allow_unused=True)
            ref, = torch.autograd.grad(ref, [theirs], create_graph=not last, allow_unused=True)
            if mine is None or ref is None or k < order - 1 and not (mine.requires_grad and ref.requires_grad):
                break
            if not last:
                mine, ref = mine.sum(), ref.sum()
        else:
            assert not np.isnan(mine.numpy()).any()
            np.testing.assert_allclose(mine.numpy(), ref.numpy(), atol=1e-12)


@needs_torch
def test_the_exponents_gradient_at_a_zero_base_is_zero_as_in_pytorch():
    a, b = np.array([0.0, 2.0, 0.0]), np.array([2.0, 0.5, 0.0])
    ours = [mg.tensor(a, requires_grad=True), mg.tensor(b, requires_grad=True)]
    theirs = [torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)]
    (ours[0] ** ours[1]).sum().backward()
    (theirs[0] ** theirs[1]).sum().backward()
    for mine, ref in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), ref.grad.numpy())


# ----- buffers and hooks ---------------------------------------------------------------------

class Counter:
    """The same module in both frameworks: a buffer reassigned in forward."""

    @staticmethod
    def make(lib):
        base = nn.Module if lib is mg else torch.nn.Module

        class Counting(base):
            def __init__(self):
                super().__init__()
                self.register_buffer("n", mg.zeros(()) if lib is mg else torch.zeros(()))
                self.register_buffer("scratch", mg.ones(2) if lib is mg else torch.ones(2), persistent=False)

            def forward(self, x):
                self.n = self.n + 1
                return x

        return Counting()


@needs_torch
def test_a_buffer_reassigned_in_forward_stays_a_buffer():
    ours, theirs = Counter.make(mg), Counter.make(torch)
    for _ in range(3):
        ours(mg.zeros(1))
        theirs(torch.zeros(1))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["n"]  # scratch: not persistent
    assert float(ours.state_dict()["n"]) == float(theirs.state_dict()["n"]) == 3.0
    assert sorted(n for n, _ in ours.named_buffers()) == sorted(n for n, _ in theirs.named_buffers())
    ours.double()
    assert ours.n.dtype == np.float64 and "scratch" not in ours.state_dict()
    fresh = Counter.make(mg)
    fresh.load_state_dict(ours.state_dict())
    assert float(fresh.n) == 3.0
    with pytest.raises(TypeError, match="cannot assign a str to buffer 'n'"):
        ours.n = "three"


@needs_torch
def test_forward_hooks_see_and_replace_inputs_and_outputs():
    seen = {}
    for lib in (mg, torch):
        layer = (nn if lib is mg else torch.nn).Linear(3, 2)
        calls = []
        pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
        post = layer.register_forward_hook(lambda m, args, out: calls.append(tuple(out.shape)) or out + 1)
        x = np.ones((4, 3), np.float32)
        w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
        out = layer(lib.tensor(x))
        np.testing.assert_allclose(out.detach().numpy(), (2 * x) @ w.T + b + 1, rtol=1e-6)
        pre.remove()
        post.remove()
        np.testing.assert_allclose(layer(lib.tensor(x)).detach().numpy(), x @ w.T + b, rtol=1e-6)
        seen[lib.__name__] = calls
    assert seen["minigrad"] == seen["torch"] == [(4, 2)]


# ----- transforms and dataset pieces ----------------------------------------------------------

def test_a_flip_of_one_image_flips_the_image_not_each_channel():
    """torchvision's RandomHorizontalFlip takes one (C, H, W) image and needs no generator."""
    image = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    mg.manual_seed(0)
    outs = [data.transforms.RandomHorizontalFlip(p=0.5)(image) for _ in range(20)]
    assert all(o.shape == image.shape for o in outs)
    kinds = {"same" if np.array_equal(o, image) else "flipped" if np.array_equal(o, image[..., ::-1]) else "mixed"
             for o in outs}
    assert kinds == {"same", "flipped"}  # each call flips the whole image or leaves it
    tensor_out = data.transforms.RandomHorizontalFlip(p=1.0)(mg.tensor(image))
    assert isinstance(tensor_out, mg.Tensor)
    np.testing.assert_array_equal(tensor_out.numpy(), image[..., ::-1])
    normalized = data.transforms.Normalize([1.0, 2.0], [2.0, 4.0])(image)
    np.testing.assert_allclose(normalized, (image - np.array([1, 2])[:, None, None]) / np.array([2, 4])[:, None, None])
    mg.manual_seed(1)
    first = data.transforms.RandomCrop(2, padding=1)(image)
    mg.manual_seed(1)
    np.testing.assert_array_equal(data.transforms.RandomCrop(2, padding=1)(image), first)  # seeded by manual_seed
    with pytest.raises(ValueError, match=r"RandomCrop: expected an image \(C, H, W\) or a batch"):
        data.transforms.RandomCrop(2)(np.zeros((3, 4)))


@needs_torch
def test_to_tensor_matches_torchvisions_layout_and_scale():
    image = np.random.default_rng(0).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    ours = data.transforms.ToTensor()(image)
    theirs = torch.tensor(image).permute(2, 0, 1).float() / 255  # what torchvision's ToTensor gives
    assert isinstance(ours, mg.Tensor) and ours.dtype == np.float32
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-7)
    with pytest.raises(ValueError, match="use ToFloat"):
        data.transforms.ToTensor()(np.zeros((2, 3, 4, 4), np.uint8))


@needs_torch
def test_dataset_subset_random_split_and_subset_sampler():
    class Squares(data.Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            return np.float64(i * i), i

    mg.manual_seed(0)
    parts = data.random_split(Squares(), [0.7, 0.3])
    theirs = torch.utils.data.random_split(list(range(10)), [0.7, 0.3])
    assert [len(p) for p in parts] == [len(p) for p in theirs] == [7, 3]
    seen = sorted(label for part in parts for _, label in (part[i] for i in range(len(part))))
    assert seen == list(range(10))  # disjoint, and every sample once
    assert [len(p) for p in data.random_split(Squares(), [0.34, 0.33, 0.33])] == \
        [len(p) for p in torch.utils.data.random_split(list(range(10)), [0.34, 0.33, 0.33])]
    with pytest.raises(ValueError, match="sum"):
        data.random_split(Squares(), [5, 6])
    loader = data.DataLoader(Squares(), batch_size=4, sampler=data.SubsetRandomSampler([1, 3, 5]))
    x, y = next(iter(loader))
    assert sorted(y.tolist()) == [1, 3, 5] and len(loader) == 1
    arrays = data.DataLoader((np.zeros((6, 2)), np.arange(6)), batch_size=4)
    assert len(arrays.dataset) == 6 and arrays.dataset[2][1] == 2
    with pytest.raises(ValueError, match="num_workers=2.*prefetch"):
        data.DataLoader(Squares(), num_workers=2)
    with pytest.raises(NotImplementedError, match="must define __getitem__"):
        data.Dataset()[0]


@needs_torch
@pytest.mark.parametrize("rows", [[[-np.inf, -np.inf], [1.0, 2.0]], [[np.inf, 1.0], [1.0, 2.0]],
                                  [[-np.inf, 0.5], [3.0, -np.inf]]])
def test_logsumexp_of_infinite_rows_is_pytorchs(rows):
    (a, b) = both(np.array(rows), requires_grad=True)
    with np.errstate(all="ignore"):
        ours, theirs = a.logsumexp(1), b.logsumexp(1)
        np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())
        ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)  # NaN where PyTorch has NaN


@needs_torch
@pytest.mark.parametrize("p", [1, 2, 3, float("inf"), "fro"])
def test_norm_of_a_zero_row_is_zero_with_a_zero_gradient(p):
    x = np.array([[0.0, 0.0, 0.0], [3.0, -4.0, 1.0]])
    (a, b) = both(x, requires_grad=True)
    ours = a.norm(p, 1) if p != "fro" else a.norm(p)
    theirs = b.norm(p, 1) if p != "fro" else b.norm(p)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)
    assert np.isfinite(a.grad.numpy()).all()
    assert mg.gradcheck(lambda t: t.norm(p, 1) if p != "fro" else t.norm(p), mg.tensor(x[1:] + 0.1, requires_grad=True))
    with pytest.raises(ValueError, match="p must be"):
        a.norm(0.5)


@needs_torch
def test_smooth_l1_with_beta_zero_is_l1():
    x, t = np.array([0.5, -0.2, 0.0]), np.zeros(3)
    (a, b) = both(x, requires_grad=True)
    ours = mg.nn.functional.smooth_l1_loss(a, mg.tensor(t), beta=0.0)
    theirs = torch.nn.functional.smooth_l1_loss(b, torch.tensor(t), beta=0.0)
    assert float(ours) == pytest.approx(theirs.item())
    ours.backward()
    theirs.backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy())
    with pytest.raises(ValueError, match="beta must be >= 0"):
        mg.nn.functional.smooth_l1_loss(a, mg.tensor(t), beta=-1.0)


@needs_torch
@pytest.mark.parametrize("view", ["slice", "reshape", "transpose", "detach"])
@pytest.mark.parametrize("changed", ["base", "view"])
def test_views_share_the_version_counter_of_their_base(view, changed):
    """A change through a view (or to the base a view was saved from) makes backward refuse,
    in PyTorch and here, instead of using the changed values."""
    make = {"slice": lambda a: a[0:2], "reshape": lambda a: a.reshape(4, 2),
            "transpose": lambda a: a.transpose(0, 1), "detach": lambda a: a.detach()}[view]
    for lib in (mg, torch):
        a = lib.tensor(np.ones((2, 4)))
        b = make(a)
        w = lib.tensor(np.full(tuple(b.shape), 2.0), requires_grad=True)
        loss = (w * b).sum()
        (a if changed == "base" else b).add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation|modified by an in-place operation"):
            loss.backward()
    a = mg.tensor(np.ones((2, 4)))
    b = a[0:2] * 1.0  # a copy, not a view: its own counter
    a.add_(1)
    assert b._version == 0 and a._version == 1


# ----- the Tensor methods a tutorial reaches for --------------------------------------------

METHOD_CASES = {  # name: (minigrad, torch), each a function of (lib, x, y) -> tensor, tuple or value
    "t": lambda lib, x, y: x.t(),
    "mT": lambda lib, x, y: x.reshape(1, 2, 3).mT,
    "contiguous": lambda lib, x, y: x.t().contiguous() * 2,
    "view_as": lambda lib, x, y: x.view_as(y.reshape(3, 2)),
    "expand_as": lambda lib, x, y: x[0:1].expand_as(y),
    "split": lambda lib, x, y: x.split([1, 2], 1)[1],
    "topk": lambda lib, x, y: x.topk(2, 1).values,
    "sort": lambda lib, x, y: x.sort(0, descending=True).values,
    "argsort": lambda lib, x, y: x.argsort(1),
    "eq": lambda lib, x, y: x.eq(x * 1),
    "pow": lambda lib, x, y: x.pow(3),
    "matmul": lambda lib, x, y: x.matmul(y.t()),
    "add(alpha)": lambda lib, x, y: x.add(y, alpha=2),
    "sub": lambda lib, x, y: x.sub(y),
    "mul": lambda lib, x, y: x.mul(y),
    "div": lambda lib, x, y: x.div(y + 3),
    "square": lambda lib, x, y: x.square(),
    "dot": lambda lib, x, y: lib.dot(x[0], y[1]),
    "unbind": lambda lib, x, y: x.unbind(1)[2],
    "index_select": lambda lib, x, y: x.index_select(1, lib.tensor([2, 0])),
    "to(dtype=)": lambda lib, x, y: x.to(dtype=lib.float32),
    "to(other)": lambda lib, x, y: x.to(y),
    "size(0)": lambda lib, x, y: x.size(0),
    "is_floating_point": lambda lib, x, y: x.is_floating_point(),
    "new_zeros": lambda lib, x, y: x.new_zeros(2, 2),
    "isfinite": lambda lib, x, y: (x / 0).isfinite() if lib is torch else mg.isfinite(x / 0),
}


@needs_torch
@pytest.mark.parametrize("name", list(METHOD_CASES))
def test_tensor_methods_give_pytorchs_values_and_gradients(name):
    rng = np.random.default_rng(0)
    x0, y0 = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    results = []
    for lib in (mg, torch):
        x, y = lib.tensor(x0, requires_grad=True), lib.tensor(y0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = METHOD_CASES[name](lib, x, y)
        if not hasattr(out, "shape"):
            results.append((out, None))
            continue
        value = np.asarray(out.detach().numpy() if lib is torch else out.numpy())
        grad = None
        if out.dtype in (torch.float64, torch.float32, np.float64, np.float32) and out.requires_grad:
            (out * lib.tensor(np.ones(tuple(out.shape), value.dtype))).sum().backward()
            grad = x.grad.numpy()
        results.append((value, grad))
    (ours, our_grad), (theirs, their_grad) = results
    if our_grad is None and their_grad is None and not hasattr(ours, "shape"):
        assert ours == theirs
        return
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    if their_grad is not None:
        np.testing.assert_allclose(our_grad, their_grad, rtol=1e-6)


def test_device_objects_inference_mode_and_clear_method_errors():
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    assert x.device == mg.device("cpu") == "cpu" and x.device.type == "cpu" and mg.device("cuda", 0) == "cuda:0"
    assert x.to(mg.device("cpu")) is x
    with mg.inference_mode():
        assert not (x * 2).requires_grad
    with pytest.raises(ValueError, match="at most 2 dimensions"):
        mg.zeros(2, 2, 2).t()
    with pytest.raises(ValueError, match="dot: expected two 1-D tensors"):
        mg.dot(x, x)
    with pytest.raises(ValueError, match="topk: k=4 is out of range"):
        x.topk(4)
    with pytest.raises(TypeError, match="Tensor.to: expected a device, a dtype or a tensor"):
        x.to("gpu0")
    with pytest.raises(ValueError, match="unknown device"):
        mg.device("tpu")
    assert x.type() == "minigrad.DoubleTensor" and x.type(mg.float32).dtype == np.float32
    y = x.detach().t().contiguous()
    y += 1  # a copy: x is not changed
    assert (x.numpy() == 1).all()


@needs_torch
@pytest.mark.parametrize("equation, shapes", [
    ("...ij,...jk", [(2, 3, 4), (2, 4, 5)]), ("bij,bjk", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(2, 2, 3, 4), (2, 2, 4, 5)]), ("i...->...", [(3, 2, 2)]), ("i,i", [(4,), (4,)]),
    ("ij,j", [(3, 4), (4,)]),
])
def test_einsum_shorthands_match_torch(equation, shapes):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    ours = [mg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_m, out_t = mg.einsum(equation, *ours), torch.einsum(equation, *theirs)
    np.testing.assert_allclose(out_m.numpy(), out_t.detach().numpy(), rtol=1e-12)
    w = rng.standard_normal(out_m.shape)
    (out_m * w).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="repeats a letter"):
        mg.einsum("ii->i", mg.zeros(3, 3))
    with pytest.raises(ValueError, match="does not broadcast"):
        mg.einsum("...i,...i", mg.zeros(2, 3), mg.zeros(1, 3))


@needs_torch
def test_loader_batches_are_tensors_as_pytorchs_are():
    x0, y0 = np.arange(12.0).reshape(6, 2), np.arange(6)
    for lib, loader in ((mg, data.DataLoader((x0, y0), batch_size=4)),
                        (torch, torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x0),
                                                                                           torch.tensor(y0)), 4))):
        x, y = next(iter(loader))
        assert isinstance(x, lib.Tensor) and isinstance(y, lib.Tensor)
        values, indices = x.max(1)  # a tensor's max(dim): (values, indices), not an array's row
        np.testing.assert_array_equal(values.numpy(), x0[:4].max(1))
        assert x.view(x.size(0), -1).shape == (4, 2) and y.long().dtype in (np.int64, torch.int64)


@needs_torch
@pytest.mark.parametrize("training", [True, False])
def test_functional_batch_norm_takes_its_running_statistics_as_tensors(training):
    # F.batch_norm(x, running_mean, running_var, ...) with tensors, as PyTorch's buffers are:
    # the same output, and in training the same running statistics, updated in place.
    rng = np.random.default_rng(21)
    x = rng.standard_normal((4, 3, 5, 5))
    mean0, var0 = rng.standard_normal(3), rng.random(3) + 0.5
    weight, bias = rng.standard_normal(3), rng.standard_normal(3)
    ours = [mg.tensor(mean0.copy()), mg.tensor(var0.copy())]
    theirs = [torch.tensor(mean0.copy()), torch.tensor(var0.copy())]
    y = mg.batch_norm(mg.tensor(x), *ours, mg.tensor(weight), mg.tensor(bias), training=training)
    expected = torch.nn.functional.batch_norm(torch.tensor(x), *theirs, torch.tensor(weight), torch.tensor(bias),
                                              training=training)
    np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-10, atol=1e-12)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    assert training == (not np.allclose(ours[0].numpy(), mean0))
