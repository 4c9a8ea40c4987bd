"""Exercise max_pool: 2x2 windows, stride 2. Grade it with ``python -m exercises.grade max_pool``.

y[n, c, i, j] is the largest of the four values x[n, c, 2i:2i+2, 2j:2j+2]. windows() and
image() below turn an image into its windows and back. Write the forward (keep what the
backward needs) and the backward: which of a window's four elements gets its gradient?
(Worked solution: solutions/max_pool.py.)
"""
import numpy as np  # noqa: F401  (yours to use)

import minigrad as mg


def windows(x):
    """(N, C, H, W) -> (N, C, H/2, W/2, 4): each 2x2 window's four values on the last axis."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)


def image(per_window, shape):
    """The inverse of windows(): (N, C, H/2, W/2, 4) back to (N, C, H, W)."""
    n, c, h, w = shape
    return per_window.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(shape)


class MaxPool2d(mg.Function):
    def forward(self, x):
        raise NotImplementedError("return y (N, C, H/2, W/2)")

    def backward(self, g):
        raise NotImplementedError("return dx (N, C, H, W)")
