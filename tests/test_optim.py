"""Optimizers and schedules follow PyTorch's parameter trajectories on the same gradients."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from op_recipes import torch

pytestmark = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

OPTIMIZERS = {
    "sgd": (optim.SGD, "SGD", dict(lr=0.1)),
    "sgd_momentum_wd": (optim.SGD, "SGD", dict(lr=0.1, momentum=0.9, weight_decay=1e-2)),
    "sgd_dampening": (optim.SGD, "SGD", dict(lr=0.1, momentum=0.5, dampening=0.3)),
    "sgd_nesterov": (optim.SGD, "SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)),
    "adam": (optim.Adam, "Adam", dict(lr=0.01, betas=(0.8, 0.99))),
    "adam_l2": (optim.Adam, "Adam", dict(lr=0.01, weight_decay=0.1)),
    "adamw": (optim.AdamW, "AdamW", dict(lr=0.01, weight_decay=0.1)),
}


def gradients(step, shapes):
    rng = np.random.default_rng(step)
    return [rng.standard_normal(s) for s in shapes]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_trajectory_matches_torch(name):
    ours_cls, torch_name, kwargs = OPTIMIZERS[name]
    start = [np.random.default_rng(99).standard_normal(s) for s in [(3, 4), (4,)]]
    ours = [mg.tensor(a.copy(), requires_grad=True) for a in start]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in start]
    opt, ref = ours_cls(ours, **kwargs), getattr(torch.optim, torch_name)(theirs, **kwargs)
    for step in range(10):
        for p, q, g in zip(ours, theirs, gradients(step, [a.shape for a in start])):
            p.grad = mg.tensor(g)
            q.grad = torch.tensor(g)
        opt.step()
        ref.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda o, lib: lib.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
        lambda o, lib: lib.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
        lambda o, lib: lib.lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=20),
        lambda o, lib: lib.lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=15, pct_start=0.2, cycle_momentum=False),
    ],
)
def test_schedules_match_torch(make):
    p = mg.tensor(np.zeros(2), requires_grad=True)
    q = torch.zeros(2, requires_grad=True)
    opt, ref = optim.SGD([p], lr=0.3, momentum=0.9), torch.optim.SGD([q], lr=0.3, momentum=0.9)
    ours_sched, torch_sched = make(opt, optim), make(ref, torch.optim)
    ours_lr, ours_mom = [], []
    theirs_lr, theirs_mom = [], []
    for _ in range(12):
        ours_lr.append(opt.param_groups[0]["lr"]), ours_mom.append(opt.param_groups[0]["momentum"])
        theirs_lr.append(ref.param_groups[0]["lr"]), theirs_mom.append(ref.param_groups[0]["momentum"])
        opt.step(), ref.step()
        ours_sched.step(), torch_sched.step()
    np.testing.assert_allclose(ours_lr, theirs_lr, rtol=1e-9)
    np.testing.assert_allclose(ours_mom, theirs_mom, rtol=1e-9)


def test_clip_grad_norm_matches_torch():
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 3)) * 5, rng.standard_normal(4) * 5]
    ours = [mg.tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = mg.tensor(g), torch.tensor(g)
    norm = nn.utils.clip_grad_norm_(ours, 1.0)
    ref = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert isinstance(norm, mg.Tensor) and norm.shape == () and norm.dtype == np.float64  # a tensor, as PyTorch's
    assert float(norm) == pytest.approx(ref.item())
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9)


def test_optimizer_state_dict_round_trip_continues_identically():
    def run(steps, restore_at=None):
        p = mg.tensor(np.ones(3), requires_grad=True)
        opt = optim.Adam([p], lr=0.1)
        for step in range(steps):
            if step == restore_at:
                saved_p, saved = p.numpy().copy(), opt.state_dict()
                p = mg.tensor(saved_p, requires_grad=True)
                opt = optim.Adam([p], lr=0.1)
                opt.load_state_dict(saved)
            p.grad = mg.tensor(gradients(step, [(3,)])[0])
            opt.step()
        return p.numpy()

    np.testing.assert_array_equal(run(6), run(6, restore_at=3))


def test_a_small_network_learns_with_each_optimizer():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    for make in (lambda p: optim.SGD(p, lr=0.2, momentum=0.9), lambda p: optim.Adam(p, lr=0.02)):
        mg.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 2))
        opt = make(model.parameters())
        losses = []
        for _ in range(60):
            loss = mg.cross_entropy(model(mg.tensor(x)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[-1] < 0.25 * losses[0]
