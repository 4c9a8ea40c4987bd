"""PyTorch reference for the LeNet-5 study: Q1's recipe and the best Q2 recipe, 3 seeds,
with minigrad's data pipeline (same split, normalisation and batch order per seed), the
same model definitions and initialisation schemes, optimizers and schedule.

    python examples/reference/lenet_mnist_torch.py --data-dir ../shared/data
"""
import argparse
import json
import pathlib
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import lenet_mnist as study  # noqa: E402

from minigrad import data  # noqa: E402


def lenet(r):
    act = nn.ReLU if r["activation"] == "relu" else nn.Sigmoid
    bn2 = (lambda c: [nn.BatchNorm2d(c)]) if r["batch_norm"] else (lambda c: [])
    bn1 = (lambda c: [nn.BatchNorm1d(c)]) if r["batch_norm"] else (lambda c: [])
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), *bn2(6), act(), nn.AvgPool2d(2, 2),
                          nn.Conv2d(6, 16, 5), *bn2(16), act(), nn.AvgPool2d(2, 2), nn.Flatten(),
                          nn.Linear(400, 120), *bn1(120), act(), nn.Linear(120, 84), nn.Linear(84, 10))
    if r["init"] != "default":
        for layer in model:
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                (nn.init.kaiming_normal_ if r["init"] == "he" else nn.init.xavier_uniform_)(layer.weight)
                nn.init.zeros_(layer.bias)
    return model


def accuracy(model, x, y, transform):
    model.eval()
    correct = 0
    with torch.no_grad():
        for xb, yb in data.DataLoader((x, y), 1000, transform=transform):
            correct += int((model(torch.from_numpy(xb.numpy())).argmax(1).numpy() == yb.numpy()).sum())
    model.train()
    return correct / len(y)


def run(splits, r, epochs, seed):
    torch.manual_seed(seed)
    model = lenet(r)
    if r["optimizer"] == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=r["lr"])
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=r["lr"], momentum=r["momentum"])
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs) if r["schedule"] == "cosine" else None
    loader = data.DataLoader((splits.x, splits.y), 128, shuffle=True, seed=seed, transform=study.preprocessing(False))
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        loader.set_epoch(epoch)
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(torch.from_numpy(xb.numpy())), torch.from_numpy(yb.numpy()))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if scheduler:
            scheduler.step()
    seconds = time.perf_counter() - start
    return accuracy(model, splits.x_test, splits.y_test, study.preprocessing(False)), seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default="runs/lenet_torch.json")
    args = parser.parse_args()
    torch.set_num_threads(2)
    splits = study.Splits(args.data_dir, 0)
    results = {}
    for name in ("baseline (Q1)", study.BEST):
        runs = [run(splits, study.recipe(name), args.epochs, seed) for seed in range(args.seeds)]
        accs = [a for a, _ in runs]
        results[name] = {"test_accuracy": accs, "seconds": [s for _, s in runs]}
        print(f"PyTorch {name}: test accuracy {100 * np.mean(accs):.2f} ± {100 * np.std(accs, ddof=1):.2f} "
              f"({', '.join(f'{100 * a:.2f}' for a in accs)}); {np.mean([s for _, s in runs]):.0f} s per run", flush=True)
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
