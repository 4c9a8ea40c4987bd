"""The LeNet-5 MNIST study of the midterm (problem set 5, questions 1-4), done right.

Data: the official 60,000 training images split 50,000 / 10,000 (train / validation) by a
seed; the 10,000 test images are held out and used only for the reported test accuracy.

Q1  LeNet-5 as the course defines it (sigmoid, average pooling, 61,706 parameters), vanilla
    SGD lr 0.01, batch 128, 15 epochs, cross-entropy *on logits*. The course code ended the
    network with Softmax and fed those probabilities to CrossEntropyLoss, which applies
    log-softmax again: the gradient reaching the logits is squashed by softmax's Jacobian
    (outputs in [0, 1] make every logit of log_softmax look alike) and training stalls.
    Q1 also trains the network with that layer, so that both curves can be compared. The course's
    test accuracy of 0.0000 came from an argmax over the whole batch instead of per row;
    here accuracy = mean over all test images of [argmax of its own row == its label].
Q2  Faster convergence: each change alone and all combined, training-loss and validation
    curves overlaid, and the epochs each needs to reach 97% validation accuracy.
Q3  Test (and training) accuracy against training-set size, for nested 20/50/80/100%
    stratified subsets of the 50,000 images, each accuracy computed on its own data.
Q4  The small-data cases with augmentation that respects digits: small rotations, shifts
    and scalings. No horizontal flips: a mirrored 2, 3, 4, 5, 7 or 9 is not that digit (and a
    mirrored digit is no digit a writer makes), so a flip teaches the network wrong examples.

    python examples/lenet_mnist.py all --data-dir ../shared/data      # every question
    python examples/lenet_mnist.py q2 --data-dir ../shared/data --epochs 15

Each run's result is cached as JSON under --out, so an interrupted study resumes where it
stopped; figures are written there as PNG and a summary table printed.
"""
import argparse
import sys
import json
import pathlib
import time

import minigrad as mg
import numpy as np

from minigrad import data, nn, optim
from minigrad.data import transforms as T
from minigrad.train import cli
from minigrad.train import Trainer, evaluate, plot_curves, run_cli

# ----- model --------------------------------------------------------------------------------


def lenet(activation="sigmoid", batch_norm=False, init="default", softmax_output=False):
    """LeNet-5 as the course defines it; options switch in the Q2 changes."""
    act = nn.ReLU if activation == "relu" else nn.Sigmoid
    bn2 = (lambda c: [nn.BatchNorm2d(c)]) if batch_norm else (lambda c: [])
    bn1 = (lambda c: [nn.BatchNorm1d(c)]) if batch_norm else (lambda c: [])
    layers = [nn.Conv2d(1, 6, 5, padding=2), *bn2(6), act(), nn.AvgPool2d(2, 2),
              nn.Conv2d(6, 16, 5), *bn2(16), act(), nn.AvgPool2d(2, 2),
              nn.Flatten(),
              nn.Linear(16 * 5 * 5, 120), *bn1(120), act(),
              nn.Linear(120, 84),
              nn.Linear(84, 10)]
    if softmax_output:
        layers.append(nn.Softmax(dim=1))  # the course's pitfall: probabilities fed to cross-entropy
    model = nn.Sequential(*layers)
    if init != "default":
        for layer in model:
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                (nn.init.kaiming_normal_ if init == "he" else nn.init.xavier_uniform_)(layer.weight)
                nn.init.zeros_(layer.bias)
    return model


# ----- the recipes of the study --------------------------------------------------------------

BASE = dict(activation="sigmoid", batch_norm=False, init="default", optimizer="sgd", lr=0.01, momentum=0.0,
            softmax_output=False, augment=False, weight_decay=0.0, schedule="none")
RECIPES = {
    "baseline (Q1)": {},
    "softmax before the loss (course bug)": dict(softmax_output=True),
    "+ batch norm": dict(batch_norm=True),
    "+ Xavier init": dict(init="xavier"),
    "+ ReLU (He init)": dict(activation="relu", init="he"),
    "+ momentum 0.9": dict(momentum=0.9),
    "+ Adam": dict(optimizer="adam", lr=1e-3),
    "+ lr 0.1": dict(lr=0.1),
    "combined": dict(activation="relu", init="he", batch_norm=True, optimizer="adam", lr=3e-3, schedule="cosine"),
}
RECIPES["combined, softmax before the loss"] = dict(RECIPES["combined"], softmax_output=True)
BEST = "combined"
Q2_RECIPES = [r for r in RECIPES if "softmax" not in r]
FRACTIONS = [0.2, 0.5, 0.8, 1.0]
DIGIT_AUGMENT = dict(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1))


def recipe(name, **overrides):
    return {**BASE, **RECIPES[name], **overrides}


def make_optimizer(params, r):
    if r["optimizer"] == "adam":
        return optim.Adam(params, lr=r["lr"], weight_decay=r["weight_decay"])
    return optim.SGD(params, lr=r["lr"], momentum=r["momentum"], weight_decay=r["weight_decay"])


# ----- data ---------------------------------------------------------------------------------

class Splits:
    def __init__(self, data_dir, seed):
        train, test = data.MNIST(data_dir), data.MNIST(data_dir, train=False)
        images = T.ToFloat()(train.images[:, None])  # pixels in [0, 1]; normalised per batch

        train_idx, val_idx = data.train_val_split(len(train), 10_000, seed=0)  # one fixed split for the study
        self.x, self.y = images[train_idx], train.labels[train_idx]
        self.x_val, self.y_val = images[val_idx], train.labels[val_idx]
        self.x_test, self.y_test = T.ToFloat()(test.images[:, None]), test.labels
        self.subsets = data.nested_subsets(self.y, FRACTIONS, seed=0)


def preprocessing(augment):
    """Digit-safe augmentation on [0, 1] pixels (the background, 0, fills what a move uncovers),
    then MNIST's normalisation."""
    steps = [T.RandomAffine(**DIGIT_AUGMENT)] if augment else []
    return T.Compose(steps + [T.mnist_normalization()])


def run(splits, r, fraction, epochs, seed, batch_size=128, progress=False):
    """Train one recipe; return its per-epoch history and final accuracies on train/val/test."""
    mg.manual_seed(seed)
    index = splits.subsets[fraction]
    x, y = splits.x[index], splits.y[index]
    model = lenet(r["activation"], r["batch_norm"], r["init"], r["softmax_output"])
    optimizer = make_optimizer(model.parameters(), r)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs) if r["schedule"] == "cosine" else None
    loader = data.DataLoader((x, y), batch_size, shuffle=True, seed=seed, transform=preprocessing(r["augment"]),
                             prefetch=2 if r["augment"] else 0)
    plain = preprocessing(False)
    val = data.DataLoader((splits.x_val, splits.y_val), 1000, transform=plain)
    trainer = Trainer(model, optimizer, scheduler=scheduler, progress=progress)
    start = time.perf_counter()
    history = trainer.fit(loader, val, epochs=epochs)
    seconds = time.perf_counter() - start
    # Each accuracy from its own data: training accuracy on the (unaugmented) training subset in
    # eval mode, test accuracy on the held-out test set — never one curve for the other.
    train_eval = evaluate(model, data.DataLoader((x, y), 1000, transform=plain))
    test_eval = evaluate(model, data.DataLoader((splits.x_test, splits.y_test), 1000, transform=plain))
    return {"history": history, "train_accuracy": train_eval["accuracy"], "test_accuracy": test_eval["accuracy"],
            "test_loss": test_eval["loss"], "seconds": seconds, "fraction": fraction, "seed": seed, "recipe": r,
            "epochs_to_97": next((h["epoch"] for h in history if h["val_accuracy"] >= 0.97), None)}


class Study:
    """Runs recipes once each and caches every result under out/runs/*.json."""

    def __init__(self, args):
        self.args, self.out = args, pathlib.Path(args.out)
        (self.out / "runs").mkdir(parents=True, exist_ok=True)
        self._splits = None

    @property
    def splits(self):
        if self._splits is None:
            self._splits = Splits(self.args.data_dir, 0)
        return self._splits

    def get(self, name, fraction=1.0, seed=0, **overrides):
        key = f"{name}|{fraction}|{seed}|{json.dumps(overrides, sort_keys=True)}|{self.args.epochs}|{self.args.limit}"
        path = self.out / "runs" / (
            "".join(c if c.isalnum() else "_" for c in f"{name}_{fraction}_{seed}_{sorted(overrides.items())}") + ".json")
        if path.exists():
            cached = json.loads(path.read_text())
            if cached.get("key") == key:
                return cached
        print(f"--- {name}, {int(100 * fraction)}% of the training set, seed {seed} {overrides or ''}", flush=True)
        result = run(self.splits, recipe(name, **overrides), fraction, self.args.epochs, seed,
                     progress=not self.args.no_progress)
        result["key"] = key
        path.write_text(json.dumps(result, indent=1))
        print(f"    test accuracy {100 * result['test_accuracy']:.2f}%  ({result['seconds']:.0f} s)", flush=True)
        return result


# ----- the questions ------------------------------------------------------------------------

def q1(study):
    """The course's recipe, and the softmax pitfall side by side — under the course's recipe
    (where even the correct loss barely moves in 15 epochs) and under the fast Q2 recipe
    (where the difference is plain to see)."""
    pairs = {"course recipe": (study.get("baseline (Q1)"), study.get("softmax before the loss (course bug)")),
             "fast recipe (Q2 combined)": (study.get(BEST), study.get("combined, softmax before the loss"))}
    loss_curves, acc_curves = {}, {}
    for setting, (right, wrong) in pairs.items():
        for label, result in (("logits", right), ("softmax bug", wrong)):
            epochs = [h["epoch"] for h in result["history"]]
            loss_curves[f"{setting}, {label}: train"] = (epochs, [h["train_loss"] for h in result["history"]])
            acc_curves[f"{setting}, {label}: val"] = (epochs, [100 * h["val_accuracy"] for h in result["history"]])
    base = pairs["course recipe"][0]
    plot_curves({k: v for k, v in loss_curves.items()} | {
        "course recipe, logits: val": ([h["epoch"] for h in base["history"]], [h["val_loss"] for h in base["history"]])},
        study.out / "q1_loss.png", "epoch", "cross-entropy", "Q1: LeNet-5 loss, logits vs softmax fed to the loss")
    plot_curves(acc_curves | {"course recipe, logits: train": (
        [h["epoch"] for h in base["history"]], [100 * h["train_accuracy"] for h in base["history"]])},
        study.out / "q1_accuracy.png", "epoch", "accuracy (%)", "Q1: LeNet-5 accuracy")
    print("\nQ1:")
    for setting, (right, wrong) in pairs.items():
        print(f"    {setting:26s} test accuracy {100 * right['test_accuracy']:6.2f}% (logits) vs "
              f"{100 * wrong['test_accuracy']:6.2f}% (softmax fed to the loss); final train loss "
              f"{right['history'][-1]['train_loss']:.3f} vs {wrong['history'][-1]['train_loss']:.3f}")
    return {setting: {"logits": r["test_accuracy"], "softmax_bug": w["test_accuracy"]} for setting, (r, w) in pairs.items()}


def q2(study):
    results = {name: study.get(name) for name in Q2_RECIPES}
    plot_curves({name: ([h["epoch"] for h in r["history"]], [h["train_loss"] for h in r["history"]])
                 for name, r in results.items()}, study.out / "q2_train_loss.png", "epoch", "training loss",
                "Q2: what makes LeNet-5 converge faster")
    plot_curves({name: ([h["epoch"] for h in r["history"]], [100 * h["val_accuracy"] for h in r["history"]])
                 for name, r in results.items()}, study.out / "q2_val_accuracy.png", "epoch",
                "validation accuracy (%)", "Q2: validation accuracy")
    print(f"\nQ2: {'recipe':24s} {'epochs to 97% val':>18s} {'final train loss':>17s} {'test acc':>9s}")
    for name, r in results.items():
        reach = r["epochs_to_97"] if r["epochs_to_97"] is not None else f"> {study.args.epochs}"
        print(f"    {name:24s} {str(reach):>18s} {r['history'][-1]['train_loss']:17.4f} {100 * r['test_accuracy']:8.2f}%")
    return {name: {"epochs_to_97": r["epochs_to_97"], "test_accuracy": r["test_accuracy"]} for name, r in results.items()}


def q3_q4(study):
    plain = {f: study.get(BEST, f) for f in FRACTIONS}
    augmented = {f: study.get(BEST, f, augment=True) for f in FRACTIONS}
    sizes = [int(f * 50_000) for f in FRACTIONS]
    plot_curves({"test accuracy": (sizes, [100 * plain[f]["test_accuracy"] for f in FRACTIONS]),
                 "training accuracy": (sizes, [100 * plain[f]["train_accuracy"] for f in FRACTIONS])},
                study.out / "q3_accuracy_vs_size.png", "training images", "accuracy (%)", "Q3: accuracy vs training size")
    plot_curves({"Q3 test accuracy (no augmentation)": (sizes, [100 * plain[f]["test_accuracy"] for f in FRACTIONS]),
                 "Q4 test accuracy (digit augmentation)": (sizes, [100 * augmented[f]["test_accuracy"] for f in FRACTIONS]),
                 "Q3 training accuracy": (sizes, [100 * plain[f]["train_accuracy"] for f in FRACTIONS]),
                 "Q4 training accuracy": (sizes, [100 * augmented[f]["train_accuracy"] for f in FRACTIONS])},
                study.out / "q4_vs_q3.png", "training images", "accuracy (%)", "Q4 vs Q3")
    print(f"\nQ3/Q4 ({BEST} recipe): {'size':>7s} {'train acc':>10s} {'test acc':>9s} | {'aug train':>10s} {'aug test':>9s}")
    for f, n in zip(FRACTIONS, sizes):
        print(f"    {n:23d} {100 * plain[f]['train_accuracy']:9.2f}% {100 * plain[f]['test_accuracy']:8.2f}% | "
              f"{100 * augmented[f]['train_accuracy']:9.2f}% {100 * augmented[f]['test_accuracy']:8.2f}%")
    return {str(f): {"test": plain[f]["test_accuracy"], "train": plain[f]["train_accuracy"],
                     "aug_test": augmented[f]["test_accuracy"], "aug_train": augmented[f]["train_accuracy"]}
            for f in FRACTIONS}


def seeds(study, count=3):
    """Q1 and the best Q2 recipe over several seeds (for the comparison with PyTorch)."""
    table = {}
    for name in ("baseline (Q1)", BEST):
        accs = [study.get(name, seed=s)["test_accuracy"] for s in range(count)]
        table[name] = accs
        print(f"seeds {name}: test accuracy {100 * np.mean(accs):.2f} ± {100 * np.std(accs, ddof=1):.2f} "
              f"({', '.join(f'{100 * a:.2f}' for a in accs)})")
    return table


def main(argv=None):
    parser = cli.parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question", choices=["q1", "q2", "q3", "q4", "seeds", "all"])
    parser.add_argument("--epochs", type=cli.positive_int, default=15)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default="runs/lenet")
    parser.add_argument("--limit", type=cli.non_negative_int, default=0, help="use only N training images (quick checks)")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--student", nargs="+", choices=["conv2d", "batch_norm"], default=[],
                        help="train with your own ops from exercises/ (graded first; exercises/README.md)")
    parser.add_argument("--solutions", action="store_true", help="with --student: the exercises' worked solutions")
    args = parser.parse_args(argv)
    mg.tune_process()  # the fast kernels' process settings: minigrad/fast/process.py
    if args.student:
        if not use_student_ops(args.student, args.solutions):
            return 2
        if args.out == parser.get_default("out"):  # the study caches results by recipe: keep these apart
            args.out += "_" + "_".join(["student"] + args.student)
    study = Study(args)
    if args.limit:
        study._splits = Splits(args.data_dir, 0)
        study._splits.subsets = {f: idx[idx < args.limit] for f, idx in study._splits.subsets.items()}
    summary = {}
    if args.question in ("q1", "all"):
        summary["q1"] = q1(study)
    if args.question in ("q2", "all"):
        summary["q2"] = q2(study)
    if args.question in ("q3", "q4", "all"):
        summary["q3_q4"] = q3_q4(study)
    if args.question in ("seeds", "all"):
        summary["seeds"] = seeds(study)
    (study.out / f"summary_{args.question}.json").write_text(json.dumps(summary, indent=1))
    return summary


def use_student_ops(names, solutions=False):
    """Grade the student's ops, then swap them in (exercises/swap.py); False if one fails."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # the repository, for exercises/
    from exercises.swap import use_in_example

    return use_in_example(names, solutions)


if __name__ == "__main__":
    sys.exit(run_cli(main))
