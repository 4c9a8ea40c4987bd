"""Grammatical error correction with an LSTM encoder-decoder and attention (midterm problem set 4).

The midterm designs this model but never builds it. Here it is, trained on real learner
English and scored honestly against the do-nothing baseline.

Data (../shared/data/gec, non-commercial research and education licences):
    train   Write & Improve A/B/C train (M2, annotator 0's edits applied; 34,308 sentences)
            + FCE v2.1 train (JSON, non-null edits applied right to left, split into sentences)
    select  Write & Improve dev (3,396 sentences): validation loss picks the checkpoint
    test    JFLEG test (747 sentences, 4 fluency references; GLEU), W&I dev (edit F0.5) and
            CoNLL-2014 test (1,312 sentences, 2 annotators; edit F0.5, approximate alignment)
    noise   optional (--synthetic K): K corrupted copies of each correction, with one-word
            errors drawn at the rates and with the confusions of the learners' own edits
            (minigrad/text/noise.py); with --spelling-boost S also misspellings, at S times
            the learners' rate (their own misspellings of the word, or a random letter edit)

Model:
    source words --Embedding--> bidirectional LSTM (+ optional self-attention) --> states
             (--char-ngrams N: plus the mean of the word's hashed character n-gram vectors,
             so that "becuase" looks like "because" and the decoder can write the right word)
    decoder: LSTMCell over [embedding of previous word ; previous attentional vector]
             ("input feeding": the decoder knows what it attended to last), attention over
             the source states (Luong dot/general or Bahdanau additive), then
             attentional = tanh(W [h ; context]) and word scores = V attentional.
    copy:    most of a corrected sentence is copied from its source, and the data is small,
             so (optionally, on by default) a pointer-generator mixes the vocabulary
             distribution with the attention weights as a distribution over source words:
                 P(w) = g · softmax(scores)[w] + (1 - g) · Σ_{i: source_i = w} attention_i
             with a learned gate g = σ(u·[attentional ; context ; embedding]). Source words
             outside the vocabulary can be copied too (an "extended vocabulary" per sentence).
Training: teacher forcing (optional scheduled sampling), Adam (optional decay per epoch),
gradient clipping, batches of similar length, atomic checkpoints and --resume, a progress
bar, loss curves as PNG. --edit-weight Λ weighs the target words that an edit wrote Λ times
more than the copied ones (edit-weighted MLE), so the model learns to correct, not only to copy.
Decoding: greedy or beam search with length normalisation (beam 1 = greedy); optionally a
correction is kept only where the model finds it more probable than the unchanged sentence
by a margin chosen on JFLEG dev ("confident").

    python examples/gec_seq2seq.py train --data-dir ../shared/data --epochs 6 --device cuda
    python examples/gec_seq2seq.py train --data-dir ../shared/data --edit-weight 2 --lr-decay 0.7
    python examples/gec_seq2seq.py evaluate --beam 5
    python examples/gec_seq2seq.py correct "She go to school every days ."
"""
import argparse
import json
import math
import os
import pathlib
import sys
import time

# This model's CPU time is in mid-sized matrix products (a batch of words times the hidden
# size), which run faster when OpenBLAS's threads keep spinning between them: override
# minigrad's short default, which suits the conv nets (benchmarks/README.md).
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "30")

import minigrad as mg  # noqa: E402  (before NumPy: OpenBLAS reads the setting when it loads)
import numpy as np  # noqa: E402

from minigrad import nn, ops, optim
from minigrad.backend import get_array_module, to_numpy
from minigrad.data import gec
from minigrad.text import Vocabulary, corpus_gleu, score_edits
from minigrad.text.edits import edited_target_positions, extract_edits
from minigrad.text.ngrams import ngram_table
from minigrad.text.noise import ErrorModel
from minigrad.text.spelling import SpellingCorrector
from minigrad.train import checkpoint, plot_curves

try:
    from tqdm import tqdm
except ImportError:  # progress bars are a convenience
    tqdm = None

PAD, UNK, BOS, EOS = Vocabulary.pad, Vocabulary.unk, Vocabulary.bos, Vocabulary.eos


# ----- batches -------------------------------------------------------------------------------

def extended_ids(sentence, vocab):
    """Vocabulary ids, except that a word outside the vocabulary gets V + (position of its first
    occurrence in the sentence): the copy mechanism can then point at it."""
    first = {}
    return [vocab.index.get(w, len(vocab) + first.setdefault(w, i)) for i, w in enumerate(sentence)]


def source_ngrams(sources, buckets):
    """The character n-grams of a batch's source words, once per distinct word: (n-gram ids of
    each distinct word (W, G), their counts (W, 1), which distinct word sits at each position
    (B, S)). Distinct word 0 is the padding, with no n-grams."""
    types = {"": 0}
    positions = [[types.setdefault(w, len(types)) for w in s] for s in sources]
    ids, counts = ngram_table(list(types), buckets)
    ids[0], counts[0] = 0, 1
    return ids, counts, nn.pad_sequences(positions, 0)[0]


def make_batch(pairs, vocab, ngram_buckets=0):
    """Arrays for a list of (source tokens, target tokens); targets may be None (decoding).
    With ``ngram_buckets`` the source words' character n-grams come too (source_ngrams)."""
    v = len(vocab)
    sources = [s for s, _ in pairs]
    src, src_len = nn.pad_sequences([[i if i < v else UNK for i in extended_ids(s, vocab)] for s in sources], PAD)
    src_ext, _ = nn.pad_sequences([extended_ids(s, vocab) for s in sources], PAD)
    batch = {"src": src, "src_len": src_len, "src_ext": src_ext, "sources": sources}
    if ngram_buckets:
        batch["ngrams"] = source_ngrams(sources, ngram_buckets)
    if pairs[0][1] is None:
        return batch
    target_ext = []
    for (source, target) in pairs:
        positions = {}
        for i, w in enumerate(source):
            positions.setdefault(w, i)
        target_ext.append([vocab.index[w] if w in vocab.index else v + positions[w] if w in positions else UNK
                           for w in target] + [EOS])
    tgt_ext, tgt_len = nn.pad_sequences(target_ext, PAD)
    edited = np.zeros(tgt_ext.shape, dtype=bool)  # target words an edit wrote (not copied)
    for row, (source, target) in enumerate(pairs):
        edited[row, sorted(edited_target_positions(source, target))] = True
    decoder_in = np.full_like(tgt_ext, PAD)
    decoder_in[:, 0] = BOS
    decoder_in[:, 1:] = np.where(tgt_ext[:, :-1] < v, tgt_ext[:, :-1], UNK)
    decoder_in[tgt_ext == PAD] = PAD
    batch.update(tgt_ext=tgt_ext, tgt_len=tgt_len, decoder_in=decoder_in, edited=edited, targets=[t for _, t in pairs])
    return batch


def batches_by_length(pairs, batch_size, rng):
    """Batches of similar source length (little padding), in random order."""
    order = rng.permutation(len(pairs))
    chunk = batch_size * 50  # sort within chunks so batches still differ from epoch to epoch
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start:start + chunk], key=lambda i: len(pairs[i][0]))
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


# ----- the model -----------------------------------------------------------------------------

class Corrector(nn.Module):
    def __init__(self, vocab_size, embed_size=128, hidden_size=256, attention="general", self_attention=False,
                 copy=True, dropout=0.2, char_ngrams=0):
        super().__init__()
        self.vocab_size, self.copy, self.use_self_attention = vocab_size, copy, self_attention
        self.embedding = nn.Embedding(vocab_size, embed_size, padding_idx=PAD)  # shared: same language
        self.encoder = nn.LSTM(embed_size, hidden_size // 2, bidirectional=True)
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
        it resembles (minigrad/text/ngrams.py). The mean is taken once per distinct word."""
        vectors = self.embedding(src)
        if not self.ngram_buckets:
            return vectors
        ids, counts, positions = ngrams
        per_word = self.char_ngrams(ids).sum(axis=1) * (1.0 / counts)  # (W, D)
        return vectors + per_word[positions]

    def encode(self, src, src_len, ngrams=None):
        states, (h, c) = self.encoder(self.dropout(self.embed_source(src, ngrams)), src_len)
        mask = nn.length_mask(get_array_module(src).asarray(src_len), src.shape[1])
        if self.use_self_attention:
            states = self.self_attention(states, mask)
        h0 = ops.tanh(self.bridge_h(ops.concatenate([h[0], h[1]], axis=1)))
        c0 = self.bridge_c(ops.concatenate([c[0], c[1]], axis=1))
        return states, mask, (h0, c0)

    def step(self, previous_words, state, feed, states, mask):
        """One decoder step -> (word scores (B, V), attention (B, S) or None, gate (B, 1) or None,
        new state, attentional vector (fed to the next step))."""
        e = self.embedding(previous_words)
        h, c = self.decoder(ops.concatenate([e, feed], axis=1), state)
        context, weights = self.attention(h.unsqueeze(1), states, mask, need_weights=self.copy)
        context = context.squeeze(1)
        attentional = ops.tanh(self.combine(ops.concatenate([h, context], axis=1)))
        scores = self.out(self.dropout(attentional))
        if not self.copy:
            return scores, None, None, (h, c), attentional
        gate = ops.sigmoid(self.gate(ops.concatenate([attentional, context, e], axis=1)))
        return scores, weights.squeeze(1), gate, (h, c), attentional

    def initial_feed(self, states):
        xp = get_array_module(states.data)
        return mg.Tensor(xp.zeros((states.shape[0], states.shape[2]), dtype=states.dtype))


def to_device(batch, device):
    keys = ("src", "src_len", "src_ext", "tgt_ext", "decoder_in", "edited")
    moved = {k: (mg.backend.to_device(v, device) if k in keys else v) for k, v in batch.items()}
    if "ngrams" in batch:
        moved["ngrams"] = tuple(mg.backend.to_device(a, device) for a in batch["ngrams"])
    return moved


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
    all_scores, all_weights, all_gates = [], [], []
    previous = decoder_in[:, 0]
    for t in range(steps):
        scores, weights, gate, state, feed = model.step(previous, state, feed, states, mask)
        all_scores.append(scores)
        all_weights.append(weights)
        all_gates.append(gate)
        if t + 1 < steps:
            previous = decoder_in[:, t + 1]
            if scheduled_sampling > 0:  # feed the model's own guess instead of the truth, sometimes
                guess = scores.data.argmax(axis=1)
                use_guess = xp.asarray(rng.random(len(guess)) < scheduled_sampling) & (previous != PAD)
                previous = xp.where(use_guess, guess, previous)
    scores = ops.stack(all_scores, axis=1)  # (B, T, V)
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


def max_length(source):
    return len(source) + 10


def greedy(model, batch):
    """The most probable word at each step, for a whole batch at once."""
    xp = get_array_module(batch["src"])
    with mg.no_grad():
        states, mask, state = model.encode(batch["src"], batch["src_len"], batch.get("ngrams"))
        feed = model.initial_feed(states)
        n = len(batch["sources"])
        limits = [max_length(s) for s in batch["sources"]]
        outputs, done = [[] for _ in range(n)], np.zeros(n, dtype=bool)
        previous = xp.full(n, BOS)
        for _ in range(max(limits)):
            scores, weights, gate, state, feed = model.step(previous, state, feed, states, mask)
            chosen = to_numpy(word_distribution(model, scores, weights, gate, batch["src_ext"]).argmax(axis=1))
            for i, word in enumerate(chosen):
                if not done[i]:
                    if word == EOS:
                        done[i] = True
                    else:
                        outputs[i].append(int(word))
                        done[i] = len(outputs[i]) >= limits[i]
            if done.all():
                break
            previous = xp.asarray(np.where(chosen < model.vocab_size, chosen, UNK))
    return outputs


def beam_search(model, batch, beam_size=5, length_penalty=1.0):
    """Per sentence: keep the ``beam_size`` best partial corrections by total log-probability;
    a finished one is ranked by log P / length^length_penalty (otherwise short outputs win)."""
    results = []
    for i in range(len(batch["sources"])):
        one = {k: batch[k][i:i + 1, :int(batch["src_len"][i])] for k in ("src", "src_ext")}
        one["src_len"] = batch["src_len"][i:i + 1]
        if "ngrams" in batch:
            ids, counts, positions = batch["ngrams"]
            one["ngrams"] = ids, counts, positions[i:i + 1, :int(batch["src_len"][i])]
        results.append(_beam_one(model, one, max_length(batch["sources"][i]), beam_size, length_penalty))
    return results


def _beam_one(model, one, limit, beam_size, length_penalty):
    xp = get_array_module(one["src"])
    with mg.no_grad():
        states, mask, state = model.encode(one["src"], one["src_len"], one.get("ngrams"))
        feed = model.initial_feed(states)
        hyps, totals = [[]], np.zeros(1)
        finished = []
        for _ in range(limit):
            n = len(hyps)
            rows = xp.zeros(n, dtype=np.int64)
            words = xp.asarray([h[-1] if h else BOS for h in hyps])
            words = xp.where(words < model.vocab_size, words, UNK)
            scores, weights, gate, state, feed = model.step(words, state, feed, states[rows], mask[rows])
            logp = np.log(to_numpy(word_distribution(model, scores, weights, gate, one["src_ext"][rows])) + 1e-12)
            candidates = (totals[:, None] + logp).ravel()
            best = np.argsort(-candidates, kind="stable")[:2 * beam_size]
            keep, new_hyps, new_totals = [], [], []
            for flat in best:
                beam, word = divmod(int(flat), logp.shape[1])
                if word == EOS:
                    finished.append((candidates[flat] / (len(hyps[beam]) + 1) ** length_penalty, hyps[beam]))
                else:
                    keep.append(beam)
                    new_hyps.append(hyps[beam] + [word])
                    new_totals.append(candidates[flat])
                if len(new_hyps) == beam_size:
                    break
            if len(finished) >= beam_size or not new_hyps:
                break
            index = xp.asarray(keep)
            state = (state[0][index], state[1][index])
            feed = feed[index]
            hyps, totals = new_hyps, np.array(new_totals)
        if not finished:  # out of steps: rank the unfinished ones the same way
            finished = [(t / len(h) ** length_penalty, h) for t, h in zip(totals, hyps)]
        return max(finished, key=lambda f: f[0])[1]


def to_words(ids, source, vocab):
    v = len(vocab)
    return [vocab.words[i] if i < v else source[i - v] for i in ids]


def correct(model, sources, vocab, device, beam_size=1, batch_size=64, length_penalty=1.0, progress=False):
    """Corrections (token lists) of a list of token lists; beam_size 1 decodes greedily."""
    model.eval()
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    out = [None] * len(sources)
    chunks = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    for chunk in (tqdm(chunks, desc="decoding", leave=False) if progress and tqdm else chunks):
        batch = to_device(make_batch([(sources[i], None) for i in chunk], vocab, model.ngram_buckets), device)
        ids = greedy(model, batch) if beam_size == 1 else beam_search(model, batch, beam_size, length_penalty)
        for i, hyp in zip(chunk, ids):
            out[i] = to_words(hyp, sources[i], vocab)
    return out


# ----- data and evaluation -------------------------------------------------------------------

def without_long_deletions(sources, hypotheses, max_deleted=2):
    """Undo the edits that drop ``max_deleted`` or more source words net.

    An attention decoder trained on little data sometimes jumps ahead in a long sentence and
    skips a whole clause; learners' corrections almost never delete two words or more net. The
    remaining edits are kept. (A decoding-time guard, reported beside the raw decoder.)
    """
    out = []
    for source, hypothesis in zip(sources, hypotheses):
        keep = [e for e in extract_edits(source, hypothesis) if (e[1] - e[0]) - len(e[2]) < max_deleted]
        fixed = list(source)
        for start, end, words in sorted(keep, reverse=True):
            fixed[start:end] = list(words)
        out.append(fixed)
    return out


def sentence_log_probs(model, sources, targets, vocab, device, batch_size=64):
    """log P(target | source) under the model (teacher forcing, EOS included), one per pair."""
    model.eval()
    out = np.empty(len(sources))
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    with mg.no_grad():
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            batch = to_device(make_batch([(sources[i], targets[i]) for i in chunk], vocab, model.ngram_buckets), device)
            out[chunk] = -to_numpy(batch_loss(model, batch, per_sentence=True).data)
    return out


def confidence_gains(model, sources, hypotheses, vocab, device):
    """log P(hypothesis | source) - log P(source | source): how much more the model believes its
    correction than the sentence left as it is (0 where it changed nothing)."""
    changed = [i for i, (s, h) in enumerate(zip(sources, hypotheses)) if list(s) != list(h)]
    gains = np.zeros(len(sources))
    if changed:
        src = [sources[i] for i in changed]
        gains[changed] = (sentence_log_probs(model, src, [hypotheses[i] for i in changed], vocab, device)
                          - sentence_log_probs(model, src, src, vocab, device))
    return gains


def keep_confident(sources, hypotheses, gains, margin):
    """The hypothesis where the model prefers it to the unchanged source by ``margin`` nats or
    more, the source elsewhere.

    Greedy decoding commits to a word at each step, so a sentence can come out rewritten even
    where the model, asked about the whole sentence, finds the source about as likely; and a
    wrong correction costs more than a missed one (GLEU and F0.5 both reward precision).
    The margin is chosen on JFLEG dev, never on the test set. Uses nothing but the network.
    """
    return [list(h) if g >= margin else list(s) for s, h, g in zip(sources, hypotheses, gains)]


def tune_margin(model, vocab, root, device, margins=(0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0), limit=0, progress=False):
    """The margin of keep_confident with the best GLEU on JFLEG dev -> (margin, {margin: GLEU})."""
    src, refs = gec.read_jfleg("dev", root)
    if limit:
        src, refs = src[:limit], refs[:limit]
    hyp = correct(model, src, vocab, device, 1, progress=progress)
    gains = confidence_gains(model, src, hyp, vocab, device)
    scores = {m: corpus_gleu(src, keep_confident(src, hyp, gains, m), refs) for m in margins}
    return max(scores, key=scores.get), scores


def training_pairs(root, max_len):
    pairs = gec.wi_locness("train", root) + gec.fce("train", root)
    return [(s, t) for s, t in pairs if 1 <= len(s) <= max_len and 1 <= len(t) <= max_len]


def evaluate_sets(model, vocab, root, device, beam_size, length_penalty, limit=0, progress=False, margin=None):
    """Copy baseline and the model on JFLEG test (GLEU, BLEU), W&I dev (edit P/R/F0.5) and
    CoNLL-2014 test (edit P/R/F0.5, each sentence against the closer of its two annotators).

    The network alone is scored as decoded (greedy) and with keep_confident at ``margin``
    (chosen on JFLEG dev beforehand); the rest add the learned spelling corrector in front.
    """
    import sacrebleu

    jfleg_src, jfleg_refs = gec.read_jfleg("test", root)
    wi_dev = gec.wi_locness("dev", root)
    conll_src, conll_targets = gec.conll2014(root)
    if limit:
        jfleg_src, jfleg_refs, wi_dev = jfleg_src[:limit], jfleg_refs[:limit], wi_dev[:limit]
        conll_src, conll_targets = conll_src[:limit], [targets[:limit] for targets in conll_targets]
    wi_src, wi_tgt = [s for s, _ in wi_dev], [t for _, t in wi_dev]
    speller = SpellingCorrector(training_pairs(root, max_len=10**6))
    spelled = lambda src: [speller(s) for s in src]  # noqa: E731
    decoded = {}  # greedy outputs per test set, shared by the raw and the guarded system

    def greedy_alone(src):
        if ("alone", id(src)) not in decoded:
            decoded["alone", id(src)] = correct(model, src, vocab, device, 1, progress=progress)
        return decoded["alone", id(src)]

    def confident(src):
        hyp = greedy_alone(src)
        return keep_confident(src, hyp, confidence_gains(model, src, hyp, vocab, device), margin)

    def greedy_spelled(src):
        if id(src) not in decoded:
            decoded[id(src)] = correct(model, spelled(src), vocab, device, 1, progress=progress)
        return decoded[id(src)]

    decoders = {"copy the input": lambda src: [list(s) for s in src],
                "spelling only": spelled,
                "greedy": greedy_alone,
                "greedy, no long deletions": lambda src: without_long_deletions(src, greedy_alone(src)),
                "spelling+greedy": greedy_spelled,
                "spelling+greedy, no long deletions": lambda src: without_long_deletions(spelled(src),
                                                                                          greedy_spelled(src))}
    if margin is not None:
        decoders = {**dict(list(decoders.items())[:4]), f"greedy, confident (margin {margin:g})": confident,
                    **dict(list(decoders.items())[4:])}
    if beam_size > 1:
        decoders[f"beam {beam_size}"] = lambda src: correct(model, src, vocab, device, beam_size, 64, length_penalty,
                                                          progress)
        decoders[f"spelling+beam {beam_size}, no long deletions"] = lambda src: without_long_deletions(
            spelled(src), correct(model, spelled(src), vocab, device, beam_size, 64, length_penalty, progress))
    results, outputs = {}, {}
    for name, decode in decoders.items():
        start = time.time()
        hyp_jfleg, hyp_wi, hyp_conll = decode(jfleg_src), decode(wi_src), decode(conll_src)
        edits, conll = score_edits(wi_src, hyp_wi, wi_tgt), score_edits(conll_src, hyp_conll, *conll_targets)
        bleu = sacrebleu.corpus_bleu([" ".join(h) for h in hyp_jfleg],
                                     [[" ".join(refs[k]) for refs in jfleg_refs] for k in range(4)], tokenize="none",
                                     force=True)  # already tokenised text, scored as it is
        results[name] = {"jfleg_test_gleu": corpus_gleu(jfleg_src, hyp_jfleg, jfleg_refs),
                         "jfleg_test_bleu": bleu.score, "wi_dev_precision": edits.precision,
                         "wi_dev_recall": edits.recall, "wi_dev_f0.5": edits.f_beta(0.5),
                         "conll2014_precision": conll.precision, "conll2014_recall": conll.recall,
                         "conll2014_f0.5": conll.f_beta(0.5), "decode_seconds": time.time() - start}
        outputs[name] = {"jfleg_test": [" ".join(h) for h in hyp_jfleg], "wi_dev": [" ".join(h) for h in hyp_wi],
                         "conll2014_test": [" ".join(h) for h in hyp_conll]}
    return results, outputs


def print_results(results):
    print(f"{'system':<40}{'JFLEG GLEU':>12}{'JFLEG BLEU':>12}{'W&I P':>8}{'W&I R':>8}{'W&I F0.5':>10}"
          f"{'CoNLL P':>9}{'CoNLL R':>9}{'CoNLL F0.5':>12}")
    for name, r in results.items():
        if "jfleg_test_gleu" not in r:
            continue
        print(f"{name:<40}{r['jfleg_test_gleu']:12.2f}{r['jfleg_test_bleu']:12.2f}{100 * r['wi_dev_precision']:8.1f}"
              f"{100 * r['wi_dev_recall']:8.1f}{100 * r['wi_dev_f0.5']:10.1f}{100 * r.get('conll2014_precision', 0):9.1f}"
              f"{100 * r.get('conll2014_recall', 0):9.1f}{100 * r.get('conll2014_f0.5', 0):12.1f}")


# ----- training ------------------------------------------------------------------------------

def dev_loss(model, pairs, vocab, device, batch_size=64):
    model.eval()
    total = count = 0
    with mg.no_grad():
        for start in range(0, len(pairs), batch_size):
            batch = to_device(make_batch(pairs[start:start + batch_size], vocab, model.ngram_buckets), device)
            words = int((batch["tgt_ext"] != PAD).sum())
            total += float(batch_loss(model, batch).item()) * words
            count += words
    model.train()
    return total / max(count, 1)


ARCHITECTURE = ("embed", "hidden", "attention", "self_attention", "no_copy", "char_ngrams")


def build(args, vocab):
    mg.manual_seed(args.seed)
    model = Corrector(len(vocab), args.embed, args.hidden, args.attention, args.self_attention, not args.no_copy,
                      args.dropout, getattr(args, "char_ngrams", 0))
    return model.to(args.device)


def train(args):
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pairs = training_pairs(args.data_dir, args.max_len)
    dev = [(s, t) for s, t in gec.wi_locness("dev", args.data_dir) if 1 <= len(s) <= args.max_len][:args.dev_size]
    if args.limit:
        pairs = pairs[:args.limit]
    if args.synthetic:  # corrupted copies of the corrections, errors learned from the real pairs
        errors, rng_noise = ErrorModel(pairs), np.random.default_rng([args.seed, 2])
        synthetic = [(errors.corrupt(t, rng_noise, args.noise_boost, args.spelling_boost), t)
                     for _ in range(args.synthetic) for _, t in pairs]
        synthetic = [(s, t) for s, t in synthetic if s != t]
        print(f"{len(synthetic)} synthetic pairs (corrupted corrections) added to {len(pairs)} real ones")
        pairs = pairs + synthetic
    if args.init_from:  # fine-tune a trained model (its vocabulary and weights), fresh optimizer
        saved = checkpoint.load(args.init_from)
        vocab = Vocabulary.from_state_dict(saved["vocab"])
        for key in ARCHITECTURE:  # the saved model's shape, so that this run's model.pkl records it too
            if key in saved["args"] and not (key == "char_ngrams" and args.char_ngrams):
                setattr(args, key, saved["args"][key])
        model = build(args, vocab)
        added = model.load_state_dict(saved["model"], strict=False) and \
            [name for name, _ in model.named_parameters() if name not in saved["model"]]
        if any(not name.startswith("char_ngrams.") for name in added):
            raise SystemExit(f"{args.init_from} does not hold this model's parameters {added}")
        print(f"initialised from {args.init_from} (epoch {saved.get('epoch')}, dev loss {saved.get('dev_loss'):.4f})"
              + (f"; new: {', '.join(added)}" if added else ""))
    else:
        vocab = Vocabulary([s for s, _ in pairs] + [t for _, t in pairs], max_size=args.vocab_size)
        model = build(args, vocab)
    # The n-gram table learns at its own rate: it starts at zero beside trained word vectors
    # and must grow to their size, while Adam moves each entry by about lr per step.
    ngram_table = [p for name, p in model.named_parameters() if name.startswith("char_ngrams.")]
    groups = [{"params": [p for p in model.parameters() if all(p is not q for q in ngram_table)], "lr_scale": 1.0}]
    if ngram_table:
        groups.append({"params": ngram_table, "lr_scale": args.ngram_lr_scale})
    optimizer = optim.Adam(groups, lr=args.lr)
    params = sum(p.data.size for p in model.parameters())
    print(f"{len(pairs)} training pairs, {len(dev)} dev pairs, vocabulary {len(vocab)}, {params:,} parameters, "
          f"device {args.device}")
    state = {"epoch": 0, "batch": 0, "step": 0, "history": {"step": [], "train_loss": [], "epoch": [], "dev_loss": []},
             "best_dev": math.inf, "seconds": 0.0}
    ckpt_path = out / "checkpoint.pkl"
    if args.resume and ckpt_path.exists():
        saved = checkpoint.load(ckpt_path)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        state = saved["state"]
        print(f"resumed at epoch {state['epoch'] + 1}, batch {state['batch']}")

    def save():
        checkpoint.save_atomically({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "state": state,
                                    "vocab": vocab.state_dict(), "args": vars(args)}, ckpt_path)

    model.train()
    rng_sampling = np.random.default_rng(args.seed + 1)
    session_start = time.time()

    def stop_now():
        return (args.max_steps and state["step"] >= args.max_steps) or \
               (args.time_budget and time.time() - session_start >= args.time_budget)

    for epoch in range(state["epoch"], args.epochs):
        for group in optimizer.param_groups:
            group["lr"] = args.lr * group["lr_scale"] * args.lr_decay ** epoch
        batches = batches_by_length(pairs, args.batch_size, np.random.default_rng([args.seed, epoch]))
        started, running = time.time(), []
        todo = range(state["batch"], len(batches))
        bar = tqdm(todo, desc=f"epoch {epoch + 1}/{args.epochs}", disable=args.no_progress or tqdm is None) \
            if tqdm else todo
        for b in bar:
            batch = to_device(make_batch([pairs[i] for i in batches[b]], vocab, model.ngram_buckets), args.device)
            loss = batch_loss(model, batch, args.scheduled_sampling, rng_sampling, args.label_smoothing,
                              args.edit_weight)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            running.append(loss.item())
            state["words"] = state.get("words", 0) + int((batch["tgt_ext"] != PAD).sum())
            state["batch"], state["step"] = b + 1, state["step"] + 1
            if state["step"] % args.log_every == 0:
                state["history"]["step"].append(state["step"])
                state["history"]["train_loss"].append(float(np.mean(running[-args.log_every:])))
                if tqdm and not args.no_progress:
                    bar.set_postfix(loss=f"{np.mean(running[-args.log_every:]):.3f}")
            if stop_now():
                break
            if state["step"] % args.checkpoint_every == 0:
                state["seconds"] += time.time() - started
                started = time.time()
                save()
        state["seconds"] += time.time() - started
        finished = state["batch"] == len(batches)  # or stopped inside the epoch (--time-budget, --max-steps)
        progress = epoch + state["batch"] / len(batches)  # epochs done, as a fraction
        loss_dev = dev_loss(model, dev, vocab, args.device)
        state["history"]["epoch"].append(progress)
        state["history"]["dev_loss"].append(loss_dev)
        where = "" if finished else f" (stopped at batch {state['batch']} of {len(batches)})"
        print(f"epoch {epoch + 1}{where}: "
              f"train loss {np.mean(running) if running else math.nan:.4f}, W&I dev loss {loss_dev:.4f}, "
              f"{state.get('words', 0) / max(state['seconds'], 1e-9):.0f} target words/s, "
              f"{state['seconds']:.0f} s training in all")
        if finished:  # a resumed run goes on with the next epoch; otherwise with the next batch of this one
            state["epoch"], state["batch"] = epoch + 1, 0
        if loss_dev < state["best_dev"]:
            state["best_dev"] = loss_dev
            checkpoint.save_atomically({"model": model.state_dict(), "vocab": vocab.state_dict(), "args": vars(args),
                                        "epoch": round(progress, 2), "dev_loss": loss_dev}, out / "model.pkl")
        save()
        if stop_now():
            break
    h = state["history"]
    per_epoch = max(1, len(h["step"]) // max(1, len(h["epoch"])))
    plot_curves({"train (running mean)": (np.array(h["step"]) * args.batch_size / len(pairs), h["train_loss"]),
                 "W&I dev": (h["epoch"], h["dev_loss"])}, out / "loss.png", "epoch", "NLL per target word",
                "GEC encoder-decoder: loss" if per_epoch else "")
    (out / "history.json").write_text(json.dumps({**h, "seconds": state["seconds"]}, indent=1))
    return model, vocab


def load_model(path, device):
    if not pathlib.Path(path).exists():
        raise SystemExit(f"no trained model at {path}: run the train command first (or pass --out)")
    saved = checkpoint.load(path)
    vocab = Vocabulary.from_state_dict(saved["vocab"])
    args = argparse.Namespace(**{**saved["args"], "device": device})
    model = build(args, vocab)
    model.load_state_dict(saved["model"])
    return model.eval(), vocab


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train, then evaluate the best checkpoint")
    t.add_argument("--epochs", type=int, default=6)
    t.add_argument("--max-steps", type=int, default=0, help="stop after this many updates (0: no limit)")
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--lr-decay", type=float, default=1.0, help="multiply the learning rate by this after each epoch")
    t.add_argument("--clip", type=float, default=1.0, help="clip the global gradient norm")
    t.add_argument("--embed", type=int, default=128)
    t.add_argument("--hidden", type=int, default=256)
    t.add_argument("--dropout", type=float, default=0.2)
    t.add_argument("--vocab-size", type=int, default=16000)
    t.add_argument("--max-len", type=int, default=50, help="drop training pairs longer than this (tokens)")
    t.add_argument("--attention", choices=["dot", "general", "additive"], default="general")
    t.add_argument("--self-attention", action="store_true", help="add a self-attention block to the encoder")
    t.add_argument("--no-copy", action="store_true", help="plain softmax decoder (no pointer-generator)")
    t.add_argument("--label-smoothing", type=float, default=0.0, help="with --no-copy only")
    t.add_argument("--scheduled-sampling", type=float, default=0.0, help="probability of feeding the model's guess")
    t.add_argument("--edit-weight", type=float, default=1.0,
                   help="weight of the target words an edit wrote, relative to copied ones (copy decoder)")
    t.add_argument("--synthetic", type=int, default=0,
                   help="add this many corrupted copies of each correction (minigrad.text.noise.ErrorModel)")
    t.add_argument("--noise-boost", type=float, default=2.0, help="scale the learned error rates of --synthetic")
    t.add_argument("--spelling-boost", type=float, default=0.0,
                   help="misspell words of --synthetic at this multiple of the learners' rate (use with --char-ngrams)")
    t.add_argument("--char-ngrams", type=int, default=0,
                   help="add hashed character n-gram vectors (this many rows) to the source words' embeddings")
    t.add_argument("--ngram-lr-scale", type=float, default=10.0, help="learning rate of the n-gram table / --lr")
    t.add_argument("--time-budget", type=float, default=0, help="stop training after this many seconds (0: none)")
    t.add_argument("--limit", type=int, default=0, help="use only the first N training pairs (quick runs)")
    t.add_argument("--dev-size", type=int, default=1000, help="W&I dev pairs for the validation loss")
    t.add_argument("--log-every", type=int, default=50)
    t.add_argument("--checkpoint-every", type=int, default=500)
    t.add_argument("--resume", action="store_true")
    t.add_argument("--init-from", default=None, help="start from this model.pkl's weights (fine-tuning)")
    t.add_argument("--no-eval", action="store_true", help="skip the evaluation after training")
    for p in (t, sub.add_parser("evaluate", help="score a trained model"),
              sub.add_parser("correct", help="correct sentences given on the command line")):
        p.add_argument("--data-dir", default=None)
        p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
        p.add_argument("--out", default="runs/gec")
        p.add_argument("--beam", type=int, default=5)
        p.add_argument("--length-penalty", type=float, default=1.0)
        p.add_argument("--eval-limit", type=int, default=0, help="score only the first N sentences of each set")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--no-progress", action="store_true")
    sub.choices["correct"].add_argument("sentences", nargs="+")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    if args.command == "train":
        train(args)
        if args.no_eval:
            return None
    if args.command == "correct":
        model, vocab = load_model(out / "model.pkl", args.device)
        for sentence, fixed in zip(args.sentences, correct(model, [gec.tokenize(s) for s in args.sentences], vocab,
                                                           args.device, args.beam, 64, args.length_penalty)):
            print(f"{sentence}\n  -> {' '.join(fixed)}")
        return None
    model, vocab = load_model(out / "model.pkl", args.device)
    margin, by_margin = tune_margin(model, vocab, args.data_dir, args.device, limit=args.eval_limit,
                                    progress=not args.no_progress)
    print("JFLEG dev GLEU of the confident corrections by margin (nats): "
          + ", ".join(f"{m:g}: {g:.2f}" for m, g in by_margin.items()) + f" -> margin {margin:g}")
    results, outputs = evaluate_sets(model, vocab, args.data_dir, args.device, args.beam, args.length_penalty,
                                     args.eval_limit, not args.no_progress, margin)
    results["margin chosen on JFLEG dev"] = {"margin": margin, "dev_gleu": by_margin}
    print_results(results)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "outputs.json").write_text(json.dumps(outputs, indent=0))
    return results


if __name__ == "__main__":
    sys.exit(main() and 0)
