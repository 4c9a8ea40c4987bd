"""Exercise lstm_cell, worked solution: one time step of an LSTM, PyTorch's gate order."""
import numpy as np

import minigrad as mg


def sigmoid(a):
    return 0.5 * (1 + np.tanh(0.5 * a))


class LSTMCellStep(mg.Function):
    """a = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh, split in four:
        i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
        c' = f ⊙ c + i ⊙ g          h' = o ⊙ tanh(c')          returns [h', c'] side by side

    Backward, given dh' and dc' (c' also reaches the loss through the next step):
        dc_total = dc' + dh' ⊙ o ⊙ (1 - tanh²(c'))
        do = dh' ⊙ tanh(c')   di = dc_total ⊙ g   dg = dc_total ⊙ i   df = dc_total ⊙ c
        da = [di·i(1-i), df·f(1-f), dg·(1-g²), do·o(1-o)]
        dx = da W_ih   dh = da W_hh   dc = dc_total ⊙ f
        dW_ih = daᵀ x  dW_hh = daᵀ h  db_ih = db_hh = Σ_batch da
    """

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
        dc_total = dc_new + dh_new * o * (1 - self.tanh_c ** 2)
        di, df, dg, do = dc_total * g, dc_total * c, dc_total * i, dh_new * self.tanh_c
        da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=1)
        return da @ w_ih, da @ w_hh, dc_total * f, da.T @ x, da.T @ h, da.sum(axis=0), da.sum(axis=0)
