"""Scaled dot-product attention as one op, with its backward derived by hand."""
from ..backend import get_array_module
from ..tensor import Function


def check_attention_shapes(op, q, k, v, mask):
    if q.ndim != 3 or k.ndim != 3 or v.ndim != 3:
        raise ValueError(f"{op}: expected q (B, Tq, d), k (B, Tk, d), v (B, Tk, dv), got {q.shape}, {k.shape}, {v.shape}")
    if q.shape[0] != k.shape[0] or k.shape[:2] != v.shape[:2] or q.shape[2] != k.shape[2]:
        raise ValueError(f"{op}: shapes do not fit together: q {q.shape}, k {k.shape}, v {v.shape}")
    if mask is not None and (mask.ndim != 3 or mask.shape[0] != q.shape[0] or mask.shape[2] != k.shape[1]
                             or mask.shape[1] not in (1, q.shape[1])):
        raise ValueError(f"{op}: mask must be (B, Tq or 1, Tk) = ({q.shape[0]}, {q.shape[1]} or 1, {k.shape[1]}), "
                         f"got {mask.shape}")


def masked_softmax(scores, mask):
    """softmax over the last axis, counting only positions where mask is True. A row with no
    allowed position gets all-zero weights (not NaN): it attends to nothing."""
    xp = get_array_module(scores)
    if mask is not None:
        scores = xp.where(mask, scores, -xp.inf)
    top = scores.max(axis=-1, keepdims=True)
    top = xp.where(xp.isfinite(top), top, 0)
    e = xp.exp(scores - top)
    total = e.sum(axis=-1, keepdims=True)
    return e / xp.where(total > 0, total, 1)


class ScaledDotProductAttention(Function):
    """O = A V with A = softmax(S), S = s · Q Kᵀ (+ -∞ where the mask is False), s = 1/√d.

    Shapes: Q (B, Tq, d), K (B, Tk, d), V (B, Tk, dv), A (B, Tq, Tk), O (B, Tq, dv).
    Backward, one matrix product at a time (G = dL/dO):

        dA = G Vᵀ                                  (O = A V, as in matmul)
        dV = Aᵀ G
        dS = A ⊙ (dA - rowsum(dA ⊙ A))             (softmax's Jacobian, row by row)
        dQ = s · dS K          dK = s · dSᵀ Q      (S = s Q Kᵀ)

    Masked positions have A = 0, so dS = 0 there and no gradient reaches their keys or values.
    """

    def forward(self, q, k, v, mask=None, scale=None):
        check_attention_shapes("scaled_dot_product_attention", q, k, v, mask)
        self.scale = 1.0 / q.shape[-1] ** 0.5 if scale is None else scale
        self.q, self.k, self.v, self.mask = q, k, v, mask
        self.weights = masked_softmax(self.scale * (q @ k.swapaxes(1, 2)), mask).astype(q.dtype)
        return self.weights @ v

    def backward(self, g):
        a = self.weights
        da = g @ self.v.swapaxes(1, 2)
        dv = a.swapaxes(1, 2) @ g
        ds = a * (da - (da * a).sum(axis=-1, keepdims=True))
        dq = self.scale * (ds @ self.k)
        dk = self.scale * (ds.swapaxes(1, 2) @ self.q)
        return dq, dk, dv

    def backward_graph(self, g):
        """The same products on tensors (create_graph=True); A is recomputed from Q and K,
        since it depends on them."""
        q, k, v = (self.input_tensor(i, a) for i, a in enumerate((self.q, self.k, self.v)))
        scores = self.scale * (q @ k.transpose(1, 2))
        if self.mask is not None:
            scores = scores.masked_fill(~self.mask, -1e30)
        a = scores.softmax(-1) * (self.weights > 0)  # masked positions stay exactly 0
        da = g @ v.transpose(1, 2)
        dv = a.transpose(1, 2) @ g
        ds = a * (da - (da * a).sum(-1, keepdim=True))
        return self.scale * (ds @ k), self.scale * (ds.transpose(1, 2) @ q), dv


def scaled_dot_product_attention(q, k, v, mask=None, scale=None):
    """softmax(scale · Q Kᵀ, masked) V; ``mask`` (B, Tq or 1, Tk) is True where attending is allowed."""
    from ..tensor import Tensor

    mask = mask.data if isinstance(mask, Tensor) else mask
    if mask is not None:
        mask = get_array_module(q.data).asarray(mask, dtype=bool)
    return ScaledDotProductAttention.apply(q, k, v, mask=mask, scale=scale)
