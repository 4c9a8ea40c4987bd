"""The smallest complete training loop: a two-layer network on the two-moons toy problem.

Uses only minigrad's core (tensors, ops, autograd) and a hand-written SGD step, so every line
of training is visible. Prints the loss falling and fails (exit 1) if the network does not
reach the stated accuracy, so it doubles as a check.

    python examples/two_moons.py --steps 500
"""
import argparse
import sys

import numpy as np

import minigrad as mg


def two_moons(n, noise, rng):
    """Two interleaving half circles, labels 0 and 1 (the classic toy dataset)."""
    angle = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    x = np.where(label == 0, np.cos(angle), 1 - np.cos(angle))
    y = np.where(label == 0, np.sin(angle), 0.5 - np.sin(angle))
    points = np.stack([x, y], axis=1) + noise * rng.standard_normal((n, 2))
    return points.astype(np.float32), label


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target-accuracy", type=float, default=0.95)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    points, labels = two_moons(512, 0.1, rng)
    x = mg.tensor(points)

    # He-style initialisation keeps the first layer's output variance near the input's.
    w1 = mg.tensor(rng.standard_normal((2, args.hidden)) * np.sqrt(2 / 2), dtype=np.float32, requires_grad=True)
    b1 = mg.zeros(args.hidden, requires_grad=True)
    w2 = mg.tensor(rng.standard_normal((args.hidden, 2)) * np.sqrt(1 / args.hidden), dtype=np.float32, requires_grad=True)
    b2 = mg.zeros(2, requires_grad=True)
    params = [w1, b1, w2, b2]

    for step in range(args.steps + 1):
        logits = (x @ w1 + b1).tanh() @ w2 + b2
        loss = mg.cross_entropy(logits, labels)  # logits in, not softmax probabilities
        for p in params:
            p.grad = None
        loss.backward()
        with mg.no_grad():
            for p in params:
                p.data -= args.lr * p.grad.data
        if step % (args.steps // 10 or 1) == 0:
            accuracy = float((logits.data.argmax(axis=1) == labels).mean())
            print(f"step {step:4d}  loss {loss.item():.4f}  accuracy {accuracy:.3f}")

    if accuracy < args.target_accuracy:
        print(f"FAILED: accuracy {accuracy:.3f} < target {args.target_accuracy}")
        return 1
    print(f"reached accuracy {accuracy:.3f} >= target {args.target_accuracy}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
