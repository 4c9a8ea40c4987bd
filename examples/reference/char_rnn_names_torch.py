"""The surname generator in PyTorch: same model, same initial weights (copied from
minigrad's, built with the same seed), same data order and steps — only the engine and the
dropout masks differ. Prints held-out NLL per character and training names/s.

    python examples/reference/char_rnn_names_torch.py --data-dir ../shared/data --steps 50000
"""
import json
import pathlib
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import char_rnn_names as ours  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import data  # noqa: E402


class NameGenerator(nn.Module):
    def __init__(self, n_categories, hidden_size=128):
        super().__init__()
        inputs = n_categories + ours.N_LETTERS
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(inputs + hidden_size, hidden_size)
        self.i2o = nn.Linear(inputs + hidden_size, ours.N_LETTERS)
        self.o2o = nn.Linear(hidden_size + ours.N_LETTERS, ours.N_LETTERS)
        self.dropout = nn.Dropout(0.1)

    def forward(self, category, letter, hidden):
        combined = torch.cat([category, letter, hidden], 1)
        hidden = self.i2h(combined)
        output = self.o2o(torch.cat([hidden, self.i2o(combined)], 1))
        return torch.log_softmax(self.dropout(output), 1), hidden


def sequence_loss(model, category, letters, targets):
    hidden = torch.zeros(len(letters), model.hidden_size)
    category = torch.from_numpy(category)
    total = 0
    for t in range(letters.shape[1]):
        logp, hidden = model(category, torch.from_numpy(ours.one_hot(letters[:, t], ours.N_LETTERS)), hidden)
        total = total + nn.functional.nll_loss(logp, torch.from_numpy(targets[:, t]), reduction="sum", ignore_index=ours.PAD)
    return total


def heldout_nll(model, splits, languages):
    model.eval()
    total, chars = 0.0, 0
    with torch.no_grad():
        for c, language in enumerate(languages):
            names = splits[language][1]
            total += float(sequence_loss(model, *ours.padded_batch([(c, n) for n in names], len(languages))))
            chars += sum(len(n) + 1 for n in names)
    model.train()
    return total / chars


def main(argv=None):
    args = ours.parse_args(["train"] + list(sys.argv[1:] if argv is None else argv))
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    dataset = data.Names(args.data_dir)
    languages = dataset.languages
    splits = ours.split_names(dataset, args.seed)
    mg.manual_seed(args.seed)
    initial = ours.NameGenerator(len(languages), args.hidden).state_dict()
    model = NameGenerator(len(languages), args.hidden)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in initial.items()})
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr or 0.0005)
    stream = ours.training_pairs(splits, languages, np.random.default_rng(args.seed), "single", 1)
    before = heldout_nll(model, splits, languages)
    tick = time.perf_counter()
    for _ in range(args.steps):
        loss = sequence_loss(model, *ours.padded_batch(next(stream), len(languages)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    speed = args.steps / (time.perf_counter() - tick)
    after = heldout_nll(model, splits, languages)
    print(f"PyTorch: held-out NLL per character {before:.3f} before, {after:.3f} after ({speed:.0f} training names/s)")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "heldout_nll.json").write_text(json.dumps({"before": before, "after": after, "train_names_per_second": speed,
                                                      "steps": args.steps}, indent=1))


if __name__ == "__main__":
    main()
