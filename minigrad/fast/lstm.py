"""The fast twin of ops/rnn.py's LSTMCellStep: the same gates and the same products, the
products shared out over two workers.

With the process tuned (process.py) NumPy's products run on one thread, and one LSTM step
is six products, each too small to be worth cutting further (the GEC model's decoder:
64 x 384 by 384 x 1024 and the rest, 0.1-0.4 ms apiece). But they fall in two groups of
equal work that need nothing from each other:

    forward    a[:, :2H] and a[:, 2H:]           a = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh,
                                                 each half from its half of W's rows
    backward   dx = da W_ih,  dh = da W_hh       and   dW_ih = daᵀ x,  dW_hh = daᵀ h,  db = Σ da

so each worker takes one group (parallel.py). The gates' elementwise steps are the
reference's own functions (lstm_gates_from, lstm_gate_grads): the derivative is written
once. Each product is computed whole by one worker, and the groups are the same on any
number of cores: the bits do not depend on it. Small steps (below MIN_WORK
multiply-adds), other array types and create_graph run the reference as it is.
"""
import numpy as np

from ..ops import rnn as reference
from . import parallel

#: Multiply-adds of the forward products (at least). The GEC decoder's step (42M) gains
#: from two workers; its encoder's (8M a direction) lost more to the hand-over than it gained.
MIN_WORK = 1 << 24


def _takes(x, h, w_ih, w_hh):
    return (all(type(a) is np.ndarray and a.dtype == x.dtype for a in (x, h, w_ih, w_hh))
            and x.dtype.kind == "f" and len(x) * w_ih.shape[0] * (w_ih.shape[1] + w_hh.shape[1]) >= MIN_WORK)


class LSTMCellStep(reference.LSTMCellStep):
    def forward(self, x, h, c, w_ih, w_hh, b_ih, b_hh):
        reference._check("lstm_cell", x, h, w_ih, w_hh, 4)
        if c.shape != h.shape or not _takes(x, h, w_ih, w_hh) or c.dtype != x.dtype:
            return super().forward(x, h, c, w_ih, w_hh, b_ih, b_hh)
        a = np.empty((len(x), w_ih.shape[0]), dtype=x.dtype)
        halves = parallel.even_slices(w_ih.shape[0], 2)

        def half(worker, k):  # the reference's sum, in its order, on half of the gates
            rows = halves[k]
            np.matmul(x, w_ih[rows].T, out=a[:, rows])
            a[:, rows] += b_ih[rows]
            a[:, rows] += h @ w_hh[rows].T
            a[:, rows] += b_hh[rows]

        parallel.for_each_chunk(half, 2, parallel.workers())
        _, _, _, o, c_new, tanh_c = gates = reference.lstm_gates_from(a, c)
        # what the reference's keep() leaves: under create_graph, kept() recomputes it from
        # the saved tensors with the reference's lstm_gates, and its backward runs
        self._keep = (gates, reference.lstm_gates, {})
        self.save_for_backward(x, h, c, w_ih, w_hh, b_ih, b_hh)
        return np.concatenate([o * tanh_c, c_new], 1)

    def backward(self, grad):
        x, h, c, w_ih, w_hh, b_ih, b_hh = self.saved_tensors
        if not isinstance(grad, np.ndarray) or not _takes(x, h, w_ih, w_hh) or grad.dtype != x.dtype:
            return super().backward(grad)  # (a tensor: create_graph, the reference's lines build the graph)
        i, f, g, o, _, tanh_c = self.kept(x, h, c, w_ih, w_hh, b_ih, b_hh)
        da, dc_total = reference.lstm_gate_grads(grad, c, i, f, g, o, tanh_c)  # the reference's own lines
        need = self.needs_input_grad
        grads = [None] * 6  # dx, dh, dW_ih, dW_hh, db_ih, db_hh

        def group(worker, k):
            if k == 0:  # the inputs' gradients: dx = da W_ih, dh = da W_hh
                grads[0] = da @ w_ih if need[0] else None
                grads[1] = da @ w_hh if need[1] else None
            else:  # the parameters': dW = daᵀ [x or h], db = Σ_batch da
                grads[2], grads[3] = da.T @ x, da.T @ h
                grads[4] = da.sum(axis=0)
                grads[5] = grads[4].copy()  # (b_ih and b_hh get the same values, not the same array)

        parallel.for_each_chunk(group, 2, parallel.workers())
        dc = dc_total * f if need[2] else None
        dx, dh, dw_ih, dw_hh, db_ih, db_hh = grads
        return dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh
