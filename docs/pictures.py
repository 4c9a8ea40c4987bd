"""Redraw the pictures of docs/images/: python docs/pictures.py (needs Graphviz's dot and matplotlib)."""
import os

import numpy as np

import minigrad as mg
from minigrad import nn

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images")


def main():
    os.makedirs(HERE, exist_ok=True)
    mg.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = mg.randn(5, 4)
    loss = mg.cross_entropy(mlp(x), np.array([0, 1, 2, 1, 0]))
    print(mg.draw_graph(loss, os.path.join(HERE, "mlp-graph.png"), names=dict(mlp.named_parameters())))
    block = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))
    images = mg.randn(2, 1, 8, 8)
    out = mg.cross_entropy(block(images).flatten(1), np.array([0, 1]))
    print(mg.draw_graph(out, os.path.join(HERE, "conv-graph.png"), names=dict(block.named_parameters())))
    print(used_twice())
    print(unrolled_rnn())
    print(im2col_overlaps())


def used_twice():
    """c = a·a + a, with values: a reaches c three times, and its gradient is their sum."""
    a = mg.tensor([2.0], requires_grad=True)
    square = a * a
    square.retain_grad()
    c = square + a
    c.backward(retain_graph=True)   # dc/da = 2a + 1 = 5
    return mg.draw_graph(c, os.path.join(HERE, "used-twice.png"), names={"a": a}, values=True)


def unrolled_rnn(steps=3):
    """An RNN cell unrolled over three steps: the same weights feed every step's op, so
    backpropagation through time adds one gradient per step into each of them."""
    mg.manual_seed(0)
    cell = nn.RNNCell(2, 3)
    h = None
    for x_t in mg.randn(steps, 1, 2):
        h = cell(x_t, h)
    loss = h.sum()
    return mg.draw_graph(loss, os.path.join(HERE, "rnn-unrolled.png"), names=dict(cell.named_parameters()))


def im2col_overlaps():
    """How many windows read each pixel: col2im of a column matrix of ones. That count is how
    many gradients col2im adds into the pixel in the backward pass."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from minigrad.ops.im2col import col2im, im2col

    cases = [("3x3 kernel, stride 1, padding 1", (3, 3), (1, 1), (1, 1)),
             ("3x3 kernel, stride 2, no padding", (3, 3), (2, 2), (0, 0)),
             ("2x2 window, stride 2 (pooling)", (2, 2), (2, 2), (0, 0))]
    figure, axes = plt.subplots(1, len(cases), figsize=(4 * len(cases), 4))
    for ax, (title, kernel, stride, padding) in zip(axes, cases):
        shape = (1, 1, 7, 7)
        cols = im2col(np.zeros(shape), kernel, stride, padding)
        counts = col2im(np.ones_like(cols), shape, kernel, stride, padding)[0, 0]
        ax.imshow(counts, cmap="Blues", vmin=0, vmax=counts.max() + 1)
        for (i, j), n in np.ndenumerate(counts):
            ax.text(j, i, int(n), ha="center", va="center", fontsize=10)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    figure.suptitle("How many windows read each pixel of a 7x7 image (= how many gradients col2im adds into it)",
                    fontsize=11)
    figure.tight_layout()
    path = os.path.join(HERE, "im2col-overlaps.png")
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


if __name__ == "__main__":
    main()
