"""Scaled dot-product attention as one op, with its backward derived by hand."""
from ..backend import get_array_module
from ..tensor import Function
from .both import constant, exp, swap_last_axes, where


def check_attention_shapes(op, q, k, v, mask):
    if q.ndim != 3 or k.ndim != 3 or v.ndim != 3:
        raise ValueError(f"{op}: expected q (B, Tq, d), k (B, Tk, d), v (B, Tk, dv), got {q.shape}, {k.shape}, {v.shape}")
    if q.shape[0] != k.shape[0] or k.shape[:2] != v.shape[:2] or q.shape[2] != k.shape[2]:
        raise ValueError(f"{op}: shapes do not fit together: q {q.shape}, k {k.shape}, v {v.shape}")
    if mask is not None and (mask.ndim != 3 or mask.shape[0] != q.shape[0] or mask.shape[2] != k.shape[1]
                             or mask.shape[1] not in (1, q.shape[1])):
        raise ValueError(f"{op}: mask must be (B, Tq or 1, Tk) = ({q.shape[0]}, {q.shape[1]} or 1, {k.shape[1]}), "
                         f"got {mask.shape}")


def attention_weights(q, k, mask, scale):
    """A = softmax(s · Q Kᵀ) over the keys, counting only positions where mask is True."""
    return masked_softmax(scale * (q @ swap_last_axes(k)), mask)


def masked_softmax(scores, mask):
    """softmax over the last axis, counting only positions where mask is True. A row with no
    allowed position gets all-zero weights (not NaN): it attends to nothing."""
    if mask is not None:
        scores = where(mask, scores, -float("inf"))
    top = constant(scores).max(axis=-1, keepdims=True)   # softmax is the same for any shift
    top = get_array_module(top).where(get_array_module(top).isfinite(top), top, 0)
    e = exp(scores - top)
    total = e.sum(axis=-1, keepdims=True)
    return e / where(constant(total) > 0, total, 1)


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
        weights = self.keep(attention_weights, q, k, mask=mask, scale=self.scale)   # A
        self.save_for_backward(q, k, v)
        return weights @ v

    def backward(self, g):
        q, k, v = self.saved_tensors
        a = self.kept(q, k)                                   # A
        da = g @ swap_last_axes(v)
        dv = swap_last_axes(a) @ g
        ds = a * (da - (da * a).sum(axis=-1, keepdims=True))
        dq = self.scale * (ds @ k)
        dk = self.scale * (swap_last_axes(ds) @ q)
        return dq, dk, dv


def scaled_dot_product_attention(q, k, v, mask=None, scale=None):
    """softmax(scale · Q Kᵀ, masked) V; ``mask`` (B, Tq or 1, Tk) is True where attending is allowed."""
    from ..tensor import Tensor

    mask = mask.data if isinstance(mask, Tensor) else mask
    if mask is not None:
        mask = get_array_module(q.data).asarray(mask, dtype=bool)
    return ScaledDotProductAttention.apply(q, k, v, mask=mask, scale=scale)
