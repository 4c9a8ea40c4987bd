"""Grammatical error correction with an LSTM encoder-decoder and attention (midterm problem set 4).

The midterm designs this model but never builds it. Here it is, trained on real learner
English and scored honestly against the do-nothing baseline.

Data (../shared/data/gec, non-commercial research and education licences):
    train   Write & Improve A/B/C train (M2, annotator 0's edits applied; 34,308 sentences)
            + FCE v2.1 train (JSON, non-null edits applied right to left, split into sentences)
    select  Write & Improve dev (3,396 sentences): validation loss picks the checkpoint
    test    JFLEG test (747 sentences, 4 fluency references; GLEU), W&I dev (edit F0.5) and
            CoNLL-2014 test (1,312 sentences, 2 annotators; edit F0.5, approximate alignment)
    noise   optional (--synthetic K): K corrupted copies of each correction, with one-word
            errors drawn at the rates and with the confusions of the learners' own edits
            (text/noise.py); with --spelling-boost S also misspellings, at S times
            the learners' rate (their own misspellings of the word, or a random letter edit)

Model:
    source words --Embedding--> bidirectional LSTM (+ optional self-attention) --> states
             (--char-ngrams N: plus the mean of the word's hashed character n-gram vectors,
             so that "becuase" looks like "because" and the decoder can write the right word)
    decoder: LSTMCell over [embedding of previous word ; previous attentional vector]
             ("input feeding": the decoder knows what it attended to last), attention over
             the source states (Luong dot/general or Bahdanau additive), then
             attentional = tanh(W [h ; context]) and word scores = V attentional.
    copy:    most of a corrected sentence is copied from its source, and the data is small,
             so (optionally, on by default) a pointer-generator mixes the vocabulary
             distribution with the attention weights as a distribution over source words:
                 P(w) = g · softmax(scores)[w] + (1 - g) · Σ_{i: source_i = w} attention_i
             with a learned gate g = σ(u·[attentional ; context ; embedding]). Source words
             outside the vocabulary can be copied too (an "extended vocabulary" per sentence).
Training: teacher forcing (optional scheduled sampling), Adam (optional decay per epoch),
gradient clipping, batches of similar length, atomic checkpoints and --resume, a progress
bar, loss curves as PNG. --edit-weight Λ weighs the target words that an edit wrote Λ times
more than the copied ones (edit-weighted MLE), so the model learns to correct, not only to copy.
Decoding: greedy or beam search with length normalisation (beam 1 = greedy); optionally a
correction is kept only where the model finds it more probable than the unchanged sentence
by a margin chosen on JFLEG dev ("confident").

    python examples/gec train --data-dir ../shared/data --epochs 6 --device cuda
    python examples/gec train --data-dir ../shared/data --edit-weight 2 --lr-decay 0.7
    python examples/gec evaluate --beam 5
    python examples/gec correct "She go to school every days ."
"""
import argparse
import json
import pathlib
import sys

import minigrad as mg

from . import data as gec
from .chain import run_chain
from .decode import correct, tune_margin
from .evaluate import evaluate_sets, jfleg_dev_gleu, print_results
from minigrad.train import cli

from .train import train, load_model


def main(argv=None):
    parser = cli.parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", allow_abbrev=False, help="train, then evaluate the best checkpoint")
    t.add_argument("--epochs", type=cli.positive_int, default=6)
    t.add_argument("--max-steps", type=cli.non_negative_int, default=0, help="stop after this many updates (0: no limit)")
    t.add_argument("--batch-size", type=cli.positive_int, default=64)
    t.add_argument("--lr", type=cli.positive_float, default=1e-3)
    t.add_argument("--lr-decay", type=cli.positive_float, default=1.0, help="multiply the learning rate by this after each epoch")
    t.add_argument("--clip", type=cli.non_negative_float, default=1.0, help="clip the global gradient norm")
    t.add_argument("--embed", type=cli.positive_int, default=128)
    t.add_argument("--hidden", type=cli.positive_int, default=256)
    t.add_argument("--dropout", type=cli.non_negative_float, default=0.2)
    t.add_argument("--vocab-size", type=cli.positive_int, default=16000)
    t.add_argument("--max-len", type=cli.positive_int, default=50, help="drop training pairs longer than this (tokens)")
    t.add_argument("--attention", choices=["dot", "general", "additive"], default="general")
    t.add_argument("--self-attention", action="store_true", help="add a self-attention block to the encoder")
    t.add_argument("--no-copy", action="store_true", help="plain softmax decoder (no pointer-generator)")
    t.add_argument("--label-smoothing", type=cli.non_negative_float, default=0.0, help="with --no-copy only")
    t.add_argument("--scheduled-sampling", type=cli.non_negative_float, default=0.0, help="probability of feeding the model's guess")
    t.add_argument("--edit-weight", type=cli.positive_float, default=1.0,
                   help="weight of the target words an edit wrote, relative to copied ones (copy decoder)")
    t.add_argument("--synthetic", type=cli.non_negative_int, default=0,
                   help="add this many corrupted copies of each correction (text/noise.py: ErrorModel)")
    t.add_argument("--noise-boost", type=cli.non_negative_float, default=2.0, help="scale the learned error rates of --synthetic")
    t.add_argument("--spelling-boost", type=cli.non_negative_float, default=0.0,
                   help="misspell words of --synthetic at this multiple of the learners' rate (use with --char-ngrams)")
    t.add_argument("--char-ngrams", type=cli.non_negative_int, default=0,
                   help="add hashed character n-gram vectors (this many rows) to the source words' embeddings")
    t.add_argument("--ngram-lr-scale", type=cli.positive_float, default=10.0, help="learning rate of the n-gram table / --lr")
    t.add_argument("--time-budget", type=cli.non_negative_float, default=0, help="stop training after this many seconds (0: none)")
    t.add_argument("--limit", type=cli.non_negative_int, default=0, help="use only the first N training pairs (quick runs)")
    t.add_argument("--dev-size", type=cli.positive_int, default=1000, help="W&I dev pairs for the validation loss")
    t.add_argument("--log-every", type=cli.positive_int, default=50)
    t.add_argument("--checkpoint-every", type=cli.positive_int, default=500, help="save a checkpoint every N steps")
    t.add_argument("--checkpoint-minutes", type=cli.non_negative_float, default=2.0,
                   help="and whenever this many minutes passed since the last one (0: steps only); Ctrl-C also saves")
    t.add_argument("--resume", action="store_true")
    t.add_argument("--overwrite", action="store_true", help="start over even if OUT holds a checkpoint")
    t.add_argument("--init-from", default=None, help="start from this model.npz's weights (fine-tuning)")
    t.add_argument("--no-eval", action="store_true", help="skip the evaluation after training")
    for p in (t, sub.add_parser("evaluate", allow_abbrev=False, help="score a trained model"),
              sub.add_parser("correct", allow_abbrev=False, help="correct sentences given on the command line")):
        p.add_argument("--data-dir", default=None)
        p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
        p.add_argument("--out", default="runs/gec")
        p.add_argument("--beam", type=cli.positive_int, default=5)
        p.add_argument("--length-penalty", type=cli.non_negative_float, default=1.0)
        p.add_argument("--eval-limit", type=cli.non_negative_int, default=0, help="score only the first N sentences of each set")
        p.add_argument("--seed", type=cli.non_negative_int, default=0)
        p.add_argument("--no-progress", action="store_true")
    sub.choices["correct"].add_argument("sentences", nargs="+")
    sub.choices["evaluate"].add_argument("--jfleg-dev-only", action="store_true",
                                         help="only the greedy GLEU on JFLEG dev (where choices are made)")
    c = sub.add_parser("chain", allow_abbrev=False, help="the whole chain: three training steps and the evaluation, "
                                                          "with a plan, estimates and resume (chain.py)")
    c.add_argument("--data-dir", default=None)
    c.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    c.add_argument("--out", default="runs/gec_chain")
    c.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "train" and args.hidden % 2:
        parser.error(f"--hidden {args.hidden}: the encoder's two directions share it, so it must be even")
    mg.tune_process()  # the fast kernels' process settings: minigrad/fast/process.py
    out = pathlib.Path(args.out)
    if args.command == "chain":
        args.command_line = "python examples/gec " + " ".join(argv if argv is not None else sys.argv[1:])
        return run_chain(args, main)
    if args.command == "train":
        train(args)
        if args.no_eval:
            return None
    if args.command == "correct":
        model, vocab = load_model(out / "model.npz", args.device)
        for sentence, fixed in zip(args.sentences, correct(model, [gec.tokenize(s) for s in args.sentences], vocab,
                                                           args.device, args.beam, 64, args.length_penalty)):
            print(f"{sentence}\n  -> {' '.join(fixed)}")
        return None
    model, vocab = load_model(out / "model.npz", args.device)
    if getattr(args, "jfleg_dev_only", False):  # (train goes on to the whole evaluation)
        gleu = jfleg_dev_gleu(model, vocab, args.data_dir, args.device, args.eval_limit)
        print(f"JFLEG dev GLEU (greedy, the network alone): {gleu:.2f}")
        return {"jfleg_dev_gleu": gleu}
    margin, by_margin = tune_margin(model, vocab, args.data_dir, args.device, limit=args.eval_limit,
                                    progress=not args.no_progress)
    print("JFLEG dev GLEU of the confident corrections by margin (nats): "
          + ", ".join(f"{m:g}: {g:.2f}" for m, g in by_margin.items()) + f" -> margin {margin:g}")
    results, outputs = evaluate_sets(model, vocab, args.data_dir, args.device, args.beam, args.length_penalty,
                                     args.eval_limit, not args.no_progress, margin)
    results["margin chosen on JFLEG dev"] = {"margin": margin, "dev_gleu": by_margin}
    print_results(results)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "outputs.json").write_text(json.dumps(outputs, indent=0))
    return results

