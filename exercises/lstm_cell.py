"""Exercise lstm_cell: one LSTM time step. Grade it with ``python -m exercises.grade lstm_cell``.

    a = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh, split in four (PyTorch's order):
    i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
    c' = f ⊙ c + i ⊙ g          h' = o ⊙ tanh(c')

The op returns [h', c'] side by side, so its upstream gradient holds dh' and dc' (the second
from the next time step). Note that c' reaches the loss two ways. Write all seven gradients.
(Worked solution: solutions/lstm_cell.py.)
"""
import numpy as np

import minigrad as mg


def sigmoid(a):
    return 0.5 * (1 + np.tanh(0.5 * a))


class LSTMCellStep(mg.Function):
    def forward(self, x, h, c, w_ih, w_hh, b_ih, b_hh):
        i, f, g, o = np.split(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh, 4, axis=1)
        i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
        c_new = f * c + i * g
        self.gates, self.tanh_c = (i, f, g, o), np.tanh(c_new)
        self.save_for_backward(x, h, c, w_ih, w_hh)
        return np.concatenate([o * self.tanh_c, c_new], axis=1)

    def backward(self, grad):
        x, h, c, w_ih, w_hh = self.saved_tensors
        i, f, g, o = self.gates
        dh_new, dc_new = np.split(grad, 2, axis=1)
        raise NotImplementedError("return dx, dh, dc, dW_ih, dW_hh, db_ih, db_hh")
