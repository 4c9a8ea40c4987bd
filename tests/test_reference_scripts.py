"""The PyTorch reference scripts (examples/reference/) run: they read minigrad's loaders,
whose batches are tensors, and train a step or two. Without this they would break silently
between the studies that use them."""
import importlib.util
import pathlib
import types

import numpy as np
import pytest

from op_recipes import torch
from test_example_cifar import data_dir

needs_torch = pytest.mark.skipif(torch is None, reason="the reference scripts are PyTorch")
REFERENCE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "reference"


def load_reference(name):
    spec = importlib.util.spec_from_file_location(name, REFERENCE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_torch
def test_the_cifar_reference_trains_and_reports(tmp_path):
    script = load_reference("cifar10_cnn_torch")
    script.main(["--data-dir", str(data_dir(tmp_path)), "--epochs", "1", "--limit", "256", "--batch-size", "64",
                 "--out", str(tmp_path / "run"), "--no-progress"])
    assert (tmp_path / "run").is_dir() and any((tmp_path / "run").iterdir())


@needs_torch
def test_the_lenet_reference_trains_a_recipe():
    script = load_reference("lenet_mnist_torch")
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (256, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 256)
    splits = types.SimpleNamespace(x=x, y=y, x_test=x[:64], y_test=y[:64])
    accuracy, seconds = script.run(splits, script.study.recipe(script.study.BEST), 1, 0)
    assert 0.0 <= accuracy <= 1.0 and seconds > 0
