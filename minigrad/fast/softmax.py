"""The fast twin of ops/activation.py's Softmax for large arrays: pieces of rows that fit in
a core's cache, one piece per worker at a time, and one exponential per number.

The reference computes softmax along the last axis as whole-array steps, each a pass over
memory on one core: the log-softmax (max, subtract, exp, sum, log, subtract), then exp
again; and its backward as three. The GEC model's copy loss takes the softmax of every
decoder step's word scores at once, 64 x 33 x 16,000 numbers (135 MB): there each step
streams the whole array from memory. Cut into pieces of rows of ~256 KB, each piece's steps
run in the cache of the core that took it, and the forward pass takes one exponential per
number instead of two:

    y  = e / Σ e,   e = exp(x - max)            per row (the same value as the reference's
                                                exp(x - max - log Σ e), rounded differently)
    dx = y · (g - Σ g·y)                        per row, the reference's steps

A row's numbers go through the same NumPy operations whichever piece holds it, so the bits
are the same on any number of cores; the backward pass gives the reference's bits for the
same y. Small arrays, other axes and other array types run the reference as it is.
"""
import numpy as np

from ..ops import activation as reference
from . import parallel

MIN_SIZE = 1 << 18   # elements: below this the threads cost more than they save
PIECE_SIZE = 1 << 16  # elements per piece: 256 KB of float32, in a core's L2 with its temporaries


def _row_pieces(x):
    """Slices of x's rows (all axes but the last) for the workers, by the shape alone."""
    rows = x.size // x.shape[-1]
    return parallel.even_slices(rows, max(1, min(rows, x.size // PIECE_SIZE)))


def _takes(x, axis):
    return (type(x) is np.ndarray and x.dtype.kind == "f" and x.ndim >= 1 and x.size >= MIN_SIZE
            and isinstance(axis, int) and -x.ndim <= axis < x.ndim and axis % x.ndim == x.ndim - 1)


class Softmax(reference.Softmax):
    def forward(self, x, axis=-1):
        if not _takes(x, axis):
            return super().forward(x, axis)
        self.axis = axis
        rows_in = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
        y = np.empty(rows_in.shape, dtype=x.dtype)
        pieces = _row_pieces(rows_in)

        def run(worker, k):
            rows, out = rows_in[pieces[k]], y[pieces[k]]
            np.subtract(rows, rows.max(axis=-1, keepdims=True), out=out)
            np.exp(out, out=out)
            out /= out.sum(axis=-1, keepdims=True)

        parallel.for_each_chunk(run, len(pieces), parallel.workers())
        y = y.reshape(x.shape)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        y, = self.saved_tensors
        if not isinstance(g, np.ndarray) or g.dtype != y.dtype or not _takes(y, self.axis):
            return super().backward(g)  # (a tensor g: create_graph, the reference's lines build the graph)
        g_rows = np.ascontiguousarray(g).reshape(-1, g.shape[-1])
        y_rows = y.reshape(g_rows.shape)
        dx = np.empty(g_rows.shape, dtype=y.dtype)
        pieces = _row_pieces(g_rows)

        def run(worker, k):
            part_y, part_g = y_rows[pieces[k]], g_rows[pieces[k]]
            # y * (g - (g * y).sum(keepdims)), the reference's steps, into dx's piece
            gy = part_g * part_y
            np.subtract(part_g, gy.sum(axis=-1, keepdims=True), out=gy)
            np.multiply(part_y, gy, out=dx[pieces[k]])

        parallel.for_each_chunk(run, len(pieces), parallel.workers())
        return dx.reshape(y.shape)
