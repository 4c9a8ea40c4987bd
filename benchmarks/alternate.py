"""One case's step time in fresh processes that alternate between minigrad trees: small
differences (an engine's per-op cost) that a table of ratios against PyTorch cannot resolve.

    python benchmarks/alternate.py --also before=/tmp/before        # this tree against a worktree
    python benchmarks/alternate.py --case lenet_train --batch 32 --rounds 7 --also before=/tmp/before

Each round starts one process per tree, in turn; a process warms up, then times --steps
steps five times and reports its best mean step. The table gives each tree's median over the
rounds and the ratio of the medians (the tree / this tree).
"""
import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

WORKER = """
import sys, time
sys.path.insert(0, {here!r})
import minigrad
from models import minigrad_case
step = minigrad_case({case!r}, "cpu", {batch})
for _ in range(20):
    step()
best = float("inf")
for _ in range(5):
    start = time.perf_counter()
    for _ in range({steps}):
        step()
    best = min(best, (time.perf_counter() - start) / {steps})
print(best)
"""


def step_time(tree, args):
    code = WORKER.format(here=HERE, case=args.case, batch=args.batch, steps=args.steps)
    env = dict(os.environ, PYTHONPATH=tree)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd="/", check=True)
    return float(out.stdout.split()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", default="names_single_train")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--also", action="append", default=[], metavar="LABEL=PATH")
    args = parser.parse_args()
    trees = [("this tree", ROOT)] + [tuple(a.split("=", 1)) for a in args.also]
    times = {label: [] for label, _ in trees}
    for _ in range(args.rounds):
        for label, tree in trees:
            times[label].append(step_time(tree, args))
    base = statistics.median(times["this tree"])
    for label, values in times.items():
        median = statistics.median(values)
        print(f"{label:12} {args.case} median step {median * 1e3:.3f} ms "
              f"({', '.join(f'{v * 1e3:.3f}' for v in sorted(values))})  ratio {median / base:.3f}")


if __name__ == "__main__":
    main()
