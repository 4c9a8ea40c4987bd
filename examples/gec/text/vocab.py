"""A word vocabulary built from training data only, with the four special tokens."""
from collections import Counter

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"


class Vocabulary:
    """Words seen at least ``min_count`` times, most frequent first, capped at ``max_size``.

    Index 0 is padding, 1 unknown, 2 begin- and 3 end-of-sentence.
    """

    def __init__(self, sentences, max_size=None, min_count=1):
        counts = Counter(word for sentence in sentences for word in sentence)
        words = [w for w, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])) if n >= min_count]
        self.words = [PAD, UNK, BOS, EOS] + words[:None if max_size is None else max_size - 4]
        self.index = {w: i for i, w in enumerate(self.words)}

    pad, unk, bos, eos = 0, 1, 2, 3

    def __len__(self):
        return len(self.words)

    def encode(self, sentence):
        return [self.index.get(w, self.unk) for w in sentence]

    def decode(self, ids):
        return [self.words[i] for i in ids]

    def state_dict(self):
        return {"words": list(self.words)}

    @classmethod
    def from_state_dict(cls, state):
        vocab = cls([])
        vocab.words = list(state["words"])
        vocab.index = {w: i for i, w in enumerate(vocab.words)}
        return vocab
