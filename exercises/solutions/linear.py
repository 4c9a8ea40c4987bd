"""Exercise linear, worked solution."""
import minigrad as mg


class Linear(mg.Function):
    """y = x Wᵀ + b with x (N, in), W (out, in), b (out,), y (N, out).

    y_nk = Σ_i W_ki x_ni + b_k, so for the upstream gradient g = dL/dy (N, out):

        dx_ni = Σ_k g_nk W_ki          dx = g W
        dW_ki = Σ_n g_nk x_ni          dW = gᵀ x      (every sample used the same W)
        db_k  = Σ_n g_nk               db = Σ_n g     (and the same b)
    """

    def forward(self, x, w, b):
        self.save_for_backward(x, w)
        return x @ w.T + b

    def backward(self, g):
        x, w = self.saved_tensors
        return g @ w, g.T @ x, g.sum(axis=0)
