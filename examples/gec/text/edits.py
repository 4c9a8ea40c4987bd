"""Edit-level precision, recall and F0.5, with an approximate word-level alignment.

An edit is (start, end, replacement): source tokens [start, end) replaced by a tuple of
words. Both the system's output and the gold correction are aligned to the source with the
same longest-matching-block alignment (difflib), and each differing block is one edit. This
is an approximation of ERRANT/M2 scoring: a gold edit that ERRANT splits in two counts here
as one, so absolute numbers differ a little from the official scorers; comparisons between
systems scored the same way are fair. F0.5 weighs precision twice as much as recall,
because a wrong correction annoys a learner more than a missed one.
"""
import difflib
from dataclasses import dataclass


def extract_edits(source, target):
    """The set of edits turning token list ``source`` into ``target``."""
    matcher = difflib.SequenceMatcher(a=source, b=target, autojunk=False)
    return {(i1, i2, tuple(target[j1:j2])) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"}


def edited_target_positions(source, target):
    """Indices of the target tokens that an edit wrote (the rest are copied from the source)."""
    matcher = difflib.SequenceMatcher(a=source, b=target, autojunk=False)
    return {j for tag, _, _, j1, j2 in matcher.get_opcodes() if tag != "equal" for j in range(j1, j2)}


@dataclass
class EditScore:
    true_positives: int
    proposed: int
    gold: int

    @property
    def precision(self):
        return self.true_positives / self.proposed if self.proposed else 1.0

    @property
    def recall(self):
        return self.true_positives / self.gold if self.gold else 1.0

    def f_beta(self, beta=0.5):
        p, r = self.precision, self.recall
        return (1 + beta**2) * p * r / (beta**2 * p + r) if p + r else 0.0


def score_edits(sources, hypotheses, targets, *more_targets):
    """Corpus edit counts. With several annotators (``more_targets``: further lists of
    corrections), each sentence is scored against the annotator that gives it the most true
    positives (then the fewest gold edits), as the M2 scorer picks per sentence the annotation
    that maximises the score (it picks to maximise the corpus F; per sentence is close)."""
    tp = proposed = gold = 0
    for source, hypothesis, *corrections in zip(sources, hypotheses, targets, *more_targets, strict=True):
        mine = extract_edits(source, hypothesis)
        best = max((len(mine & theirs), -len(theirs)) for theirs in (extract_edits(source, t) for t in corrections))
        tp += best[0]
        proposed += len(mine)
        gold -= best[1]
    return EditScore(tp, proposed, gold)
