"""The same CIFAR-10 CNN and recipe in PyTorch, as a reference to measure minigrad against.

Only the engine differs: data loading, the train/validation split, augmentation and batch
order come from minigrad.data (NumPy), so both frameworks see the same images in the same
order for a given seed. Same model, same initialisation scheme (PyTorch's default, which
minigrad copies), SGD with Nesterov momentum, weight decay and the same one-cycle schedule.

    python examples/reference/cifar10_cnn_torch.py --data-dir ../shared/data --epochs 30 --seed 0
"""
import json
import pathlib
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from cifar10_cnn import augmentation, load_splits, parse_args  # noqa: E402

from minigrad import data  # noqa: E402


def cifar_cnn():
    def block(cin, cout, k, pool, stride):
        return [nn.Conv2d(cin, cout, k, padding=2), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(pool, stride)]

    return nn.Sequential(*block(3, 16, 5, 2, 2), *block(16, 32, 5, 2, 2), *block(32, 64, 3, 3, 2), nn.Flatten(),
                         nn.Linear(1024, 16), nn.ReLU(), nn.Linear(16, 10), nn.LogSoftmax(dim=1))


def evaluate(model, loader):
    model.eval()
    loss, correct, count, predictions = 0.0, 0, 0, []
    with torch.no_grad():
        for x, y in loader:
            out = model(torch.from_numpy(x.numpy()))
            target = torch.from_numpy(y.numpy())
            loss += float(nn.functional.nll_loss(out, target, reduction="sum"))
            predictions.append(out.argmax(1).numpy())
            correct += int((out.argmax(1) == target).sum())
            count += len(y)
    model.train()
    return loss / count, correct / count, np.concatenate(predictions)


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_splits(args)
    model = cifar_cnn()
    train_loader = data.DataLoader((x_train, y_train), args.batch_size, shuffle=True, seed=args.seed,
                                   transform=augmentation(not args.no_augment), prefetch=2)
    plain = augmentation(False)
    val_loader = data.DataLoader((x_val, y_val), 500, transform=plain)
    test_loader = data.DataLoader((x_test, y_test), 500, transform=plain)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.epochs * len(train_loader))
    history, best = [], (-1.0, 0, None)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        train_loader.set_epoch(epoch)
        tick, seen, total = time.perf_counter(), 0, 0.0
        for x, y in train_loader:
            loss = nn.functional.nll_loss(model(torch.from_numpy(x.numpy())), torch.from_numpy(y.numpy()))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            seen += len(y)
            total += float(loss) * len(y)
        val_loss, val_acc, _ = evaluate(model, val_loader)
        speed = seen / (time.perf_counter() - tick)
        history.append({"epoch": epoch, "train_loss": total / seen, "val_loss": val_loss, "val_accuracy": val_acc,
                        "samples_per_second": speed})
        print(f"epoch {epoch}: train loss {total / seen:.4f} | val loss {val_loss:.4f} acc {val_acc:.4f} | {speed:.0f} samples/s", flush=True)
        if val_acc > best[0]:
            best = (val_acc, epoch, {k: v.clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[2])
    test_loss, test_acc, _ = evaluate(model, test_loader)
    print(f"best validation epoch {best[1]}: test accuracy {100 * test_acc:.2f}%")
    summary = {"test_accuracy": test_acc, "test_loss": test_loss, "best_epoch": best[1],
               "train_images_per_second": float(np.median([h["samples_per_second"] for h in history])),
               "train_seconds": time.perf_counter() - start, "args": vars(args)}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
