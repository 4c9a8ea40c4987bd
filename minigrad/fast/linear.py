"""The fast twin of ops/linear.py's Linear: the same three products, cut in pieces for the
cores, or picked for one sample at a time.

Many samples: with the process tuned (process.py) NumPy's products run on one thread, so a
large product is cut in pieces that the workers (parallel.py) take in turn, each piece one
product into its own block of the result: a block of its rows (row r of x Wᵀ reads row r of
x only) or, where the result has more columns than rows (64 samples into 16,000 words), a
block of its columns (column k reads row k of W only):

    y  = x Wᵀ + b    y[a:b] = x[a:b] Wᵀ,   or  y[:, a:b] = x W[a:b]ᵀ
    dx = g W         the same cuts of g's rows or W's columns
    dW = gᵀ x        dW[a:b] = g[:, a:b]ᵀ x   (all samples, some outputs)

No piece sums another's result, and how many pieces there are follows the shapes alone, so
the bits are the same on any number of cores. Small and thin products stay whole: a piece
must be worth handing to a thread, and at least MIN_SIDE rows or columns wide.

One sample (the surname RNN as the homework trains it, x of shape (1, in)): each product
is a matrix-vector product or an outer product, and NumPy's overhead is most of the time:

    y = W x + b      np.dot(W, x) runs BLAS's matrix-vector product (gemv) where x @ W.T
                     takes the general matrix-matrix path
    dW = gᵀ x        np.dot instead of numpy.matmul, whose general batched path runs the
                     outer product 2.5x slower (11 µs against 4.3)
    db = g           the sum over one row is that row: a copy instead of a reduction
"""
import numpy as np

from ..ops.linear import Linear as ReferenceLinear
from . import parallel

#: Multiply-adds per piece (at least): a few hundred microseconds of one core's work, well
#: above the cost of handing it to a worker thread.
PIECE_WORK = 1 << 23
MAX_PIECES = 16
#: Rows or columns per piece (at least): thinner products run far below the BLAS's best
#: (a 4-row piece of the GEC model's output layer, 64 x 256 by 256 x 16000, ran 8x slower).
MIN_SIDE = 64


def pieces(length, work):
    """Slices of range(length) for a product of ``work`` multiply-adds: by the shapes alone."""
    return parallel.even_slices(length, max(1, min(MAX_PIECES, length // MIN_SIDE, work // PIECE_WORK)))


def product(a, b, out):
    """out = a @ b (2-D), in pieces of out's rows or of its columns, whichever are more: each
    piece one product into its own block of out."""
    (rows, inner), columns = a.shape, b.shape[1]
    by_rows = rows >= columns
    chunks = pieces(rows if by_rows else columns, rows * inner * columns)
    if len(chunks) == 1:
        return np.matmul(a, b, out=out)

    def run(worker, k):
        if by_rows:
            np.matmul(a[chunks[k]], b, out=out[chunks[k]])
        else:
            np.matmul(a, b[:, chunks[k]], out=out[:, chunks[k]])

    parallel.for_each_chunk(run, len(chunks), parallel.workers())
    return out


class Linear(ReferenceLinear):
    def forward(self, x, w, b=None):
        if x.ndim < 2 or x.dtype != w.dtype or x.shape[-1] != w.shape[1]:
            return super().forward(x, w, b)  # (its checks and promotions)
        if x.shape == (1, w.shape[1]):
            self.save_for_backward(x, w)
            y = np.dot(w, x[0])
            if b is not None:
                y += b
            return y[None]
        if x.size * w.shape[0] < 2 * PIECE_WORK:  # too small to cut: the reference's product
            return super().forward(x, w, b)
        self.save_for_backward(x, w)
        x2 = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
        y = np.empty((len(x2), w.shape[0]), dtype=x.dtype)
        product(x2, w.T, y)
        if b is not None:
            y += b
        return y.reshape(x.shape[:-1] + (w.shape[0],))

    def backward(self, g):
        if not isinstance(g, np.ndarray):  # a tensor (create_graph): the reference's lines build the graph
            return super().backward(g)
        x, w = self.saved_tensors
        one_sample = g.size == g.shape[-1]
        if g.dtype != w.dtype or (not one_sample and g.size * w.shape[1] < 2 * PIECE_WORK):
            return super().backward(g)  # (too small to cut: the reference's products)
        g2 = np.ascontiguousarray(g).reshape(-1, g.shape[-1])
        x2 = x.reshape(-1, x.shape[-1])
        dx = dw = None
        if self.needs_input_grad[0]:
            if one_sample:
                dx = np.dot(g, w)
            else:
                dx = np.empty((len(g2), w.shape[1]), dtype=w.dtype)
                product(g2, w, dx)
                dx = dx.reshape(g.shape[:-1] + (w.shape[1],))
        if self.needs_input_grad[1]:
            if one_sample:
                dw = np.dot(g2.T, x2)
            else:
                dw = np.empty(w.shape, dtype=w.dtype)
                product(g2.T, x2, dw)
        if len(self.needs_input_grad) == 2:
            return dx, dw
        if not self.needs_input_grad[2]:
            return dx, dw, None
        return dx, dw, g2[0].copy() if one_sample else g2.sum(axis=0)
