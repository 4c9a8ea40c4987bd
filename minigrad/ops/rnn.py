"""One time step of the recurrent cells, each a single op with a hand-derived backward.

Layout and gate order follow PyTorch, so weights can be copied between the two:
weight_ih (G·H, I), weight_hh (G·H, H), bias_ih and bias_hh (G·H,), with G = 1 (RNN),
4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n). x is (N, I), h and c are (N, H).

Every cell first forms gate pre-activations by two matrix products, so every backward ends
with the same matrix-product rule (dA = G Bᵀ, dB = Aᵀ G), done by ``_affine_backward``.
Backpropagation through time is nothing more than the autograd graph of these steps.
Derivatives use the saved outputs: σ' = s(1 - s), tanh' = 1 - t².
"""
from ..tensor import Function
from .both import concatenate, sigmoid, split, tanh


def _check(op, x, h, w_ih, w_hh, gates):
    hidden = w_hh.shape[1]
    if x.ndim != 2 or x.shape[1] != w_ih.shape[1]:
        raise ValueError(f"{op}: input shape {x.shape} does not match weight_ih shape {w_ih.shape} (expected (N, {w_ih.shape[1]}))")
    if h.shape != (x.shape[0], hidden):
        raise ValueError(f"{op}: hidden shape {h.shape} does not match input shape {x.shape} and hidden size {hidden}")
    if w_ih.shape[0] != gates * hidden or w_hh.shape[0] != gates * hidden:
        raise ValueError(f"{op}: weight shapes {w_ih.shape} and {w_hh.shape} do not hold {gates} gates of size {hidden}")


def _affine_backward(fn, da_x, da_h, x, h, w_ih, w_hh):
    """Gradients of the pre-activations a_x = x W_ihᵀ + b_ih and a_h = h W_hhᵀ + b_hh,
    given dL/da_x and dL/da_h: (dx, dh, dW_ih, dW_hh, db_ih, db_hh)."""
    need = fn.needs_input_grad
    return (
        da_x @ w_ih if need[0] else None,
        da_h @ w_hh if need[1] else None,
        da_x.T @ x,
        da_h.T @ h,
        da_x.sum(axis=0),
        da_h.sum(axis=0),
    )


class RNNCellStep(Function):
    """h' = tanh(a),  a = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh.

    da = dh' ⊙ (1 - h'²), then the affine rule: dx = da W_ih, dh = da W_hh,
    dW_ih = daᵀ x, dW_hh = daᵀ h, db_ih = db_hh = Σ_batch da.
    """

    def forward(self, x, h, w_ih, w_hh, b_ih, b_hh):
        _check("rnn_cell", x, h, w_ih, w_hh, 1)
        h_new = tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        self.save_for_backward(x, h, w_ih, w_hh, h_new)
        return h_new

    def backward(self, dh_new):
        x, h, w_ih, w_hh, h_new = self.saved_tensors
        da = dh_new * (1 - h_new * h_new)
        return _affine_backward(self, da, da, x, h, w_ih, w_hh)


def lstm_gates(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """The LSTM's gates and new cell state: i, f, g, o, c' and tanh(c')."""
    return lstm_gates_from(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh, c)


def lstm_gates_from(a, c):
    """The same from the gates' pre-activations a = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh."""
    i, f, g, o = split(a, 4, 1)
    i, f, g, o = sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)
    c_new = f * c + i * g
    return i, f, g, o, c_new, tanh(c_new)


def lstm_gate_grads(grad, c, i, f, g, o, tanh_c):
    """LSTMCellStep's backward up to the affine rule: (dL/da, dc_total), from the gradient
    of [h', c'] and the kept gates (the class docstring derives each line)."""
    dh_new, dc_new = split(grad, 2, 1)
    dc_total = dc_new + dh_new * o * (1 - tanh_c * tanh_c)
    di, df, dg, do = dc_total * g, dc_total * c, dc_total * i, dh_new * tanh_c
    return concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], 1), dc_total


class LSTMCellStep(Function):
    """Gates from a = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh, split in four (PyTorch's order):

        i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
        c' = f ⊙ c + i ⊙ g          h' = o ⊙ tanh(c')
    The op returns [h', c'] joined along the last axis (one output per op in this engine);
    the LSTMCell module splits it.

    Backward, given dh' and dc' (the c' gradient from the next step):

        dc_total = dc' + dh' ⊙ o ⊙ (1 - tanh²(c'))       (c' reaches the loss two ways)
        do = dh' ⊙ tanh(c')   di = dc_total ⊙ g   dg = dc_total ⊙ i   df = dc_total ⊙ c
        dc = dc_total ⊙ f
        da = [di·i(1-i), df·f(1-f), dg·(1-g²), do·o(1-o)], then the affine rule.
    """

    def forward(self, x, h, c, w_ih, w_hh, b_ih, b_hh):
        _check("lstm_cell", x, h, w_ih, w_hh, 4)
        if c.shape != h.shape:
            raise ValueError(f"lstm_cell: cell state shape {c.shape} differs from hidden shape {h.shape}")
        _, _, _, o, c_new, tanh_c = self.keep(lstm_gates, x, h, c, w_ih, w_hh, b_ih, b_hh)
        self.save_for_backward(x, h, c, w_ih, w_hh, b_ih, b_hh)
        return concatenate([o * tanh_c, c_new], 1)

    def backward(self, grad):
        x, h, c, w_ih, w_hh, b_ih, b_hh = self.saved_tensors
        i, f, g, o, _, tanh_c = self.kept(x, h, c, w_ih, w_hh, b_ih, b_hh)
        da, dc_total = lstm_gate_grads(grad, c, i, f, g, o, tanh_c)
        dx, dh, dw_ih, dw_hh, db_ih, db_hh = _affine_backward(self, da, da, x, h, w_ih, w_hh)
        dc = dc_total * f if self.needs_input_grad[2] else None
        return dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh


def gru_gates(x, h, w_ih, w_hh, b_ih, b_hh):
    """The GRU's gates r, z, n and the recurrent part of n's pre-activation, a_h,n."""
    ax_r, ax_z, ax_n = split(x @ w_ih.T + b_ih, 3, 1)
    ah_r, ah_z, ah_n = split(h @ w_hh.T + b_hh, 3, 1)
    r, z = sigmoid(ax_r + ah_r), sigmoid(ax_z + ah_z)
    return r, z, tanh(ax_n + r * ah_n), ah_n


class GRUCellStep(Function):
    """With a_x = x W_ihᵀ + b_ih and a_h = h W_hhᵀ + b_hh, each split in three (r, z, n):

        r = σ(a_x,r + a_h,r)   z = σ(a_x,z + a_h,z)   n = tanh(a_x,n + r ⊙ a_h,n)
        h' = (1 - z) ⊙ n + z ⊙ h
    (r scales only the recurrent part of n, as in PyTorch.)

    Backward, given dh':

        dn = dh' ⊙ (1 - z)    dz = dh' ⊙ (h - n)    dh (direct) = dh' ⊙ z
        dn_pre = dn ⊙ (1 - n²)   dr = dn_pre ⊙ a_h,n
        da_x = [dr·r(1-r), dz·z(1-z), dn_pre]
        da_h = [dr·r(1-r), dz·z(1-z), dn_pre ⊙ r]
    then the affine rule, adding the direct dh.
    """

    def forward(self, x, h, w_ih, w_hh, b_ih, b_hh):
        _check("gru_cell", x, h, w_ih, w_hh, 3)
        _, z, n, _ = self.keep(gru_gates, x, h, w_ih, w_hh, b_ih, b_hh)
        self.save_for_backward(x, h, w_ih, w_hh, b_ih, b_hh)
        return (1 - z) * n + z * h

    def backward(self, dh_new):
        x, h, w_ih, w_hh, b_ih, b_hh = self.saved_tensors
        r, z, n, ah_n = self.kept(x, h, w_ih, w_hh, b_ih, b_hh)
        dn_pre = dh_new * (1 - z) * (1 - n * n)
        dr_pre = dn_pre * ah_n * r * (1 - r)
        dz_pre = dh_new * (h - n) * z * (1 - z)
        da_x = concatenate([dr_pre, dz_pre, dn_pre], 1)
        da_h = concatenate([dr_pre, dz_pre, dn_pre * r], 1)
        dx, dh, dw_ih, dw_hh, db_ih, db_hh = _affine_backward(self, da_x, da_h, x, h, w_ih, w_hh)
        if dh is not None:
            dh = dh + dh_new * z                              # h' = … + z ⊙ h: the direct path
        return dx, dh, dw_ih, dw_hh, db_ih, db_hh


def rnn_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    return RNNCellStep.apply(x, h, weight_ih, weight_hh, bias_ih, bias_hh)


def lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """Returns (h', c')."""
    hc = LSTMCellStep.apply(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)
    hidden = h.shape[1]
    return hc[:, :hidden], hc[:, hidden:]


def gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    return GRUCellStep.apply(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
