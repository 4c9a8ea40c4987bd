"""The table of core ops under test: one `Recipe` per op.

Each recipe says how to call the op in minigrad, NumPy (the forward reference) and PyTorch,
which shapes and parameters to draw (a hypothesis strategy), and which values are safe
(`domain`): inputs are kept away from kinks *by construction* — relu never sees 0, max never
sees a tie, log never sees a negative — so a finite difference never straddles a kink.
Adding an op to the test suite means adding one entry here.
"""
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import minigrad as mg

try:  # PyTorch is an optional reference: without it only the torch-agreement tests skip
    import torch
    import torch.nn.functional as TF
except ImportError:
    torch = TF = None

# ----- value domains: (rng, shapes) -> list of float64 arrays -----------------------------


def normal(rng, shapes):
    return [rng.standard_normal(s) for s in shapes]


def positive(rng, shapes):
    return [rng.uniform(0.5, 2.0, s) for s in shapes]


def away_from_zero(rng, shapes):
    return [rng.choice([-1.0, 1.0], s) * rng.uniform(0.2, 2.0, s) for s in shapes]


def distinct(rng, shapes):
    """All values across all inputs distinct, 0.1 apart, and none a multiple of 0.1 (so none
    is 0 or ±0.5): no ties for max/min/maximum, no relu or clip input on its kink."""
    total = sum(int(np.prod(s)) for s in shapes)
    values = (rng.permutation(total) - total // 2 + 0.5) * 0.1
    out, start = [], 0
    for s in shapes:
        n = int(np.prod(s))
        out.append(values[start:start + n].reshape(s))
        start += n
    return out


def spread(rng, shapes):
    """distinct's values, 0.5 apart: a normalisation over two of them has σ >= 0.25, so float32
    round-off, amplified by 1/σ, stays far below the comparison's tolerance."""
    return [5 * a for a in distinct(rng, shapes)]


def positive_base_any_exponent(rng, shapes):
    base, exponent = shapes
    return [rng.uniform(0.5, 2.0, base), rng.uniform(-2.0, 2.0, exponent)]


def nonzero_denominator(rng, shapes):
    return [rng.standard_normal(shapes[0])] + away_from_zero(rng, shapes[1:])


# ----- shape strategies: each yields (input_shapes, params) -------------------------------

SIDE = 4
unary = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=SIDE).map(lambda s: ([s], {}))
binary = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=SIDE).map(
    lambda r: (list(r.input_shapes), {})
)


@st.composite
def reduction(draw, min_per_slice=1):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=SIDE))
    ndim = len(shape)
    axis = draw(st.none() | st.integers(-ndim, ndim - 1) | st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple))
    axes = range(ndim) if axis is None else ([axis] if isinstance(axis, int) else axis)
    if np.prod([shape[a] for a in axes]) < min_per_slice:
        shape = tuple(max(n, 2) if i in [a % ndim for a in axes] else n for i, n in enumerate(shape))
    return [shape], {"axis": axis, "keepdims": draw(st.booleans())}


@st.composite
def along_axis(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=SIDE))
    return [shape], {"axis": draw(st.integers(-len(shape), len(shape) - 1))}


@st.composite
def matmul_shapes(draw):
    n, k, m = draw(st.integers(1, SIDE)), draw(st.integers(1, SIDE)), draw(st.integers(1, SIDE))
    kind = draw(st.sampled_from(["vv", "mv", "vm", "mm", "batched", "broadcast"]))
    batch = draw(st.integers(1, 3))
    return {
        "vv": [(k,), (k,)],
        "mv": [(n, k), (k,)],
        "vm": [(k,), (k, m)],
        "mm": [(n, k), (k, m)],
        "batched": [(batch, n, k), (k, m)],
        "broadcast": [(batch, 1, n, k), (2, k, m)],
    }[kind], {}


@st.composite
def getitem_case(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=SIDE))
    kind = draw(st.sampled_from(["int", "slice", "mask", "fancy", "mixed"]))
    n0 = shape[0]
    if kind == "int":
        index = draw(st.integers(-n0, n0 - 1))
    elif kind == "slice":
        start = draw(st.integers(0, n0 - 1))
        index = (slice(start, None, draw(st.integers(1, 2))),) + (slice(None),) * (len(shape) - 1)
    elif kind == "mask":
        mask = np.array(draw(st.lists(st.booleans(), min_size=n0, max_size=n0)))
        index = mask
    elif kind == "fancy":  # repeated indices: the backward must add, not overwrite
        index = np.array(draw(st.lists(st.integers(0, n0 - 1), min_size=1, max_size=6)))
    else:
        index = (slice(None), np.array([0, 0, 1])) if len(shape) > 1 else np.array([1, 0, 1])
    return [shape], {"index": index}


@st.composite
def concat_case(draw):
    base = list(draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=SIDE)))
    axis = draw(st.integers(0, len(base) - 1))
    shapes = []
    for _ in range(draw(st.integers(1, 3))):
        shape = list(base)
        shape[axis] = draw(st.integers(1, SIDE))
        shapes.append(tuple(shape))
    return shapes, {"axis": axis}


@st.composite
def stack_case(draw):
    shape = draw(array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=SIDE))
    count = draw(st.integers(1, 3))
    return [shape] * count, {"axis": draw(st.integers(0, len(shape)))}


@st.composite
def split_case(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6))
    axis = draw(st.integers(0, len(shape) - 1))
    return [shape], {"size": draw(st.integers(1, shape[axis])), "axis": axis}


@st.composite
def pad_case(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=SIDE))
    widths = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in shape)
    return [shape], {"pad_width": widths}


@st.composite
def permute_case(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=SIDE))
    return [shape], {"dims": tuple(draw(st.permutations(range(len(shape)))))}


@st.composite
def reshape_case(draw):
    shape = draw(array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=SIDE))
    size = int(np.prod(shape))
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    first = draw(st.sampled_from(divisors))
    return [shape], {"shape": (first, -1)}


@st.composite
def classification(draw, with_ignored=False):
    n, c = draw(st.integers(1, 5)), draw(st.integers(2, 5))
    target = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    if with_ignored and n > 1 and draw(st.booleans()):
        target[0] = -100  # one padding position: contributes nothing
    return [(n, c)], {"target": target, "reduction": draw(st.sampled_from(["mean", "sum", "none"]))}


@st.composite
def classification_smoothed(draw):
    shapes, params = draw(classification(with_ignored=True))
    return shapes, dict(params, label_smoothing=draw(st.sampled_from([0.0, 0.1, 0.5])))


@st.composite
def embedding_case(draw):
    vocab, dim = draw(st.integers(1, 6)), draw(st.integers(1, SIDE))
    index_shape = draw(array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=SIDE))
    indices = np.array(draw(st.lists(st.integers(0, vocab - 1), min_size=int(np.prod(index_shape)),
                                     max_size=int(np.prod(index_shape))))).reshape(index_shape)
    padding_idx = draw(st.none() | st.integers(0, vocab - 1))
    return [(vocab, dim)], {"indices": indices, "padding_idx": padding_idx}


@st.composite
def attention_case(draw):
    b, tq, tk = draw(st.integers(1, 3)), draw(st.integers(1, SIDE)), draw(st.integers(1, SIDE))
    d, dv = draw(st.integers(1, SIDE)), draw(st.integers(1, SIDE))
    # padded keys as in a batch of uneven sources: each row keeps its first `length` keys
    lengths = np.array(draw(st.lists(st.integers(1, tk), min_size=b, max_size=b)))
    mask = (np.arange(tk)[None, :] < lengths[:, None])[:, None, :]
    if draw(st.booleans()):  # or a causal mask per query (query i sees keys 0..i, at least key 0)
        mask = mask & (np.arange(tk)[None, :] <= np.arange(tq)[:, None])[None]
    return [(b, tq, d), (b, tk, d), (b, tk, dv)], {"mask": mask}


def _np_attention(q, k, v, mask):
    scores = np.where(mask, q @ k.swapaxes(1, 2) / np.sqrt(q.shape[-1]), -np.inf)
    weights = np.exp(_np_log_softmax(scores, -1))
    return weights @ v


@st.composite
def gather_case(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=SIDE))
    dim = draw(st.integers(0, len(shape) - 1))
    index_shape = tuple(draw(st.integers(1, n)) if i != dim else draw(st.integers(1, SIDE)) for i, n in enumerate(shape))
    size = int(np.prod(index_shape))
    index = np.array(draw(st.lists(st.integers(0, shape[dim] - 1), min_size=size, max_size=size))).reshape(index_shape)
    return [shape], {"dim": dim, "index": index}


@st.composite
def expand_case(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=SIDE))
    shape = tuple(1 if draw(st.booleans()) else n for n in shape)
    sizes = tuple(draw(st.integers(1, 3)) if n == 1 else draw(st.sampled_from([n, -1])) for n in shape)
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=1)))
    return [shape], {"sizes": lead + sizes}


@st.composite
def repeat_case(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=SIDE))
    repeats = tuple(draw(st.lists(st.integers(1, 3), min_size=len(shape), max_size=len(shape) + 1)))
    return [shape], {"repeats": repeats}


@st.composite
def masked_case(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=SIDE))
    mask = np.array(draw(st.lists(st.booleans(), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))).reshape(shape)
    return [shape], {"mask": mask}


@st.composite
def bmm_shapes(draw):
    b, n, k, m = (draw(st.integers(1, SIDE)) for _ in range(4))
    return [(b, n, k), (b, k, m)], {}


@st.composite
def along_axis_keepdim(draw):
    shape, params = draw(along_axis())
    return shape, {"dim": params["axis"], "keepdim": draw(st.booleans())}


@st.composite
def norm_case(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=SIDE))
    dim = draw(st.none() | st.integers(0, len(shape) - 1))
    return [shape], {"p": draw(st.sampled_from([1, 2, 3])), "dim": dim, "keepdim": draw(st.booleans())}


@st.composite
def chunk_case(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6))
    dim = draw(st.integers(0, len(shape) - 1))
    return [shape], {"chunks": draw(st.integers(1, shape[dim])), "dim": dim}


def _np_gather(x, dim, index):
    """By definition: out[p] = x[p with its dim-th coordinate replaced by index[p]]."""
    out = np.empty(index.shape, dtype=x.dtype)
    for p in np.ndindex(*index.shape):
        source = list(p)
        source[dim] = index[p]
        out[p] = x[tuple(source)]
    return out


def _np_expand(x, sizes):
    lead = len(sizes) - x.ndim
    return np.broadcast_to(x, tuple(n if n != -1 else x.shape[i - lead] for i, n in enumerate(sizes)))


def _np_logsumexp(x, dim, keepdim):
    m = x.max(axis=dim, keepdims=True)
    out = np.log(np.exp(x - m).sum(axis=dim, keepdims=True)) + m
    return out if keepdim else out.squeeze(dim)


def _np_norm(x, p, dim, keepdim):
    return (np.abs(x) ** p).sum(axis=dim, keepdims=keepdim) ** (1 / p)


def _np_chunk_cat(x, chunks, dim):
    size = -(-x.shape[dim] // chunks)
    return np.concatenate(np.split(x, list(range(size, x.shape[dim], size)), axis=dim)[::-1], axis=dim)


def loss_pair(reductions=("mean", "sum", "none")):
    """Two inputs of one shape (input, target) and a reduction."""
    return st.tuples(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=SIDE), st.sampled_from(reductions)).map(
        lambda drawn: ([drawn[0], drawn[0]], {"reduction": drawn[1]}))


@st.composite
def conv_transpose_case(draw):
    n, c_in, c_out = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw, h, w = (draw(st.integers(1, 3)) for _ in range(4))
    stride, dilation = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    output_padding = draw(st.integers(0, max(stride, dilation) - 1))
    full = min((h - 1) * stride + dilation * (kh - 1) + 1, (w - 1) * stride + dilation * (kw - 1) + 1)
    padding = draw(st.integers(0, max(0, min(min(kh, kw) - 1, (full + output_padding - 1) // 2))))
    return [(n, c_in, h, w), (c_in, c_out, kh, kw), (c_out,)], {
        "stride": stride, "padding": padding, "output_padding": output_padding, "dilation": dilation}


def _np_conv_transpose(x, w, b, stride, padding, output_padding, dilation):
    """The definition: each input pixel adds its value times the kernel into the output."""
    n, c_in, h, wd = x.shape
    c_out, kh, kw = w.shape[1:]
    full = np.zeros((n, c_out, (h - 1) * stride + dilation * (kh - 1) + 1 + output_padding,
                     (wd - 1) * stride + dilation * (kw - 1) + 1 + output_padding))
    for i in range(h):
        for j in range(wd):
            for p in range(kh):
                for q in range(kw):
                    full[:, :, i * stride + p * dilation, j * stride + q * dilation] += x[:, :, i, j] @ w[:, :, p, q]
    out = full[:, :, padding:full.shape[2] - padding, padding:full.shape[3] - padding]
    return out + b[None, :, None, None]


@st.composite
def layer_norm_case(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=SIDE))
    normalized = shape[len(shape) - draw(st.integers(1, len(shape))):]
    return [shape, normalized, normalized], {"normalized_shape": normalized}


def _np_layer_norm(x, w, b, normalized_shape):
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5) * w + b


def _np_gelu(x):
    from math import erf

    return x * 0.5 * (1 + np.vectorize(erf)(x / np.sqrt(2)))


@st.composite
def pos_weight_case(draw):
    classes = draw(st.integers(1, SIDE))
    shape = (draw(st.integers(1, SIDE)), classes)
    pos_weight = np.array(draw(st.lists(st.floats(0.25, 4.0), min_size=classes, max_size=classes)))
    return [shape, shape], {"reduction": draw(st.sampled_from(["mean", "sum", "none"])), "pos_weight": pos_weight}


def _np_bce_pos_weight(x, t, reduction, pos_weight):
    log_sigmoid, log_one_minus = -np.logaddexp(0, -x), -np.logaddexp(0, x)
    return _np_reduce(-(pos_weight * t * log_sigmoid + (1 - t) * log_one_minus), reduction)


def _np_reduce(per_element, reduction):
    return per_element if reduction == "none" else per_element.mean() if reduction == "mean" else per_element.sum()


def logits_and_soft_targets(rng, shapes):
    return [rng.standard_normal(shapes[0]) * 2, rng.uniform(0, 1, shapes[1])]


def probabilities_and_soft_targets(rng, shapes):
    return [rng.uniform(0.05, 0.95, shapes[0]), rng.uniform(0, 1, shapes[1])]


def log_probs_and_targets(rng, shapes):
    return [rng.standard_normal(shapes[0]), rng.uniform(0.1, 1.0, shapes[1])]


@st.composite
def prod_case(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=SIDE))
    axis = draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    return [shape], {"dim": axis, "keepdim": draw(st.booleans()) if axis is not None else False}


def scatter_add_case():
    """gather's cases, with a src shaped like the index (repeated indices must add up)."""
    return gather_case().map(lambda case: (case[0] + [case[1]["index"].shape], case[1]))


EINSUM_EQUATIONS = ["ij,jk->ik", "bij,bjk->bik", "ij->", "ij->ji", "i,j->ij", "ij,k->ik", "i,i->", "bhqd,bhkd->bhqk",
                    "ijk,ik->j"]


@st.composite
def einsum_case(draw):
    equation = draw(st.sampled_from(EINSUM_EQUATIONS))
    inputs = equation.split("->")[0].split(",")
    size = {c: draw(st.integers(1, 3)) for c in sorted(set("".join(inputs)))}
    return [tuple(size[c] for c in letters) for letters in inputs], {"equation": equation}


@st.composite
def classification_spatial_weighted(draw):
    n, c, d = draw(st.integers(1, 3)), draw(st.integers(2, 4)), draw(st.integers(1, 3))
    target = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n * d, max_size=n * d))).reshape(n, d)
    if n * d > 1 and draw(st.booleans()):
        target[0, 0] = -100
    weight = np.array(draw(st.lists(st.sampled_from([0.5, 1.0, 2.0, 3.0]), min_size=c, max_size=c)))
    return [(n, c, d)], {"target": target, "weight": weight, "reduction": draw(st.sampled_from(["mean", "sum", "none"])),
                         "label_smoothing": draw(st.sampled_from([0.0, 0.2]))}


@st.composite
def classification_soft(draw):
    n, c = draw(st.integers(1, 5)), draw(st.integers(2, 5))
    weight = draw(st.none() | st.just(np.linspace(0.5, 2.0, c)))
    return [(n, c), (n, c)], {"weight": weight, "reduction": draw(st.sampled_from(["mean", "sum", "none"])),
                              "label_smoothing": draw(st.sampled_from([0.0, 0.2]))}


same_shape_pair = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=SIDE).map(
    lambda s: ([s, s], {"reduction": "mean"})
)


# ----- helpers for the PyTorch side -------------------------------------------------------

def tdim(axis, ndim):
    """minigrad's axis=None means 'all axes'; torch wants them listed."""
    return tuple(range(ndim)) if axis is None else axis


def torch_pad(x, pad_width):
    flat = [p for pair in reversed(pad_width) for p in pair]  # torch lists the last axis first
    return TF.pad(x, flat)


def torch_target(target):
    return torch.as_tensor(target)


def torch_index(index):
    convert = lambda i: torch.as_tensor(i) if isinstance(i, np.ndarray) else i  # noqa: E731
    return tuple(convert(i) for i in index) if isinstance(index, tuple) else convert(index)


@dataclass
class Recipe:
    name: str
    fn: Callable  # (*tensors, **params) -> Tensor, minigrad
    numpy: Callable  # (*arrays, **params) -> array, the forward reference
    cases: st.SearchStrategy  # draws (input_shapes, params)
    domain: Callable = normal
    torch: Optional[Callable] = None  # (*torch_tensors, **params) -> torch tensor
    tags: tuple = field(default=())  # "cancels": float32 gradients as near the truth as PyTorch's (test_ops)


def _np_split_cat(x, size, axis):
    pieces = np.split(x, list(range(size, x.shape[axis], size)), axis=axis)
    return np.concatenate(pieces[::-1], axis=axis)


def _np_log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _keep(indices, padding_idx):
    """1.0 at real tokens, 0.0 at padding, shaped to broadcast over the embedding axis."""
    return (indices != (-1 if padding_idx is None else padding_idx))[..., None] * 1.0


def _np_smoothed_ce(x, target, reduction, label_smoothing):
    """PyTorch's label smoothing: the target distribution is (1-ε)·one-hot + ε/C."""
    logp = _np_log_softmax(x, 1)
    valid = target != -100
    picked = -logp[np.arange(len(target)), np.where(valid, target, 0)]
    per_row = ((1 - label_smoothing) * picked - label_smoothing * logp.mean(axis=1)) * valid
    if reduction == "none":
        return per_row
    return per_row.sum() / (max(valid.sum(), 1) if reduction == "mean" else 1)


def _np_scatter_add(x, src, dim, index):
    """By definition: each src[p] is added at p with its dim-th coordinate replaced by index[p]."""
    out = x.copy()
    for p in np.ndindex(*index.shape):
        where = list(p)
        where[dim] = index[p]
        out[tuple(where)] += src[p]
    return out


def _np_weighted_ce(x, target, weight, reduction, label_smoothing):
    """By PyTorch's definition, over (N, C, d) scores: q = (1-ε)·one-hot + ε/C, row loss
    -Σ_j w_j q_j log p_j, and the mean divides by Σ w[t] over the counted positions."""
    logp = np.moveaxis(_np_log_softmax(x, 1), 1, -1)
    c = x.shape[1]
    counted = target != -100
    safe = np.where(counted, target, 0)
    q = (1 - label_smoothing) * np.eye(c)[safe] + label_smoothing / c
    per_position = -(weight * q * logp).sum(-1) * counted
    if reduction == "none":
        return per_position
    return per_position.sum() / ((weight[safe] * counted).sum() if reduction == "mean" else 1)


def _np_soft_ce(x, q, weight, reduction, label_smoothing):
    q = (1 - label_smoothing) * q + label_smoothing / x.shape[1]
    per_row = -((1 if weight is None else weight) * q * _np_log_softmax(x, 1)).sum(1)
    return _np_reduce(per_row, reduction) if reduction != "mean" else per_row.sum() / len(x)


def _np_nll(logp, target, reduction):
    valid = target != -100
    picked = -logp[np.arange(len(target)), np.where(valid, target, 0)] * valid
    if reduction == "none":
        return picked
    return picked.sum() / (max(valid.sum(), 1) if reduction == "mean" else 1)


RECIPES = [
    Recipe("add", lambda a, b: a + b, np.add, binary, torch=lambda a, b: a + b),
    Recipe("sub", lambda a, b: a - b, np.subtract, binary, torch=lambda a, b: a - b),
    Recipe("mul", lambda a, b: a * b, np.multiply, binary, torch=lambda a, b: a * b),
    Recipe("div", lambda a, b: a / b, np.divide, binary, nonzero_denominator, torch=lambda a, b: a / b),
    Recipe("neg", lambda x: -x, np.negative, unary, torch=lambda x: -x),
    Recipe("pow", lambda a, b: a**b, np.power, binary, positive_base_any_exponent, torch=lambda a, b: a**b),
    Recipe("pow_scalar", lambda x: x**3, lambda x: x**3, unary, torch=lambda x: x**3),
    Recipe("exp", mg.exp, np.exp, unary, torch=lambda x: x.exp()),
    Recipe("log", mg.log, np.log, unary, positive, torch=lambda x: x.log()),
    Recipe("sqrt", mg.sqrt, np.sqrt, unary, positive, torch=lambda x: x.sqrt()),
    Recipe("abs", mg.abs, np.abs, unary, away_from_zero, torch=lambda x: x.abs()),
    Recipe("clip", lambda x: mg.clip(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), unary, distinct,
           torch=lambda x: x.clamp(-0.5, 0.5)),
    Recipe("maximum", mg.maximum, np.maximum, binary, distinct, torch=lambda a, b: torch.maximum(a, b)),
    Recipe("where", lambda a, b: mg.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b), binary, away_from_zero,
           torch=lambda a, b: torch.where(a > 0, a, b)),
    Recipe("relu", mg.relu, lambda x: np.maximum(x, 0), unary, away_from_zero, torch=lambda x: x.relu()),
    Recipe("leaky_relu", lambda x: mg.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x), unary,
           away_from_zero, torch=lambda x: TF.leaky_relu(x, 0.1)),
    Recipe("sigmoid", mg.sigmoid, lambda x: 1 / (1 + np.exp(-x)), unary, torch=lambda x: x.sigmoid()),
    Recipe("tanh", mg.tanh, np.tanh, unary, torch=lambda x: x.tanh()),
    Recipe("matmul", lambda a, b: a @ b, np.matmul, matmul_shapes(), torch=lambda a, b: a @ b),
    Recipe("sum", mg.sum, lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims), reduction(),
           torch=lambda x, axis, keepdims: x.sum(dim=tdim(axis, x.ndim), keepdim=keepdims)),
    Recipe("mean", mg.mean, lambda x, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims), reduction(),
           torch=lambda x, axis, keepdims: x.mean(dim=tdim(axis, x.ndim), keepdim=keepdims)),
    Recipe("max", mg.amax, lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims), reduction(), distinct,
           torch=lambda x, axis, keepdims: x.amax(dim=tdim(axis, x.ndim), keepdim=keepdims)),
    Recipe("min", mg.amin, lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims), reduction(), distinct,
           torch=lambda x, axis, keepdims: x.amin(dim=tdim(axis, x.ndim), keepdim=keepdims)),
    Recipe("max_dim", lambda x, axis, keepdims: mg.max(x, axis, keepdims).values,  # (values, indices)
           lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims), along_axis().map(
               lambda drawn: (drawn[0], {**drawn[1], "keepdims": drawn[1]["axis"] % 2 == 0})), distinct,
           torch=lambda x, axis, keepdims: x.max(dim=axis, keepdim=keepdims).values),
    Recipe("min_dim", lambda x, axis, keepdims: mg.min(x, axis, keepdims).values,
           lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims), along_axis().map(
               lambda drawn: (drawn[0], {**drawn[1], "keepdims": drawn[1]["axis"] % 2 == 0})), distinct,
           torch=lambda x, axis, keepdims: x.min(dim=axis, keepdim=keepdims).values),
    Recipe("var", mg.var, lambda x, axis, keepdims: np.var(x, axis=axis, keepdims=keepdims, ddof=1),
           reduction(min_per_slice=2),
           torch=lambda x, axis, keepdims: x.var(dim=tdim(axis, x.ndim), keepdim=keepdims, correction=1)),
    Recipe("std", mg.std, lambda x, axis, keepdims: np.std(x, axis=axis, keepdims=keepdims, ddof=1),
           reduction(min_per_slice=2),
           torch=lambda x, axis, keepdims: x.std(dim=tdim(axis, x.ndim), keepdim=keepdims, correction=1)),
    Recipe("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape), reshape_case(),
           torch=lambda x, shape: x.reshape(shape)),
    Recipe("permute", lambda x, dims: mg.permute(x, dims), lambda x, dims: x.transpose(dims), permute_case(),
           torch=lambda x, dims: x.permute(dims)),
    Recipe("transpose", lambda x: x.transpose(0, -1), lambda x: np.swapaxes(x, 0, -1),
           array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=SIDE).map(lambda s: ([s], {})),
           torch=lambda x: x.transpose(0, -1)),
    Recipe("getitem", lambda x, index: x[index], lambda x, index: x[index], getitem_case(),
           torch=lambda x, index: x[torch_index(index)]),
    Recipe("concatenate", lambda *xs, axis: mg.concatenate(xs, axis), lambda *xs, axis: np.concatenate(xs, axis),
           concat_case(), torch=lambda *xs, axis: torch.cat(xs, axis)),
    Recipe("stack", lambda *xs, axis: mg.stack(xs, axis), lambda *xs, axis: np.stack(xs, axis), stack_case(),
           torch=lambda *xs, axis: torch.stack(xs, axis)),
    Recipe("split", lambda x, size, axis: mg.concatenate(mg.split(x, size, axis)[::-1], axis), _np_split_cat,
           split_case(),
           torch=lambda x, size, axis: torch.cat(torch.split(x, size, axis)[::-1], axis)),
    Recipe("pad", mg.pad, lambda x, pad_width: np.pad(x, pad_width), pad_case(), torch=torch_pad),
    Recipe("softmax", mg.softmax, lambda x, axis: np.exp(_np_log_softmax(x, axis)), along_axis(),
           torch=lambda x, axis: x.softmax(axis)),
    Recipe("log_softmax", mg.log_softmax, _np_log_softmax, along_axis(), torch=lambda x, axis: x.log_softmax(axis)),
    Recipe("nll_loss", mg.nll_loss, _np_nll, classification(with_ignored=True),
           torch=lambda x, target, reduction: TF.nll_loss(
               x, torch_target(target), reduction=reduction)),
    Recipe("cross_entropy", mg.cross_entropy,
           lambda x, target, reduction: _np_nll(_np_log_softmax(x, 1), target, reduction),
           classification(with_ignored=True),
           torch=lambda x, target, reduction: TF.cross_entropy(
               x, torch_target(target), reduction=reduction)),
    Recipe("cross_entropy_smoothed", mg.cross_entropy,
           lambda x, target, reduction, label_smoothing: _np_smoothed_ce(x, target, reduction, label_smoothing),
           classification_smoothed(),
           torch=lambda x, target, reduction, label_smoothing: TF.cross_entropy(
               x, torch_target(target), reduction=reduction, label_smoothing=label_smoothing)),
    # padding positions are zeroed as a model does, so the frozen padding row (no gradient by
    # definition) does not show up as a finite-difference mismatch; test_nn checks it is frozen
    Recipe("embedding", lambda w, indices, padding_idx: mg.embedding(indices, w, padding_idx) * _keep(indices, padding_idx),
           lambda w, indices, padding_idx: w[indices] * _keep(indices, padding_idx), embedding_case(),
           torch=lambda w, indices, padding_idx: TF.embedding(torch_target(indices), w, padding_idx=padding_idx)
           * torch_target(_keep(indices, padding_idx))),
    Recipe("scaled_dot_product_attention", mg.scaled_dot_product_attention, _np_attention, attention_case(),
           torch=lambda q, k, v, mask: TF.scaled_dot_product_attention(q, k, v, attn_mask=torch_target(mask))),
    Recipe("sin", mg.sin, np.sin, unary, torch=lambda x: x.sin()),
    Recipe("cos", mg.cos, np.cos, unary, torch=lambda x: x.cos()),
    Recipe("gather", mg.gather, _np_gather, gather_case(),
           torch=lambda x, dim, index: x.gather(dim, torch_target(index))),
    Recipe("expand", lambda x, sizes: x.expand(*sizes), _np_expand, expand_case(),
           torch=lambda x, sizes: x.expand(*sizes)),
    Recipe("repeat", lambda x, repeats: x.repeat(*repeats), lambda x, repeats: np.tile(x, repeats), repeat_case(),
           torch=lambda x, repeats: x.repeat(*repeats)),
    Recipe("masked_fill", lambda x, mask: x.masked_fill(mask, -2.0), lambda x, mask: np.where(mask, -2.0, x),
           masked_case(), torch=lambda x, mask: x.masked_fill(torch_target(mask), -2.0)),
    Recipe("bmm", mg.bmm, np.matmul, bmm_shapes(), torch=lambda a, b: torch.bmm(a, b)),
    Recipe("logsumexp", mg.logsumexp, _np_logsumexp, along_axis_keepdim(),
           torch=lambda x, dim, keepdim: x.logsumexp(dim, keepdim=keepdim)),
    Recipe("norm", mg.norm, _np_norm, norm_case(), away_from_zero,
           torch=lambda x, p, dim, keepdim: torch.linalg.vector_norm(x, p, dim=dim, keepdim=keepdim)),
    Recipe("sort", lambda x, axis, descending: x.sort(axis, descending=descending).values,
           lambda x, axis, descending: np.flip(np.sort(x, axis), axis) if descending else np.sort(x, axis),
           along_axis().map(lambda drawn: (drawn[0], {**drawn[1], "descending": drawn[1]["axis"] % 2 == 0})), distinct,
           torch=lambda x, axis, descending: x.sort(dim=axis, descending=descending).values),
    Recipe("topk", lambda x, axis, k: x.topk(k, axis).values,
           lambda x, axis, k: np.take(np.flip(np.sort(x, axis), axis), np.arange(k), axis),
           along_axis().map(lambda drawn: (drawn[0], {**drawn[1], "k": (drawn[0][0][drawn[1]["axis"]] + 1) // 2})),
           distinct, torch=lambda x, axis, k: x.topk(k, axis).values),
    Recipe("index_select", lambda x, axis: x.index_select(axis, mg.tensor([0, x.shape[axis] - 1, 0])),
           lambda x, axis: np.take(x, [0, x.shape[axis] - 1, 0], axis), along_axis(),
           torch=lambda x, axis: x.index_select(axis, torch.tensor([0, x.shape[axis] - 1, 0]))),
    Recipe("dot", mg.dot, np.dot, st.integers(1, SIDE).map(lambda n: ([(n,), (n,)], {})),
           torch=lambda a, b: torch.dot(a, b)),
    Recipe("unbind", lambda x: mg.stack(x.unbind(0)[::-1], 1), lambda x: np.stack(list(x)[::-1], 1),
           array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=SIDE).map(lambda s: ([s], {})),
           torch=lambda x: torch.stack(x.unbind(0)[::-1], 1)),
    Recipe("layer_norm", lambda x, w, b, normalized_shape: mg.ops.layer_norm(x, normalized_shape, w, b),
           _np_layer_norm, layer_norm_case(), spread,
           torch=lambda x, w, b, normalized_shape: TF.layer_norm(x, normalized_shape, w, b),
           tags=("cancels",)),  # dx = (M dx̂ - Σdx̂ - x̂ Σ dx̂x̂)/(Mσ): with M = 2 nearly all of it cancels
    Recipe("gelu", mg.ops.gelu, _np_gelu, unary, torch=lambda x: TF.gelu(x)),
    Recipe("conv_transpose2d", mg.ops.conv_transpose2d, _np_conv_transpose, conv_transpose_case(),
           torch=lambda x, w, b, stride, padding, output_padding, dilation: TF.conv_transpose2d(
               x, w, b, stride, padding, output_padding, 1, dilation)),
    Recipe("gelu_tanh", lambda x: mg.ops.gelu(x, approximate="tanh"),
           lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))), unary,
           torch=lambda x: TF.gelu(x, approximate="tanh")),
    Recipe("bce_with_logits_pos_weight", mg.binary_cross_entropy_with_logits, _np_bce_pos_weight, pos_weight_case(),
           logits_and_soft_targets,
           torch=lambda x, t, reduction, pos_weight: TF.binary_cross_entropy_with_logits(
               x, t, reduction=reduction, pos_weight=torch.tensor(pos_weight))),
    Recipe("chunk", lambda x, chunks, dim: mg.cat(x.chunk(chunks, dim)[::-1], dim), _np_chunk_cat, chunk_case(),
           torch=lambda x, chunks, dim: torch.cat(x.chunk(chunks, dim)[::-1], dim)),
    Recipe("bce_with_logits", mg.binary_cross_entropy_with_logits,
           lambda x, t, reduction: _np_reduce(np.logaddexp(0, x) - x * t, reduction), loss_pair(),
           logits_and_soft_targets,
           torch=lambda x, t, reduction: TF.binary_cross_entropy_with_logits(x, t, reduction=reduction)),
    Recipe("binary_cross_entropy", mg.binary_cross_entropy,
           lambda p, t, reduction: _np_reduce(-(t * np.log(p) + (1 - t) * np.log(1 - p)), reduction), loss_pair(),
           probabilities_and_soft_targets,
           torch=lambda p, t, reduction: TF.binary_cross_entropy(p, t, reduction=reduction)),
    Recipe("l1_loss", mg.l1_loss, lambda a, b, reduction: _np_reduce(np.abs(a - b), reduction), loss_pair(), distinct,
           torch=lambda a, b, reduction: TF.l1_loss(a, b, reduction=reduction)),
    Recipe("smooth_l1_loss", lambda a, b, reduction: mg.smooth_l1_loss(a, b, reduction, beta=0.75),
           lambda a, b, reduction: _np_reduce(np.where(np.abs(a - b) < 0.75, 0.5 * (a - b) ** 2 / 0.75,
                                                       np.abs(a - b) - 0.375), reduction), loss_pair(), distinct,
           torch=lambda a, b, reduction: TF.smooth_l1_loss(a, b, reduction=reduction, beta=0.75)),
    Recipe("kl_div", lambda x, t, reduction: mg.kl_div(x, t, reduction),
           lambda x, t, reduction: (t * (np.log(t) - x)).sum() / len(x) if reduction == "batchmean"
           else _np_reduce(t * (np.log(t) - x), reduction),
           loss_pair(("batchmean", "sum", "none")), log_probs_and_targets,
           torch=lambda x, t, reduction: TF.kl_div(x, t, reduction=reduction)),
    Recipe("prod", mg.prod, lambda x, dim, keepdim: np.prod(x, axis=dim, keepdims=keepdim), prod_case(),
           torch=lambda x, dim, keepdim: x.prod() if dim is None else x.prod(dim, keepdim=keepdim)),
    Recipe("scatter_add", lambda x, src, dim, index: x.scatter_add(dim, index, src), _np_scatter_add,
           scatter_add_case(), torch=lambda x, src, dim, index: x.scatter_add(dim, torch_target(index), src)),
    Recipe("einsum", lambda *xs, equation: mg.einsum(equation, *xs), lambda *xs, equation: np.einsum(equation, *xs),
           einsum_case(), torch=lambda *xs, equation: torch.einsum(equation, *xs)),
    Recipe("cross_entropy_spatial_weighted", mg.cross_entropy, _np_weighted_ce, classification_spatial_weighted(),
           torch=lambda x, target, weight, reduction, label_smoothing: TF.cross_entropy(
               x, torch_target(target), weight=torch_target(weight).to(x.dtype), reduction=reduction,
               label_smoothing=label_smoothing)),
    Recipe("cross_entropy_probabilities", mg.cross_entropy, _np_soft_ce, classification_soft(), logits_and_soft_targets,
           torch=lambda x, q, weight, reduction, label_smoothing: TF.cross_entropy(
               x, q, weight=None if weight is None else torch_target(weight).to(x.dtype), reduction=reduction,
               label_smoothing=label_smoothing)),
    Recipe("mse_loss", mg.mse_loss, lambda a, b, reduction: np.mean((a - b) ** 2), same_shape_pair,
           torch=lambda a, b, reduction: TF.mse_loss(a, b, reduction=reduction)),
]
