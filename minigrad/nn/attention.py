"""Attention of a decoder's queries over an encoder's states (keys = values here).

Three classic scores between a query q and a key k:

    dot       (Luong)     s = qᵀ k
    general   (Luong)     s = qᵀ W k                       (computed as (Wᵀ q)ᵀ k)
    additive  (Bahdanau)  s = vᵀ tanh(W_q q + W_k k)

then weights a = softmax(s) over the real (unmasked) keys and context c = Σ_j a_j k_j.
dot and general with ``need_weights=False`` run as one fused op
(`ops.attention.ScaledDotProductAttention`, backward derived by hand); otherwise the weights
are built from ops (matmul, where, softmax), each with its own derived backward, so the
weights come back as a Tensor that a copy mechanism can differentiate through.
"""
from .. import ops
from .layers import Linear
from .module import Module
from .self_attention import key_mask


class Attention(Module):
    """``forward(query (B, Tq, dq), keys (B, Tk, dk), mask (B, Tk) or None)`` ->
    ``(context (B, Tq, dk), weights (B, Tq, Tk) or None)``."""

    def __init__(self, query_size, key_size, kind="general", hidden_size=None):
        super().__init__()
        if kind not in ("dot", "general", "additive"):
            raise ValueError(f"Attention: kind must be 'dot', 'general' or 'additive', got {kind!r}")
        if kind == "dot" and query_size != key_size:
            raise ValueError(f"Attention: dot scores need query_size == key_size, got {query_size} and {key_size}")
        self.kind = kind
        if kind == "general":
            self.project_query = Linear(query_size, key_size, bias=False)
        elif kind == "additive":
            hidden_size = hidden_size or key_size
            self.project_query = Linear(query_size, hidden_size, bias=False)
            self.project_keys = Linear(key_size, hidden_size)
            self.score = Linear(hidden_size, 1, bias=False)

    def forward(self, query, keys, mask=None, need_weights=True):
        mask3 = key_mask(mask, keys)
        if self.kind == "additive":
            hidden = ops.tanh(self.project_query(query).unsqueeze(2) + self.project_keys(keys).unsqueeze(1))
            scores = self.score(hidden).squeeze(3)  # (B, Tq, Tk)
        else:
            q = query if self.kind == "dot" else self.project_query(query)
            if not need_weights:
                return ops.scaled_dot_product_attention(q, keys, keys, mask3, scale=1.0), None
            scores = q @ keys.transpose(1, 2)
        if mask3 is not None:  # a large negative score, not -inf: a row with no key stays finite
            scores = ops.where(mask3, scores, -1e9)
        weights = ops.softmax(scores, axis=-1)
        return weights @ keys, weights

    def extra_repr(self):
        return f"kind={self.kind!r}"
