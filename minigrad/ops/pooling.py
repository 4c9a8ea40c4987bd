"""Max and average pooling over NCHW tensors, through the same im2col as convolution.

Each channel is pooled on its own, so the input is viewed as (N·C, 1, H, W): one row of
im2col's matrix is then one pooling window. Output size is rounded down, as in PyTorch:
OH = (H + 2p - KH) // s + 1.
"""
from ..backend import get_array_module, is_cupy_array
from ..tensor import Function
from .conv import pair
from .im2col import choose, col2im, im2col, output_size


def _window_geometry(op, x, kernel_size, stride, padding):
    if x.ndim != 4:
        raise ValueError(f"{op}: expected input (N, C, H, W), got shape {x.shape}")
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else pair(stride, "stride")
    padding = pair(padding, "padding")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel {kernel}")
    n, c, h, w = x.shape
    oh, ow = output_size(h, kernel[0], stride[0], padding[0], 1), output_size(w, kernel[1], stride[1], padding[1], 1)
    if oh < 1 or ow < 1:
        raise ValueError(f"{op}: input shape {x.shape} is smaller than the window {kernel}")
    return (kernel, stride, padding, (1, 1)), (n, c, oh, ow)


class MaxPool2d(Function):
    """y[n, c, oy, ox] = max of x over the window at (oy, ox).

    Only the winning element affects y, with slope 1: dx = g at the arg-max of each window,
    0 elsewhere, summed where overlapping windows share a winner (col2im does that sum).
    Ties: the first maximal element in row-major window order takes the whole gradient
    (one winner). Padding counts as -inf, so it never wins.

    This im2col version is the readable reference; on the CPU with Numba the same op runs
    as direct loops (pooling_numba.py), unless ``impl="numpy"`` pins the reference.
    """

    def forward(self, x, kernel_size=2, stride=None, padding=0, impl=None):
        self.geometry, out_shape = _window_geometry("max_pool2d", x, kernel_size, stride, padding)
        self.x_shape, self.impl = x.shape, impl
        self.direct = not is_cupy_array(x) and choose(x, impl).__name__.endswith("numba_kernels")
        if self.direct:
            from .pooling_numba import max_pool_forward

            y, self.winner = max_pool_forward(x, *self.geometry[:3], out_shape)
            return y
        n, c, h, w = x.shape
        # Each channel as a one-channel image: the matrix has one row per output pixel
        # (n, c, oy, ox) and one column per window position (i, j), so the max is over axis 1.
        cols = im2col(x.reshape(n * c, 1, h, w), *self.geometry, pad_value=-float("inf"), impl=impl)
        self.winner = cols.argmax(axis=1)[:, None]  # (N·C·OH·OW, 1): the column of each window's max
        self.window = cols.shape[1]
        xp = get_array_module(x)
        return xp.take_along_axis(cols, self.winner, axis=1).reshape(out_shape)

    def backward(self, g):
        if self.direct:
            from .pooling_numba import max_pool_backward

            return max_pool_backward(g, self.winner, self.x_shape)
        xp = get_array_module(g)
        positions = xp.arange(self.window)[None, :]  # each window position...
        dcols = (positions == self.winner) * g.reshape(-1, 1)  # ...gets g where it won
        n, c, h, w = self.x_shape
        return col2im(dcols, (n * c, 1, h, w), *self.geometry, impl=self.impl).reshape(self.x_shape)


class AvgPool2d(Function):
    """y = (1/(KH·KW)) Σ_window x   (padding counts as zeros in the average, PyTorch's default).

    Every element of a window has weight 1/(KH·KW): dx = col2im(g / (KH·KW) repeated over
    the window), which adds the shares of overlapping windows.

    As for max pooling, this im2col version is the reference and the CPU runs direct Numba
    loops (pooling_numba.py) unless ``impl="numpy"``.
    """

    def forward(self, x, kernel_size=2, stride=None, padding=0, impl=None):
        self.geometry, out_shape = _window_geometry("avg_pool2d", x, kernel_size, stride, padding)
        self.x_shape, self.impl = x.shape, impl
        self.direct = not is_cupy_array(x) and choose(x, impl).__name__.endswith("numba_kernels")
        if self.direct:
            from .pooling_numba import avg_pool_forward

            return avg_pool_forward(x, *self.geometry[:3], out_shape)
        n, c, h, w = x.shape
        cols = im2col(x.reshape(n * c, 1, h, w), *self.geometry, impl=impl)
        self.window = cols.shape[1]
        return cols.mean(axis=1).reshape(out_shape)  # columns are the window positions

    def backward(self, g):
        if self.direct:
            from .pooling_numba import avg_pool_backward

            return avg_pool_backward(g, *self.geometry[:3], self.x_shape)
        xp = get_array_module(g)
        share = (g.reshape(-1, 1) / self.window).astype(g.dtype)
        dcols = xp.broadcast_to(share, (share.shape[0], self.window))
        n, c, h, w = self.x_shape
        return col2im(dcols, (n * c, 1, h, w), *self.geometry, impl=self.impl).reshape(self.x_shape)


def max_pool2d(x, kernel_size, stride=None, padding=0, impl=None):
    return MaxPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding, impl=impl)


def avg_pool2d(x, kernel_size, stride=None, padding=0, impl=None):
    return AvgPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding, impl=impl)
