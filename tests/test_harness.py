"""The training harness and the engine's bookkeeping, where planted bugs once survived the
suite: evaluation mode, the best epoch, state dicts that are snapshots, the epoch loss as a
mean over samples, a scheduler's restored learning rate, leaves' gradients that share no
memory."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import data, nn, optim
from minigrad.nn.utils import clip_grad_norm_
from minigrad.train import Trainer, evaluate


def classification_data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    return x, y


def test_evaluate_runs_in_eval_mode_and_puts_the_mode_back():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 2))
    x, y = classification_data()
    loader = data.DataLoader((x, y), batch_size=16)
    model.train()
    result = evaluate(model, loader)
    assert model.training  # put back
    model.eval()
    with mg.no_grad():
        expected = float(mg.cross_entropy(model(mg.tensor(x)), y).item())
    assert result["loss"] == pytest.approx(expected, rel=1e-6)  # no dropout: eval mode was on
    assert evaluate(model, loader)["loss"] == result["loss"] and not model.training


def test_the_best_epoch_is_the_first_with_the_highest_validation_accuracy_and_its_weights_come_back():
    mg.manual_seed(0)
    x, y = classification_data(80)
    train, val = data.DataLoader((x[:60], y[:60]), batch_size=10, shuffle=True), data.DataLoader((x[60:], y[60:]), batch_size=20)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.5), progress=False)
    history = trainer.fit(train, val, epochs=8)
    accuracies = [h["val_accuracy"] for h in history]
    best = 1 + int(np.argmax(accuracies))
    assert trainer.best["epoch"] == best and trainer.best["val_accuracy"] == max(accuracies)
    assert trainer.load_best() == best
    assert evaluate(model, val)["accuracy"] == accuracies[best - 1]  # the weights of that epoch


def test_state_dict_is_a_snapshot_not_a_view_of_the_live_weights():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    state = model.state_dict()
    before = {k: v.copy() for k, v in state.items()}
    for p in model.parameters():
        p.data += 1
    model(mg.tensor(np.ones((4, 3), np.float32)))  # moves the running statistics
    for name, array in state.items():
        np.testing.assert_array_equal(array, before[name], err_msg=name)
    state["0.weight"][...] = 7
    assert not (model.state_dict()["0.weight"] == 7).any()


def test_the_epoch_loss_is_the_mean_over_samples_not_the_sum_of_batch_means():
    mg.manual_seed(0)
    x, y = classification_data(23)  # batches of 10, 10 and 3
    model = nn.Sequential(nn.Linear(4, 2))
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.0), progress=False)  # lr 0: the weights stay
    record = trainer.fit(data.DataLoader((x, y), batch_size=10), epochs=1)[0]
    with mg.no_grad():
        expected = float(mg.cross_entropy(model(mg.tensor(x)), y).item())
    assert record["train_loss"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("make", [
    lambda opt: optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5),
    lambda opt: optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10),
    lambda opt: optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=20),
])
def test_a_restored_optimizer_and_scheduler_go_on_with_the_same_rates(make):
    """As in PyTorch: the rate comes back with the optimizer's state, the position in the
    schedule with the scheduler's; from there both runs step alike."""
    def fresh():
        params = [nn.Parameter(np.zeros(2, np.float32))]
        opt = optim.SGD(params, lr=0.1, momentum=0.9)
        return opt, make(opt)

    opt, scheduler = fresh()
    for _ in range(5):
        scheduler.step()
    opt2, scheduler2 = fresh()
    opt2.load_state_dict(opt.state_dict())
    scheduler2.load_state_dict(scheduler.state_dict())
    for _ in range(4):
        assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] != 0.1
        assert opt2.param_groups[0]["momentum"] == opt.param_groups[0]["momentum"]
        scheduler.step()
        scheduler2.step()


def test_leaves_gradients_share_no_memory_so_clipping_scales_each_once():
    a = mg.tensor(np.array([3.0, 0.0]), requires_grad=True)
    b = mg.tensor(np.array([0.0, 4.0]), requires_grad=True)
    (a + b).sum().backward()  # Add's backward hands the same array to both inputs
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    norm = clip_grad_norm_([a, b], max_norm=1.0)
    assert float(norm) == pytest.approx(2.0)  # four gradients of 1
    np.testing.assert_allclose(a.grad.numpy(), [0.5, 0.5], rtol=1e-6)  # scaled once, by 1/2
    np.testing.assert_allclose(b.grad.numpy(), [0.5, 0.5], rtol=1e-6)
