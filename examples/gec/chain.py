"""The whole grammar-correction chain in one command: three training steps, then the evaluation.

    python examples/gec chain --data-dir DATA [--out runs/gec_chain] [--device cpu]
    bash examples/gec/reproduce.sh DATA                      # the same command

Before it starts, the chain prints its plan: each step, its size, its estimated time and the
total. The estimates come from this machine's speed, measured on a few training and decoding
steps of a throwaway model (the calibration, under a minute). Each step then
prints one line with its estimate and the time so far, and shows a bar of its own; the
estimates of the steps still to come are rescaled by the speed the finished ones reached.

Nothing is lost: a training step saves a checkpoint every two minutes and when Ctrl-C stops
it. Running the same command again skips the finished steps (each leaves a `done` file) and
resumes the interrupted one where it stopped, bit for bit. chain.json records each step's
measured time and the CPU; the evaluation writes ngrams/results.json and outputs.json.
"""
import argparse
import json
import pathlib
import platform
import time

import numpy as np

import minigrad as mg
from minigrad import optim

from . import data as gec
from .batches import batches_by_length, make_batch, to_device, PAD
from .evaluate import jfleg_dev_gleu, training_pairs
from .model import batch_loss, word_distribution
from .text import Vocabulary
from .text.spelling import SpellingCorrector
from .train import build, load_model

MODEL = {"embed": 128, "hidden": 256, "vocab_size": 16000}  # the train command's defaults, for the calibration
EDIT_WEIGHT = ["--edit-weight", "3"]  # the target words an edit wrote count three times (nine in ten are copies)

# name, what it does, its command line (the model it starts from is the previous step's),
# epochs and corrupted copies of each pair (for the plan's sizes).
STEPS = [
    ("words", "word-level model from scratch, edit-weighted, learning rate x0.7 per epoch",
     ["--epochs", "3", "--lr-decay", "0.7"], 3, 0),
    ("synthetic", "fine-tuning on the real pairs plus one corrupted copy of each correction",
     ["--epochs", "1", "--synthetic", "1", "--noise-boost", "2", "--lr", "3e-4"], 1, 1),
    ("ngrams", "character n-grams for the source words, misspelled synthetic pairs",
     ["--epochs", "1", "--char-ngrams", "65536", "--synthetic", "2", "--spelling-boost", "8", "--noise-boost", "2",
      "--lr", "3e-4"], 1, 2),
]


def cpu_model():
    """The CPU's model name, as lscpu prints it."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def minutes(seconds):
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def target_words(pairs):
    return sum(len(t) + 1 for _, t in pairs)  # (+1: the end of sentence)


def calibrate(pairs, data_dir, device, batch_size=64, steps=10, decode_steps=20, spelled=100):
    """Seconds per target word of a training step, per step of greedy decoding (one word for each
    of a batch of sentences) on a throwaway model of the chain's sizes, and per sentence of the
    spelling corrector (its building included, shared out over these sentences)."""
    vocab = Vocabulary([s for s, _ in pairs] + [t for _, t in pairs], max_size=MODEL["vocab_size"])
    args = argparse.Namespace(seed=0, embed=MODEL["embed"], hidden=MODEL["hidden"], attention="general",
                              self_attention=False, no_copy=False, dropout=0.2, char_ngrams=0, device=device)
    model = build(args, vocab)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    batches = batches_by_length(pairs, batch_size, np.random.default_rng(0))
    timed = words = 0.0
    picked = np.random.default_rng(1).choice(len(batches), min(len(batches), steps + 2), replace=False)
    for k, b in enumerate(picked):
        batch = to_device(make_batch([pairs[i] for i in batches[b]], vocab), device)
        start = time.perf_counter()
        loss = batch_loss(model, batch, edit_weight=3.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if k >= min(2, len(picked) - 1):  # the first steps warm the caches and compile the kernels
            timed += time.perf_counter() - start
            words += int((batch["tgt_ext"] != PAD).sum())
    source, _ = gec.read_jfleg("dev", data_dir)
    batch = to_device(make_batch([(s, None) for s in source[:batch_size]], vocab), device)
    model.eval()
    with mg.no_grad():  # greedy decoding's steps, each one word for every sentence of a batch
        states, mask, state = model.encode(batch["src"], batch["src_len"])
        feed, previous = model.initial_feed(states), batch["src"][:, 0]
        start = time.perf_counter()
        for _ in range(decode_steps):
            scores, weights, gate, state, feed = model.step(previous, state, feed, states, mask)
            word_distribution(model, scores, weights, gate, batch["src_ext"]).argmax(axis=1)
    per_step = (time.perf_counter() - start) / decode_steps
    start = time.perf_counter()
    speller = SpellingCorrector(pairs)
    for s in source[:spelled]:
        speller(s)
    return timed / words, per_step, (time.perf_counter() - start) / spelled


def decode_steps(sentences, batch_size=64):
    """Greedy decoding's steps for these sentences: they are decoded by batches of similar length
    (decode.correct), and a trained model writes about as many words as the source has."""
    lengths = sorted(len(s) + 1 for s in sentences)
    return sum(lengths[i:i + batch_size][-1] for i in range(0, len(lengths), batch_size))


def plan(pairs, data_dir, per_word, per_step, per_spelled):
    """Each step's (name, description, estimated seconds). Each training step ends with greedy
    decoding of JFLEG dev, whose GLEU says what the step bought."""
    words, dev = target_words(pairs), gec.read_jfleg("dev", data_dir)[0]
    rows = [(name, f"{what}: {epochs} epoch{'s' * (epochs > 1)} of {'at most ' * bool(copies)}"
                   f"{len(pairs) * (1 + copies):,} pairs",
             epochs * words * (1 + copies) * per_word + decode_steps(dev) * per_step)
            for name, what, _, epochs, copies in STEPS]
    # decoded: JFLEG dev to choose the margin, then the network alone and after the spelling
    # corrector on the four sets; the teacher-forced scores of the confident filter cost little
    sets = [dev, gec.read_jfleg("test", data_dir)[0], [s for s, _ in gec.wi_locness("dev", data_dir)],
            gec.conll2014(data_dir)[0]]
    sentences = len(sets[0]) + 2 * sum(len(s) for s in sets)
    steps = decode_steps(sets[0]) + 2 * sum(decode_steps(s) for s in sets)
    rows.append(("evaluate", f"greedy decoding of {sentences:,} sentences, scores against copying",
                 steps * per_step + sum(len(s) for s in sets) * per_spelled))
    return rows


def run_chain(args, run_cli_main):
    """``run_cli_main(argv)``: the gec command line (cli.main), which runs each step."""
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record_path = out / "chain.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {"seconds": {}}
    record["cpu"], record["command"] = cpu_model(), args.command_line
    pairs = training_pairs(args.data_dir, 50)
    print(f"CPU: {record['cpu']}; {len(pairs):,} training pairs, {target_words(pairs):,} target words")
    print("measuring this machine's speed on a throwaway model ...", flush=True)
    started = time.time()
    per_word, per_step, per_spelled = calibrate(pairs, args.data_dir, args.device)
    record["calibration_seconds"] = record.get("calibration_seconds", 0) + time.time() - started
    steps = plan(pairs, args.data_dir, per_word, per_step, per_spelled)
    print(f"{1 / per_word:,.0f} target words/s in training, {1000 * per_step:.0f} ms per greedy decoding step of a batch")
    done = {name for name, _, _ in steps if (out / name / "done").exists()}
    print("the plan:")
    for k, (name, what, estimate) in enumerate(steps, 1):
        spent = record["seconds"].get(name, 0)
        when = f"done in {minutes(spent)}" if name in done else f"~{minutes(estimate)}" + \
            (f" ({minutes(spent)} spent before)" if spent else "")
        print(f"  {k}. {name:<10} {when:>28}  {what}")
    left = sum(e for name, _, e in steps if name not in done)
    print(f"expected time: ~{minutes(left)} from now", flush=True)

    data_flag = ["--data-dir", str(args.data_dir)] if args.data_dir else []
    chain_start, scale = time.time(), 1.0

    def scaled(n, e):  # the training steps at the speed the finished ones reached
        return e if n == "evaluate" else scale * e

    previous = None
    for k, (name, what, estimate) in enumerate(steps, 1):
        step_dir = out / name
        if name in done:
            print(f"== {k}/{len(steps)} {name}: done already")
            previous = step_dir if name != "evaluate" else previous
            continue
        left = sum(scaled(n, e) for n, _, e in steps[k - 1:] if n not in done)
        estimate = scaled(name, estimate)
        print(f"== {k}/{len(steps)} {name} (~{minutes(estimate)}; {minutes(time.time() - chain_start)} "
              f"into this run, ~{minutes(left)} left): {what}", flush=True)
        started = time.time()
        try:
            if name == "evaluate":
                run_cli_main(["evaluate"] + data_flag + ["--device", args.device,
                              "--out", str(previous), "--beam", "1"] + (["--no-progress"] if args.no_progress else []))
            else:
                argv = ["train"] + data_flag + ["--device", args.device, "--out", str(step_dir),
                        "--no-eval"] + EDIT_WEIGHT + dict((s[0], s[2]) for s in STEPS)[name]
                if previous is not None:
                    argv += ["--init-from", str(previous / "model.npz")]
                if (step_dir / "checkpoint.npz").exists():
                    argv.append("--resume")
                if args.no_progress:
                    argv.append("--no-progress")
                run_cli_main(argv)
                model, vocab = load_model(step_dir / "model.npz", args.device)  # what the step bought:
                record.setdefault("jfleg_dev_gleu", {})[name] = gleu = jfleg_dev_gleu(model, vocab, args.data_dir,
                                                                                     args.device)
                print(f"{name}: JFLEG dev GLEU {gleu:.2f} (greedy, the network alone)")
        finally:  # an interrupted step's time counts too
            record["seconds"][name] = record["seconds"].get(name, 0) + time.time() - started
            record["total_seconds"] = sum(record["seconds"].values()) + record["calibration_seconds"]
            record_path.write_text(json.dumps(record, indent=1))
        (step_dir / "done").parent.mkdir(parents=True, exist_ok=True)
        (step_dir / "done").write_text(f"{record['seconds'][name]:.0f} s\n")
        print(f"== {name}: finished in {minutes(record['seconds'][name])} (estimated ~{minutes(estimate)})")
        if name != "evaluate":  # later steps at the speed this one reached
            scale *= record["seconds"][name] / estimate
        previous = step_dir if name != "evaluate" else previous
    print("JFLEG dev GLEU after each step (greedy): "
          + ", ".join(f"{n} {g:.2f}" for n, g in record.get("jfleg_dev_gleu", {}).items()))
    print(f"the chain took {minutes(record['total_seconds'])} in all (its calibrations included) on {record['cpu']}; "
          f"results in {previous / 'results.json'}")
    return json.loads((previous / "results.json").read_text())
