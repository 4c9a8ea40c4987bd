"""Embedding, attention and the sequence loss: the pieces of the grammar-correction model
(its recurrent layers: test_recurrent_layers.py), checked by finite differences and against PyTorch."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn


def random_lengths(rng, batch, steps):
    lengths = rng.integers(1, steps + 1, batch)
    lengths[0] = steps  # the longest sets T, as in a real padded batch
    return lengths


def test_embedding_padding_row_is_frozen_and_repeated_words_add():
    mg.manual_seed(0)
    emb = nn.Embedding(5, 3, padding_idx=0)
    assert np.all(emb.weight.numpy()[0] == 0)
    out = emb(np.array([[1, 1, 0], [4, 1, 0]]))
    out.backward(np.ones(out.shape, dtype=out.dtype))
    grad = emb.weight.grad.numpy()
    np.testing.assert_array_equal(grad[:, 0], [0, 3, 0, 0, 1])  # row 1 read three times, padding never


def test_embedding_rejects_out_of_range_indices():
    with pytest.raises(IndexError, match=r"\[0, 5\)"):
        nn.Embedding(5, 3)(np.array([5]))


@pytest.mark.parametrize("kind", ["dot", "general", "additive"])
@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_attention_gradients_with_padded_keys(kind, seed):
    rng = np.random.default_rng(seed)
    b, tq, tk, d = 2, rng.integers(1, 4), rng.integers(1, 5), 3
    mg.set_default_dtype(np.float64)
    try:
        attention = nn.Attention(d, d, kind=kind, hidden_size=4)
    finally:
        mg.set_default_dtype(np.float32)
    mask = nn.length_mask(random_lengths(rng, b, tk), tk)
    q = mg.tensor(rng.standard_normal((b, tq, d)), requires_grad=True)
    k = mg.tensor(rng.standard_normal((b, tk, d)), requires_grad=True)
    params = list(attention.parameters())

    def context_and_weights(q, k, *_):
        context, weights = attention(q, k, mask)
        return mg.concatenate([context, weights], axis=2)

    assert mg.gradcheck(context_and_weights, q, k, *params)
    context, weights = attention(q, k, mask)
    assert np.allclose(weights.numpy()[~np.broadcast_to(mask[:, None, :], weights.shape)], 0)
    assert np.allclose(weights.numpy().sum(-1), 1)
    if kind != "additive":  # the fused op gives the same context
        fused, none = attention(q, k, mask, need_weights=False)
        assert none is None
        np.testing.assert_allclose(fused.numpy(), context.numpy(), rtol=1e-12, atol=1e-12)


def test_sequence_cross_entropy_ignores_padding():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((2, 3, 5))
    targets = np.array([[1, 2, 0], [3, 0, 0]])  # 0 = padding
    loss = nn.sequence_cross_entropy(mg.tensor(logits), targets, pad_index=0)
    real = [(0, 0), (0, 1), (1, 0)]
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.mean([logp[b, t, targets[b, t]] for b, t in real])
    assert abs(float(loss.numpy()) - expected) < 1e-12
    changed = logits.copy()
    changed[0, 2] += 100  # scores at a padded position: no effect
    assert float(nn.sequence_cross_entropy(mg.tensor(changed), targets, 0).numpy()) == pytest.approx(expected, abs=1e-12)


def test_self_attention_gradcheck_and_mask():
    rng = np.random.default_rng(1)
    mg.set_default_dtype(np.float64)
    try:
        block = nn.SelfAttention(3)
    finally:
        mg.set_default_dtype(np.float32)
    x = mg.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    mask = nn.length_mask([4, 2], 4)
    assert mg.gradcheck(lambda x, *p: block(x, mask), x, *block.parameters())
    # a real position's output ignores whatever sits in the padding
    changed = x.numpy().copy()
    changed[1, 2:] = 100
    np.testing.assert_allclose(block(mg.tensor(changed), mask).numpy()[1, :2], block(x, mask).numpy()[1, :2], atol=1e-12)
