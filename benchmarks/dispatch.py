"""The cost of the dispatch point between the reference ops and their fast twins.

Every op goes through `Function.apply`, which asks `minigrad.fast.twin` which class to run.
This times a model's training step in one process, alternating a block of steps with the
dispatch as it is and a block with it bypassed (every op runs its reference class, except
that the twins a model would get are then missing too: so use a model whose ops have no
twin on its path, like the RNNs, or read the figure as an upper bound), and prints the
median ratio of neighbouring blocks:

    python benchmarks/dispatch.py names_single_train
    python benchmarks/dispatch.py names_batched_train --pairs 40
"""
import argparse
import os
import statistics
import sys
import time

import minigrad
from minigrad import fast

from models import CASES, minigrad_case

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("case", choices=list(CASES))
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--steps", type=int, default=10, help="steps per block")
    args = parser.parse_args()
    step = minigrad_case(args.case, "cpu")
    for _ in range(5):  # warm-up: kernels, allocator, caches
        step()
    dispatch, bypass = fast.twin, (lambda cls, array: cls)
    seconds = {"dispatch": [], "bypassed": []}
    for _ in range(args.pairs):
        for name, twin in (("dispatch", dispatch), ("bypassed", bypass)):
            fast.twin = twin
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            seconds[name].append((time.perf_counter() - start) / args.steps)
    fast.twin = dispatch
    ratio = statistics.median(a / b for a, b in zip(seconds["dispatch"], seconds["bypassed"]))
    print(f"{args.case}: step {1e3 * statistics.median(seconds['dispatch']):.3f} ms with the dispatch, "
          f"{1e3 * statistics.median(seconds['bypassed']):.3f} ms bypassed; time ratio {ratio:.3f} "
          f"(median of {args.pairs} neighbouring pairs; kernels: {minigrad.get_kernels()})")


if __name__ == "__main__":
    main()
