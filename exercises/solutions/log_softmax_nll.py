"""Exercise log_softmax_nll, worked solution: the two halves of cross-entropy."""
import numpy as np

import minigrad as mg


class LogSoftmax(mg.Function):
    """y_ij = z_ij - log Σ_k e^{z_ik}, row by row.

    dy_ij/dz_il = δ_jl - softmax_il, so dz_il = Σ_j g_ij (δ_jl - softmax_il)
                                             = g_il - softmax_il · Σ_j g_ij,
    with softmax = e^y from the saved output.
    """

    def forward(self, z):
        shifted = z - z.max(axis=1, keepdims=True)  # so that exp never overflows
        y = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.save_for_backward(y)
        return y

    def backward(self, g):
        y, = self.saved_tensors
        return g - np.exp(y) * g.sum(axis=1, keepdims=True)


class NLLLoss(mg.Function):
    """L = -(1/M) Σ_n logp[n, t_n] over the M rows, t_n the target class of row n.

    Only the picked entry of each row appears in L: dlogp[n, t_n] = -g/M, every other entry 0.
    """

    def forward(self, logp, target=None):
        self.target, self.shape = target, logp.shape
        return -logp[np.arange(len(target)), target].mean()

    def backward(self, g):
        dlogp = np.zeros(self.shape, dtype=g.dtype)
        dlogp[np.arange(len(self.target)), self.target] = -g / len(self.target)
        return dlogp
