"""The training harness: accuracy, checkpoint/resume equivalence, learning on real data."""
import json

import numpy as np
import pytest

import minigrad as mg
from fake_data import SHARED_DATA
from minigrad import data, nn, optim
from minigrad.data import transforms as T
from minigrad.train import Trainer, accuracy, evaluate, plot_confusion_matrix, plot_history, confusion_matrix


def test_accuracy_is_per_row_argmax_over_the_whole_set():
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    labels = np.array([1, 1, 1, 0])
    # rows 0, 2, 3 are right; the seed's bug (argmax over the flattened batch) would give 0
    assert accuracy(scores, labels) == 0.75
    with pytest.raises(ValueError, match=r"\(4, 2\) and \(3,\)"):
        accuracy(scores, labels[:3])


def test_evaluate_weights_every_sample_equally_across_uneven_batches():
    mg.manual_seed(0)
    model = nn.Linear(3, 2)
    x = np.random.default_rng(0).standard_normal((7, 3)).astype(np.float32)
    y = np.array([0, 1, 1, 0, 1, 0, 0])
    whole = evaluate(model, data.DataLoader((x, y), batch_size=7))
    pieces = evaluate(model, data.DataLoader((x, y), batch_size=3))
    assert pieces["loss"] == pytest.approx(whole["loss"], rel=1e-6)
    assert pieces["accuracy"] == whole["accuracy"] == accuracy(model(mg.tensor(x)), y)


def make_run(tmp_path, seed=0):
    mg.manual_seed(seed)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 6, 6)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0).astype(np.int64)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Dropout(0.3), nn.Linear(64, 2))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    loader = data.DataLoader((x, y), batch_size=16, shuffle=True, seed=seed, transform=T.RandomHorizontalFlip())
    trainer = Trainer(model, opt, scheduler=sched, checkpoint_path=tmp_path / "ckpt.npz", out_dir=tmp_path, progress=False)
    return trainer, loader


def test_interrupted_and_resumed_run_ends_with_the_same_weights(tmp_path):
    straight, loader = make_run(tmp_path / "a")
    straight.fit(loader, loader, epochs=4)

    first, loader = make_run(tmp_path / "b")
    first.fit(loader, loader, epochs=2)  # "interrupted" after epoch 2
    mg.manual_seed(123)  # a new process would start with other random state
    resumed, loader = make_run(tmp_path / "b", seed=0)
    resumed.fit(loader, loader, epochs=4, resume=True)

    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert [h["train_loss"] for h in straight.history] == [h["train_loss"] for h in resumed.history]
    saved = json.loads((tmp_path / "b" / "history.json").read_text())
    assert [h["epoch"] for h in saved] == [1, 2, 3, 4]


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    trainer, loader = make_run(tmp_path)
    trainer.fit(loader, epochs=1)
    before = (tmp_path / "ckpt.npz").read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr("numpy.savez", crash)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(loader, epochs=2, resume=True)
    assert (tmp_path / "ckpt.npz").read_bytes() == before  # the old checkpoint is intact
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_plots_are_written_as_png(tmp_path):
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "train_accuracy": 0.5 + e / 20,
                "val_accuracy": 0.45 + e / 20} for e in range(1, 6)]
    plot_history(history, tmp_path / "curves.png")
    counts = confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2], 3)
    assert counts.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    plot_confusion_matrix(counts, ["a", "b", "c"], tmp_path / "cm.png")
    for name in ("curves.png", "cm.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(not (SHARED_DATA / "mnist").is_dir(), reason="../shared/data is not present")
def test_one_epoch_on_2000_real_mnist_images_learns(tmp_path):
    mnist = data.MNIST(SHARED_DATA, download=False)
    test = data.MNIST(SHARED_DATA, train=False, download=False)
    prepare = T.Compose([T.ToFloat(), T.mnist_normalization()])
    x = prepare(mnist.images[:2000, None], None)
    x_test = prepare(test.images[:1000, None], None)
    mg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 14 * 14, 10))
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=2e-3), progress=False)
    trainer.fit(data.DataLoader((x, mnist.labels[:2000]), batch_size=16, shuffle=True), epochs=1)
    result = evaluate(model, data.DataLoader((x_test, test.labels[:1000]), batch_size=500))
    assert result["accuracy"] >= 0.85, result  # chance is 0.10
