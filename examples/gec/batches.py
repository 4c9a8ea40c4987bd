"""Batches for the corrector: word ids (with each sentence's extended vocabulary for copying),
character n-gram ids, padding, and batches of similar length."""

import numpy as np

import minigrad as mg
from minigrad import nn

from .text import Vocabulary
from .text.edits import edited_target_positions
from .text.ngrams import ngram_table

PAD, UNK, BOS, EOS = Vocabulary.pad, Vocabulary.unk, Vocabulary.bos, Vocabulary.eos


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


def made_up_batch(size=64, vocab_size=16000, seed=0):
    """A batch of ``size`` made-up sentence pairs shaped like the learner corpora's: sources of
    8-32 words drawn from a Zipf-like vocabulary (so some are outside it and must be copied),
    targets the sources with one word in ten replaced. As make_batch gives them, with the vocabulary.
    For benchmarks/models.py and the tests: a step of the default model on real-sized data."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(2 * vocab_size)]
    vocab = Vocabulary([words[:vocab_size - 4]])

    def word():
        return words[min(int(rng.zipf(1.3)), len(words)) - 1]

    pairs = []
    for _ in range(size):
        source = [word() for _ in range(rng.integers(8, 33))]
        target = [word() if rng.random() < 0.1 else w for w in source]
        pairs.append((source, target))
    return make_batch(pairs, vocab), vocab


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


def to_device(batch, device):
    keys = ("src", "src_len", "src_ext", "tgt_ext", "decoder_in", "edited")
    moved = {k: (mg.backend.to_device(v, device) if k in keys else v) for k, v in batch.items()}
    if "ngrams" in batch:
        moved["ngrams"] = tuple(mg.backend.to_device(a, device) for a in batch["ngrams"])
    return moved

