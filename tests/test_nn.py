"""Module mechanics, initialisers and state dicts."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from op_recipes import torch


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5))
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.body(x))


def test_parameters_are_found_through_children_in_order():
    model = TwoLayer()
    names = [n for n, _ in model.named_parameters()]
    assert names == ["body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias", "head.weight", "head.bias"]
    assert model.num_parameters() == 4 * 8 + 8 + 8 + 8 + 8 * 3 + 3
    assert [n for n, _ in model.named_buffers()] == ["body.1.running_mean", "body.1.running_var"]


def test_train_and_eval_reach_every_submodule():
    model = TwoLayer().eval()
    assert all(not m.training for m in model.modules())
    x = mg.ones(5, 4)
    np.testing.assert_array_equal(model(x).numpy(), model(x).numpy())  # no dropout noise in eval


def test_state_dict_round_trip_and_shape_check():
    mg.manual_seed(0)
    a = TwoLayer()
    a.train()
    a(mg.tensor(np.random.default_rng(0).standard_normal((6, 4)), dtype=np.float32))  # move running stats
    mg.manual_seed(1)
    b = TwoLayer()
    assert b.load_state_dict(a.state_dict()) == ([], [])
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(x, y, err_msg=name)
    bad = a.state_dict()
    bad["head.weight"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"head.weight has shape \(2, 2\) in the state but \(3, 8\)"):
        b.load_state_dict(bad)
    del bad["head.weight"]
    with pytest.raises(KeyError, match="head.weight"):
        b.load_state_dict(bad)


def test_manual_seed_makes_initialisation_reproducible():
    mg.manual_seed(42)
    first = nn.Linear(10, 10).weight.numpy().copy()
    mg.manual_seed(42)
    np.testing.assert_array_equal(nn.Linear(10, 10).weight.numpy(), first)


@pytest.mark.parametrize(
    "initialiser, expected_std",
    [
        (nn.init.kaiming_normal_, np.sqrt(2 / 400)),
        (nn.init.kaiming_uniform_, np.sqrt(2 / 400)),
        (nn.init.xavier_uniform_, np.sqrt(2 / (400 + 300))),
        (nn.init.xavier_normal_, np.sqrt(2 / (400 + 300))),
    ],
)
def test_initialisers_have_the_variance_their_formula_states(initialiser, expected_std):
    w = nn.Parameter(np.zeros((300, 400), dtype=np.float32))
    initialiser(w)
    assert w.numpy().std() == pytest.approx(expected_std, rel=0.02)
    assert abs(w.numpy().mean()) < 0.05 * expected_std * 10


def test_default_linear_init_matches_pytorch_bound():
    layer = nn.Linear(50, 20)
    bound = 1 / np.sqrt(50)
    assert np.abs(layer.weight.numpy()).max() <= bound and np.abs(layer.weight.numpy()).max() > 0.9 * bound


def test_module_without_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(2))

    with pytest.raises(AttributeError, match="super"):
        Broken()


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
def test_cnn_forward_and_backward_match_torch_with_copied_weights():
    mg.manual_seed(0)
    ours = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 5))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                 torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(64, 5))
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()}, strict=False)
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    target = np.array([1, 3])
    loss = mg.cross_entropy(ours(mg.tensor(x)), target)
    ref = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(target))
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    loss.backward()
    ref.backward()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)
