"""Synthetic learner errors, learned from the learners' own corrections.

The training data pairs what learners wrote with its correction. Read backwards, each
one-word edit says how a correct word gets corrupted: the correction wrote "an" where the
learner wrote "a", "goes" where they wrote "go", nothing where they wrote an extra "the",
"I" where they wrote "i". Counting those edits gives, for every word w of the corrected
text, how often a learner got it wrong and into what:

    P(corrupt w) = (times an edit wrote w) / (times w appears in the corrections)
    P(w -> v | corrupt w) ∝ (times the learner's v was corrected to w)        (v may be "")
    P(insert v before a word) = (times an edit deleted the learner's v) / (correction words)

ErrorModel.corrupt applies these to a correct sentence (each probability times ``boost``,
to make errors denser than in real text), which turns any corrected sentence into a new
(erroneous, correct) training pair with errors of the kinds and proportions learners make:
articles, prepositions, agreement, verb forms, punctuation, capitals. Only one-word edits
are learned (longer rewrites are too sentence-specific to transplant).

Misspellings (one-word edits whose learner word no correction ever uses) are counted apart,

    P(misspell w) = (misspelling edits) / (words in the corrections)      (the same for every w)

and applied only when asked (``spelling_boost`` > 0), since only a model that sees a word's
letters (text/ngrams.py) can learn from them: a word-level model sees every unseen
misspelling as the same unknown word. Half the time a word is misspelled the way a learner
misspelled it in the data ("accomodation"), where the data has one, otherwise by one random
letter edit: a letter dropped, doubled, replaced, or two letters swapped.
"""
import string
from collections import Counter, defaultdict

from .edits import extract_edits


class ErrorModel:
    def __init__(self, pairs, min_count=2):
        """``pairs``: (learner tokens, corrected tokens). Confusions seen fewer than
        ``min_count`` times are dropped (mostly one-off rewrites and misspellings)."""
        words = Counter(w for _, target in pairs for w in target)
        vocabulary = set(words)
        confusions = defaultdict(Counter)  # correct word -> Counter of what learners wrote
        inserted = Counter()  # learners' extra words that corrections deleted
        self.misspellings = defaultdict(list)  # correct word -> the learners' misspellings of it
        for source, target in pairs:
            for start, end, replacement in extract_edits(source, target):
                wrote = source[start:end]
                if len(wrote) == 1 and len(replacement) == 1 and wrote[0] not in vocabulary:
                    self.misspellings[replacement[0]].append(wrote[0])  # a word no correction uses
                    continue
                if len(wrote) > 1 or len(replacement) > 1 or (wrote and wrote[0] not in vocabulary):
                    continue  # a longer rewrite, or an unknown word deleted
                if replacement:
                    confusions[replacement[0]][wrote[0] if wrote else ""] += 1
                else:
                    inserted[wrote[0]] += 1
        self.confusions, self.p_corrupt = {}, {}
        for word, seen in confusions.items():
            kept = {v: n for v, n in seen.items() if n >= min_count}
            if kept:
                self.confusions[word] = (list(kept), [n / sum(kept.values()) for n in kept.values()])
                self.p_corrupt[word] = sum(kept.values()) / words[word]
        kept = {v: n for v, n in inserted.items() if n >= min_count}
        self.insertions = (list(kept), [n / sum(kept.values()) for n in kept.values()]) if kept else ([], [])
        self.p_insert = sum(kept.values()) / max(1, sum(words.values()))
        self.p_misspell = sum(map(len, self.misspellings.values())) / max(1, sum(words.values()))

    def corrupt(self, tokens, rng, boost=1.0, spelling_boost=0.0):
        """A corrupted copy of ``tokens`` (a numpy Generator draws the errors); misspellings
        only with ``spelling_boost`` > 0, at that multiple of the learners' rate."""
        out = []
        for word in tokens:
            if self.insertions[0] and rng.random() < min(1.0, boost * self.p_insert):
                out.append(self.insertions[0][rng.choice(len(self.insertions[0]), p=self.insertions[1])])
            if word in self.confusions and rng.random() < min(1.0, boost * self.p_corrupt[word]):
                choices, probabilities = self.confusions[word]
                replacement = choices[rng.choice(len(choices), p=probabilities)]
                if replacement:
                    out.append(replacement)
                continue
            if spelling_boost and len(word) >= 3 and word.isalpha() and \
                    rng.random() < min(1.0, spelling_boost * self.p_misspell):
                out.append(self.misspell(word, rng))
                continue
            out.append(word)
        return out or list(tokens)

    def misspell(self, word, rng):
        """A learner's misspelling of ``word`` from the data, or one random letter edit."""
        if self.misspellings.get(word) and rng.random() < 0.5:
            seen = self.misspellings[word]
            return seen[rng.integers(len(seen))]
        return random_letter_edit(word, rng)


def random_letter_edit(word, rng):
    """``word`` with one letter dropped, doubled, replaced by a random one, or swapped with the
    next (never the word itself: a replacement letter differs, a swap of equal letters is redone
    as a drop)."""
    i = int(rng.integers(len(word)))
    kind = int(rng.integers(4))
    if kind == 3 and i + 1 < len(word) and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 2:
        letter = string.ascii_lowercase[int(rng.integers(26))]
        if letter != word[i].lower():
            return word[:i] + letter + word[i + 1:]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1:]
