"""The corrector: a BiLSTM encoder, an attention decoder with input feeding and a
pointer-generator copy mechanism, and its training loss (see the package docstring)."""

import minigrad as mg
from minigrad import nn, ops
from minigrad.backend import get_array_module

from .batches import PAD, UNK


class Corrector(nn.Module):
    def __init__(self, vocab_size, embed_size=128, hidden_size=256, attention="general", self_attention=False,
                 copy=True, dropout=0.2, char_ngrams=0):
        super().__init__()
        self.vocab_size, self.copy, self.use_self_attention = vocab_size, copy, self_attention
        self.embedding = nn.Embedding(vocab_size, embed_size, padding_idx=PAD)  # shared: same language
        self.encoder = nn.LSTM(embed_size, hidden_size // 2, batch_first=True, bidirectional=True)
        if self_attention:
            self.self_attention = nn.SelfAttention(hidden_size)
        self.bridge_h = nn.Linear(hidden_size, hidden_size)
        self.bridge_c = nn.Linear(hidden_size, hidden_size)
        self.decoder = nn.LSTMCell(embed_size + hidden_size, hidden_size)
        self.attention = nn.Attention(hidden_size, hidden_size, kind=attention)
        self.combine = nn.Linear(2 * hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, vocab_size)
        if copy:
            self.gate = nn.Linear(2 * hidden_size + embed_size, 1)
        self.ngram_buckets = char_ngrams
        if char_ngrams:  # created last: a model without it initialises exactly as before
            self.char_ngrams = nn.Embedding(char_ngrams, embed_size, padding_idx=0)
            self.char_ngrams.weight.data[...] = 0  # starts as the word-only model (fine-tuning)

    def embed_source(self, src, ngrams=None):
        """Word vectors of the source; with character n-grams, each word's vector plus the mean
        of its n-grams' vectors, so that a misspelled or unknown word still looks like the word
        it resembles (text/ngrams.py). The mean is taken once per distinct word."""
        vectors = self.embedding(src)
        if not self.ngram_buckets:
            return vectors
        ids, counts, positions = ngrams
        per_word = self.char_ngrams(ids).sum(axis=1) * (1.0 / counts)  # (W, D)
        return vectors + per_word[positions]

    def encode(self, src, src_len, ngrams=None):
        states, (h, c) = self.encoder(self.dropout(self.embed_source(src, ngrams)), lengths=src_len)
        mask = nn.length_mask(get_array_module(src).asarray(src_len), src.shape[1])
        if self.use_self_attention:
            states = self.self_attention(states, mask)
        h0 = ops.tanh(self.bridge_h(ops.concatenate([h[0], h[1]], axis=1)))
        c0 = self.bridge_c(ops.concatenate([c[0], c[1]], axis=1))
        return states, mask, (h0, c0)

    def step(self, previous_words, state, feed, states, mask):
        """One decoder step -> (word scores (B, V), attention (B, S) or None, gate (B, 1) or None,
        new state, attentional vector (fed to the next step))."""
        weights, gate, state, attentional = self.step_without_scores(previous_words, state, feed, states, mask)
        return self.word_scores(attentional), weights, gate, state, attentional

    def step_without_scores(self, previous_words, state, feed, states, mask, embedded=None):
        """One decoder step up to its attentional vector -> (attention (B, S) or None, gate
        (B, 1) or None, new state, attentional vector (B, H)). ``embedded``: the previous
        words' vectors, where the caller looked them up already."""
        e = self.embedding(previous_words) if embedded is None else embedded
        h, c = self.decoder(ops.concatenate([e, feed], axis=1), state)
        context, weights = self.attention(h.unsqueeze(1), states, mask, need_weights=self.copy)
        context = context.squeeze(1)
        attentional = ops.tanh(self.combine(ops.concatenate([h, context], axis=1)))
        if not self.copy:
            return None, None, (h, c), attentional
        gate = ops.sigmoid(self.gate(ops.concatenate([attentional, context, e], axis=1)))
        return weights.squeeze(1), gate, (h, c), attentional

    def word_scores(self, attentional):
        """Scores over the vocabulary of attentional vectors (..., H) -> (..., V)."""
        return self.out(self.dropout(attentional))

    def initial_feed(self, states):
        xp = get_array_module(states.data)
        return mg.Tensor(xp.zeros((states.shape[0], states.shape[2]), dtype=states.dtype))


def batch_loss(model, batch, scheduled_sampling=0.0, rng=None, label_smoothing=0.0, edit_weight=1.0,
               per_sentence=False):
    """Mean negative log-likelihood per target word (teacher forcing).

    edit_weight > 1 weighs the target words that an edit wrote (not copied from the source)
    that many times more ("edit-weighted MLE"): in learner data nine words in ten are copies,
    and a model trained on the plain mean learns above all to copy. per_sentence: the total
    negative log-likelihood of each target sentence instead, shape (B,) (copy decoder only).
    """
    xp = get_array_module(batch["src"])
    states, mask, state = model.encode(batch["src"], batch["src_len"], batch.get("ngrams"))
    feed = model.initial_feed(states)
    decoder_in, steps = batch["decoder_in"], batch["decoder_in"].shape[1]
    all_scores, all_weights, all_gates, all_attentional = [], [], [], []
    previous = decoder_in[:, 0]
    # teacher forcing knows every step's previous word: one look-up for all (one gradient
    # of the embedding table in backward instead of one a step)
    embedded = model.embedding(decoder_in) if scheduled_sampling == 0 else None
    for t in range(steps):
        weights, gate, state, feed = model.step_without_scores(previous, state, feed, states, mask,
                                                               None if embedded is None else embedded[:, t])
        all_attentional.append(feed)
        all_weights.append(weights)
        all_gates.append(gate)
        if t + 1 < steps:
            previous = decoder_in[:, t + 1]
            if scheduled_sampling > 0:  # feed the model's own guess instead of the truth, sometimes
                scores = model.word_scores(feed)
                all_scores.append(scores)
                guess = scores.data.argmax(axis=1)
                use_guess = xp.asarray(rng.random(len(guess)) < scheduled_sampling) & (previous != PAD)
                previous = xp.where(use_guess, guess, previous)
    if scheduled_sampling > 0:  # every step but the last was scored for its guess
        scores = ops.stack(all_scores + [model.word_scores(all_attentional[-1])], axis=1)  # (B, T, V)
    else:  # every step's scores at once: one product with the output layer, not one a step
        scores = model.word_scores(ops.stack(all_attentional, axis=1))  # (B, T, V)
    tgt_ext = batch["tgt_ext"]
    if not model.copy:
        if edit_weight != 1.0 or per_sentence:
            raise ValueError("edit weights and sentence scores are implemented for the copy decoder only")
        targets = xp.where(tgt_ext < model.vocab_size, tgt_ext, UNK)
        return nn.sequence_cross_entropy(scores, targets, PAD, label_smoothing)
    word_weights = 1.0 + (edit_weight - 1.0) * batch["edited"].astype(scores.dtype)
    return copy_loss(scores, ops.stack(all_weights, axis=1), ops.stack(all_gates, axis=1), batch, model.vocab_size,
                     word_weights, per_sentence)


def copy_loss(scores, weights, gates, batch, vocab_size, word_weights=None, per_sentence=False):
    """-log P(target) with P = g·softmax(scores)[target] + (1-g)·Σ_{i: source_i = target} attention_i.

    Only the probability of the target word is needed, so the vocabulary part is a gather and
    the copy part a masked sum over source positions: no (B, T, V + S) array is built.
    The mean is weighted by ``word_weights`` (B, T) when given; ``per_sentence`` gives each
    sentence's total -log P instead (unweighted).
    """
    xp = get_array_module(scores.data)
    tgt_ext, src_ext = batch["tgt_ext"], batch["src_ext"]
    b, t, _ = scores.shape
    real = tgt_ext != PAD
    in_vocab = tgt_ext < vocab_size
    rows, steps = xp.meshgrid(xp.arange(b), xp.arange(t), indexing="ij")
    p_vocab = ops.softmax(scores, axis=2)[rows, steps, xp.where(in_vocab, tgt_ext, UNK)]
    matches = (src_ext[:, None, :] == tgt_ext[:, :, None]) & real[:, :, None]
    matches &= src_ext[:, None, :] != PAD
    p_copy = (weights * matches.astype(scores.dtype)).sum(axis=2)
    g = gates.squeeze(2)
    p = g * p_vocab * in_vocab.astype(scores.dtype) + (1 - g) * p_copy
    nll = -ops.log(p + 1e-9) * real.astype(scores.dtype)
    if per_sentence:
        return nll.sum(axis=1)
    if word_weights is None:
        return nll.sum() / max(int(real.sum()), 1)
    word_weights = word_weights * real.astype(scores.dtype)
    return (nll * word_weights).sum() / float(word_weights.sum())


# ----- decoding ------------------------------------------------------------------------------

def word_distribution(model, scores, weights, gate, src_ext):
    """P over the extended vocabulary (V + S columns) for decoding (arrays, no gradient)."""
    xp = get_array_module(scores.data)
    probs = xp.exp(ops.activation.stable_log_softmax(scores.data, 1))
    if not model.copy:
        return probs
    g = gate.data
    out = xp.zeros((probs.shape[0], model.vocab_size + weights.shape[1]), dtype=probs.dtype)
    out[:, :model.vocab_size] = g * probs
    rows = xp.broadcast_to(xp.arange(out.shape[0])[:, None], src_ext.shape)
    xp.add.at(out, (rows, src_ext), (1 - g) * weights.data)
    return out
