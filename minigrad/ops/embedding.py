"""Embedding lookup: row ``indices[...]`` of a weight table."""
from ..backend import get_array_module
from ..tensor import Function
from .both import scattered


class Embedding(Function):
    """Y[..., :] = W[I[...], :] for a table W (V, D) and integer indices I of any shape.

    Each output row is a copy of one table row, so dL/dW_v = Σ over positions p with I_p = v
    of G_p: the upstream rows are *added* into the rows they were read from (a word used
    three times in a batch gets three contributions). Rows never read get zero. The padding
    row gets no gradient at all, so it stays the vector it was initialised to (zeros).
    """

    def forward(self, weight, indices=None, padding_idx=None):
        if weight.ndim != 2:
            raise ValueError(f"embedding: expected a weight table (V, D), got shape {weight.shape}")
        if indices.dtype.kind not in "iu":
            raise TypeError(f"embedding: indices must be integers, got dtype {indices.dtype}")
        if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= weight.shape[0]):
            raise IndexError(
                f"embedding: indices must lie in [0, {weight.shape[0]}) for a table of shape {weight.shape}, "
                f"got values in [{int(indices.min())}, {int(indices.max())}]"
            )
        if padding_idx is not None:
            if not -weight.shape[0] <= padding_idx < weight.shape[0]:
                raise IndexError(f"embedding: padding_idx {padding_idx} is outside a table of {weight.shape[0]} rows")
            padding_idx %= weight.shape[0]                    # -1 is the last row, as in PyTorch
        self.indices, self.padding_idx, self.table_shape = indices, padding_idx, weight.shape
        return weight[indices]

    def backward(self, g):
        rows = g.reshape(-1, self.table_shape[1])             # one upstream row per lookup
        if self.padding_idx is not None:                      # the padding row's lookups add nothing
            rows = rows * (self.indices.reshape(-1, 1) != self.padding_idx)
        return scattered(rows, self.table_shape, self.indices.reshape(-1))


def embedding(indices, weight, padding_idx=None):
    """Rows of ``weight`` picked by the integer array ``indices`` (PyTorch's argument order)."""
    from ..tensor import Tensor

    indices = indices.data if isinstance(indices, Tensor) else indices
    xp = get_array_module(weight.data)
    return Embedding.apply(weight, indices=xp.asarray(indices), padding_idx=padding_idx)
