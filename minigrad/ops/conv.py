"""2-D convolution (cross-correlation, as in every deep-learning library) over NCHW tensors."""
from .. import workspace
from ..backend import get_array_module
from ..tensor import Function
from .im2col import col2im, im2col, output_size


def pair(value, name="argument"):
    """3 -> (3, 3); (2, 3) -> (2, 3)."""
    if isinstance(value, int):
        return (value, value)
    value = tuple(value)
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or a pair, got {value}")
    return value


class Conv2d(Function):
    """y[n, f, oy, ox] = b[f] + Σ_{c,i,j} w[f, c, i, j] · x[n, c, oy·sh - ph + i·dh, ox·sw - pw + j·dw]

    Shapes: x (N, C, H, W), w (F, C, KH, KW), b (F,), y (N, F, OH, OW) with
    OH = (H + 2ph - dh(KH-1) - 1) // sh + 1 and OW likewise (rounded down, as in PyTorch).

    Forward as one matrix product. With X = im2col(x) (N·OH·OW, C·KH·KW), one receptive
    field per row, and Wm = w reshaped to (F, C·KH·KW):      Y = X Wmᵀ + b    (N·OH·OW, F)

    Backward, from the matrix-product rule (dA = G Bᵀ, dB = Aᵀ G) with G = dL/dY:
        dWm = Gᵀ X                   (F, C·KH·KW)   — every position where a weight was used
        db  = Σ_rows G               (F,)           — the bias is added at every position
        dX  = G Wm,  dx = col2im(dX) (N, C, H, W)   — col2im adds each window's gradient back
                                                      into the pixels it was copied from.
    Written per pixel, dx is the *full* correlation of dL/dy (dilated by the stride, padded
    by KH-1-ph) with the kernel rotated by 180° and its F/C axes swapped, i.e. a transposed
    convolution; col2im computes exactly that sum without building the rotated kernel.
    """

    def forward(self, x, w, b=None, stride=1, padding=0, dilation=1, impl=None):
        if x.ndim != 4 or w.ndim != 4:
            raise ValueError(f"conv2d: expected input (N, C, H, W) and weight (F, C, KH, KW), got shapes {x.shape} and {w.shape}")
        if x.shape[1] != w.shape[1]:
            raise ValueError(f"conv2d: input shape {x.shape} has {x.shape[1]} channels but weight shape {w.shape} expects {w.shape[1]}")
        if b is not None and b.shape != (w.shape[0],):
            raise ValueError(f"conv2d: bias shape {b.shape} does not match weight shape {w.shape} ({w.shape[0]} filters)")
        self.geometry = (w.shape[2:], pair(stride, "stride"), pair(padding, "padding"), pair(dilation, "dilation"))
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.geometry
        n, _, h, w_ = x.shape
        oh, ow = output_size(h, kh, sh, ph, dh), output_size(w_, kw, sw, pw, dw)
        if oh < 1 or ow < 1:
            raise ValueError(f"conv2d: input shape {x.shape} is smaller than the kernel {w.shape[2:]} (with padding {(ph, pw)}, dilation {(dh, dw)})")
        self.x_shape, self.w, self.impl = x.shape, w, impl
        xp = get_array_module(x)
        # The column matrix is large and needed again in backward: borrow a reused buffer.
        cols = workspace.take((n * oh * ow, x.shape[1] * kh * kw), x.dtype, xp)
        self.cols = im2col(x, *self.geometry, impl=impl, out=cols)
        y = self.cols @ w.reshape(w.shape[0], -1).T
        if b is not None:
            y += b
        if not any(self.needs_input_grad):  # no backward will come: return the buffer now
            self.release()
        # Rows of Y are (n, oy, ox): NHWC. One copy into NCHW order here makes every op after
        # the conv (batch norm, ReLU, pooling) read contiguous memory, which halves their time.
        return xp.ascontiguousarray(y.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2))

    def backward(self, g):
        filters = self.w.shape[0]
        g_rows = g.transpose(0, 2, 3, 1).reshape(-1, filters)  # (N·OH·OW, F), rows as in X
        w_matrix = self.w.reshape(filters, -1)
        dx = dw = None
        if self.needs_input_grad[0]:  # the first layer's input needs none: skip the work
            xp = get_array_module(g)
            dcols = xp.matmul(g_rows, w_matrix, out=workspace.take(self.cols.shape, g.dtype, xp))
            dx = col2im(dcols, self.x_shape, *self.geometry, impl=self.impl)
            workspace.give(dcols)
        if self.needs_input_grad[1]:
            dw = (g_rows.T @ self.cols).reshape(self.w.shape)
        if len(self.needs_input_grad) == 2:
            return dx, dw
        db = g_rows.sum(axis=0) if self.needs_input_grad[2] else None
        return dx, dw, db

    def release(self):
        workspace.give(self.__dict__.get("cols"))  # the graph is done with it: reuse it
        super().release()


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, impl=None):
    """Apply a 2-D convolution; see Conv2d for the math. ``impl`` pins an im2col implementation."""
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*inputs, stride=stride, padding=padding, dilation=dilation, impl=impl)
