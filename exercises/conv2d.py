"""Exercise conv2d: a convolution through im2col, forward and backward. Grade: ``python -m exercises.grade conv2d``.

x (N, C, H, W), w (F, C, KH, KW), b (F,); stride 1 and ``padding`` on every side, so the
output y is (N, F, OH, OW) with OH = H + 2·padding - KH + 1 (OW likewise).

im2col(x, kernel, stride, padding, dilation) (minigrad/ops/im2col.py, stop 4) gives the matrix
X (N·OH·OW, KH·KW·C): one receptive field per row, its entries in (i, j, c) order. Write the
forward as one matrix product of X with the weights laid out to match, plus b; then the
backward by the matrix-product rule (for P = A B: dA = dP Bᵀ, dB = Aᵀ dP), with col2im to
carry dX back to the image. (Worked solution: solutions/conv2d.py.)
"""
from minigrad.ops.im2col import col2im, im2col  # noqa: F401  (yours to use)

import minigrad as mg


class Conv2d(mg.Function):
    def forward(self, x, w, b, padding=0):
        kh, kw = w.shape[2:]
        self.geometry = ((kh, kw), (1, 1), (padding, padding), (1, 1))  # kernel, stride, padding, dilation
        raise NotImplementedError("return y (N, F, OH, OW), keeping what backward will need")

    def backward(self, dy):
        raise NotImplementedError("return dx, dw, db")
