"""Loss functions: negative log-likelihood, cross-entropy from logits, mean squared error.

Reduction follows PyTorch: 'mean' (default), 'sum' or 'none'. Targets are integer class
indices; positions whose target equals ``ignore_index`` (padding) contribute nothing and are
not counted in the mean. With class weights w, row i counts w[t_i] times, and the mean divides
by Σ w[t_i] over the counted rows (PyTorch's weighted mean), not by the number of rows.
"""
from ..backend import get_array_module
from ..tensor import Function
from .activation import stable_log_softmax


def _check_classification(op, scores, target, ignore_index):
    if scores.ndim != 2 or target.shape != scores.shape[:1]:
        raise ValueError(f"{op}: expected input (N, C) and target (N,), got shapes {scores.shape} and {target.shape}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype {target.dtype}")
    if len(target) == 0:
        raise ValueError(f"{op}: empty batch (input shape {scores.shape}): a loss over no samples is undefined")
    classes = scores.shape[1]
    outside = ((target < 0) | (target >= classes)) & (target != ignore_index)
    if outside.any():  # a negative label would silently pick a class from the end
        bad = int(target[outside][0])
        raise ValueError(f"{op}: target {bad} is out of range for {classes} classes (labels must lie in "
                         f"0..{classes - 1}, or equal ignore_index={ignore_index})")


class _PickTarget:
    """Shared bookkeeping: which rows count, and the divisor of the 'mean'."""

    def setup(self, op, scores, target, reduction, ignore_index, weight=None):
        _check_classification(op, scores, target, ignore_index)
        xp = get_array_module(scores)
        self.reduction = _check_reduction(op, reduction)
        self.counted = self.valid = target != ignore_index  # padding rows are not counted
        self.rows, self.classes, self.dtype = xp.arange(len(target)), scores.shape[1], scores.dtype
        self.target = xp.where(self.counted, target, 0)  # safe index for ignored rows
        if weight is not None:
            _check_weight(op, weight, scores.shape[1])
            self.valid = self.counted * weight[self.target]  # each row counts w[t_i] times
        total = self.valid.sum()
        self.divisor = (total if weight is not None else max(int(total), 1)) if reduction == "mean" else 1

    def reduce(self, per_row):
        """Each row's loss times its weight, summed as ``reduction`` asks. An ignored row is 0
        even where its own loss is not a number: the safe index may pick a -inf score (a
        masked logit), and -inf · 0 would be NaN."""
        per_row = get_array_module(per_row).where(self.counted, per_row, 0) * self.valid
        if self.reduction == "none":
            return per_row
        return per_row.sum() / self.divisor

    def picked(self):
        """The one-hot matrix of the targets (N, C): which entry of each row L picks."""
        xp = get_array_module(self.target)
        one_hot = xp.zeros((len(self.target), self.classes), dtype=self.dtype)
        one_hot[self.rows, self.target] = 1
        return one_hot

    def upstream_tensor(self, g):
        """upstream(g) with minigrad's ops, for backward_graph."""
        g = g if self.reduction == "none" else g.reshape(1).expand(len(self.target))
        return (g * (self.valid / self.divisor).astype(self.dtype)).reshape(-1, 1)

    def upstream(self, g):
        """g as a per-row column (N, 1), with ignored rows zeroed and the mean's 1/n applied
        (g is one number for 'sum' and 'mean', which the product spreads over the rows)."""
        return (g * self.valid / self.divisor)[:, None].astype(g.dtype)


class NLLLoss(_PickTarget, Function):
    """L = -(1/n) Σ_i logp[i, t_i]   (logp: log-probabilities, e.g. from log_softmax).

    Only the picked entry of each row appears in L: dlogp[i, t_i] = -g/n, every other entry 0.
    (With class weights: L = -Σ_i w[t_i] logp[i, t_i] / Σ_i w[t_i], and dlogp[i, t_i] is
    scaled by w[t_i] likewise.)
    """

    def forward(self, logp, target=None, reduction="mean", ignore_index=-100, weight=None):
        self.setup("nll_loss", logp, target, reduction, ignore_index, weight)
        self.shape = logp.shape
        return self.reduce(-logp[self.rows, self.target])

    def backward(self, g):
        xp = get_array_module(g)
        dlogp = xp.zeros(self.shape, dtype=g.dtype)
        dlogp[self.rows, self.target] = -self.upstream(g)[:, 0]
        return dlogp

    def backward_graph(self, g):
        return -self.picked() * self.upstream_tensor(g)


class CrossEntropy(_PickTarget, Function):
    """L = -(1/n) Σ_i log softmax(z_i)[t_i] for logits z, fused for speed and stability.

    With p = softmax(z_i):  dL/dz_ij = (p_j - [j = t_i]) / n — the famous 'prediction minus
    one-hot'. (Passing probabilities instead of logits applies softmax twice: the gradients
    shrink and training stalls, the pitfall in the course's LeNet code.)

    Label smoothing ε (PyTorch's definition) trains towards q = (1-ε)·one-hot + ε/C instead:
    L_i = -Σ_j q_j log p_j, and since Σ_j q_j = 1 the same algebra gives dL/dz_ij = (p_j - q_j) / n.
    Class weights scale row i's loss and gradient by w[t_i] (see _PickTarget for the mean).
    """

    def forward(self, logits, target=None, reduction="mean", ignore_index=-100, label_smoothing=0.0, weight=None):
        if weight is not None and label_smoothing:
            raise ValueError("cross_entropy: use SoftCrossEntropy for class weights with label smoothing")
        self.setup("cross_entropy", logits, target, reduction, ignore_index, weight)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"cross_entropy: label_smoothing must lie in [0, 1], got {label_smoothing}")
        self.smoothing, self.logits = label_smoothing, logits
        self.logp = stable_log_softmax(logits, axis=1)
        per_row = -self.logp[self.rows, self.target]
        if label_smoothing:
            per_row = (1 - label_smoothing) * per_row - label_smoothing * self.logp.mean(axis=1)
        return self.reduce(per_row)

    def backward(self, g):
        xp = get_array_module(g)
        dz = xp.exp(self.logp)
        if self.smoothing:
            dz -= self.smoothing / dz.shape[1]
        dz[self.rows, self.target] -= 1 - self.smoothing
        return dz * self.upstream(g)

    def backward_graph(self, g):
        p = self.input_tensor(0, self.logits).softmax(1)
        q = self.picked() * (1 - self.smoothing) + self.smoothing / self.logits.shape[1]
        return (p - q) * self.upstream_tensor(g)


class SoftCrossEntropy(Function):
    """Cross-entropy against a target distribution q per row (probabilities, or a smoothed
    one-hot built by the caller), with class weights w (all 1 when not given):

        L_i = -Σ_j w_j q_ij log p_ij,        p_i = softmax(z_i)

    Since d(log p_ik)/dz_ij = [j = k] - p_ij:

        dL_i/dz_ij = p_ij Σ_k w_k q_ik - w_j q_ij      (= p_ij - q_ij when w = 1, as Σ_k q_ik = 1)
        dL_i/dq_ij = -w_j log p_ij

    The mean divides by ``divisor``: the number of rows for probability targets, Σ_i w[t_i]
    for smoothed class indices (PyTorch's two conventions).
    """

    def forward(self, logits, q, weight=None, reduction="mean", divisor=None):
        if q.shape != logits.shape:
            raise ValueError(f"cross_entropy: probability targets of shape {q.shape} do not match the input {logits.shape}")
        self.reduction = _check_reduction("cross_entropy", reduction)
        self.logits, self.logp = logits, stable_log_softmax(logits, axis=1)
        self.w = 1 if weight is None else weight
        self.q = q
        self.divisor = divisor if reduction == "mean" else 1
        return _reduce_rows(-(self.w * q * self.logp).sum(axis=1), reduction, self.divisor)

    def backward(self, g):
        xp = get_array_module(g)
        g = (g if self.reduction == "none" else xp.broadcast_to(g, self.logp.shape[:1]))[:, None] / self.divisor
        weighted_q = self.w * self.q
        dz = xp.exp(self.logp) * weighted_q.sum(axis=1, keepdims=True) - weighted_q
        dq = -self.w * self.logp if self.needs_input_grad[1] else None
        return (g * dz).astype(g.dtype), None if dq is None else (g * dq).astype(g.dtype)

    def backward_graph(self, g):  # the same on tensors (create_graph=True)
        z, q = self.input_tensor(0, self.logits), self.input_tensor(1, self.q)
        rows = g if self.reduction == "none" else g.reshape(1).expand(self.logp.shape[0])
        rows = (rows / self.divisor).reshape(-1, 1)
        weighted_q = q * self.w
        dz = z.softmax(1) * weighted_q.sum(1, keepdim=True) - weighted_q
        return rows * dz, rows * (-z.log_softmax(1) * self.w)


class MSELoss(Function):
    """L = (1/n) Σ (a - b)².   da = 2(a - b)·g/n,  db = -da."""

    def forward(self, a, b, reduction="mean"):
        if a.shape != b.shape:
            raise ValueError(f"mse_loss: input shape {a.shape} and target shape {b.shape} differ")
        self.a, self.b = a, b
        self.diff, self.reduction = a - b, _check_reduction("mse_loss", reduction)
        return _reduce(self.diff * self.diff, reduction)

    def backward(self, g):
        scale = 2 / self.diff.size if self.reduction == "mean" else 2
        da = self.diff * (g * scale)
        return da, -da

    def backward_graph(self, g):  # the same on tensors (create_graph=True)
        scale = 2 / self.diff.size if self.reduction == "mean" else 2
        da = (self.input_tensor(0, self.a) - self.input_tensor(1, self.b)) * (g * scale)
        return da, -da


class BCEWithLogits(Function):
    """L = mean of ℓ(x, t) = -[t log σ(x) + (1 - t) log(1 - σ(x))], from logits x, targets t in [0, 1].

    Written stably as ℓ = max(x, 0) - x·t + log(1 + e^(-|x|)) (no exp of a large number,
    no log of 0). Differentiating the first form with σ' = σ(1 - σ):
        dℓ/dx = -[t(1 - σ) - (1 - t)σ] = σ(x) - t        (the logistic 'prediction minus target')
        dℓ/dt = -x                                        (log σ(x) - log(1 - σ(x)) = x)
    """

    def forward(self, x, t, reduction="mean"):
        if x.shape != t.shape:
            raise ValueError(f"binary_cross_entropy_with_logits: input shape {x.shape} and target shape {t.shape} differ")
        xp = get_array_module(x)
        self.x, self.t, self.reduction = x, t, _check_reduction("binary_cross_entropy_with_logits", reduction)
        per_element = xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))
        return _reduce(per_element, reduction)

    def backward(self, g):
        xp = get_array_module(g)
        scale = g / self.x.size if self.reduction == "mean" else g
        sigmoid = 0.5 * (1 + xp.tanh(0.5 * self.x))
        return scale * (sigmoid - self.t), scale * -self.x

    def backward_graph(self, g):
        x, t = self.input_tensor(0, self.x), self.input_tensor(1, self.t)
        scale = g / self.x.size if self.reduction == "mean" else g
        return scale * (x.sigmoid() - t), scale * -x


def _check_reduction(op, reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def _check_weight(op, weight, classes):
    if weight.shape != (classes,):
        raise ValueError(f"{op}: weight must hold one value per class, shape ({classes},), got {weight.shape}")


def _reduce_rows(per_row, reduction, divisor):
    return per_row if reduction == "none" else per_row.sum() / divisor


def _reduce(per_element, reduction):
    if reduction == "none":
        return per_element
    return per_element.mean() if reduction == "mean" else per_element.sum()
