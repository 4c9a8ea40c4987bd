"""Bad input and faults get a clear answer, never a silent wrong one: labels out of range,
empty batches, bad DataLoader arguments, NaN data and exploding learning rates in the Trainer,
NaN through pooling, kernels handed shapes that do not fit, checkpoints of another model.
(Damaged, malicious and half-written checkpoint files: test_checkpoint.py.)"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import data, nn, optim
from minigrad.train import Trainer
from minigrad.train.checkpoint import CheckpointError
from op_recipes import torch

MODES = pytest.mark.parametrize("kernels", ["reference", "fast"])


@pytest.mark.parametrize("loss", [mg.cross_entropy, lambda x, t, **k: mg.nll_loss(mg.log_softmax(x, 1), t, **k)])
def test_a_label_outside_the_classes_is_refused(loss):
    x = mg.tensor(np.zeros((3, 4)))
    for bad in (-1, 4, 5):
        with pytest.raises(ValueError, match=f"target {bad} is out of range for 4 classes"):
            loss(x, np.array([0, bad, 1]))
    assert float(loss(x, np.array([0, -100, 1])).item()) == pytest.approx(np.log(4))  # ignore_index is allowed
    assert float(loss(x, np.array([0, -1, 1]), ignore_index=-1).item()) == pytest.approx(np.log(4))


@MODES
def test_an_empty_batch_is_refused(kernels):
    with mg.use_kernels(kernels):
        with pytest.raises(ValueError, match="cross_entropy: empty batch"):
            mg.cross_entropy(mg.tensor(np.zeros((0, 3))), np.zeros(0, dtype=np.int64))
        with pytest.raises(ValueError, match="conv2d: empty batch"):
            mg.conv2d(mg.tensor(np.zeros((0, 1, 5, 5))), mg.tensor(np.zeros((2, 1, 3, 3))))
        with pytest.raises(ValueError, match="max_pool2d: empty batch"):
            mg.max_pool2d(mg.tensor(np.zeros((0, 1, 4, 4))), 2)


@pytest.mark.parametrize("arguments, message", [
    (dict(batch_size=0), "batch_size must be a positive integer, got 0"),
    (dict(batch_size=-2), "batch_size must be a positive integer"),
    (dict(batch_size=2.5), "batch_size must be a positive integer"),
    (dict(prefetch=-1), "prefetch must be a non-negative integer"),
    (dict(transform="flip"), "transform must be callable"),
])
def test_dataloader_arguments_are_checked(arguments, message):
    arrays = (np.zeros((10, 2)), np.zeros(10, dtype=np.int64))
    with pytest.raises((ValueError, TypeError), match=message):
        data.DataLoader(arrays, **arguments)
    with pytest.raises(ValueError, match="no arrays"):
        data.DataLoader(())


def small_run(x, lr=0.1, **trainer_args):
    mg.manual_seed(0)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=lr), progress=False, **trainer_args)
    return trainer, data.DataLoader((x, y), batch_size=8)


def test_the_trainer_stops_on_nan_data_naming_the_epoch_and_step():
    x = np.random.default_rng(0).standard_normal((32, 2)).astype(np.float32)
    x[19, 1] = np.nan  # in the third batch of 8
    trainer, loader = small_run(x)
    weights = [p.data.copy() for p in trainer.model.parameters()]
    with pytest.raises(FloatingPointError, match=r"epoch 1, step 3: the loss is nan.*skip_nonfinite"):
        trainer.fit(loader, epochs=1)
    # the two good batches were used, the bad one changed nothing: the weights are finite
    assert all(np.isfinite(p.data).all() for p in trainer.model.parameters())
    assert any((p.data != w).any() for p, w in zip(trainer.model.parameters(), weights))


def test_the_trainer_can_skip_nonfinite_batches_instead():
    x = np.random.default_rng(0).standard_normal((32, 2)).astype(np.float32)
    x[19, 1] = np.inf
    trainer, loader = small_run(x, skip_nonfinite=True)
    history = trainer.fit(loader, epochs=2)
    assert trainer.skipped == 2 and np.isfinite(history[-1]["train_loss"])
    assert all(np.isfinite(p.data).all() for p in trainer.model.parameters())


def test_an_exploding_learning_rate_stops_training_before_the_weights_are_nan():
    x = np.random.default_rng(0).standard_normal((64, 2)).astype(np.float32) * 100
    trainer, loader = small_run(x, lr=1e30)
    with pytest.raises(FloatingPointError, match="the loss is (nan|inf)"), np.errstate(all="ignore"):
        trainer.fit(loader, epochs=5)


@MODES
@pytest.mark.parametrize("pool", ["max", "avg"])
def test_nan_propagates_through_pooling_as_in_pytorch(kernels, pool):
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32)
    x[0, 1, 2, 3] = np.nan
    x[1, 2, 0, 0] = np.nan
    run = (lambda t: mg.max_pool2d(t, 3, 2, 1)) if pool == "max" else (lambda t: mg.avg_pool2d(t, 3, 2, 1))
    with mg.use_kernels(kernels):
        y = run(mg.tensor(x)).numpy()
    windows_with_nan = {(0, 1, 1, 1), (0, 1, 1, 2), (1, 2, 0, 0)}  # row 2 is in window row 1 only, column 3 in 1 and 2
    assert {tuple(i) for i in np.argwhere(np.isnan(y))} == windows_with_nan
    if torch is not None:
        functional = torch.nn.functional.max_pool2d if pool == "max" else torch.nn.functional.avg_pool2d
        expected = functional(torch.tensor(x), 3, 2, 1).numpy()
        np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)  # NaN where PyTorch has NaN


def test_the_kernels_refuse_shapes_that_would_take_them_outside_their_arrays():
    pytest.importorskip("numba")
    from minigrad.fast import conv_direct, im2col_numba, pooling

    x = np.zeros((2, 3, 5, 5), dtype=np.float32)
    geometry = ((3, 3), (1, 1), (0, 0), (1, 1))
    with pytest.raises(ValueError, match=r"im2col: the column matrix has shape \(10, 27\), expected \(18, 27\)"):
        im2col_numba.im2col(x, *geometry, out=np.empty((10, 27), np.float32))
    with pytest.raises(ValueError, match="col2im: the column matrix has shape"):
        im2col_numba.col2im(np.zeros((10, 27), np.float32), x.shape, *geometry)
    with pytest.raises(ValueError, match="max_pool2d: 4x4 windows of .* do not fit an input of 5x5"):
        pooling.max_pool_forward(x, (2, 2), (2, 2), (0, 0), (2, 3, 4, 4))  # a wrong output-size formula
    with pytest.raises(ValueError, match="avg_pool2d: 3x2 windows"):
        pooling.avg_pool_forward(x, (2, 2), (2, 2), (0, 0), (2, 3, 3, 2))
    with pytest.raises(ValueError, match="max_pool2d backward: gradient shape"):
        pooling.max_pool_backward(np.zeros((2, 3, 3, 3), np.float32), np.zeros((2, 3, 2, 2), np.int32), x.shape)
    w = np.zeros((4, 3, 3, 3), dtype=np.float32)
    _, xpad = conv_direct.conv_forward(x, w, None, (1, 1))
    with pytest.raises(ValueError, match=r"conv2d \(direct\) backward: gradient shape"):
        conv_direct.conv_input_grad(np.zeros((2, 4, 6, 6), np.float32), w, x.shape, (1, 1))
    with pytest.raises(ValueError, match=r"conv2d \(direct\) backward: gradient shape"):
        conv_direct.conv_weight_grad(xpad, np.zeros((2, 4, 6, 6), np.float32), w.shape)


def test_resuming_a_checkpoint_of_another_model_names_the_file_and_the_keys(tmp_path):
    x = np.random.default_rng(0).standard_normal((16, 2)).astype(np.float32)
    trainer, loader = small_run(x, checkpoint_path=tmp_path / "ckpt.npz")
    trainer.fit(loader, epochs=1)
    mg.manual_seed(0)
    other = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))
    trainer = Trainer(other, optim.SGD(other.parameters(), lr=0.1), checkpoint_path=tmp_path / "ckpt.npz", progress=False)
    with pytest.raises(ValueError, match=r"ckpt.npz: the checkpoint does not fit this model .*2.weight has shape"):
        trainer.fit(loader, epochs=2, resume=True)
    (tmp_path / "ckpt.npz").write_bytes((tmp_path / "ckpt.npz").read_bytes()[:100])
    with pytest.raises(CheckpointError, match="ckpt.npz: truncated or corrupt"):
        trainer.fit(loader, epochs=2, resume=True)
