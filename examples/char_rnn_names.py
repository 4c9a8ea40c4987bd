"""The character-level surname generator of the course homework (Q2).

Given a language and a first letter, the network writes a surname one letter at a time
("Russian, R -> Romanov"). The model is the homework's (from PyTorch's "NLP from scratch"
tutorial): at each step the input is concat(language one-hot, current letter one-hot,
hidden state); two linear layers i2h and i2o read it, a third, o2o, reads
concat(new hidden, i2o's output); dropout 0.1; log-softmax over the next letter, where an
end-of-name token lets the network decide when the name is finished. ``--cell lstm|gru``
replaces the plain linear recurrence i2h by a gated cell.

Two ways to train, one model:
  --mode single   as the homework did: one random (language, name) pair per step, the NLL
                  summed over every letter including the end token, plain SGD;
  --mode batched  mini-batches of names padded to the same length, padding masked out of
                  the loss (ignore_index), Adam: many names per step, much faster per name.

    python examples/char_rnn_names.py train --data-dir ../shared/data --steps 100000
    python examples/char_rnn_names.py sample --checkpoint runs/char_rnn/model.npz --language Russian --start R

Writes to --out: loss.png, heldout_nll.json (per language), samples.txt, model.npz.
"""
import argparse
import json
import pathlib
import sys
import time

import minigrad as mg
import numpy as np

from minigrad import data, nn, optim
from minigrad.data.names import ALPHABET
from minigrad.train import cli
from minigrad.train import CheckpointError, ResumeError, load_checkpoint, plot_curves, run_cli, save_atomically
from minigrad.train import finishing_the_step_on_ctrl_c

NAMES_SEEN = 100_000  # the homework's training: 100,000 names (one a step), in either mode


def default_steps(mode, batch_size):
    """The homework's 100,000 names: as many steps one name at a time, 1,562 batches of 64."""
    return NAMES_SEEN if mode == "single" else NAMES_SEEN // batch_size

EOS = len(ALPHABET)  # index of the end-of-name token, after the 58 letters and signs
N_LETTERS = len(ALPHABET) + 1
PAD = -100  # target value ignored by the loss


# ----- data -------------------------------------------------------------------------------

def encode(name):
    return [ALPHABET.index(ch) for ch in name]


def split_names(dataset, seed, held_out=0.1):
    """Per language, a seeded 90/10 split of its names: {language: (train, held_out)}."""
    rng = np.random.default_rng(seed)
    splits = {}
    for language in dataset.languages:
        names = list(dataset.names[language])
        order = rng.permutation(len(names))
        cut = max(1, int(round(held_out * len(names))))
        splits[language] = ([names[i] for i in order[cut:]], [names[i] for i in order[:cut]])
    return splits


def one_hot(indices, size):
    out = np.zeros((len(indices), size), dtype=np.float32)
    out[np.arange(len(indices)), indices] = 1
    return out


def padded_batch(pairs, n_categories):
    """Inputs (B, T) letter indices, targets (B, T) next letters with EOS then PAD, and the
    language one-hots (B, n_categories), for a list of (language_index, name)."""
    length = max(len(name) for _, name in pairs)
    letters = np.zeros((len(pairs), length), dtype=np.int64)
    targets = np.full((len(pairs), length), PAD, dtype=np.int64)
    for row, (_, name) in enumerate(pairs):
        codes = encode(name)
        letters[row, :len(codes)] = codes
        targets[row, :len(codes)] = codes[1:] + [EOS]
    return one_hot([c for c, _ in pairs], n_categories), letters, targets


# ----- model ------------------------------------------------------------------------------

class NameGenerator(nn.Module):
    def __init__(self, n_categories, hidden_size=128, cell="rnn", dropout=0.1):
        super().__init__()
        self.n_categories, self.hidden_size, self.cell_type = n_categories, hidden_size, cell
        inputs = n_categories + N_LETTERS
        if cell == "rnn":
            self.i2h = nn.Linear(inputs + hidden_size, hidden_size)
        else:
            self.cell = (nn.LSTMCell if cell == "lstm" else nn.GRUCell)(inputs, hidden_size)
        self.i2o = nn.Linear(inputs + hidden_size, N_LETTERS)
        self.o2o = nn.Linear(hidden_size + N_LETTERS, N_LETTERS)
        self.dropout = nn.Dropout(dropout)

    def initial_state(self, batch):
        zeros = mg.zeros(batch, self.hidden_size)
        return (zeros, mg.zeros(batch, self.hidden_size)) if self.cell_type == "lstm" else zeros

    def forward(self, category, letter, state):
        """One step: log-probabilities of the next letter (B, N_LETTERS), and the new state."""
        hidden = state[0] if self.cell_type == "lstm" else state
        combined = mg.concatenate([category, letter, hidden], axis=1)
        if self.cell_type == "rnn":
            state = hidden = self.i2h(combined)
        else:
            state = self.cell(mg.concatenate([category, letter], axis=1), state)
            hidden = state[0] if self.cell_type == "lstm" else state
        output = self.o2o(mg.concatenate([hidden, self.i2o(combined)], axis=1))
        return mg.log_softmax(self.dropout(output), axis=1), state


def sequence_loss(model, category, letters, targets):
    """Σ over letters (and the end token) of the NLL, summed over the batch; padding ignored."""
    state = model.initial_state(len(letters))
    category = mg.tensor(category)
    total = None
    for t in range(letters.shape[1]):
        logp, state = model(category, mg.tensor(one_hot(letters[:, t], N_LETTERS)), state)
        step = mg.nll_loss(logp, targets[:, t], reduction="sum")
        total = step if total is None else total + step
    return total


def heldout_nll(model, splits, languages):
    """Negative log-likelihood per character (end token included) of each language's held-out names."""
    model.eval()
    result = {}
    with mg.no_grad():
        for c, language in enumerate(languages):
            names = splits[language][1]
            total = 0.0
            for start in range(0, len(names), 256):
                pairs = [(c, n) for n in names[start:start + 256]]
                total += sequence_loss(model, *padded_batch(pairs, len(languages))).item()
            result[language] = total / sum(len(n) + 1 for n in names)
    model.train()
    all_chars = sum(sum(len(n) + 1 for n in splits[lang][1]) for lang in languages)
    result["all"] = sum(result[lang] * sum(len(n) + 1 for n in splits[lang][1]) for lang in languages) / all_chars
    return result


def generate(model, languages, language, start, temperature=0.0, rng=None, max_length=20):
    """Greedy (temperature 0) or sampled decoding from a first letter."""
    model.eval()
    category = mg.tensor(one_hot([languages.index(language)], len(languages)))
    state, name = model.initial_state(1), start
    with mg.no_grad():
        letter = encode(start)[-1]
        for t in range(max_length):
            if t < len(start) - 1:  # feed a multi-letter prefix first
                letter = encode(start)[t]
            logp, state = model(category, mg.tensor(one_hot([letter], N_LETTERS)), state)
            if t < len(start) - 1:
                continue
            scores = logp.numpy()[0]
            if temperature <= 0:
                letter = int(scores.argmax())
            else:
                p = np.exp((scores - scores.max()) / temperature)
                letter = int(rng.choice(N_LETTERS, p=p / p.sum()))
            if letter == EOS:
                break
            name += ALPHABET[letter]
    model.train()
    return name


# ----- training ---------------------------------------------------------------------------

def training_pairs(splits, languages, rng, mode, batch_size):
    """Endless stream: random language, then a random name of it (the homework's sampling)."""
    train = [splits[lang][0] for lang in languages]
    while True:
        count = 1 if mode == "single" else batch_size
        cats = rng.integers(0, len(languages), count)
        yield [(int(c), train[c][rng.integers(0, len(train[c]))]) for c in cats]


def train(args):
    out = pathlib.Path(args.out)
    dataset = data.Names(args.data_dir)
    languages = dataset.languages
    splits = split_names(dataset, args.seed)
    mg.manual_seed(args.seed)
    model = NameGenerator(len(languages), args.hidden, args.cell)
    if args.mode == "single":
        optimizer = optim.SGD(model.parameters(), lr=args.lr or 0.0005)
    else:
        optimizer = optim.Adam(model.parameters(), lr=args.lr or 0.003)
    rng = np.random.default_rng(args.seed)
    step, losses = 0, []
    checkpoint = out / "checkpoint.npz"
    if checkpoint.exists() and not args.resume and not getattr(args, "overwrite", False):
        raise ResumeError(f"{checkpoint} exists: continue it with --resume, or start over with --overwrite "
                          f"(or another --out)")
    if args.resume and checkpoint.exists():
        state = load_checkpoint(checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["data_rng"]
        mg.random.set_state(state["rng"])
        step, losses = state["step"], state["losses"]
        print(f"resumed at step {step}")

    print(f"{len(languages)} languages, {sum(len(s[0]) for s in splits.values())} training names; "
          f"{model.num_parameters():,} parameters; mode {args.mode}, cell {args.cell}")
    before = heldout_nll(model, splits, languages)["all"]
    stream = training_pairs(splits, languages, rng, args.mode, args.batch_size)
    names_seen, window, tick = 0, [], time.perf_counter()
    bar = _progress(args.steps, step, not args.no_progress)
    with finishing_the_step_on_ctrl_c() as interrupted:
        while step < args.steps:
            pairs = next(stream)
            loss = sequence_loss(model, *padded_batch(pairs, len(languages)))
            optimizer.zero_grad()
            (loss if args.mode == "single" else loss / len(pairs)).backward()
            if args.clip:
                nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            step += 1
            names_seen += len(pairs)
            window.append(loss.item() / sum(len(n) + 1 for _, n in pairs))
            if step % args.log_every == 0 or step == args.steps:
                losses.append((step, float(np.mean(window))))
                window = []
                if bar is not None:
                    bar.update(args.log_every)
                    bar.set_postfix(loss_per_char=f"{losses[-1][1]:.3f}", names_per_s=f"{names_seen / (time.perf_counter() - tick):.0f}")
            if step % args.checkpoint_every == 0 or step == args.steps or interrupted():
                save_atomically({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                                 "losses": losses, "data_rng": rng.bit_generator.state, "rng": mg.random.get_state()},
                                checkpoint)
            if interrupted():  # Ctrl-C: the step it came in is finished and saved; --resume goes on from it
                print(f"\ninterrupted at step {step}; checkpoint saved: continue with --resume", file=sys.stderr)
                raise KeyboardInterrupt
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - tick
    speed = names_seen / seconds if seconds > 0 else 0.0

    nll = heldout_nll(model, splits, languages)
    save_atomically({"model": model.state_dict(), "languages": languages, "hidden": args.hidden, "cell": args.cell},
                    out / "model.npz")
    if losses:
        plot_curves({f"{args.mode} ({args.cell})": tuple(zip(*losses))}, out / "loss.png", "training step",
                    "training loss per character (nats)", "Surname generator")
    (out / "heldout_nll.json").write_text(json.dumps({"before_training": before, "after_training": nll,
                                                      "train_names_per_second": speed, "steps": step,
                                                      "args": vars(args)}, indent=1))
    print(f"\nheld-out NLL per character: {before:.3f} before training, {nll['all']:.3f} after "
          f"({speed:.0f} training names/s)")
    for language in languages:
        print(f"  {language:11s} {nll[language]:.3f}")
    samples = sample_table(model, languages, splits, args.temperature, args.seed)
    (out / "samples.txt").write_text(samples)
    print("\n" + samples)
    return {"before": before, "after": nll, "names_per_second": speed}


def sample_table(model, languages, splits, temperature, seed):
    """For every language, its three most common first letters: greedy and sampled names."""
    rng = np.random.default_rng(seed)
    lines = [f"{'language':11s} start  greedy          sampled (temperature {temperature})"]
    for language in languages:
        firsts = [n[0] for n in splits[language][0]]
        common = sorted(set(firsts), key=lambda ch: -firsts.count(ch))[:3]
        for start in common:
            greedy = generate(model, languages, language, start)
            sampled = generate(model, languages, language, start, temperature, rng)
            lines.append(f"{language:11s} {start:5s}  {greedy:15s} {sampled}")
    return "\n".join(lines) + "\n"


def sample(args):
    state = load_checkpoint(args.checkpoint)
    check_saved_sizes(state, args.checkpoint)
    model = NameGenerator(len(state["languages"]), state["hidden"], state["cell"])
    model.load_state_dict(state["model"])
    rng = np.random.default_rng(args.seed)
    languages = state["languages"]
    if args.language not in languages:
        print(f"error: unknown language {args.language!r}; choose from {', '.join(languages)}", file=sys.stderr)
        return 2
    for start in args.start:
        greedy = generate(model, languages, args.language, start)
        sampled = [generate(model, languages, args.language, start, args.temperature, rng) for _ in range(args.count)]
        print(f"{args.language}, {start} -> {greedy} (greedy); sampled: {', '.join(sampled)}")


def check_saved_sizes(state, path):
    """The sizes a model.npz declares must be those of the weights it holds (checked before the
    model is built: a file saying hidden=40000 must not make us allocate gigabytes)."""
    try:
        languages, hidden, cell = state["languages"], state["hidden"], state["cell"]
        o2o = state["model"]["o2o.weight"].shape  # Linear(hidden + N_LETTERS, N_LETTERS)
    except (KeyError, TypeError, AttributeError) as err:
        raise CheckpointError(f"{path}: not a surname model ({type(err).__name__}: {err})") from None
    if (not isinstance(languages, list) or not all(isinstance(x, str) for x in languages) or cell not in
            ("rnn", "lstm", "gru") or not isinstance(hidden, int) or o2o != (N_LETTERS, hidden + N_LETTERS)):
        raise CheckpointError(f"{path}: its settings (hidden={hidden!r}, cell={cell!r}) do not match the weights "
                              f"it holds (o2o.weight {o2o})")


def _progress(total, initial, enabled):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=initial, desc="training", dynamic_ncols=True)


def parse_args(argv=None):
    parser = cli.parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    t = commands.add_parser("train", allow_abbrev=False, help="train the model (the default)")
    t.add_argument("--mode", choices=["single", "batched"], default="single")
    t.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="rnn")
    t.add_argument("--steps", type=cli.positive_int, default=None,
                   help="training steps (default: 100,000 names' worth: one name a step in single mode, "
                        "100,000 // --batch-size batches in batched mode)")
    t.add_argument("--batch-size", type=cli.positive_int, default=64, help="names per step in batched mode")
    t.add_argument("--hidden", type=cli.positive_int, default=128)
    t.add_argument("--lr", type=cli.positive_float, default=None, help="default 0.0005 (single, SGD) or 0.003 (batched, Adam)")
    t.add_argument("--clip", type=cli.non_negative_float, default=0.0, help="clip the gradient norm (0: off)")
    t.add_argument("--temperature", type=cli.positive_float, default=0.5)
    t.add_argument("--seed", type=cli.non_negative_int, default=0)
    t.add_argument("--log-every", type=cli.positive_int, default=500)
    t.add_argument("--checkpoint-every", type=cli.positive_int, default=5000)
    t.add_argument("--data-dir", default=None)
    t.add_argument("--out", default="runs/char_rnn")
    t.add_argument("--resume", action="store_true")
    t.add_argument("--overwrite", action="store_true", help="start over even if OUT holds a checkpoint")
    t.add_argument("--no-progress", action="store_true")
    t.add_argument("--student", nargs="+", choices=["lstm_cell"], default=[],
                   help="train with your own LSTM step from exercises/ (graded first; exercises/README.md)")
    t.add_argument("--solutions", action="store_true", help="with --student: the exercises' worked solutions")
    s = commands.add_parser("sample", allow_abbrev=False, help="generate names from a trained model.npz")
    s.add_argument("--checkpoint", default="runs/char_rnn/model.npz")
    s.add_argument("--language", required=True)
    s.add_argument("--start", nargs="+", default=["A"])
    s.add_argument("--temperature", type=cli.positive_float, default=0.5)
    s.add_argument("--count", type=cli.positive_int, default=3)
    s.add_argument("--seed", type=cli.non_negative_int, default=0)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("train", "sample", "-h", "--help"):
        argv.insert(0, "train")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if getattr(args, "steps", 0) is None:
        args.steps = default_steps(args.mode, args.batch_size)
    mg.tune_process()  # the fast kernels' process settings: minigrad/fast/process.py
    if getattr(args, "student", None):
        if args.cell != "lstm":
            print("error: --student lstm_cell trains your LSTM step: add --cell lstm", file=sys.stderr)
            return 2
        sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # the repository, for exercises/
        from exercises.swap import use_in_example

        if not use_in_example(args.student, args.solutions):  # graded first: no training with a wrong backward
            return 2
    return train(args) if args.command == "train" else sample(args)


if __name__ == "__main__":
    sys.exit(run_cli(main))
