"""Forward + backward time of each layer op at the seed models' shapes (batch 128, or --batch).

Compares minigrad with its reference kernels (minigrad/ops/, plain NumPy) and with its fast
ones (minigrad/fast/, the default) against PyTorch CPU, measured in the same run, each in its own worker process (their thread pools would fight over the cores
otherwise), the workers taking turns (turns.py says why):

    python benchmarks/layers.py                 # table of medians (min-max) and ratios
    python benchmarks/layers.py --repeats 20
    python benchmarks/layers.py --batch 32      # the same layers on smaller batches

A ratio is minigrad's time / PyTorch's, the median over neighbouring turns (lower is
better; 1.0 = as fast as PyTorch).
"""
import argparse
import os
import statistics
import sys

import numpy as np

from turns import Worker, paired_ratio, serve, take_turns

BATCH = 128
# name: (op, input shape, params)   — shapes of the CIFAR-10 CNN and LeNet-5 of the course
CASES = {
    "cifar conv1 3→16 k5": ("conv", (BATCH, 3, 32, 32), dict(filters=16, kernel=5, padding=2)),
    "cifar conv2 16→32 k5": ("conv", (BATCH, 16, 16, 16), dict(filters=32, kernel=5, padding=2)),
    "cifar conv3 32→64 k3 p2": ("conv", (BATCH, 32, 8, 8), dict(filters=64, kernel=3, padding=2)),
    "cifar maxpool 2/2": ("max_pool", (BATCH, 16, 32, 32), dict(kernel=2, stride=2)),
    "cifar maxpool 3/2": ("max_pool", (BATCH, 64, 10, 10), dict(kernel=3, stride=2)),
    "cifar batchnorm 16ch": ("batch_norm", (BATCH, 16, 32, 32), {}),
    "cifar linear 1024→16": ("linear", (BATCH, 1024), dict(out=16)),
    "lenet conv1 1→6 k5 p2": ("conv", (BATCH, 1, 28, 28), dict(filters=6, kernel=5, padding=2)),
    "lenet conv2 6→16 k5": ("conv", (BATCH, 6, 14, 14), dict(filters=16, kernel=5, padding=0)),
    "lenet avgpool 2/2": ("avg_pool", (BATCH, 6, 28, 28), dict(kernel=2, stride=2)),
    "lenet linear 400→120": ("linear", (BATCH, 400), dict(out=120)),
}
BACKENDS = ["torch", "minigrad-reference", "minigrad-fast"]


def minigrad_step(op, shape, params, rng):
    import minigrad as mg

    if hasattr(mg, "tune_process"):  # (older trees tuned the process when imported)
        mg.tune_process()

    x = mg.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
    if op == "conv":
        w = mg.tensor(rng.standard_normal((params["filters"], shape[1], params["kernel"], params["kernel"])).astype(np.float32), requires_grad=True)
        b = mg.zeros(params["filters"], requires_grad=True)
        run = lambda: mg.conv2d(x, w, b, padding=params["padding"])  # noqa: E731
    elif op == "max_pool":
        run = lambda: mg.max_pool2d(x, params["kernel"], params["stride"])  # noqa: E731
    elif op == "avg_pool":
        run = lambda: mg.avg_pool2d(x, params["kernel"], params["stride"])  # noqa: E731
    elif op == "batch_norm":
        g, b = mg.ones(shape[1], requires_grad=True), mg.zeros(shape[1], requires_grad=True)
        run = lambda: mg.batch_norm(x, None, None, g, b, training=True)  # noqa: E731
    else:
        w = mg.tensor(rng.standard_normal((params["out"], shape[1])).astype(np.float32), requires_grad=True)
        b = mg.zeros(params["out"], requires_grad=True)
        run = lambda: mg.linear(x, w, b)  # noqa: E731
    upstream = None

    def step():
        nonlocal upstream
        y = run()
        if upstream is None:
            upstream = rng.standard_normal(y.shape).astype(np.float32)
        y.backward(upstream)

    return step


def torch_step(op, shape, params, rng):
    import torch
    import torch.nn.functional as F

    x = torch.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
    if op == "conv":
        w = torch.randn(params["filters"], shape[1], params["kernel"], params["kernel"], requires_grad=True)
        b = torch.zeros(params["filters"], requires_grad=True)
        run = lambda: F.conv2d(x, w, b, padding=params["padding"])  # noqa: E731
    elif op == "max_pool":
        run = lambda: F.max_pool2d(x, params["kernel"], params["stride"])  # noqa: E731
    elif op == "avg_pool":
        run = lambda: F.avg_pool2d(x, params["kernel"], params["stride"])  # noqa: E731
    elif op == "batch_norm":
        g, b = torch.ones(shape[1], requires_grad=True), torch.zeros(shape[1], requires_grad=True)
        run = lambda: F.batch_norm(x, None, None, g, b, training=True)  # noqa: E731
    else:
        w = torch.randn(params["out"], shape[1], requires_grad=True)
        b = torch.zeros(params["out"], requires_grad=True)
        run = lambda: F.linear(x, w, b)  # noqa: E731
    upstream = None

    def step():
        nonlocal upstream
        y = run()
        if upstream is None:
            upstream = torch.randn(y.shape)
        y.backward(upstream)

    return step


def serve_case(backend, name, batch):
    """The worker process: build one case's step with one backend and answer the parent."""
    if backend == "torch":
        import torch

        torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
        make = torch_step
    else:
        import minigrad

        minigrad.set_kernels(backend.split("-", 1)[1])
        make = minigrad_step
    op, shape, params = CASES[name]
    shape = (int(batch),) + shape[1:]
    serve(lambda: make(op, shape, params, np.random.default_rng(0)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10, help="turns per backend")
    parser.add_argument("--batch", type=int, default=BATCH, help="images per batch (default %(default)s)")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_case(*args.serve)
        return

    ms = lambda xs: f"{1e3 * statistics.median(xs):7.2f} ({1e3 * min(xs):.1f}-{1e3 * max(xs):.1f})"  # noqa: E731
    others = [b for b in BACKENDS if b != "torch"]
    print(f"{'forward+backward, ms median (min-max)':34s}" + "".join(f"{b:>24s}" for b in BACKENDS) + " "
          + "".join(f"{'ratio ' + b.split('-')[1]:>15s}" for b in others))
    for name in CASES:
        workers = {b: Worker([sys.executable, __file__, "--serve", b, name, str(args.batch)]) for b in BACKENDS}
        seconds = take_turns(workers, args.repeats)
        for worker in workers.values():
            worker.close()
        row = f"{name:34s}" + "".join(f"{ms(seconds[b]):>24s}" for b in BACKENDS)
        row += "".join(f"{1 / paired_ratio(seconds['torch'], seconds[b]):15.2f}" for b in others)
        print(row, flush=True)
    print("\nratio = minigrad time / PyTorch time, median over neighbouring turns (lower is better)")


if __name__ == "__main__":
    main()
