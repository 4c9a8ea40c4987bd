"""The CIFAR-10 CNN example: exact model, a short real training whose loss falls, the CLI."""
import gzip
import json

import numpy as np

from fake_data import SHARED_DATA, cifar_arrays, cifar_records
from test_checkpoint import assert_same
from test_examples import load_example

cifar = load_example("cifar10_cnn")


def data_dir(tmp_path):
    """The real subset when ../shared/data is here, else generated files in its format."""
    if (SHARED_DATA / "cifar10-subset").is_dir():
        return SHARED_DATA
    folder = tmp_path / "data" / "cifar10-subset"
    folder.mkdir(parents=True)
    for name, n, seed in (("data_batch_1", 600, 0), ("test_batch", 200, 1)):
        images, labels = cifar_arrays(n, seed)
        images = (images // 4 + 20 * labels[:, None, None, None]).astype(np.uint8)  # learnable: class sets brightness
        (folder / f"{name}.bin.gz").write_bytes(gzip.compress(cifar_records(images, labels)))
    return tmp_path / "data"


def test_model_has_the_homeworks_49338_parameters():
    model = cifar.cifar_cnn()
    assert model.num_parameters() == 49338


def test_short_training_lowers_the_loss_and_the_cli_writes_its_outputs(tmp_path):
    out = tmp_path / "run"
    summary = cifar.main(["--epochs", "8", "--limit", "1000", "--batch-size", "32", "--lr", "0.01", "--no-augment",
                          "--data-dir", str(data_dir(tmp_path)), "--out", str(out), "--no-progress"])
    history = json.loads((out / "history.json").read_text())
    assert len(history) == 8
    # On 900 real training images: loss 2.29 -> 1.27-1.31 and 33-37% test accuracy, measured
    # in both kernel modes and with conv chunks of 1, 2 and 4 MB (chance: 10%, and a model that
    # does not learn stays at a loss of ln 10 = 2.30); the generated stand-in data is easier.
    # (A peak rate of 0.05 sat at the edge of divergence: 17-27% test accuracy, depending on
    # the float32 rounding of the chunks' sums.)
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"], history
    assert summary["test_accuracy"] >= 0.28, summary
    for name in ("curves.png", "confusion.png", "checkpoint.npz", "summary.json", "history.csv"):
        assert (out / name).exists(), name


def test_an_interrupted_run_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path, capsys, monkeypatch):
    import pytest

    from minigrad.train import checkpoint, loop

    args = ["--epochs", "2", "--limit", "200", "--batch-size", "50", "--data-dir", str(data_dir(tmp_path)), "--no-progress"]
    cifar.main(args + ["--out", str(tmp_path / "straight")])

    save = loop.Trainer.save

    def save_then_die(trainer):  # killed right after the first epoch's checkpoint was written
        save(trainer)
        raise KeyboardInterrupt("killed")

    with monkeypatch.context() as patch:
        patch.setattr(loop.Trainer, "save", save_then_die)
        with pytest.raises(KeyboardInterrupt):
            cifar.main(args + ["--out", str(tmp_path / "resumed")])
    cifar.main(args + ["--out", str(tmp_path / "resumed"), "--resume"])
    assert "resumed from" in capsys.readouterr().out
    straight = checkpoint.load(tmp_path / "straight" / "checkpoint.npz")
    resumed = checkpoint.load(tmp_path / "resumed" / "checkpoint.npz")
    for part in ("model", "optimizer", "best"):
        assert_same(straight[part], resumed[part])
    assert [h["train_loss"] for h in straight["history"]] == [h["train_loss"] for h in resumed["history"]]
    history = json.loads((tmp_path / "resumed" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]

    # resuming with another number of epochs would reshape the one-cycle schedule: refused
    with pytest.raises(ValueError, match="other settings .*total_steps"):
        cifar.main(args[:1] + ["3"] + args[2:] + ["--out", str(tmp_path / "resumed"), "--resume"])
