"""GLEU, the fluency metric of JFLEG (Napoles et al. 2015; the 2016 revision the JFLEG
authors' gleu.py computes).

BLEU rewards n-grams of the hypothesis H found in the reference R. For error correction
most of the sentence is a copy of the source S, so GLEU also *penalises* n-grams that the
hypothesis kept from the source although the reference changed them:

    matches_n = max(0, |H_n ∩ R_n| - |H_n ∩ (S_n \\ R_n)|)          (multiset counts)

where S_n \\ R_n are the source n-grams that do not occur in the reference at all. With
totals t_n = max(0, |H| - n + 1), summed over the corpus, and a brevity penalty as in BLEU:

    GLEU = exp( min(0, 1 - |R| / |H|) + (1/4) Σ_{n=1..4} log(matches_n / t_n) )

JFLEG has four references per sentence. As in the official script, each of 500 iterations
draws one reference per sentence at random (seed 101·j) and the reported score is the mean
of the 500 corpus scores.
"""
import math
import random
from collections import Counter


def ngrams(tokens, n):
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def gleu_statistics(source, hypothesis, reference, order=4):
    """[|H|, |R|, matches_1, total_1, …, matches_order, total_order] for one sentence
    (token lists). Corpus GLEU sums these over sentences before combining."""
    stats = [len(hypothesis), len(reference)]
    for n in range(1, order + 1):
        h, r, s = ngrams(hypothesis, n), ngrams(reference, n), ngrams(source, n)
        source_only = Counter({gram: count for gram, count in s.items() if gram not in r})
        matches = sum((h & r).values()) - sum((h & source_only).values())
        stats += [max(matches, 0), max(len(hypothesis) + 1 - n, 0)]
    return stats


def gleu_from_statistics(stats):
    if any(x == 0 for x in stats):
        return 0.0
    hyp_len, ref_len = stats[:2]
    log_precision = sum(math.log(m / t) for m, t in zip(stats[2::2], stats[3::2])) / len(stats[2::2])
    return math.exp(min(0.0, 1.0 - ref_len / hyp_len) + log_precision)


def corpus_gleu(sources, hypotheses, references, iterations=500, order=4):
    """Mean corpus GLEU (0-100) over ``iterations`` random draws of one reference per sentence.

    sources, hypotheses: lists of token lists; references: per sentence, a list of token lists.
    """
    if not (len(sources) == len(hypotheses) == len(references)):
        raise ValueError(f"corpus_gleu: {len(sources)} sources, {len(hypotheses)} hypotheses and "
                         f"{len(references)} reference sets must match")
    per_reference = [[gleu_statistics(s, h, r, order) for r in refs]
                     for s, h, refs in zip(sources, hypotheses, references)]
    scores = []
    for j in range(iterations):
        draw = random.Random(j * 101)
        total = [0] * (2 * order + 2)
        for options in per_reference:
            chosen = options[int(draw.random() * len(options))]  # Python 2's randint, as the script ran
            total = [a + b for a, b in zip(total, chosen)]
        scores.append(gleu_from_statistics(total))
    return 100 * sum(scores) / len(scores)
