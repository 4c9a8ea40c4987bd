"""Exercise conv2d, worked solution: a convolution as one matrix product, through im2col."""
from minigrad.ops.im2col import col2im, im2col

import minigrad as mg


def weight_matrix(w):
    """w (F, C, KH, KW) as Wm (F, KH·KW·C), its columns in im2col's (i, j, c) order."""
    return w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1)


class Conv2d(mg.Function):
    """y = conv(x, w) + b, stride 1, ``padding`` on every side. x (N, C, H, W), w (F, C, KH, KW),
    b (F,), y (N, F, OH, OW) with OH = H + 2·padding - KH + 1.

    Forward, with X = im2col(x) (N·OH·OW, KH·KW·C), one receptive field per row:

        Y = X Wmᵀ + b       (N·OH·OW, F), then y = Y's rows back in (N, OH, OW), F on axis 1

    Backward, with G = dL/dY (dL/dy laid out like Y), by the matrix-product rule:

        dWm = Gᵀ X          dW = dWm back from (F, KH, KW, C) to (F, C, KH, KW)
        db  = Σ_rows G
        dX  = G Wm          dx = col2im(dX): each window's gradient added back to its pixels
    """

    def forward(self, x, w, b, padding=0):
        f, _, kh, kw = w.shape
        n, _, h, width = x.shape
        self.geometry = ((kh, kw), (1, 1), (padding, padding), (1, 1))  # kernel, stride, padding, dilation
        oh, ow = h + 2 * padding - kh + 1, width + 2 * padding - kw + 1
        self.cols, self.x_shape = im2col(x, *self.geometry), x.shape
        self.save_for_backward(w)
        y_rows = self.cols @ weight_matrix(w).T + b
        return y_rows.reshape(n, oh, ow, f).transpose(0, 3, 1, 2)

    def backward(self, dy):
        w, = self.saved_tensors
        f, c, kh, kw = w.shape
        g = dy.transpose(0, 2, 3, 1).reshape(-1, f)                    # G, rows like Y's
        dw = (g.T @ self.cols).reshape(f, kh, kw, c).transpose(0, 3, 1, 2)
        dx = col2im(g @ weight_matrix(w), self.x_shape, *self.geometry)
        return dx, dw, g.sum(axis=0)
