"""One time step of the recurrent cells, each a single op with a hand-derived backward.

Layout and gate order follow PyTorch, so weights can be copied between the two:
weight_ih (G·H, I), weight_hh (G·H, H), bias_ih and bias_hh (G·H,), with G = 1 (RNN),
4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n). x is (N, I), h and c are (N, H).

Every cell first forms gate pre-activations by two matrix products, so every backward ends
with the same matrix-product rule (dA = G Bᵀ, dB = Aᵀ G), done by ``_affine_backward``.
Backpropagation through time is nothing more than the autograd graph of these steps.
Derivatives use the saved outputs: σ' = s(1 - s), tanh' = 1 - t².
"""
from ..backend import get_array_module
from ..tensor import Function


def _sigmoid(xp, a):
    return 0.5 * (1 + xp.tanh(0.5 * a))


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


def _tensors(fn):
    """The cell's inputs x, h, (c,) W_ih, W_hh, b_ih, b_hh as tensors in the graph, and the two
    pre-activations a_x = x W_ihᵀ + b_ih and a_h = h W_hhᵀ + b_hh recomputed from them
    (for backward_graph: the gates depend on every input)."""
    inputs = [fn.input_tensor(i, a) for i, a in enumerate(fn.arrays)]
    x, h, w_ih, w_hh, b_ih, b_hh = inputs[:2] + inputs[-4:]
    return inputs, x @ w_ih.T + b_ih, h @ w_hh.T + b_hh


def _affine_graph(da_x, da_h, inputs):
    """_affine_backward on tensors."""
    x, h, w_ih, w_hh = inputs[0], inputs[1], inputs[-4], inputs[-3]
    return da_x @ w_ih, da_h @ w_hh, da_x.T @ x, da_h.T @ h, da_x.sum(0), da_h.sum(0)


class RNNCellStep(Function):
    """h' = tanh(a),  a = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh.

    da = dh' ⊙ (1 - h'²), then the affine rule: dx = da W_ih, dh = da W_hh,
    dW_ih = daᵀ x, dW_hh = daᵀ h, db_ih = db_hh = Σ_batch da.
    """

    def forward(self, x, h, w_ih, w_hh, b_ih, b_hh):
        _check("rnn_cell", x, h, w_ih, w_hh, 1)
        xp = get_array_module(x)
        self.saved = (x, h, w_ih, w_hh)
        self.arrays = (x, h, w_ih, w_hh, b_ih, b_hh)
        self.h_new = xp.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        return self.h_new

    def backward(self, g):
        da = g * (1 - self.h_new * self.h_new)
        return _affine_backward(self, da, da, *self.saved)

    def backward_graph(self, g):  # the same on tensors (create_graph=True)
        inputs, a_x, a_h = _tensors(self)
        h_new = (a_x + a_h).tanh()
        da = g * (1 - h_new * h_new)
        return _affine_graph(da, da, inputs)


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
        xp = get_array_module(x)
        a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        a_i, a_f, a_g, a_o = xp.split(a, 4, axis=1)
        i, f, g, o = _sigmoid(xp, a_i), _sigmoid(xp, a_f), xp.tanh(a_g), _sigmoid(xp, a_o)
        c_new = f * c + i * g
        tanh_c = xp.tanh(c_new)
        self.saved = (x, h, w_ih, w_hh)
        self.arrays = (x, h, c, w_ih, w_hh, b_ih, b_hh)
        self.gates, self.c, self.tanh_c = (i, f, g, o), c, tanh_c
        return xp.concatenate([o * tanh_c, c_new], axis=1)

    def backward(self, grad):
        xp = get_array_module(grad)
        i, f, g, o = self.gates
        dh, dc_next = xp.split(grad, 2, axis=1)
        dc_total = dc_next + dh * o * (1 - self.tanh_c * self.tanh_c)
        da = xp.concatenate([
            dc_total * g * i * (1 - i),
            dc_total * self.c * f * (1 - f),
            dc_total * i * (1 - g * g),
            dh * self.tanh_c * o * (1 - o),
        ], axis=1)
        dx, dh_prev, dw_ih, dw_hh, db_ih, db_hh = _affine_backward(self, da, da, *self.saved)
        dc_prev = dc_total * f if self.needs_input_grad[2] else None
        return dx, dh_prev, dc_prev, dw_ih, dw_hh, db_ih, db_hh

    def backward_graph(self, grad):  # the same on tensors (create_graph=True)
        inputs, a_x, a_h = _tensors(self)
        c = inputs[2]
        i, f, g, o = (a_x + a_h).chunk(4, 1)
        i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
        tanh_c = (f * c + i * g).tanh()
        hidden = grad.shape[1] // 2
        dh, dc_next = grad[:, :hidden], grad[:, hidden:]
        dc_total = dc_next + dh * o * (1 - tanh_c * tanh_c)
        da = _cat([dc_total * g * i * (1 - i), dc_total * c * f * (1 - f),
                     dc_total * i * (1 - g * g), dh * tanh_c * o * (1 - o)])
        dx, dh_prev, dw_ih, dw_hh, db_ih, db_hh = _affine_graph(da, da, inputs)
        return dx, dh_prev, dc_total * f, dw_ih, dw_hh, db_ih, db_hh


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
        xp = get_array_module(x)
        ax_r, ax_z, ax_n = xp.split(x @ w_ih.T + b_ih, 3, axis=1)
        ah_r, ah_z, self.ah_n = xp.split(h @ w_hh.T + b_hh, 3, axis=1)
        self.r, self.z = _sigmoid(xp, ax_r + ah_r), _sigmoid(xp, ax_z + ah_z)
        self.n = xp.tanh(ax_n + self.r * self.ah_n)
        self.saved = (x, h, w_ih, w_hh)
        self.arrays = (x, h, w_ih, w_hh, b_ih, b_hh)
        return (1 - self.z) * self.n + self.z * h

    def backward(self, g):
        xp = get_array_module(g)
        r, z, n, h = self.r, self.z, self.n, self.saved[1]
        dn_pre = g * (1 - z) * (1 - n * n)
        dr_pre = dn_pre * self.ah_n * r * (1 - r)
        dz_pre = g * (h - n) * z * (1 - z)
        da_x = xp.concatenate([dr_pre, dz_pre, dn_pre], axis=1)
        da_h = xp.concatenate([dr_pre, dz_pre, dn_pre * r], axis=1)
        dx, dh, dw_ih, dw_hh, db_ih, db_hh = _affine_backward(self, da_x, da_h, *self.saved)
        if dh is not None:
            dh = dh + g * z
        return dx, dh, dw_ih, dw_hh, db_ih, db_hh

    def backward_graph(self, g):  # the same on tensors (create_graph=True)
        inputs, a_x, a_h = _tensors(self)
        h = inputs[1]
        ax_r, ax_z, ax_n = a_x.chunk(3, 1)
        ah_r, ah_z, ah_n = a_h.chunk(3, 1)
        r, z = (ax_r + ah_r).sigmoid(), (ax_z + ah_z).sigmoid()
        n = (ax_n + r * ah_n).tanh()
        dn_pre = g * (1 - z) * (1 - n * n)
        dr_pre = dn_pre * ah_n * r * (1 - r)
        dz_pre = g * (h - n) * z * (1 - z)
        dx, dh, dw_ih, dw_hh, db_ih, db_hh = _affine_graph(
            _cat([dr_pre, dz_pre, dn_pre]), _cat([dr_pre, dz_pre, dn_pre * r]), inputs)
        return dx, dh + g * z, dw_ih, dw_hh, db_ih, db_hh


def rnn_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    return RNNCellStep.apply(x, h, weight_ih, weight_hh, bias_ih, bias_hh)


def lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """Returns (h', c')."""
    hc = LSTMCellStep.apply(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)
    hidden = h.shape[1]
    return hc[:, :hidden], hc[:, hidden:]


def gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    return GRUCellStep.apply(x, h, weight_ih, weight_hh, bias_ih, bias_hh)


def _cat(tensors):
    from . import concatenate

    return concatenate(tensors, 1)
