"""log_softmax and nll_loss as one Numba loop over the rows each: fast CPU twins for small batches.

A character-level model runs this pair once per letter, on arrays of (1, 59) or (64, 59)
numbers. There NumPy's cost is its ~1 µs per call, not the arithmetic: the reference's
log_softmax is five array operations (max, subtract, exp, sum, log) and its backward three;
nll_loss's bookkeeping (the range check, the ignored rows, the pick, the sum) is about fifteen.
One compiled call does each of them, with the same formulas:

    log_softmax:  y_ij = (x_ij - m_i) - log Σ_k exp(x_ik - m_i),   m_i = max_k x_ik
                  dx_ij = g_ij - exp(y_ij) Σ_k g_ik
    nll_loss:     L_i = -logp[i, t_i], or 0 where t_i = ignore_index
                  dlogp[i, t_i] = -g_i, every other entry 0 (g_i = g/n for the mean)

Sums run in float64. The loop's exp is a scalar call, ~7 ns an element against NumPy's
vectorised ~1 ns, so log_softmax takes the loop below SMALL_SIZE elements only (measured on
an AVX2 EPYC: equal at (64, 59), the loop 2x faster at (128, 10), 6x at (1, 59)); nll_loss's
loop touches one entry a row and takes every size. The cases the loops do not cover run the
reference's code: class weights, an axis other than the last, a float16 or integer input.
"""
import numpy as np
from numba import njit

from ..ops import activation, loss

SMALL_SIZE = 1 << 11


@njit(cache=True)
def _log_softmax(x, y):
    for i in range(x.shape[0]):
        peak = np.max(x[i])
        total = 0.0
        for j in range(x.shape[1]):
            total += np.exp(x[i, j] - peak)
        log_total = np.log(total)
        for j in range(x.shape[1]):
            y[i, j] = (x[i, j] - peak) - log_total


@njit(cache=True)
def _log_softmax_backward(g, y, dx):
    for i in range(g.shape[0]):
        total = 0.0
        for j in range(g.shape[1]):
            total += g[i, j]
        for j in range(g.shape[1]):
            dx[i, j] = g[i, j] - np.exp(y[i, j]) * total


@njit(cache=True)
def _nll_pick(logp, target, ignore_index, per_row):
    """per_row[i] = -logp[i, t_i] (0 for ignored rows). Returns the number of rows counted, and
    the first row whose target is out of range (-1 if none)."""
    counted = 0
    for i in range(target.shape[0]):
        t = target[i]
        if t == ignore_index:
            per_row[i] = 0
        elif t < 0 or t >= logp.shape[1]:
            return counted, i
        else:
            per_row[i] = -logp[i, t]
            counted += 1
    return counted, -1


@njit(cache=True)
def _nll_backward(target, ignore_index, upstream, dlogp):
    for i in range(target.shape[0]):
        if target[i] != ignore_index:
            dlogp[i, target[i]] = -upstream[i if upstream.size > 1 else 0]


def _float_rows(x, below=np.inf):
    """Whether the loops take x: a non-empty float matrix of fewer than ``below`` elements."""
    return x.ndim == 2 and x.dtype.char in "fd" and 0 < x.size < below  # float32, float64


class LogSoftmax(activation.LogSoftmax):
    def forward(self, x, axis=-1):
        if axis not in (1, -1) or not _float_rows(x, SMALL_SIZE):
            return super().forward(x, axis)
        self.axis, y = axis, np.empty(x.shape, dtype=x.dtype)
        _log_softmax(x, y)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        y, = self.saved_tensors
        if not isinstance(g, np.ndarray) or self.axis not in (1, -1) or not _float_rows(y, SMALL_SIZE):
            return super().backward(g)  # (a tensor g: create_graph, the reference's lines build the graph)
        dx = np.empty_like(y)
        _log_softmax_backward(g, y, dx)
        return dx


class NLLLoss(loss.NLLLoss):
    differentiable_backward = False  # its loop's bookkeeping is not the reference's

    def forward(self, logp, target=None, reduction="mean", ignore_index=-100, weight=None):
        self.looped = (_float_rows(logp) and weight is None and target.ndim == 1 and target.dtype.kind in "iu"
                       and len(target) == len(logp))
        if self.looped:
            per_row = np.empty(len(target), dtype=logp.dtype)
            counted, bad = _nll_pick(logp, target, ignore_index, per_row)
            self.looped = bad < 0  # an out-of-range label: the reference raises, naming it
        if not self.looped:  # the reference, with its checks and messages
            return super().forward(logp, target, reduction, ignore_index, weight)
        self.reduction = loss._check_reduction("nll_loss", reduction)
        self.labels, self.ignore_index, self.shape = target, ignore_index, logp.shape
        self.divisor = max(counted, 1) if reduction == "mean" else 1
        return per_row if self.reduction == "none" else per_row.sum() / self.divisor  # (ignored rows: 0)

    def backward(self, g):
        if not self.looped:
            return super().backward(g)
        upstream = g / g.dtype.type(self.divisor)  # one number, or one a row for reduction="none"
        dlogp = np.zeros(self.shape, dtype=g.dtype)
        _nll_backward(self.labels, self.ignore_index, upstream.reshape(-1), dlogp)
        return dlogp
