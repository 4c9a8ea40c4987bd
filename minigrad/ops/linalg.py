"""Matrix multiplication, batched over leading axes as in numpy.matmul."""
from ..tensor import Function


class MatMul(Function):
    """Y = A @ B with A (..., n, k), B (..., k, m), Y (..., n, m).

    Y_ij = Σ_k A_ik B_kj, so dL/dA_ik = Σ_j G_ij B_kj and dL/dB_kj = Σ_i A_ik G_ij:

        dA = G @ Bᵀ        dB = Aᵀ @ G        (ᵀ swaps the last two axes)

    Leading (batch) axes broadcast like elementwise ops; the engine sums the gradient over
    any batch axis an input was broadcast along. A 1-D A is a row vector (1, k) and a 1-D B a
    column vector (k, 1), and the added axis is removed again from the result.
    """

    broadcasts = True

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: needs at least 1-D inputs, got shapes {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} are not aligned "
                f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})"
            )
        self.a_vector, self.b_vector = a.ndim == 1, b.ndim == 1
        self.a = a[None, :] if self.a_vector else a
        self.b = b[:, None] if self.b_vector else b
        return a @ b

    def backward(self, g):
        if self.b_vector:  # put back the axes the vectors lost (b's first: g may be 0-d)
            g = g[..., None]
        if self.a_vector:
            g = g[..., None, :]
        da = db = None
        if self.needs_input_grad[0]:
            da = g @ self.b.swapaxes(-1, -2)
            if self.a_vector:
                da = da.reshape(da.shape[:-2] + da.shape[-1:])
        if self.needs_input_grad[1]:
            db = self.a.swapaxes(-1, -2) @ g
            if self.b_vector:
                db = db[..., 0]
        return da, db
