"""Redraw the pictures of docs/images/: python docs/pictures.py (needs Graphviz's dot)."""
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


if __name__ == "__main__":
    main()
