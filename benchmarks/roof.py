"""The CIFAR net's training step in GFLOP/s, beside this machine's measured GEMM roof.

The roof is what NumPy's BLAS reaches on a large float32 matrix product (2048³) on every
core, and on one; the step's work is the multiply-adds of its conv and linear layers, counted
from their shapes (forward; backward twice that, except the first layer's input gradient,
which nobody needs). Both frameworks' steps are timed in turns, in their own processes, as
models.py does.

    python benchmarks/roof.py                 # batch 128
    python benchmarks/roof.py --batch 32 512
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

from turns import Worker, paired_ratio, take_turns

HERE = os.path.dirname(os.path.abspath(__file__))

# (input channels, output channels, kernel, output side) of each conv layer, then the linear layers
CONV_LAYERS = [(3, 16, 5, 32), (16, 32, 5, 16), (32, 64, 3, 10)]
LINEAR_LAYERS = [(64 * 4 * 4, 16), (16, 10)]


def step_flops(batch):
    """Floating-point operations (2 per multiply-add) of one training step of the CIFAR net."""
    total = 0
    for k, (c, f, kernel, side) in enumerate(CONV_LAYERS):
        forward = 2 * batch * f * side * side * c * kernel * kernel
        total += forward * (2 if k == 0 else 3)  # forward + dW (+ dx after the first layer)
    for inputs, outputs in LINEAR_LAYERS:
        total += 3 * 2 * batch * inputs * outputs
    return total


def gemm_gflops(threads, size=2048, repeats=5):
    """Best GFLOP/s of a size³ float32 product with the BLAS on ``threads`` threads."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((size, size), np.float32), rng.standard_normal((size, size), np.float32)
    best = np.inf
    with threadpool_limits(threads, user_api="blas"):
        a @ b
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, nargs="+", default=[128])
    parser.add_argument("--repeats", type=int, default=8, help="turns per framework")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    roof, one_core = gemm_gflops(args.threads), gemm_gflops(1)
    print(f"GEMM roof (NumPy float32 2048³): {roof:.0f} GFLOP/s on {args.threads} threads, {one_core:.0f} on one")
    print(f"{'batch':>5s} {'GFLOP a step':>13s} {'PyTorch GFLOP/s':>16s} {'minigrad GFLOP/s':>17s} "
          f"{'of roof: torch / minigrad':>26s} {'ratio':>6s}")
    for batch in args.batch:
        command = lambda framework: [sys.executable, os.path.join(HERE, "models.py"), "--serve", framework,  # noqa: E731
                                     "cifar_train", "--threads", str(args.threads), "--batch", str(batch)]
        workers = {"torch": Worker(command("torch")), "minigrad": Worker(command("minigrad"))}
        seconds = take_turns(workers, args.repeats)
        for worker in workers.values():
            worker.close()
        flops = step_flops(batch)
        rate = {name: flops / statistics.median(s) / 1e9 for name, s in seconds.items()}
        print(f"{batch:5d} {flops / 1e9:13.2f} {rate['torch']:16.0f} {rate['minigrad']:17.0f} "
              f"{rate['torch'] / roof:12.0%} / {rate['minigrad'] / roof:.0%} "
              f"{paired_ratio(seconds['torch'], seconds['minigrad']):9.2f}", flush=True)


if __name__ == "__main__":
    main()
