"""Character n-grams of words, hashed into a fixed number of buckets (fastText's subword features).

A word-level model sees every word outside its vocabulary as one and the same unknown word, so
"becuase", "beacuse" and "because" have nothing in common to it. Described by its character
n-grams instead, with < and > marking where the word starts and ends,

    because -> <b be ec ca au us se e>   <be bec eca cau aus use se>   <bec beca ... se>   (n = 2, 3, 4)

a misspelling shares many of its n-grams with the word it misspells, an unrelated word almost
none: over the 2,000 commonest misspellings in the learner data the share (intersection over
union) is 0.47 on average against 0.014 for random pairs of the same words. (Longer n-grams
are more distinctive but a misspelling breaks more of them: 0.36 against 0.005 for n = 3-5.) Each n-gram is hashed
into one of ``buckets - 1`` rows of an embedding table (CRC-32: the same in every process,
unlike Python's ``hash``), and a model can take a word's vector to be the mean of its rows.
Row 0 is never an n-gram's: it pads the (words, n-grams) index arrays.
"""
import zlib
from functools import lru_cache

import numpy as np

SIZES = (2, 3, 4)


def char_ngrams(word, sizes=SIZES):
    """The n-grams of ``word`` (lower-cased, ends marked); a word of one letter still has one."""
    marked = f"<{word.lower()}>"
    return [marked[i:i + n] for n in sizes for i in range(len(marked) - n + 1)] or [marked]


@lru_cache(maxsize=1 << 17)
def ngram_ids(word, buckets):
    """Row numbers in [1, buckets) of the n-grams of ``word``."""
    return tuple(1 + zlib.crc32(gram.encode("utf-8")) % (buckets - 1) for gram in char_ngrams(word))


def ngram_table(words, buckets):
    """Index arrays for a list of distinct words -> (ids (W, G) int64, 0-padded; counts (W, 1)),
    G being the most n-grams any of the words has."""
    rows = [ngram_ids(w, buckets) for w in words]
    ids = np.zeros((len(rows), max(map(len, rows), default=1)), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, :len(row)] = row
    counts = np.array([[max(len(row), 1)] for row in rows], dtype=np.float32).reshape(-1, 1)
    return ids, counts
