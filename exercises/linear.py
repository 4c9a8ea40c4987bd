"""Exercise linear: y = x Wᵀ + b. Grade it with ``python -m exercises.grade linear``.

x is (N, in), W (out, in), b (out,) and y (N, out): y_nk = Σ_i W_ki x_ni + b_k. Write the
three gradients from the upstream g = dL/dy (N, out). Check each one's shape against its
input, and remember that every sample of the batch used the same W and b.
(Worked solution: solutions/linear.py.)
"""
import minigrad as mg


class Linear(mg.Function):
    """y = x Wᵀ + b."""

    def forward(self, x, w, b):
        self.save_for_backward(x, w)
        return x @ w.T + b

    def backward(self, g):
        x, w = self.saved_tensors
        raise NotImplementedError("return dx, dW, db")
