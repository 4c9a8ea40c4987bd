"""nn.RNN, nn.LSTM and nn.GRU against PyTorch in float64: PyTorch's layout (time first or
batch_first, unbatched), num_layers, bidirectional, given initial states, packed and padded
uneven batches; the state_dict moves between the two frameworks by its own key names."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence
from op_recipes import torch

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is the reference here")
KINDS = ["RNN", "LSTM", "GRU"]


def float64_layer(kind, *args, **kwargs):
    mg.set_default_dtype(np.float64)
    try:
        return getattr(nn, kind)(*args, **kwargs)
    finally:
        mg.set_default_dtype(np.float32)


def pair(kind, *args, **kwargs):
    """The same layer in both frameworks, with PyTorch's weights loaded into minigrad's by key."""
    theirs = getattr(torch.nn, kind)(*args, **kwargs).double()
    ours = float64_layer(kind, *args, **kwargs)
    ours.load_state_dict(theirs.state_dict())  # strict: every key name must match
    return ours, theirs


def states(kind, out):
    return list(out[1]) if kind == "LSTM" else [out[1]]


def compare(kind, ours, theirs, x, hx=None, weights_seed=0):
    """Forward values, then the gradients of a random weighting of output and final states
    with respect to the input, the initial states and every parameter."""
    rng = np.random.default_rng(weights_seed)
    xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    hm = ht = None
    if hx is not None:
        hm = [mg.tensor(h, requires_grad=True) for h in hx]
        ht = [torch.tensor(h, requires_grad=True) for h in hx]
    out_m = ours(xm, None if hm is None else (tuple(hm) if kind == "LSTM" else hm[0]))
    out_t = theirs(xt, None if ht is None else (tuple(ht) if kind == "LSTM" else ht[0]))
    loss_m, loss_t = 0, 0
    for a, b in zip([out_m[0]] + states(kind, out_m), [out_t[0]] + states(kind, out_t)):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), atol=1e-12)
        w = rng.standard_normal(a.shape)
        loss_m, loss_t = loss_m + (a * w).sum(), loss_t + (b * torch.tensor(w)).sum()
    loss_m.backward()
    loss_t.backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), atol=1e-10)
    for a, b in zip(hm or [], ht or []):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-10)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(), atol=1e-10, err_msg=name)


@needs_torch
@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**16), layers=st.integers(1, 2), bidirectional=st.booleans(),
       batch_first=st.booleans(), with_state=st.booleans())
def test_matches_torch_in_its_layout(kind, seed, layers, bidirectional, batch_first, with_state):
    rng = np.random.default_rng(seed)
    t, b, f, h = rng.integers(1, 5), rng.integers(1, 4), 3, 4
    ours, theirs = pair(kind, f, h, num_layers=layers, batch_first=batch_first, bidirectional=bidirectional)
    x = rng.standard_normal((b, t, f) if batch_first else (t, b, f))
    d = 2 if bidirectional else 1
    hx = [rng.standard_normal((layers * d, b, h)) for _ in range(2 if kind == "LSTM" else 1)] if with_state else None
    compare(kind, ours, theirs, x, hx)


@needs_torch
@pytest.mark.parametrize("kind", KINDS)
def test_default_layout_is_time_first_and_unbatched_input_works(kind):
    """(T, B, F) without batch_first reads dim 0 as time; a (T, F) input is one sequence."""
    rng = np.random.default_rng(1)
    ours, theirs = pair(kind, 4, 8)
    compare(kind, ours, theirs, rng.standard_normal((5, 3, 4)))
    ours, theirs = pair(kind, 4, 8, num_layers=2, bidirectional=True)
    compare(kind, ours, theirs, rng.standard_normal((5, 4)))


@needs_torch
def test_relu_rnn_and_no_bias_match_torch():
    rng = np.random.default_rng(2)
    ours, theirs = pair("RNN", 3, 5, 2, "relu")  # nonlinearity is PyTorch's fourth positional argument
    assert ours.nonlinearity == "relu" and ours.bias is True
    compare("RNN", ours, theirs, rng.standard_normal((4, 2, 3)))
    ours, theirs = pair("GRU", 3, 5, bias=False)
    assert not any("bias" in name for name in ours.state_dict())
    compare("GRU", ours, theirs, rng.standard_normal((4, 2, 3)))


@needs_torch
def test_state_dict_keys_and_order_are_torchs():
    for kind in KINDS:
        ours = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True)
        theirs = getattr(torch.nn, kind)(3, 4, num_layers=2, bidirectional=True)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert [v.shape for v in ours.state_dict().values()] == [tuple(v.shape) for v in theirs.state_dict().values()]
        theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})  # and back


@needs_torch
def test_dropout_between_layers_only_in_training():
    rng = np.random.default_rng(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours, theirs = pair("LSTM", 3, 4, num_layers=3, dropout=0.5)
    ours.eval()
    theirs.eval()
    compare("LSTM", ours, theirs, rng.standard_normal((4, 2, 3)))  # eval: no dropout, as PyTorch
    ours.train()
    x = mg.tensor(rng.standard_normal((4, 2, 3)))
    first, second = ours(x)[0].numpy(), ours(x)[0].numpy()
    assert not np.allclose(first, second)  # training: a fresh mask each call
    with pytest.warns(UserWarning, match="num_layers=1"):
        nn.GRU(3, 4, dropout=0.3)


@needs_torch
@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**16), bidirectional=st.booleans(), batch_first=st.booleans())
def test_packed_uneven_batch_matches_torch(kind, seed, bidirectional, batch_first):
    """A PackedSequence in, a PackedSequence out (same data layout as PyTorch's), and final
    states after each sequence's own last element; gradients through pack and unpack."""
    rng = np.random.default_rng(seed)
    b, t, f, h = rng.integers(1, 4), rng.integers(1, 5), 3, 4
    lengths = rng.integers(1, t + 1, b)
    lengths[rng.integers(b)] = t
    ours, theirs = pair(kind, f, h, num_layers=2, bidirectional=bidirectional, batch_first=batch_first)
    x = rng.standard_normal((b, t, f) if batch_first else (t, b, f))
    xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    packed_m = pack_padded_sequence(xm, lengths, batch_first=batch_first, enforce_sorted=False)
    packed_t = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=batch_first,
                                                       enforce_sorted=False)
    np.testing.assert_array_equal(packed_m.batch_sizes, packed_t.batch_sizes.numpy())
    np.testing.assert_allclose(packed_m.data.numpy(), packed_t.data.detach().numpy())
    out_m, out_t = ours(packed_m), theirs(packed_t)
    np.testing.assert_allclose(out_m[0].data.numpy(), out_t[0].data.detach().numpy(), atol=1e-12)
    padded_m, lengths_m = pad_packed_sequence(out_m[0], batch_first=batch_first, total_length=t)
    padded_t, lengths_t = torch.nn.utils.rnn.pad_packed_sequence(out_t[0], batch_first=batch_first, total_length=t)
    np.testing.assert_array_equal(lengths_m.numpy(), lengths_t.numpy())
    np.testing.assert_allclose(padded_m.numpy(), padded_t.detach().numpy(), atol=1e-12)
    loss_m, loss_t = 0, 0
    for a, c in zip([padded_m] + states(kind, out_m), [padded_t] + states(kind, out_t)):
        np.testing.assert_allclose(a.numpy(), c.detach().numpy(), atol=1e-12)
        w = rng.standard_normal(a.shape)
        loss_m, loss_t = loss_m + (a * w).sum(), loss_t + (c * torch.tensor(w)).sum()
    loss_m.backward()
    loss_t.backward()
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), atol=1e-10)


@needs_torch
@pytest.mark.parametrize("kind", KINDS)
def test_lengths_keyword_equals_packing(kind):
    """Padded input with lengths= gives what packing gives, zeros at the padded steps."""
    rng = np.random.default_rng(4)
    ours, theirs = pair(kind, 3, 4, bidirectional=True, batch_first=True)
    x, lengths = rng.standard_normal((3, 5, 3)), np.array([2, 5, 1])
    out, final = ours(mg.tensor(x), lengths=lengths)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), torch.tensor(lengths), batch_first=True,
                                                     enforce_sorted=False)
    out_t, final_t = theirs(packed)
    out_t, _ = torch.nn.utils.rnn.pad_packed_sequence(out_t, batch_first=True, total_length=5)
    np.testing.assert_allclose(out.numpy(), out_t.detach().numpy(), atol=1e-12)
    for a, c in zip(final if kind == "LSTM" else [final], final_t if kind == "LSTM" else [final_t]):
        np.testing.assert_allclose(a.numpy(), c.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**16), batch=st.integers(1, 3), steps=st.integers(1, 4), layers=st.integers(1, 2),
       bidirectional=st.booleans())
def test_gradcheck_over_shapes_layers_directions_and_padding(kind, seed, batch, steps, layers, bidirectional):
    """Finite differences (float64) through the whole layer: inputs, initial state, every weight."""
    rng = np.random.default_rng(seed)
    layer = float64_layer(kind, 2, 3, num_layers=layers, bidirectional=bidirectional, batch_first=True)
    lengths = rng.integers(1, steps + 1, batch)
    x = mg.tensor(rng.standard_normal((batch, steps, 2)), requires_grad=True)
    h0 = mg.tensor(rng.standard_normal((layers * (2 if bidirectional else 1), batch, 3)), requires_grad=True)
    state = (lambda h: (h, h * 0.5)) if kind == "LSTM" else (lambda h: h)
    assert mg.gradcheck(lambda x, h, *p: layer(x, state(h), lengths=lengths)[0], x, h0, *layer.parameters())


def test_padding_does_not_change_a_sequence_result():
    """A sequence's outputs and final state do not depend on how much padding follows it."""
    rng = np.random.default_rng(0)
    lstm = nn.LSTM(2, 3, bidirectional=True, batch_first=True)
    x = rng.standard_normal((1, 3, 2)).astype(np.float32)
    alone, (h_alone, _) = lstm(mg.tensor(x), lengths=[3])
    padded = np.concatenate([x, rng.standard_normal((1, 4, 2)).astype(np.float32)], axis=1)
    out, (h, _) = lstm(mg.tensor(padded), lengths=[3])
    np.testing.assert_allclose(out.numpy()[:, :3], alone.numpy(), atol=1e-6)
    assert np.all(out.numpy()[:, 3:] == 0)
    np.testing.assert_allclose(h.numpy(), h_alone.numpy(), atol=1e-6)


@needs_torch
def test_pad_sequence_matches_torch():
    rng = np.random.default_rng(6)
    seqs = [rng.standard_normal((n, 2)) for n in (3, 1, 2)]
    for batch_first in (False, True):
        ours = pad_sequence([mg.tensor(s) for s in seqs], batch_first=batch_first, padding_value=-1.0)
        theirs = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=batch_first,
                                                 padding_value=-1.0)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_clear_errors():
    lstm = nn.LSTM(3, 4, batch_first=True)
    x = mg.tensor(np.zeros((2, 5, 3), np.float32))
    with pytest.raises(TypeError, match="initial state hx.*lengths="):
        lstm(x, [5, 3])  # the old minigrad call: lengths in hx's place
    with pytest.raises(ValueError, match=r"expected input \(B, T, F\).*F = 3"):
        lstm(mg.tensor(np.zeros((2, 5, 4), np.float32)))
    with pytest.raises(ValueError, match="initial state of shape"):
        lstm(x, (mg.zeros(2, 2, 4), mg.zeros(2, 2, 4)))
    with pytest.raises(ValueError, match=r"one length in \[1, 5\]"):
        lstm(x, lengths=[6, 1])
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        nn.GRU(3, 0)
    with pytest.raises(ValueError, match="sorted in decreasing order"):
        pack_padded_sequence(x, [3, 5], batch_first=True)
    with pytest.raises(ValueError, match="at least 1"):
        pack_padded_sequence(x, [5, 0], batch_first=True)
