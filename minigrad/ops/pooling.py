"""Max and average pooling over NCHW tensors, through the same im2col as convolution.

Each channel is pooled on its own, so the input is viewed as (N·C, 1, H, W): one row of
im2col's matrix is then one pooling window, and its KH·KW columns are the window's
positions (i, j). Output size is rounded down, as in PyTorch: OH = (H + 2p - KH) // s + 1.
"""
from ..backend import get_array_module
from ..tensor import Function, Tensor
from .geometry import output_size, pair
from .both import broadcast_to
from .functions import pad
from .im2col import fold, im2col


class MaxPool2d(Function):
    """y[n, c, oy, ox] = max of x over the window at (oy, ox).

    Only the winning element affects y, with slope 1: dx = g at the arg-max of each window,
    0 elsewhere, summed where overlapping windows share a winner (col2im does that sum).
    Ties: the first maximal element in row-major window order takes the whole gradient
    (one winner). Padding counts as -inf, so it never wins.
    """

    def forward(self, x, kernel_size=2, stride=None, padding=0):
        self.geometry, out_shape = window_geometry("max_pool2d", x, kernel_size, stride, padding)
        n, c, h, w = self.x_shape = x.shape
        cols = im2col(x.reshape(n * c, 1, h, w), *self.geometry, pad_value=-float("inf"))  # a row per window
        self.winner = cols.argmax(axis=1)                      # the column of each window's max
        self.window = cols.shape[1]
        return cols.max(axis=1).reshape(out_shape)

    def backward(self, g):
        won = get_array_module(self.winner).arange(self.window) == self.winner[:, None]  # one True a row
        dcols = g.reshape(-1, 1) * won                        # g where the window's max was
        n, c, h, w = self.x_shape
        return fold(dcols, (n * c, 1, h, w), self.geometry).reshape(self.x_shape)


class AvgPool2d(Function):
    """y = (1/(KH·KW)) Σ_window x   (padding counts as zeros in the average, PyTorch's default).

    Every element of a window has weight 1/(KH·KW): dx = col2im(g / (KH·KW) repeated over
    the window), which adds the shares of overlapping windows.
    """

    def forward(self, x, kernel_size=2, stride=None, padding=0):
        self.geometry, out_shape = window_geometry("avg_pool2d", x, kernel_size, stride, padding)
        n, c, h, w = self.x_shape = x.shape
        cols = im2col(x.reshape(n * c, 1, h, w), *self.geometry)
        self.window = cols.shape[1]
        return cols.mean(axis=1).reshape(out_shape)

    def backward(self, g):
        share = g.reshape(-1, 1) / self.window                # each element's share of its window's g
        dcols = broadcast_to(share, (share.shape[0], self.window))
        n, c, h, w = self.x_shape
        return fold(dcols, (n * c, 1, h, w), self.geometry).reshape(self.x_shape)


def window_geometry(op, x, kernel_size, stride, padding):
    """Check a pooling call; return its im2col geometry and its output shape."""
    if x.ndim != 4:
        raise ValueError(f"{op}: expected input (N, C, H, W), got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{op}: empty batch (input shape {x.shape})")
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else pair(stride, "stride")
    padding = pair(padding, "padding")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel {kernel}")
    n, c, h, w = x.shape
    oh, ow = output_size(h, kernel[0], stride[0], padding[0]), output_size(w, kernel[1], stride[1], padding[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"{op}: input shape {x.shape} is smaller than the window {kernel}")
    return (kernel, stride, padding, (1, 1)), (n, c, oh, ow)


def max_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False):
    """Max pooling. ``ceil_mode``: PyTorch's rounding up of the number of windows (a last,
    partial window is kept if it starts inside the image or its left padding). The image is
    then padded explicitly, with -inf, which no max ever picks."""
    if not ceil_mode:
        return MaxPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding)
    padded = pad(x, _explicit_padding("max_pool2d", x, kernel_size, stride, padding), value=float("-inf"))
    return MaxPool2d.apply(padded, kernel_size=kernel_size, stride=stride, padding=0)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Average pooling. PyTorch's options change the average's divisor. By default it is the
    window's size, padded zeros included; with ``count_include_pad=False`` only the image
    pixels the window covers count; a window that ``ceil_mode`` adds counts only what it
    covers of the padded image; ``divisor_override`` is a fixed number. Each is the window's
    sum over a count, and the count is the same pooling of a constant mask of the pixels that
    count (no gradient flows into it)."""
    if not ceil_mode and count_include_pad and divisor_override is None:
        return AvgPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding)
    widths = _explicit_padding("avg_pool2d", x, kernel_size, stride, padding, ceil_mode)
    padded = pad(x, widths)
    means = AvgPool2d.apply(padded, kernel_size=kernel_size, stride=stride, padding=0)  # window sum / (KH·KW)
    kh, kw = pair(kernel_size, "kernel_size")
    if divisor_override is not None:
        return means * ((kh * kw) / divisor_override)
    xp = get_array_module(x.data)
    (top, bottom), (left, right) = widths[2], widths[3]
    ph, pw = pair(padding, "padding")
    counted = xp.zeros((1, 1) + padded.shape[2:], dtype=x.dtype)
    if count_include_pad:  # the image and its padding, not what ceil_mode added
        counted[..., :x.shape[2] + 2 * ph, :x.shape[3] + 2 * pw] = 1
    else:  # the image only
        counted[..., top:top + x.shape[2], left:left + x.shape[3]] = 1
    counts = AvgPool2d.apply(Tensor(counted), kernel_size=kernel_size, stride=stride, padding=0).data
    return means / counts


def _explicit_padding(op, x, kernel_size, stride, padding, ceil_mode=True):
    """NumPy pad widths that put the padding (and, with ceil_mode, the room a last partial
    window needs on the bottom and right) into the image: out = ceil((H + 2p - k)/s) + 1,
    less one if that last window would start past the image and its left padding."""
    kernel = pair(kernel_size, "kernel_size")
    strides = kernel if stride is None else pair(stride, "stride")
    pads = pair(padding, "padding")
    if pads[0] > kernel[0] // 2 or pads[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {pads} must be at most half the kernel {kernel}")
    widths = [(0, 0), (0, 0)]
    for size, k, s, p in zip(x.shape[2:], kernel, strides, pads):
        windows = -(-(size + 2 * p - k) // s) + 1 if ceil_mode else (size + 2 * p - k) // s + 1
        if ceil_mode and (windows - 1) * s >= size + p:
            windows -= 1
        extra = max(0, (windows - 1) * s + k - (size + 2 * p))
        widths.append((p, p + extra))
    return tuple(widths)
