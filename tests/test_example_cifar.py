"""The CIFAR-10 CNN example: exact model, a short real training whose loss falls, the CLI."""
import gzip
import json

import numpy as np

from fake_data import SHARED_DATA, cifar_arrays, cifar_records
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
    summary = cifar.main(["--epochs", "5", "--limit", "1000", "--batch-size", "32", "--lr", "0.05", "--no-augment",
                          "--data-dir", str(data_dir(tmp_path)), "--out", str(out), "--no-progress"])
    history = json.loads((out / "history.json").read_text())
    assert len(history) == 5
    assert history[-1]["train_loss"] < 0.95 * history[0]["train_loss"], history  # falls by more than 5%
    assert 0 <= summary["test_accuracy"] <= 1
    for name in ("curves.png", "confusion.png", "checkpoint.pkl", "summary.json", "history.csv"):
        assert (out / name).exists(), name


def test_resume_continues_from_the_checkpoint(tmp_path, capsys):
    args = ["--limit", "200", "--batch-size", "50", "--data-dir", str(data_dir(tmp_path)),
            "--out", str(tmp_path / "run"), "--no-progress"]
    cifar.main(args + ["--epochs", "1"])
    cifar.main(args + ["--epochs", "2", "--resume"])
    assert "resumed from" in capsys.readouterr().out
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
