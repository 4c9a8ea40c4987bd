"""Mean ± spread of test accuracy over seeds, from the summary.json files of several runs.

    python examples/reference/summarize.py runs/cifar_study
(expects folders named <framework>-<aug|noaug>-seed<k>)
"""
import collections
import json
import pathlib
import sys

import numpy as np


def main(root):
    groups = collections.defaultdict(list)
    for path in sorted(pathlib.Path(root).glob("*/summary.json")):
        framework, setting, _ = path.parent.name.rsplit("-", 2)
        groups[(framework, setting)].append(json.loads(path.read_text()))
    print("| framework | augmentation | seeds | test accuracy (mean ± std) | min-max | train images/s |")
    print("|---|---|---|---|---|---|")
    for (framework, setting), runs in sorted(groups.items()):
        acc = 100 * np.array([r["test_accuracy"] for r in runs])
        speed = np.median([r["train_images_per_second"] for r in runs])
        print(f"| {framework} | {'yes' if setting == 'aug' else 'no'} | {len(runs)} | {acc.mean():.2f} ± {acc.std(ddof=1) if len(acc) > 1 else 0:.2f} "
              f"| {acc.min():.1f}-{acc.max():.1f} | {speed:.0f} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/cifar_study")
