"""The fast twin of ops/linear.py's Linear: the same products, picked for one sample at a time.

For one sample (the surname RNN as the homework trains it, x of shape (1, in)) each product
is a matrix-vector product or an outer product, and NumPy's overhead is most of the time:

    y = W x + b      np.dot(W, x) runs BLAS's matrix-vector product (gemv) where x @ W.T
                     takes the general matrix-matrix path
    dW = gᵀ x        np.dot instead of numpy.matmul, whose general batched path runs the
                     outer product 2.5x slower (11 µs against 4.3)
    db = g           the sum over one row is that row: a copy instead of a reduction
"""
import numpy as np

from ..ops.linear import Linear as ReferenceLinear


class Linear(ReferenceLinear):
    def forward(self, x, w, b=None):
        if x.shape != (1, w.shape[1]):
            return super().forward(x, w, b)
        self.save_for_backward(x, w)
        y = np.dot(w, x[0])
        if b is not None:
            y += b
        return y[None]

    def backward(self, g):
        if not isinstance(g, np.ndarray):  # a tensor (create_graph): the reference's lines build the graph
            return super().backward(g)
        x, w = self.saved_tensors
        g2 = g.reshape(-1, g.shape[-1])
        dx = np.dot(g, w) if self.needs_input_grad[0] else None
        dw = np.dot(g2.T, x.reshape(-1, x.shape[-1])) if self.needs_input_grad[1] else None
        if len(self.needs_input_grad) == 2:
            return dx, dw
        if not self.needs_input_grad[2]:
            return dx, dw, None
        return dx, dw, g2[0].copy() if len(g2) == 1 else g2.sum(axis=0)
