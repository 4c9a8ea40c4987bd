"""Recurrent cells: finite differences, PyTorch agreement, 200-step BPTT, truncation."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from minigrad import nn
from op_recipes import torch

CELLS = {
    "rnn": (nn.RNNCell, "RNNCell"),
    "lstm": (nn.LSTMCell, "LSTMCell"),
    "gru": (nn.GRUCell, "GRUCell"),
}


def step_fn(kind):
    """The cell step as a function of tensors returning one tensor (for gradcheck)."""
    if kind == "lstm":
        return lambda x, h, c, *w: mg.concatenate(mg.ops.lstm_cell(x, h, c, *w), axis=1)
    return mg.ops.rnn_cell if kind == "rnn" else mg.ops.gru_cell


def random_inputs(kind, n, i, h, rng, dtype=np.float64):
    cell = CELLS[kind][0](i, h)
    weights = [rng.standard_normal(w.shape) * 0.7 for w in cell.weights()]
    states = [rng.standard_normal((n, h))] * (2 if kind == "lstm" else 1)
    states = [rng.standard_normal((n, h)) for _ in states]
    return [rng.standard_normal((n, i))] + states + weights


@pytest.mark.parametrize("kind", CELLS)
@given(n=st.integers(1, 3), i=st.integers(1, 4), h=st.integers(1, 4), seed=st.integers(0, 2**31))
def test_cell_backward_matches_finite_differences(kind, n, i, h, seed):
    arrays = random_inputs(kind, n, i, h, np.random.default_rng(seed))
    assert mg.gradcheck(step_fn(kind), *[mg.tensor(a, requires_grad=True) for a in arrays])


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cell_matches_torch_forward_and_backward(kind, dtype):
    rng = np.random.default_rng(1)
    cls, torch_name = CELLS[kind]
    ours = cls(5, 7)
    theirs = getattr(torch.nn, torch_name)(5, 7).to(torch.float64 if dtype == np.float64 else torch.float32)
    for p, (name, q) in zip(ours.parameters(), theirs.named_parameters()):
        p.data = q.detach().numpy().copy()
    x, h, c = (rng.standard_normal(s).astype(dtype) for s in [(3, 5), (3, 7), (3, 7)])
    xs, hs, cs = (mg.tensor(a, requires_grad=True) for a in (x, h, c))
    xt, ht, ct = (torch.tensor(a, requires_grad=True) for a in (x, h, c))
    if kind == "lstm":
        out, ref = mg.concatenate(ours(xs, (hs, cs)), 1), torch.cat(theirs(xt, (ht, ct)), 1)
    else:
        out, ref = ours(xs, hs), theirs(xt, ht)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), **tol)
    upstream = rng.standard_normal(out.shape).astype(dtype)
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    pairs = [(xs, xt), (hs, ht)] + ([(cs, ct)] if kind == "lstm" else [])
    pairs += list(zip(ours.parameters(), theirs.parameters()))
    for mine, reference in pairs:
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), **tol)


@pytest.mark.parametrize("kind", CELLS)
def test_200_step_unrolled_sequence_loss_passes_gradcheck(kind):
    rng = np.random.default_rng(2)
    steps, n, i, h = 200, 1, 2, 3
    xs = rng.standard_normal((steps, n, i))
    arrays = random_inputs(kind, n, i, h, rng)
    h0 = arrays[1:3] if kind == "lstm" else arrays[1:2]
    weights = [w * 0.5 for w in arrays[len(h0) + 1:]]  # keep the 200-step dynamics tame
    step = {"rnn": mg.ops.rnn_cell, "gru": mg.ops.gru_cell, "lstm": mg.ops.lstm_cell}[kind]

    def sequence_loss(*tensors):
        state, params = list(tensors[:len(h0)]), tensors[len(h0):]
        total = None
        for t in range(steps):
            out = step(mg.tensor(xs[t]), *state, *params)
            state = list(out) if kind == "lstm" else [out]
            term = (state[0] * state[0]).sum()
            total = term if total is None else total + term
        return total

    inputs = [mg.tensor(a, requires_grad=True) for a in h0 + weights]
    assert mg.gradcheck(sequence_loss, *inputs, atol=1e-6, rtol=1e-4)


def test_truncated_bptt_stops_gradient_at_the_detach():
    mg.manual_seed(0)
    cell = nn.RNNCell(2, 3)
    xs = [mg.tensor(np.ones((1, 2)), dtype=np.float32, requires_grad=True) for _ in range(6)]
    h = None
    for t, x in enumerate(xs):
        if t == 3:
            h = nn.detach_state(h)  # truncate: steps 0-2 are cut from the loss of steps 3-5
        h = cell(x, h)
    h.sum().backward()
    assert all(x.grad is None for x in xs[:3])
    assert all(np.abs(x.grad.numpy()).sum() > 0 for x in xs[3:])


def test_cell_shape_errors_name_the_op():
    cell = nn.GRUCell(4, 3)
    with pytest.raises(ValueError, match=r"gru_cell: input shape \(2, 5\) does not match weight_ih shape \(9, 4\)"):
        cell(mg.ones(2, 5))
