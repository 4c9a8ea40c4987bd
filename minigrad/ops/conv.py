"""2-D convolution (cross-correlation, as in every deep-learning library) over NCHW tensors."""
from ..tensor import Function
from .both import permute
from .geometry import output_size, pair
from .im2col import fold, unfold
from .shape import Pad


class Conv2d(Function):
    """y[n, f, oy, ox] = b[f] + Σ_{c,i,j} w[f, c, i, j] · x[n, c, oy·sh - ph + i·dh, ox·sw - pw + j·dw]

    Shapes: x (N, C, H, W), w (F, C, KH, KW), b (F,), y (N, F, OH, OW) with
    OH = (H + 2ph - dh(KH-1) - 1) // sh + 1 and OW likewise (rounded down, as in PyTorch).

    Forward as one matrix product. With X = im2col(x) (N·OH·OW, KH·KW·C), one receptive
    field per row, entries in (i, j, c) order, and Wm = w with its axes ordered (F, KH, KW, C)
    to match, reshaped to (F, KH·KW·C):

        Y = X Wmᵀ + b                    (N·OH·OW, F)   a row per output position

    and y is Y with its rows put back in (N, OH, OW) and F moved to axis 1.

    Backward, from the matrix-product rule (for P = A B: dA = dP Bᵀ, dB = Aᵀ dP), with
    G = dL/dY (dL/dy laid out like Y):

        dWm = Gᵀ X                       (F, KH·KW·C)   every position where a weight was used
        db  = Σ_rows G                   (F,)           the bias is added at every position
        dX  = G Wm                       (N·OH·OW, KH·KW·C)
        dx  = col2im(dX)                 (N, C, H, W)   each window's gradient added back
                                                         into the pixels it came from

    Written per pixel, dx is the *full* correlation of dL/dy (dilated by the stride, padded
    by KH-1-ph) with the kernel rotated by 180° and its F/C axes swapped: a transposed
    convolution. col2im computes exactly that sum without building the rotated kernel.

    The fast twin (minigrad/fast/conv.py) computes the same products with compiled im2col,
    in chunks of images on all cores, and with direct loops for layers with few channels.
    """

    def forward(self, x, w, b=None, stride=1, padding=0, dilation=1):
        self.geometry = check_conv_inputs(x, w, b, stride, padding, dilation)
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.geometry
        n, _, h, width = x.shape
        oh, ow = output_size(h, kh, sh, ph, dh), output_size(width, kw, sw, pw, dw)
        cols = self.keep(unfold, x, geometry=self.geometry)  # X  (N·OH·OW, KH·KW·C)
        y_rows = cols @ weight_matrix(w).T                    # Y  (N·OH·OW, F)
        if b is not None:
            y_rows = y_rows + b
        self.save_for_backward(x, w)
        return y_rows.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)

    def backward(self, dy):
        x, w = self.saved_tensors
        f, c, kh, kw = w.shape
        g = permute(dy, (0, 2, 3, 1)).reshape(-1, f)          # G  (N·OH·OW, F), rows like Y's
        dw_matrix = g.T @ self.kept(x)                        # dWm = Gᵀ X
        dw = permute(dw_matrix.reshape(f, kh, kw, c), (0, 3, 1, 2))  # back to (F, C, KH, KW)
        dx = None
        if self.needs_input_grad[0]:                          # a first layer's images need none
            dx = fold(g @ weight_matrix(w), x.shape, self.geometry)    # col2im(G Wm)
        if len(self.needs_input_grad) == 2:
            return dx, dw
        return dx, dw, g.sum(axis=0)                          # db = Σ_rows G


def weight_matrix(w):
    """w (F, C, KH, KW) as Wm (F, KH·KW·C): its columns in the (i, j, c) order of im2col's."""
    return permute(w, (0, 2, 3, 1)).reshape(w.shape[0], -1)


def check_conv_inputs(x, w, b, stride, padding, dilation):
    """Raise a clear error for inputs that do not fit; return the geometry
    (kernel, stride, padding, dilation), each a pair."""
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"conv2d: expected input (N, C, H, W) and weight (F, C, KH, KW), got shapes {x.shape} and {w.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"conv2d: empty batch (input shape {x.shape})")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"conv2d: input shape {x.shape} has {x.shape[1]} channels but weight shape {w.shape} expects {w.shape[1]}")
    if b is not None and b.shape != (w.shape[0],):
        raise ValueError(f"conv2d: bias shape {b.shape} does not match weight shape {w.shape} ({w.shape[0]} filters)")
    geometry = (tuple(w.shape[2:]), pair(stride, "stride"), pair(padding, "padding"), pair(dilation, "dilation"))
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = geometry
    if output_size(x.shape[2], kh, sh, ph, dh) < 1 or output_size(x.shape[3], kw, sw, pw, dw) < 1:
        raise ValueError(f"conv2d: input shape {x.shape} is smaller than the kernel {w.shape[2:]} "
                         f"(with padding {(ph, pw)}, dilation {(dh, dw)})")
    return geometry


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """Apply a 2-D convolution; see Conv2d for the math. ``padding`` is an int, a pair, or
    PyTorch's "valid" (none) or "same" (the output keeps the input's size; stride 1)."""
    if isinstance(padding, str):
        (top, bottom), (left, right) = same_or_valid_padding(padding, weight.shape[2:], stride, dilation)
        if (top, left) != (bottom, right):  # an even kernel: one more row or column at the end, as PyTorch
            x = Pad.apply(x, pad_width=((0, 0), (0, 0), (top, bottom), (left, right)), value=0.0)
            top = left = 0
        padding = (top, left)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*inputs, stride=stride, padding=padding, dilation=dilation)


def same_or_valid_padding(padding, kernel, stride=1, dilation=1):
    """((top, bottom), (left, right)) for padding="valid" (none) or "same": dilation·(k-1)
    rows in all, half before and the rest after, so that a stride-1 output keeps the size."""
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding != "same":
        raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    if pair(stride, "stride") != (1, 1):
        raise ValueError(f"conv2d: padding='same' needs stride 1 (as in PyTorch), got stride {stride}")
    totals = [d * (k - 1) for k, d in zip(kernel, pair(dilation, "dilation"))]
    return tuple((total // 2, total - total // 2) for total in totals)
