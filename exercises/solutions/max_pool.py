"""Exercise max_pool, worked solution: 2x2 windows, stride 2."""
import numpy as np

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
    """y[n, c, i, j] = max of the 2x2 window x[n, c, 2i:2i+2, 2j:2j+2].

    Only the window's largest element affects y, with slope 1: it gets the window's whole
    gradient, dx = g there, and the three others get 0.
    """

    def forward(self, x):
        values = windows(x)
        self.winner, self.shape = values.argmax(axis=-1), x.shape
        return values.max(axis=-1)

    def backward(self, g):
        dwindows = np.zeros(self.winner.shape + (4,), dtype=g.dtype)
        np.put_along_axis(dwindows, self.winner[..., None], g[..., None], axis=-1)
        return image(dwindows, self.shape)
