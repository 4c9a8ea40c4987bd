"""Tests aimed at the bugs a training harness can hide: each catches one kind that a planted
bug showed the suite missed (a loss of inf taken for finite, early stopping a step late, the
Trainer's clipping ignored or only half applied, create_graph overwriting .grad or building
nothing under no_grad, an optimizer's hyper-parameters not restored, AMSGrad's maximum not
kept, the sampler padding from the wrong end, a checkpoint deleted before its replacement is
in place, a hash blind to dtype and shape, a prefetch thread swallowing an error)."""
import os
import zipfile

import numpy as np
import pytest

import minigrad as mg
from minigrad import data, nn, optim
from minigrad.distributed import DistributedSampler
from minigrad.train import Trainer, checkpoint
from minigrad.train.checkpoint import CheckpointError
from op_recipes import torch

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is the reference here")


def small(lr=0.1, **trainer_args):
    mg.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((32, 2)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=lr), progress=False, **trainer_args)
    return trainer, data.DataLoader((x, y), batch_size=8), model


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_an_infinite_or_nan_loss_stops_training_or_is_skipped(bad):
    def loss_fn(scores, y, **kwargs):
        return mg.cross_entropy(scores, y, **kwargs) + bad

    trainer, loader, _ = small(loss_fn=loss_fn)
    with pytest.raises(FloatingPointError, match="the loss is"):
        trainer.fit(loader, epochs=1)
    trainer, loader, model = small(loss_fn=loss_fn, skip_nonfinite=True)
    before = [p.numpy().copy() for p in model.parameters()]
    with pytest.raises(FloatingPointError, match="every batch had a non-finite loss"):
        trainer.train_one_epoch(loader, "epoch")
    assert trainer.skipped == len(loader)
    assert all(np.array_equal(a, p.numpy()) for a, p in zip(before, model.parameters()))  # no update


def test_early_stopping_stops_exactly_patience_epochs_after_the_best():
    trainer, loader, _ = small(lr=0.0)  # nothing learns: epoch 1 stays the best
    history = trainer.fit(loader, loader, epochs=10, patience=2)
    assert [r["epoch"] for r in history] == [1, 2, 3]


def test_the_trainer_clips_the_gradient_norm_it_was_given():
    trainer, loader, model = small(lr=1.0, clip_grad_norm=1e-3)
    before = [p.numpy().copy() for p in model.parameters()]
    x, y = next(iter(loader))
    trainer.fit(data.DataLoader((x.numpy(), y.numpy()), batch_size=8), epochs=1)
    step = np.sqrt(sum(((a - p.numpy()) ** 2).sum() for a, p in zip(before, model.parameters())))
    assert step == pytest.approx(1e-3, rel=1e-3)  # one SGD step of lr 1 on a gradient clipped to norm 1e-3


@pytest.mark.parametrize("factor", [1.01, 1.5, 3.0])
def test_clipping_scales_any_norm_above_the_maximum_down_to_it(factor):
    a = mg.tensor(np.zeros(4), requires_grad=True)
    a.grad = mg.tensor(np.full(4, factor / 2))  # norm = factor
    norm = nn.utils.clip_grad_norm_([a], max_norm=1.0)
    assert float(norm) == pytest.approx(factor)
    assert np.linalg.norm(a.grad.numpy()) == pytest.approx(1.0, rel=1e-5)


def test_create_graph_accumulates_into_grad_and_builds_a_graph_even_under_no_grad():
    x = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    (x ** 3).sum().backward(create_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), 2 * 3 * np.array([1.0, 4.0]))  # accumulated, not overwritten
    y = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (y ** 3).sum()
    with mg.no_grad():
        loss.backward(create_graph=True)
    assert y.grad.requires_grad  # PyTorch: create_graph builds the graph whatever the grad mode
    (g,) = mg.grad(y.grad.sum(), [y])
    np.testing.assert_allclose(g.numpy(), 6 * np.array([1.0, 2.0]))


def test_an_optimizer_restores_its_hyper_parameters():
    p = nn.Parameter(np.zeros(3, np.float32))
    opt = optim.Adam([p], lr=0.05, betas=(0.8, 0.9), weight_decay=0.01)
    restored = optim.Adam([nn.Parameter(np.zeros(3, np.float32))], lr=0.1)
    restored.load_state_dict(opt.state_dict())
    group = restored.param_groups[0]
    assert (group["lr"], tuple(group["betas"]), group["weight_decay"]) == (0.05, (0.8, 0.9), 0.01)


@needs_torch
def test_amsgrad_keeps_the_largest_second_moment():
    """Gradients that shrink after a large one: AMSGrad's steps stay small (its maximum holds
    the large one), plain Adam's grow; both exactly as PyTorch's."""
    grads = [10.0] + [0.1] * 8
    steps = {}
    for amsgrad in (True, False):
        ours_p, theirs_p = nn.Parameter(np.zeros(1)), torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        ours, theirs = optim.Adam([ours_p], lr=0.1, amsgrad=amsgrad), torch.optim.Adam([theirs_p], lr=0.1, amsgrad=amsgrad)
        for g in grads:
            ours_p.grad, theirs_p.grad = mg.tensor(np.array([g])), torch.tensor([g], dtype=torch.float64)
            ours.step()
            theirs.step()
        np.testing.assert_allclose(ours_p.numpy(), theirs_p.detach().numpy(), rtol=1e-10)
        steps[amsgrad] = float(ours_p.numpy()[0])
    assert steps[True] != pytest.approx(steps[False])


@needs_torch
@pytest.mark.parametrize("length, replicas", [(11, 3), (10, 4), (5, 2)])
def test_the_sampler_pads_from_the_start_of_the_list_as_pytorchs(length, replicas):
    for rank in range(replicas):
        ours = DistributedSampler(length, num_replicas=replicas, rank=rank, shuffle=False)
        theirs = torch.utils.data.DistributedSampler(range(length), num_replicas=replicas, rank=rank, shuffle=False)
        assert list(ours) == list(theirs)


def test_a_crash_while_replacing_a_checkpoint_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    checkpoint.save_atomically({"w": np.arange(3)}, path)

    def crash(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        checkpoint.save_atomically({"w": np.arange(5)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(checkpoint.load(path)["w"], np.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]  # no temporary left behind


@pytest.mark.parametrize("change", ["shape", "dtype"])
def test_the_hash_covers_each_arrays_dtype_and_shape(tmp_path, change):
    path = tmp_path / "ckpt.npz"
    checkpoint.save_atomically({"w": np.arange(6, dtype=np.int32)}, path)
    with np.load(path) as npz:
        members = {name: npz[name] for name in npz.files}
    a0 = members["a0"]
    members["a0"] = a0.reshape(2, 3) if change == "shape" else a0.view(np.float32)  # the same bytes
    with zipfile.ZipFile(path, "w") as z:
        for name, array in members.items():
            with z.open(name + ".npy", "w") as f:
                np.lib.format.write_array(f, array)
    with pytest.raises(CheckpointError, match="does not match its SHA-256"):
        checkpoint.load(path)


def test_a_failing_transform_in_the_prefetch_thread_reaches_the_loop():
    def transform(x, rng):
        if x[0, 0] >= 16:  # the third batch
            raise RuntimeError("bad image")
        return x

    loader = data.DataLoader((np.arange(24.0).reshape(12, 2), np.zeros(12)), batch_size=4, transform=transform,
                             prefetch=2)
    seen = []
    with pytest.raises(RuntimeError, match="bad image"):
        for x, _ in loader:
            seen.append(x)
    assert len(seen) == 2  # the epoch does not end early and quietly
