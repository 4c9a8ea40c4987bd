"""Decoding: greedy and beam search, the no-long-deletions guard, and the "confident" filter."""

import numpy as np

import minigrad as mg
from minigrad.backend import get_array_module, to_numpy

from . import data as gec
from .text import corpus_gleu
from .text.edits import extract_edits
from .batches import make_batch, to_device, UNK, BOS, EOS
from .model import batch_loss, word_distribution

try:
    from tqdm import tqdm
except ImportError:  # progress bars are a convenience
    tqdm = None


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


def best_first(values, count):
    """The indices of the ``count`` largest values, largest first, equal values by index: the
    head of a stable sort of them all, found without sorting them all (a beam step ranks
    beam × vocabulary candidates to keep a few)."""
    if count >= len(values):
        return np.argsort(-values, kind="stable")
    threshold = np.partition(values, len(values) - count)[len(values) - count]
    above = np.flatnonzero(values > threshold)
    chosen = np.concatenate([above, np.flatnonzero(values == threshold)[:count - len(above)]])
    return chosen[np.argsort(-values[chosen], kind="stable")]


def beam_search(model, batch, beam_size=5, length_penalty=1.0):
    """Per sentence: keep the ``beam_size`` best partial corrections by total log-probability;
    a finished one is ranked by log P / length^length_penalty (otherwise short outputs win).

    The sentences of the batch advance together: each step scores the live hypotheses of all of
    them (one row each) in one call of the model, then each sentence picks its own."""
    xp = get_array_module(batch["src"])
    with mg.no_grad():
        states, mask, state = model.encode(batch["src"], batch["src_len"], batch.get("ngrams"))
        feed = model.initial_feed(states)
        n = len(batch["sources"])
        limits = [max_length(s) for s in batch["sources"]]
        sentence = np.arange(n)  # the sentence each live hypothesis (row) belongs to
        hyps, totals = [[] for _ in range(n)], np.zeros(n)
        finished, results = [[] for _ in range(n)], [None] * n
        for step in range(max(limits)):
            words = xp.asarray([h[-1] if h else BOS for h in hyps])
            words = xp.where(words < model.vocab_size, words, UNK)
            rows = xp.asarray(sentence)
            scores, weights, gate, state, feed = model.step(words, state, feed, states[rows], mask[rows])
            logp = np.log(to_numpy(word_distribution(model, scores, weights, gate, batch["src_ext"][rows])) + 1e-12)
            keep, new_sentence, new_hyps, new_totals = [], [], [], []
            for i in dict.fromkeys(sentence.tolist()):  # each live sentence, in row order
                mine = np.flatnonzero(sentence == i)
                candidates = (totals[mine, None] + logp[mine]).ravel()
                kept = []
                for flat in best_first(candidates, 2 * beam_size):
                    beam, word = divmod(int(flat), logp.shape[1])
                    row = mine[beam]
                    if word == EOS:
                        finished[i].append((candidates[flat] / (len(hyps[row]) + 1) ** length_penalty, hyps[row]))
                    else:
                        kept.append((row, hyps[row] + [word], candidates[flat]))
                    if len(kept) == beam_size:
                        break
                if len(finished[i]) >= beam_size or not kept:  # done: its rows leave the batch
                    unfinished = [(totals[row], hyps[row]) for row in mine]
                elif step + 1 == limits[i]:  # out of steps
                    unfinished = [(total, hyp) for _, hyp, total in kept]
                else:
                    for row, hyp, total in kept:
                        keep.append(row)
                        new_sentence.append(i)
                        new_hyps.append(hyp)
                        new_totals.append(total)
                    continue
                if not finished[i]:  # rank the unfinished ones the same way
                    finished[i] = [(t / len(h) ** length_penalty, h) for t, h in unfinished]
                results[i] = max(finished[i], key=lambda f: f[0])[1]
            if not keep:
                break
            index = xp.asarray(keep)
            state, feed = (state[0][index], state[1][index]), feed[index]
            sentence, hyps, totals = np.array(new_sentence), new_hyps, np.array(new_totals)
    return results


def to_words(ids, source, vocab):
    v = len(vocab)
    return [vocab.words[i] if i < v else source[i - v] for i in ids]


def correct(model, sources, vocab, device, beam_size=1, batch_size=64, length_penalty=1.0, progress=False):
    """Corrections (token lists) of a list of token lists; beam_size 1 decodes greedily.
    ``progress``: a progress bar counting sentences, labelled with it if it is a string."""
    model.eval()
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    out = [None] * len(sources)
    chunks = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    label = progress if isinstance(progress, str) else "decoding"
    bar = tqdm(total=len(sources), desc=label, unit="sentence", leave=False) if progress and tqdm else None
    for chunk in chunks:
        batch = to_device(make_batch([(sources[i], None) for i in chunk], vocab, model.ngram_buckets), device)
        ids = greedy(model, batch) if beam_size == 1 else beam_search(model, batch, beam_size, length_penalty)
        for i, hyp in zip(chunk, ids):
            out[i] = to_words(hyp, sources[i], vocab)
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
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
    hyp = correct(model, src, vocab, device, 1, progress=progress and "greedy: JFLEG dev (choosing the margin)")
    gains = confidence_gains(model, src, hyp, vocab, device)
    scores = {m: corpus_gleu(src, keep_confident(src, hyp, gains, m), refs) for m in margins}
    return max(scores, key=scores.get), scores
