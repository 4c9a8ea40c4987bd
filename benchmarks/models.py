"""Training and inference speed of the course's models, minigrad against PyTorch, same run.

Each framework runs in its own worker process (their thread pools would otherwise fight
over the cores) and the workers take turns, a few steps each (turns.py says why: this
machine's speed swings within seconds). The table gives the median throughput over the
turns with its min-max range, the ratio minigrad/PyTorch of throughputs (the median of the
ratios of neighbouring turns; higher is better for minigrad, 1.0 = as fast as PyTorch), and
the peak memory of the training step: how far the resident memory rose above where it stood
once the framework was loaded and its kernels compiled (on a 2-sample batch).

    python benchmarks/models.py                  # CPU, 2 threads
    python benchmarks/models.py --device cuda    # on a GPU machine (CuPy vs PyTorch CUDA)
    python benchmarks/models.py --only cifar_train --repeats 20
    python benchmarks/models.py --also before=/tmp/before   # and another minigrad tree (a
                                                 # `git worktree` of an older commit), same run
    python benchmarks/models.py --batch 32 128 512   # one table per batch size
    python benchmarks/models.py --load           # with a CPU-bound neighbour process running

A train step is forward + loss + backward + SGD update on a batch of 128 (one name for the
RNN's single mode, as the homework trained it). The grammar corrector (examples/gec/, against
its PyTorch twin examples/reference/gec_torch.py) trains as examples/gec does: 64 made-up
sentence pairs of 8-32 words, gradient norm clipped to 1, Adam (min(64, batch) pairs, as the
batched RNN takes min(64, batch) names).
"""
import argparse
import os
import statistics
import subprocess
import sys

import numpy as np

from turns import Worker, paired_ratio, serve, take_turns

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples"))

BATCH = 128
CASES = {  # name: (unit, samples per step)
    "cifar_train": ("images", BATCH),
    "cifar_inference": ("images", BATCH),
    "lenet_train": ("images", BATCH),
    "lenet_bn_train": ("images", BATCH),
    "names_single_train": ("names", 1),
    "names_batched_train": ("names", 64),
    "gec_train": ("pairs", 64),  # the grammar corrector at its default sizes (7.4M parameters)
}
NAME = "Romanov"  # 7 letters, the reference figure's name length


def minigrad_case(case, device, batch=BATCH):
    import minigrad as mg
    from minigrad import optim

    if hasattr(mg, "tune_process"):  # (older trees tuned the process when imported)
        mg.tune_process()

    # the examples of the tree this minigrad comes from (an --also tree has its own)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(mg.__file__))), "examples"))

    rng = np.random.default_rng(0)
    mg.manual_seed(0)
    if case.startswith("names"):
        import char_rnn_names as C

        model = C.NameGenerator(18)
        model.to(device)
        opt = optim.SGD(model.parameters(), lr=0.0005)
        pairs = [(3, NAME)] * min(CASES[case][1], batch)
        names = C.padded_batch(pairs, 18)

        def step():
            loss = C.sequence_loss(model, *names)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss.item()
        return step
    if case == "gec_train":
        from gec.batches import to_device
        from gec.model import Corrector, batch_loss

        pairs, vocab = made_up_gec_batch(min(CASES[case][1], batch))
        pairs = to_device(pairs, device)
        model = Corrector(len(vocab)).to(device)
        opt = optim.Adam(model.parameters(), lr=1e-3)

        def step():
            loss = batch_loss(model, pairs)
            opt.zero_grad()
            loss.backward()
            mg.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            loss.item()
        return step
    if case.startswith("cifar"):
        from cifar10_cnn import cifar_cnn

        model, shape, loss_fn = cifar_cnn(), (batch, 3, 32, 32), mg.nll_loss
    else:
        from lenet_mnist import lenet

        model, shape, loss_fn = lenet(batch_norm=case == "lenet_bn_train"), (batch, 1, 28, 28), mg.cross_entropy
    model.to(device)
    x = mg.tensor(rng.standard_normal(shape, dtype=np.float32), device=device)  # (no float64 copy first: the peak memory counts it)
    y = mg.backend.to_device(rng.integers(0, 10, batch), device)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    if case.endswith("inference"):
        model.eval()

        def step():
            with mg.no_grad():
                model(x).data.sum().item()
        return step

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()
    return step


def made_up_gec_batch(size):
    """examples/gec's made-up batch (made_up_batch), from the examples of the minigrad tree
    under test or, for a tree older than the gec_train case, from this tree's (its batch is
    data only, built with make_batch and Vocabulary, which the older trees have too)."""
    try:
        from gec.batches import made_up_batch
        return made_up_batch(size)
    except ImportError:
        pass
    older = {name: sys.modules.pop(name) for name in list(sys.modules) if name.split(".")[0] == "gec"}
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    try:
        from gec.batches import made_up_batch
        return made_up_batch(size)
    finally:
        sys.path.remove(os.path.join(ROOT, "examples"))
        for name in [name for name in sys.modules if name.split(".")[0] == "gec"]:
            del sys.modules[name]
        sys.modules.update(older)


def torch_case(case, device, batch=BATCH):
    import torch
    from torch import nn

    torch.manual_seed(0)
    if case.startswith("names"):
        sys.path.insert(0, os.path.join(ROOT, "examples", "reference"))
        import char_rnn_names as C
        from char_rnn_names_torch import NameGenerator, sequence_loss

        model = NameGenerator(18).to(device)
        opt = torch.optim.SGD(model.parameters(), lr=0.0005)
        category, letters, targets = C.padded_batch([(3, NAME)] * min(CASES[case][1], batch), 18)

        def step():
            loss = sequence_loss(model, category, letters, targets)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss.item()
        return step
    if case == "gec_train":
        sys.path.insert(0, os.path.join(ROOT, "examples", "reference"))
        from gec_torch import Corrector, batch_loss, made_up_batch, to_torch

        pairs, vocab = made_up_batch(min(CASES[case][1], batch))
        pairs = {k: v.to(device) for k, v in to_torch(pairs).items()}
        model = Corrector(len(vocab)).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step():
            loss = batch_loss(model, pairs)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            loss.item()
        return step
    if case.startswith("cifar"):
        sys.path.insert(0, os.path.join(ROOT, "examples", "reference"))
        from cifar10_cnn_torch import cifar_cnn

        model, shape, loss_fn = cifar_cnn(), (batch, 3, 32, 32), nn.functional.nll_loss
    else:
        sys.path.insert(0, os.path.join(ROOT, "examples", "reference"))
        from lenet_mnist import recipe
        from lenet_mnist_torch import lenet

        model = lenet(recipe("combined" if case == "lenet_bn_train" else "baseline (Q1)",
                             activation="sigmoid", init="default"))
        shape, loss_fn = (batch, 1, 28, 28), nn.functional.cross_entropy
    model = model.to(device)
    x = torch.randn(shape, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    if case.endswith("inference"):
        model.eval()

        def step():
            with torch.no_grad():
                model(x).sum().item()
        return step

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()
    return step


def serve_case(framework, case, device, threads, batch=BATCH):
    """The worker process: build the step (after a 2-sample warm-up) and answer the parent."""
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
        make = torch_case
    else:
        make = minigrad_case
    serve(lambda: make(case, device, batch=batch), lambda: make(case, device, batch=2))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=10, help="turns per framework")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="*", choices=list(CASES))
    parser.add_argument("--also", action="append", default=[], metavar="LABEL=PATH",
                        help="also time the minigrad found at PATH (e.g. a worktree of an older commit)")
    parser.add_argument("--batch", type=int, nargs="+", default=[BATCH],
                        help="batch sizes of the image models (the batched RNN takes min(64, batch) names)")
    parser.add_argument("--load", action="store_true",
                        help="run a CPU-bound neighbour process during the turns (a busy machine)")
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_case(*args.serve, args.device, args.threads, args.batch[0])
        return
    for batch in args.batch:
        table(args, batch)


def table(args, batch):

    trees = {"minigrad": None, **{f"minigrad@{label}": path for label, path in (a.split("=", 1) for a in args.also)}}
    print(f"\nbatch {batch}" if len(args.batch) > 1 else "", end="\n" if len(args.batch) > 1 else "")
    print(f"{'case':22s} {'PyTorch median (min-max)':>30s} " +
          " ".join(f"{name + ' median (min-max)':>38s} {'ratio':>6s}" for name in trees) +
          f"  {'peak MB: torch / ' + ' / '.join(trees)}")
    for case in args.only or CASES:
        if args.device == "cuda" and case.startswith("names"):
            continue  # the names reference feeds CPU tensors; the batch-1 RNN is launch-bound on a GPU anyway
        command = lambda framework: [sys.executable, __file__, "--serve", framework, case,  # noqa: E731
                                     "--device", args.device, "--threads", str(args.threads), "--batch", str(batch)]
        try:
            workers = {"torch": Worker(command("torch")), "minigrad": Worker(command("minigrad"))}
        except RuntimeError as error:
            print(f"{case}: {error}", file=sys.stderr)
            continue
        for name, path in list(trees.items())[1:]:
            try:
                workers[name] = Worker(command("minigrad"), pythonpath=path)
            except RuntimeError as error:  # an older tree without this case: its cells stay empty
                print(f"{case}: {name} cannot run it ({str(error).strip().splitlines()[-1]})", file=sys.stderr)
        unit, per_step = CASES[case]
        if case != "names_single_train":
            per_step = min(per_step, batch) if case.startswith(("names", "gec")) else batch
        neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.load else None
        try:
            seconds = take_turns(workers, args.repeats)
        finally:
            if neighbour is not None:
                neighbour.kill()
                neighbour.wait()
        memory = {name: w.ask("memory")["peak_mb"] for name, w in workers.items()}
        for worker in workers.values():
            worker.close()

        def cell(s):
            return f"{per_step / statistics.median(s):9.0f} {unit}/s ({per_step / max(s):.0f}-{per_step / min(s):.0f})"

        row = f"{case:22s} {cell(seconds['torch']):>30s} "
        row += " ".join(f"{cell(seconds[name]):>38s} {paired_ratio(seconds['torch'], seconds[name]):6.2f}"
                        if name in seconds else f"{'-':>38s} {'-':>6s}" for name in trees)
        row += "  " + " / ".join(f"{memory[name]:.0f}" for name in workers)
        row += "  slowest/median: " + " / ".join(f"{statistics.median(s) / max(s):.2f}" for s in seconds.values())
        print(row, flush=True)
    print("\nratio = minigrad throughput / PyTorch throughput, median over neighbouring turns "
          "(higher is better; the targets are ratios). slowest/median: each framework's slowest turn's "
          "throughput over its median (torch first; 1.00 = steady)" + (", with a CPU-bound neighbour" if args.load else ""))


if __name__ == "__main__":
    main()
