"""The backward passes of ReLU, sigmoid and tanh as single Numba loops: their fast CPU paths.

    relu:     dx = g where y > 0, else 0
    sigmoid:  dx = g · y · (1 - y)
    tanh:     dx = g · (1 - y²)

NumPy computes each as a few whole-array steps (a mask, then a product; or a subtraction
and two products), each step one more pass over memory. A loop reads g and y once and
writes dx once: ReLU 2.3x faster on the CIFAR net's first activations (1.25 -> 0.54 ms for
128x16x32x32), sigmoid 4x on LeNet's (0.50 -> 0.12 ms). The forward passes stay in NumPy,
whose vectorised tanh is faster than a compiled loop calling it per element. Small arrays
stay in NumPy too (activation.py): below ~10^5 elements starting the threads costs more
than the passes saved.
"""
import numpy as np
from numba import njit, prange

from .im2col import numba_kernels  # noqa: F401  (sets the OpenMP wait policy before Numba's pool starts)


@njit(parallel=True, cache=True)
def _relu(g, y, dx):
    for i in prange(g.size):
        dx[i] = g[i] if y[i] > 0 else 0


@njit(parallel=True, cache=True)
def _sigmoid(g, y, dx):
    for i in prange(g.size):
        dx[i] = g[i] * y[i] * (1 - y[i])


@njit(parallel=True, cache=True)
def _tanh(g, y, dx):
    for i in prange(g.size):
        dx[i] = g[i] * (1 - y[i] * y[i])


KERNELS = {"relu": _relu, "sigmoid": _sigmoid, "tanh": _tanh}




def backward(kind, g, y):
    dx = np.empty_like(y, order="C")
    KERNELS[kind](np.ascontiguousarray(g).reshape(-1), np.ascontiguousarray(y).reshape(-1), dx.reshape(-1))
    return dx
