"""Training: building the model, the training loop with checkpoints and resume, loading a model."""
import argparse
import json
import math
import pathlib
import sys
import time

import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.train import ResumeError, checkpoint, finishing_the_step_on_ctrl_c, plot_curves

from . import data as gec
from .text import Vocabulary
from .text.noise import ErrorModel
from .batches import make_batch, batches_by_length, to_device, PAD
from .model import Corrector, batch_loss
from .evaluate import training_pairs, dev_loss

try:
    from tqdm import tqdm
except ImportError:  # progress bars are a convenience
    tqdm = None

ARCHITECTURE = ("embed", "hidden", "attention", "self_attention", "no_copy", "char_ngrams")


def check_saved_sizes(saved, args, vocab_size, path):
    """The sizes a model.npz's settings declare must be those of the weights it holds, checked
    before the model is built (a file saying hidden=40000 must not make us allocate gigabytes)."""
    weights = saved.get("model", {})
    expected = {"embedding.weight": (vocab_size, getattr(args, "embed", None)),
                "out.weight": (vocab_size, getattr(args, "hidden", None))}
    if getattr(args, "char_ngrams", 0):
        expected["char_ngrams.weight"] = (args.char_ngrams, args.embed)
    for name, shape in expected.items():
        found = getattr(weights.get(name), "shape", None)
        if found != shape:
            raise checkpoint.CheckpointError(f"{path}: its settings declare {name} of shape {shape}, but it holds "
                                             f"{found}: a damaged or edited model file")


def check_random_states(saved, path):
    """A checkpoint's random generator states, checked before use: resuming must go on with the
    same dropout masks and sampled words as a run that was never stopped."""
    for field in ("rng", "sampling_rng"):
        if field not in saved:
            raise ResumeError(f"{path}: holds no '{field}' (saved by an older minigrad?): it cannot resume bit for "
                              f"bit; start over with --overwrite")
    try:
        np.random.default_rng().bit_generator.state = saved["rng"]["cpu"]  # throwaway generators check them
        np.random.default_rng().bit_generator.state = saved["sampling_rng"]
    except (TypeError, ValueError, KeyError) as err:
        raise ResumeError(f"{path}: its random generator states are damaged ({err})") from None


def build(args, vocab):
    mg.manual_seed(args.seed)
    model = Corrector(len(vocab), args.embed, args.hidden, args.attention, args.self_attention, not args.no_copy,
                      args.dropout, getattr(args, "char_ngrams", 0))
    return model.to(args.device)


def train(args):
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pairs = training_pairs(args.data_dir, args.max_len)
    dev = [(s, t) for s, t in gec.wi_locness("dev", args.data_dir) if 1 <= len(s) <= args.max_len][:args.dev_size]
    if args.limit:
        pairs = pairs[:args.limit]
    if args.synthetic:  # corrupted copies of the corrections, errors learned from the real pairs
        errors, rng_noise = ErrorModel(pairs), np.random.default_rng([args.seed, 2])
        synthetic = [(errors.corrupt(t, rng_noise, args.noise_boost, args.spelling_boost), t)
                     for _ in range(args.synthetic) for _, t in pairs]
        synthetic = [(s, t) for s, t in synthetic if s != t]
        print(f"{len(synthetic)} synthetic pairs (corrupted corrections) added to {len(pairs)} real ones")
        pairs = pairs + synthetic
    if args.init_from:  # fine-tune a trained model (its vocabulary and weights), fresh optimizer
        saved = checkpoint.load(args.init_from)
        vocab = Vocabulary.from_state_dict(saved["vocab"])
        for key in ARCHITECTURE:  # the saved model's shape, so that this run's model.npz records it too
            if key in saved["args"] and not (key == "char_ngrams" and args.char_ngrams):
                setattr(args, key, saved["args"][key])
        model = build(args, vocab)
        missing, _ = model.load_state_dict(saved["model"], strict=False)
        added = [name for name, _ in model.named_parameters() if name in missing]
        if any(not name.startswith("char_ngrams.") for name in added):
            raise ResumeError(f"{args.init_from} does not hold this model's parameters {added}")
        print(f"initialised from {args.init_from} (epoch {saved.get('epoch')}, dev loss {saved.get('dev_loss'):.4f})"
              + (f"; new: {', '.join(added)}" if added else ""))
    else:
        vocab = Vocabulary([s for s, _ in pairs] + [t for _, t in pairs], max_size=args.vocab_size)
        model = build(args, vocab)
    # The n-gram table learns at its own rate: it starts at zero beside trained word vectors
    # and must grow to their size, while Adam moves each entry by about lr per step.
    ngram_table = [p for name, p in model.named_parameters() if name.startswith("char_ngrams.")]
    groups = [{"params": [p for p in model.parameters() if all(p is not q for q in ngram_table)], "lr_scale": 1.0}]
    if ngram_table:
        groups.append({"params": ngram_table, "lr_scale": args.ngram_lr_scale})
    optimizer = optim.Adam(groups, lr=args.lr)
    params = sum(p.data.size for p in model.parameters())
    print(f"{len(pairs)} training pairs, {len(dev)} dev pairs, vocabulary {len(vocab)}, {params:,} parameters, "
          f"device {args.device}")
    state = {"epoch": 0, "batch": 0, "step": 0, "history": {"step": [], "train_loss": [], "epoch": [], "dev_loss": []},
             "best_dev": math.inf, "seconds": 0.0}
    ckpt_path = out / "checkpoint.npz"
    if ckpt_path.exists() and not args.resume and not getattr(args, "overwrite", False):
        raise ResumeError(f"{ckpt_path} exists: continue it with --resume, or start over with --overwrite "
                          f"(or another --out)")
    rng_sampling = np.random.default_rng(args.seed + 1)
    if args.resume and ckpt_path.exists():
        saved = checkpoint.load(ckpt_path)
        check_random_states(saved, ckpt_path)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        state = saved["state"]
        mg.random.set_state(saved["rng"])  # dropout masks and sampled words go on as if never stopped
        rng_sampling.bit_generator.state = saved["sampling_rng"]
        print(f"resumed at epoch {state['epoch'] + 1}, batch {state['batch']}")

    def save():
        checkpoint.save_atomically({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "state": state,
                                    "vocab": vocab.state_dict(), "args": vars(args), "rng": mg.random.get_state(),
                                    "sampling_rng": rng_sampling.bit_generator.state}, ckpt_path)
        return time.time()

    model.train()
    session_start = last_save = time.time()

    def stop_now():
        return (args.max_steps and state["step"] >= args.max_steps) or \
               (args.time_budget and time.time() - session_start >= args.time_budget)

    for epoch in range(state["epoch"], args.epochs):
        for group in optimizer.param_groups:
            group["lr"] = args.lr * group["lr_scale"] * args.lr_decay ** epoch
        batches = batches_by_length(pairs, args.batch_size, np.random.default_rng([args.seed, epoch]))
        started, running = time.time(), []
        todo = range(state["batch"], len(batches))
        bar = tqdm(todo, desc=f"epoch {epoch + 1}/{args.epochs}", disable=args.no_progress or tqdm is None) \
            if tqdm else todo
        with finishing_the_step_on_ctrl_c() as interrupted:
            for b in bar:
                batch = to_device(make_batch([pairs[i] for i in batches[b]], vocab, model.ngram_buckets), args.device)
                loss = batch_loss(model, batch, args.scheduled_sampling, rng_sampling, args.label_smoothing,
                                  args.edit_weight)
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), args.clip)
                optimizer.step()
                running.append(loss.item())
                state["words"] = state.get("words", 0) + int((batch["tgt_ext"] != PAD).sum())
                state["batch"], state["step"] = b + 1, state["step"] + 1
                if state["step"] % args.log_every == 0:
                    state["history"]["step"].append(state["step"])
                    state["history"]["train_loss"].append(float(np.mean(running[-args.log_every:])))
                    if tqdm and not args.no_progress:
                        bar.set_postfix(loss=f"{np.mean(running[-args.log_every:]):.3f}")
                if stop_now():
                    break
                if (state["step"] % args.checkpoint_every == 0 or interrupted()
                        or args.checkpoint_minutes and time.time() - last_save >= 60 * args.checkpoint_minutes):
                    state["seconds"] += time.time() - started
                    started = last_save = save()
                if interrupted():  # Ctrl-C: the step it came in is finished and saved; --resume goes on from it
                    print(f"\ninterrupted at epoch {epoch + 1}, batch {state['batch']}; checkpoint saved: "
                          f"continue with --resume", file=sys.stderr)
                    raise KeyboardInterrupt
        state["seconds"] += time.time() - started
        finished = state["batch"] == len(batches)  # or stopped inside the epoch (--time-budget, --max-steps)
        progress = epoch + state["batch"] / len(batches)  # epochs done, as a fraction
        loss_dev = dev_loss(model, dev, vocab, args.device)
        state["history"]["epoch"].append(progress)
        state["history"]["dev_loss"].append(loss_dev)
        where = "" if finished else f" (stopped at batch {state['batch']} of {len(batches)})"
        print(f"epoch {epoch + 1}{where}: "
              f"train loss {np.mean(running) if running else math.nan:.4f}, W&I dev loss {loss_dev:.4f}, "
              f"{state.get('words', 0) / max(state['seconds'], 1e-9):.0f} target words/s, "
              f"{state['seconds']:.0f} s training in all")
        if finished:  # a resumed run goes on with the next epoch; otherwise with the next batch of this one
            state["epoch"], state["batch"] = epoch + 1, 0
        if loss_dev < state["best_dev"]:
            state["best_dev"] = loss_dev
            checkpoint.save_atomically({"model": model.state_dict(), "vocab": vocab.state_dict(), "args": vars(args),
                                        "epoch": round(progress, 2), "dev_loss": loss_dev}, out / "model.npz")
        last_save = save()
        if stop_now():
            break
    h = state["history"]
    per_epoch = max(1, len(h["step"]) // max(1, len(h["epoch"])))
    plot_curves({"train (running mean)": (np.array(h["step"]) * args.batch_size / len(pairs), h["train_loss"]),
                 "W&I dev": (h["epoch"], h["dev_loss"])}, out / "loss.png", "epoch", "NLL per target word",
                "GEC encoder-decoder: loss" if per_epoch else "")
    (out / "history.json").write_text(json.dumps({**h, "seconds": state["seconds"]}, indent=1))
    return model, vocab


def load_model(path, device):
    if not pathlib.Path(path).exists():
        raise FileNotFoundError(f"no trained model at {path}: run the train command first (or pass --out)")
    saved = checkpoint.load(path)
    vocab = Vocabulary.from_state_dict(saved["vocab"])
    args = argparse.Namespace(**{**saved["args"], "device": device})
    check_saved_sizes(saved, args, len(vocab), path)
    model = build(args, vocab)
    model.load_state_dict(saved["model"])
    return model.eval(), vocab
