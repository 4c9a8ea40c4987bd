"""Exercise log_softmax_nll: the two halves of cross-entropy. Grade: ``python -m exercises.grade log_softmax_nll``.

LogSoftmax: y_ij = z_ij - log Σ_k e^{z_ik}, row by row. Derive dy_ij/dz_il, then dz from the
upstream g, using only the saved output y (softmax = e^y).

NLLLoss: L = -(1/M) Σ_n logp[n, t_n], the mean over the M rows of minus the log-probability
of each row's target class t_n. Write dlogp (the same shape as logp).
(Worked solution: solutions/log_softmax_nll.py.)
"""
import numpy as np

import minigrad as mg


class LogSoftmax(mg.Function):
    def forward(self, z):
        shifted = z - z.max(axis=1, keepdims=True)  # so that exp never overflows
        y = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.save_for_backward(y)
        return y

    def backward(self, g):
        y, = self.saved_tensors
        raise NotImplementedError("return dz")


class NLLLoss(mg.Function):
    def forward(self, logp, target=None):
        self.target, self.shape = target, logp.shape
        return -logp[np.arange(len(target)), target].mean()

    def backward(self, g):
        raise NotImplementedError("return dlogp, of shape self.shape")
