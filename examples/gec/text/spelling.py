"""A spelling corrector learned from the corrected side of the training data (Norvig's method).

Known words are the words of the corrected training sentences, with their counts. A word that
is not known is replaced by the most frequent known word within one edit (delete, swap,
replace or insert a letter), or two edits for words of 6+ letters, preferring corrections
the learners' own data showed for exactly that misspelling. Words that look like names
(capitalised) or hold digits are left alone, and so is anything with no known neighbour.

In the learner corpora most JFLEG-style errors are misspellings of common words ("definitly",
"alot", "tought"); a word-level network cannot fix a misspelling it never saw (it is one
unknown word to it), so this runs in front of it.
"""
import string
from collections import Counter

from .edits import extract_edits

LETTERS = string.ascii_lowercase


def one_edit(word):
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    swaps = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in LETTERS]
    inserts = [a + c + b for a, b in splits for c in LETTERS]
    return set(deletes + swaps + replaces + inserts)


class SpellingCorrector:
    def __init__(self, pairs, min_count=1):
        """``pairs``: (source tokens, corrected tokens) of the training data."""
        self.counts = Counter(w.lower() for _, target in pairs for w in target)
        self.known = {w for w, n in self.counts.items() if n >= min_count}
        seen = Counter()
        for source, target in pairs:  # one-word replacements where the source word is unknown
            for start, end, words in extract_edits(source, target):
                if end - start == 1 and 1 <= len(words) <= 2 and source[start].lower() not in self.known:
                    seen[source[start].lower(), " ".join(words).lower()] += 1  # 'alot' -> 'a lot'
        self.learned = {}
        for (wrong, right), n in seen.most_common():
            self.learned.setdefault(wrong, right)

    def correct_word(self, word):
        lower = word.lower()
        if lower in self.known or not lower.isalpha() or len(lower) < 3 or word[0].isupper():
            return word
        if lower in self.learned:
            return self.learned[lower]
        candidates = [w for w in one_edit(lower) if w in self.known]
        if not candidates and len(lower) >= 6:
            candidates = [w2 for w1 in one_edit(lower) for w2 in one_edit(w1) if w2 in self.known]
        return max(candidates, key=lambda w: (self.counts[w], w)) if candidates else word

    def __call__(self, tokens):
        return [piece for w in tokens for piece in self.correct_word(w).split(" ")]
