"""Training and inference speed of the course's models, minigrad against PyTorch, same run.

Each (framework, model) pair runs in its own process (their thread pools would otherwise
fight over the cores): warm-up, then repeated timings; the table gives the median with the
min-max range, throughput, the ratio minigrad/PyTorch of throughputs (higher is better for
minigrad; 1.0 = as fast as PyTorch) and the peak memory the process grew by while training.

    python benchmarks/models.py                  # CPU, 2 threads
    python benchmarks/models.py --device cuda    # on a GPU machine (CuPy vs PyTorch CUDA)
    python benchmarks/models.py --only cifar_train --repeats 20

A train step is forward + loss + backward + SGD update on a batch of 128 (one name for the
RNN's single mode, as the homework trained it).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import minigrad  # noqa: F401 - before NumPy: it configures OpenBLAS's threads (minigrad/__init__.py)
import numpy as np

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
}
NAME = "Romanov"  # 7 letters, the reference figure's name length


def minigrad_case(case, device):
    import minigrad as mg
    from minigrad import optim

    rng = np.random.default_rng(0)
    mg.manual_seed(0)
    if case.startswith("names"):
        import char_rnn_names as C

        model = C.NameGenerator(18)
        model.to(device)
        opt = optim.SGD(model.parameters(), lr=0.0005)
        pairs = [(3, NAME)] * CASES[case][1]
        batch = C.padded_batch(pairs, 18)

        def step():
            loss = C.sequence_loss(model, *batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss.item()
        return step
    if case.startswith("cifar"):
        from cifar10_cnn import cifar_cnn

        model, shape, loss_fn = cifar_cnn(), (BATCH, 3, 32, 32), mg.nll_loss
    else:
        from lenet_mnist import lenet

        model, shape, loss_fn = lenet(batch_norm=case == "lenet_bn_train"), (BATCH, 1, 28, 28), mg.cross_entropy
    model.to(device)
    x = mg.tensor(rng.standard_normal(shape).astype(np.float32), device=device)
    y = mg.backend.to_device(rng.integers(0, 10, BATCH), device)
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


def torch_case(case, device):
    import torch
    from torch import nn

    torch.manual_seed(0)
    if case.startswith("names"):
        sys.path.insert(0, os.path.join(ROOT, "examples", "reference"))
        import char_rnn_names as C
        from char_rnn_names_torch import NameGenerator, sequence_loss

        model = NameGenerator(18).to(device)
        opt = torch.optim.SGD(model.parameters(), lr=0.0005)
        category, letters, targets = C.padded_batch([(3, NAME)] * CASES[case][1], 18)

        def step():
            loss = sequence_loss(model, category, letters, targets)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss.item()
        return step
    if case.startswith("cifar"):
        sys.path.insert(0, os.path.join(ROOT, "examples", "reference"))
        from cifar10_cnn_torch import cifar_cnn

        model, shape, loss_fn = cifar_cnn(), (BATCH, 3, 32, 32), nn.functional.nll_loss
    else:
        sys.path.insert(0, os.path.join(ROOT, "examples", "reference"))
        from lenet_mnist import recipe
        from lenet_mnist_torch import lenet

        model = lenet(recipe("combined" if case == "lenet_bn_train" else "baseline (Q1)",
                             activation="sigmoid", init="default"))
        shape, loss_fn = (BATCH, 1, 28, 28), nn.functional.cross_entropy
    model = model.to(device)
    x = torch.randn(shape, device=device)
    y = torch.randint(0, 10, (BATCH,), device=device)
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


def measure(framework, case, device, repeats, threads):
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
        step = torch_case(case, device)
    else:
        step = minigrad_case(case, device)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(3):
        step()
    inner = 20 if case == "names_single_train" else 1  # time several short steps together
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            step()
        samples.append((time.perf_counter() - start) / inner)
    peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    return {"seconds": samples, "peak_mb": peak_mb}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="*", choices=list(CASES))
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child, args.device, args.repeats, args.threads)))
        return

    print(f"{'case':22s} {'PyTorch median (min-max)':>30s} {'minigrad median (min-max)':>30s} "
          f"{'ratio':>6s} {'peak MB torch / minigrad':>25s}")
    for case in args.only or CASES:
        if args.device == "cuda" and case.startswith("names"):
            continue  # the names reference feeds CPU tensors; the batch-1 RNN is launch-bound on a GPU anyway
        results = {}
        for framework in ("torch", "minigrad"):
            proc = subprocess.run([sys.executable, __file__, "--child", framework, case, "--device", args.device,
                                   "--repeats", str(args.repeats), "--threads", str(args.threads)],
                                  capture_output=True, text=True)
            if proc.returncode:
                print(f"{case}: {framework} failed:\n{proc.stderr[-1500:]}", file=sys.stderr)
                break
            results[framework] = json.loads(proc.stdout.strip().splitlines()[-1])
        if len(results) < 2:
            continue
        unit, per_step = CASES[case]

        def cell(r):
            s = r["seconds"]
            rate = per_step / statistics.median(s)
            return f"{rate:9.0f} {unit}/s ({per_step / max(s):.0f}-{per_step / min(s):.0f})"

        ratio = statistics.median(results["torch"]["seconds"]) / statistics.median(results["minigrad"]["seconds"])
        print(f"{case:22s} {cell(results['torch']):>30s} {cell(results['minigrad']):>30s} {ratio:6.2f} "
              f"{results['torch']['peak_mb']:11.0f} / {results['minigrad']['peak_mb']:.0f}", flush=True)
    print("\nratio = minigrad throughput / PyTorch throughput (higher is better; the targets are ratios)")


if __name__ == "__main__":
    main()
