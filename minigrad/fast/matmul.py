"""The fast twin of ops/linalg.py's MatMul: an outer product as a product, not a matmul.

An attention step multiplies stacks of single rows, (B, 1, H) by (B, H, S), and its backward
then forms dB = Aᵀ G, a stack of (H, 1) by (1, S) matrices: a product whose inner dimension
is 1. NumPy's matmul takes its slow generic loop for that shape (0.9 ms for the GEC model's
64 x 256 x 32, Xeon), where the same numbers come from one broadcast multiplication in 20 µs:

    (Aᵀ G)_kj = Σ_{i<1} A_ik G_ij = A_0k G_0j,   i.e.  Aᵀ G = Aᵀ * G   (broadcast: (.., k, 1) * (.., 1, j))

and likewise dA = G Bᵀ when B has a single column. Every other case is the reference's.
"""
import numpy as np

from ..ops import linalg as reference
from ..ops.both import swap_last_axes


def _product(x, y):
    """x @ y for stacks of matrices; by broadcasting when the inner dimension is 1."""
    return x * y if x.shape[-1] == 1 else np.matmul(x, y)


class MatMul(reference.MatMul):
    def backward(self, g):
        a, b = self.saved_tensors
        if (not isinstance(g, np.ndarray) or self.a_vector or self.b_vector
                or (a.shape[-2] != 1 and b.shape[-1] != 1)):
            return super().backward(g)  # (a tensor g: create_graph, the reference's lines build the graph)
        da = _product(g, swap_last_axes(b)) if self.needs_input_grad[0] else None  # dA = G Bᵀ
        db = _product(swap_last_axes(a), g) if self.needs_input_grad[1] else None  # dB = Aᵀ G
        return da, db
