"""The fast twin of ops/linalg.py's MatMul: an outer product as a product, not a matmul.

An attention step multiplies stacks of single rows, (B, 1, H) by (B, H, S), and its backward
then forms dB = Aᵀ G, a stack of (H, 1) by (1, S) matrices: a product whose inner dimension
is 1. NumPy's matmul takes its slow generic loop for that shape (0.9 ms for the GEC model's
64 x 256 x 32, Xeon), where the same numbers are one product each (einsum, 0.13 ms):

    (Aᵀ G)_kj = Σ_{i<1} A_ik G_ij = A_0k G_0j,   an outer product of A's row and G's row

and likewise dA = G Bᵀ when B has a single column. The outer products are written in the
memory order of the input they are the gradient of: where that input is a transposed view
(the keysᵀ of an attention step's scores q keysᵀ), column by column, as the transpose of Gᵀ A. The same
numbers, but the transpose's own backward then hands on a contiguous array, and the 33
steps' gradients that the engine adds into the keys' read in order (0.39 -> 0.17 ms a sum
for the GEC model's 64 x 32 x 256 keys). Every other case is the reference's.
"""
import numpy as np

from ..ops import linalg as reference
from ..ops.both import swap_last_axes


def _transposed(array):
    """Whether array's last two axes are laid out column by column (a transposed view)."""
    return array.ndim >= 2 and min(array.shape[-2:]) > 1 and array.strides[-2] < array.strides[-1]


def _outer(column, row):
    """column (..., k, 1) times row (..., 1, j): the (..., k, j) products, one per entry.
    einsum writes them 2x faster than a broadcast multiplication, whose inner loop runs over
    one row of 32 at a time (0.13 against 0.27 ms for 64 x 32 x 256)."""
    return np.einsum("...k,...j->...kj", column[..., 0], row[..., 0, :])


def _product(x, y, like):
    """x @ y for stacks of matrices; as outer products when the inner dimension is 1, in the
    memory order of ``like``."""
    if x.shape[-1] != 1:
        return np.matmul(x, y)
    if _transposed(like):
        return swap_last_axes(_outer(swap_last_axes(y), swap_last_axes(x)))
    return _outer(x, y)


class MatMul(reference.MatMul):
    def backward(self, g):
        a, b = self.saved_tensors
        if (not isinstance(g, np.ndarray) or self.a_vector or self.b_vector
                or (a.shape[-2] != 1 and b.shape[-1] != 1)):
            return super().backward(g)  # (a tensor g: create_graph, the reference's lines build the graph)
        da = _product(g, swap_last_axes(b), like=a) if self.needs_input_grad[0] else None  # dA = G Bᵀ
        db = _product(swap_last_axes(a), g, like=b) if self.needs_input_grad[1] else None  # dB = Aᵀ G
        return da, db
