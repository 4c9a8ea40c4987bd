"""The table of layer ops under test (conv, pooling, batch norm, linear, dropout).

Each entry has the op with its hand-derived backward (`fn`: the reference in minigrad/ops/ or
its fast twin, whichever the kernels switch selects), a slow reference written from core
primitives so that autograd derives its backward (`composed`, DeZero's conv2d_simple idea:
the tests' oracle), PyTorch's version (`torch`), and a strategy drawing shapes and
hyper-parameters: batch 1 included, non-square inputs and kernels, stride 1-3, padding 0-3,
kernel 1-5, overlapping pooling windows.
"""
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
from hypothesis import strategies as st

import minigrad as mg
from op_recipes import TF, distinct, normal, torch


@dataclass
class LayerRecipe:
    name: str
    fn: Callable
    composed: Callable
    cases: st.SearchStrategy
    domain: Callable = normal
    torch: Optional[Callable] = None


# ----- slow references, from primitives ---------------------------------------------------

def out_size(size, k, s, p, d=1):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def window_slices(x, kh, kw, sh, sw, dh, dw, oh, ow):
    """The (i, j) kernel offset's strided view of a padded input: one (N, C, OH, OW) slice each."""
    for i in range(kh):
        for j in range(kw):
            yield i, j, x[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]


def conv2d_composed(x, w, b, stride, padding, dilation):
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    _, _, kh, kw = w.shape
    oh, ow = out_size(x.shape[2], kh, sh, ph, dh), out_size(x.shape[3], kw, sw, pw, dw)
    padded = mg.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = None
    for i, j, patch in window_slices(padded, kh, kw, sh, sw, dh, dw, oh, ow):
        term = patch.permute(0, 2, 3, 1) @ w[:, :, i, j].T  # (N, OH, OW, F)
        out = term if out is None else out + term
    return (out + b).permute(0, 3, 1, 2)


def pool_composed(x, kernel, stride, padding, reduce, pad_value):
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = out_size(x.shape[2], kh, sh, ph), out_size(x.shape[3], kw, sw, pw)
    padded = mg.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), value=pad_value)
    windows = mg.stack([patch for _, _, patch in window_slices(padded, kh, kw, sh, sw, 1, 1, oh, ow)], axis=-1)
    return reduce(windows, axis=-1)


def batch_norm_composed(x, gamma, beta, eps=1e-5):
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, correction=0)
    return (x - mean) / (var + eps).sqrt() * gamma.reshape(shape) + beta.reshape(shape)


# ----- strategies -------------------------------------------------------------------------

@st.composite
def conv_case(draw, unit_stride=False):
    # up to 6 filters for the direct loops: they take filters four at a time, so this covers a
    # short block, a full one and a full one followed by a short one
    n, c, f = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 6 if unit_stride else 3))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride = (1, 1) if unit_stride else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    dilation = (1, 1) if unit_stride else (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h = max(1, dilation[0] * (kh - 1) + 1 - 2 * padding[0]) + draw(st.integers(0, 4))
    w = max(1, dilation[1] * (kw - 1) + 1 - 2 * padding[1]) + draw(st.integers(0, 4))
    return [(n, c, h, w), (f, c, kh, kw), (f,)], dict(stride=stride, padding=padding, dilation=dilation)


@st.composite
def pool_case(draw):
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))  # stride < kernel: overlapping windows
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    h = kernel[0] + draw(st.integers(0, 5))
    w = kernel[1] + draw(st.integers(0, 5))
    return [(n, c, h, w)], dict(kernel_size=kernel, stride=stride, padding=padding)


@st.composite
def batch_norm_case(draw):
    c = draw(st.integers(1, 4))
    if draw(st.booleans()):
        shape = (draw(st.integers(2, 6)), c)
    else:
        shape = (draw(st.integers(1, 3)), c, draw(st.integers(1, 4)), draw(st.integers(2, 4)))
    return [shape, (c,), (c,)], {}


@st.composite
def linear_case(draw):
    lead = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=2)))
    fin, fout = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    return [lead + (fin,), (fout, fin), (fout,)], {}


def gamma_near_one(rng, shapes):
    x, gamma, beta = normal(rng, shapes)
    return [x, 1 + 0.5 * gamma, beta]


def torch_batch_norm(x, gamma, beta):
    return TF.batch_norm(x, None, None, gamma, beta, training=True, eps=1e-5)


def conv2d_on_path(path):
    """conv2d with the fast twin's path pinned: "direct" loops for both passes (where they
    apply: stride and dilation 1, on the CPU), "mixed" (direct loops for y and dW, columns for dx)
    or "columns" (im2col and matrix products). In reference mode: the reference."""
    from minigrad.fast.conv import Conv2d

    limits = {"direct": (10**9, 10**9, 10**9), "mixed": (0, 10**9, 10**9), "columns": (0, 0, 0)}[path]
    names = ("direct_max_field", "mixed_max_field", "mixed_max_batch")

    def call(x, w, b, **params):
        saved = [getattr(Conv2d, name) for name in names]
        for name, value in zip(names, limits):
            setattr(Conv2d, name, value)
        try:
            return mg.conv2d(x, w, b, **params)
        finally:
            for name, value in zip(names, saved):
                setattr(Conv2d, name, value)
    return call


LAYER_RECIPES = [
    LayerRecipe("conv2d", conv2d_on_path("columns"), conv2d_composed, conv_case(),
                torch=lambda x, w, b, **p: TF.conv2d(x, w, b, **p)),
    LayerRecipe("conv2d_direct", conv2d_on_path("direct"), conv2d_composed, conv_case(unit_stride=True),
                torch=lambda x, w, b, **p: TF.conv2d(x, w, b, **p)),
    LayerRecipe("conv2d_mixed", conv2d_on_path("mixed"), conv2d_composed,
                conv_case(unit_stride=True), torch=lambda x, w, b, **p: TF.conv2d(x, w, b, **p)),
    LayerRecipe(
        "max_pool2d", lambda x, **p: mg.max_pool2d(x, **p),
        lambda x, kernel_size, stride, padding: pool_composed(x, kernel_size, stride, padding, mg.amax, -np.inf),
        pool_case(), distinct, torch=lambda x, **p: TF.max_pool2d(x, **p),
    ),
    LayerRecipe(
        "avg_pool2d", lambda x, **p: mg.avg_pool2d(x, **p),
        lambda x, kernel_size, stride, padding: pool_composed(x, kernel_size, stride, padding, mg.mean, 0.0),
        pool_case(), torch=lambda x, **p: TF.avg_pool2d(x, **p),
    ),
    LayerRecipe(
        "batch_norm", lambda x, g, b: mg.batch_norm(x, None, None, g, b, training=True), batch_norm_composed,
        batch_norm_case(), gamma_near_one, torch=torch_batch_norm,
    ),
    LayerRecipe(
        "linear", mg.linear, lambda x, w, b: x @ w.T + b, linear_case(), torch=TF.linear if TF else None,
    ),
]
