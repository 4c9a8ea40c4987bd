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


@needs_torch
def test_the_gec_reference_is_the_same_model_as_minigrads():
    # benchmarks/models.py times the two against each other: with minigrad's weights loaded
    # (strictly: the same names and shapes), the same batch gives the same loss and gradients.
    import sys

    import minigrad as mg

    script = load_reference("gec_torch")
    sys.path.insert(0, str(REFERENCE.parent))
    from gec.model import Corrector, batch_loss

    batch, vocab = script.made_up_batch(size=5, vocab_size=60, seed=1)
    assert (batch["src_ext"] >= len(vocab)).any() and (batch["tgt_ext"] >= len(vocab)).any()  # copies out of the vocabulary
    previous = mg.backend.get_default_dtype()
    mg.backend.set_default_dtype("float64")
    try:
        mg.manual_seed(0)
        ours = Corrector(len(vocab), embed_size=6, hidden_size=8, dropout=0.0)
    finally:
        mg.backend.set_default_dtype(previous)
    theirs = script.Corrector(len(vocab), embed_size=6, hidden_size=8, dropout=0.0).double()
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()}, strict=True)
    loss = batch_loss(ours, batch)
    loss.backward()
    torch_loss = script.batch_loss(theirs, script.to_torch(batch))
    torch_loss.backward()
    np.testing.assert_allclose(loss.item(), torch_loss.item(), rtol=1e-12)
    torch_grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), torch_grads[name].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
