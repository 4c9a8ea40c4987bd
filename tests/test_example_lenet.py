"""The LeNet-5 study: the course's model, a short real run of the fast recipe, the CLI."""
import json

import numpy as np
import pytest

import minigrad as mg
from fake_data import SHARED_DATA
from test_examples import load_example

lenet = load_example("lenet_mnist")
real = pytest.mark.skipif(not (SHARED_DATA / "mnist").is_dir(), reason="../shared/data is not present")


def test_lenet_has_the_courses_61706_parameters():
    assert lenet.lenet().num_parameters() == 61706
    assert type(lenet.lenet(softmax_output=True)[-1]).__name__ == "Softmax"


def test_softmax_pitfall_shrinks_the_gradient_reaching_the_logits():
    # d CE(softmax(z))/dz is the softmax Jacobian times (p - onehot): much smaller than p - onehot
    rng = np.random.default_rng(0)
    z = mg.tensor(rng.standard_normal((64, 10)), requires_grad=True)
    mg.cross_entropy(z, rng.integers(0, 10, 64)).backward()
    right = np.abs(z.grad.numpy()).mean()
    z.grad = None
    mg.cross_entropy(mg.softmax(z, axis=1), rng.integers(0, 10, 64)).backward()
    assert np.abs(z.grad.numpy()).mean() < 0.3 * right


@real
def test_short_run_of_the_fast_recipe_learns_real_mnist():
    splits = lenet.Splits(SHARED_DATA, 0)
    splits.subsets = {1.0: np.arange(5000)}
    result = lenet.run(splits, lenet.recipe(lenet.BEST), 1.0, epochs=1, seed=0)
    assert result["test_accuracy"] >= 0.93, result["test_accuracy"]  # 1 epoch on 5,000 images; chance is 0.10


@real
def test_cli_runs_q1_end_to_end(tmp_path):
    summary = lenet.main(["q1", "--data-dir", str(SHARED_DATA), "--epochs", "1", "--limit", "1000",
                          "--out", str(tmp_path), "--no-progress"])
    assert set(summary["q1"]) == {"course recipe", "fast recipe (Q2 combined)"}
    assert (tmp_path / "q1_loss.png").exists() and (tmp_path / "q1_accuracy.png").exists()
    cached = list((tmp_path / "runs").glob("*.json"))
    assert len(cached) == 4 and "history" in json.loads(cached[0].read_text())


@pytest.fixture
def restore_the_kernel_choice():
    from minigrad.tensor import install_kernel_choice, kernel_choice

    previous = kernel_choice()
    yield
    install_kernel_choice(previous)


@real
def test_the_students_conv_and_batch_norm_train_lenet(restore_the_kernel_choice):
    # the worked solutions stand for a student's files: graded, swapped in, then LeNet-5 learns
    from exercises.swap import use_student_ops

    use_student_ops(["conv2d", "batch_norm"], solution=True, report=lambda line: None)
    x = mg.tensor(np.zeros((2, 1, 28, 28), np.float32), requires_grad=True)
    ran = lenet.lenet(batch_norm=True)(x).sum()
    ops = set()
    stack = [ran._ctx]
    while stack:
        fn = stack.pop()
        ops.add(type(fn).__name__)
        stack += [p for p in fn.parents if isinstance(p, mg.Function)]
    assert {"StudentConv2d", "StudentBatchNorm"} <= ops, ops
    splits = lenet.Splits(SHARED_DATA, 0)
    splits.subsets = {1.0: np.arange(3000)}
    result = lenet.run(splits, lenet.recipe(lenet.BEST), 1.0, epochs=1, seed=0)
    assert result["test_accuracy"] >= 0.9, result["test_accuracy"]


def test_a_wrong_student_op_is_refused_before_training(tmp_path, monkeypatch, capsys, restore_the_kernel_choice):
    from exercises import grade
    from test_exercises import MISTAKES

    _, wrong, _ = MISTAKES["conv weight axes"]
    monkeypatch.setattr(grade, "load", lambda name, solution=False: wrong)
    trained = []
    monkeypatch.setattr(lenet, "Study", lambda args: trained.append(args))
    assert lenet.main(["q1", "--student", "conv2d", "--out", str(tmp_path), "--no-progress"]) == 2
    assert not trained
    assert "error: your op is not ready to train a model: conv2d" in capsys.readouterr().err
