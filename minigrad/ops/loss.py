"""Loss functions: negative log-likelihood, cross-entropy from logits, mean squared error.

Reduction follows PyTorch: 'mean' (default), 'sum' or 'none'. Targets are integer class
indices; positions whose target equals ``ignore_index`` (padding) contribute nothing and are
not counted in the mean. With class weights w, row i counts w[t_i] times, and the mean divides
by Σ w[t_i] over the counted rows (PyTorch's weighted mean), not by the number of rows.
"""
from ..backend import get_array_module
from ..tensor import Function
from .both import exp, log, log_softmax, scattered, sigmoid


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

    def upstream(self, g):
        """g as one number a row (N,), with ignored rows zeroed and the mean's 1/n applied
        (g is one number for 'sum' and 'mean', which the product spreads over the rows)."""
        return g * (self.valid / self.divisor).astype(self.dtype)

    def one_hot(self):
        """The (N, C) matrix with a 1 at each row's target: which entry of each row L picks."""
        return scattered(get_array_module(self.target).ones(len(self.target), dtype=self.dtype),
                         (len(self.target), self.classes), (self.rows, self.target), distinct=True)


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
        return scattered(-self.upstream(g), self.shape, (self.rows, self.target), distinct=True)  # -g/n at t_i


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
        self.smoothing = label_smoothing
        logp = self.keep(log_softmax, logits, axis=1)
        self.save_for_backward(logits)
        per_row = -logp[self.rows, self.target]
        if label_smoothing:
            per_row = (1 - label_smoothing) * per_row - label_smoothing * logp.mean(axis=1)
        return self.reduce(per_row)

    def backward(self, g):
        logits, = self.saved_tensors
        p = exp(self.kept(logits))                                          # softmax(z)
        q = self.one_hot() * (1 - self.smoothing) + self.smoothing / self.classes
        return (p - q) * self.upstream(g).reshape(-1, 1)                    # (p - q)/n


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
        logp = self.keep(log_softmax, logits, axis=1)
        self.save_for_backward(logits, q)
        self.w = 1 if weight is None else weight
        divisor = divisor if reduction == "mean" else 1
        self.row_weights = (get_array_module(logits).ones(len(logits)) / divisor).astype(logits.dtype)  # 1/divisor
        return _reduce_rows(-(self.w * q * logp).sum(axis=1), reduction, divisor)

    def backward(self, g):
        logits, q = self.saved_tensors
        logp = self.kept(logits)
        rows = (g * self.row_weights).reshape(-1, 1)         # each row's share of g
        weighted_q = self.w * q
        dz = exp(logp) * weighted_q.sum(axis=1, keepdims=True) - weighted_q
        dq = rows * (-self.w * logp) if self.needs_input_grad[1] else None
        return rows * dz, dq


class MSELoss(Function):
    """L = (1/n) Σ (a - b)².   da = 2(a - b)·g/n,  db = -da."""

    def forward(self, a, b, reduction="mean"):
        if a.shape != b.shape:
            raise ValueError(f"mse_loss: input shape {a.shape} and target shape {b.shape} differ")
        self.save_for_backward(a, b)
        self.reduction, self.count = _check_reduction("mse_loss", reduction), a.size
        diff = a - b
        return _reduce(diff * diff, reduction)

    def backward(self, g):
        a, b = self.saved_tensors
        scale = 2 / self.count if self.reduction == "mean" else 2
        da = (a - b) * (g * scale)
        return da, -da


class BCEWithLogits(Function):
    """L = mean of ℓ(x, t) = -[t log σ(x) + (1 - t) log(1 - σ(x))], from logits x, targets t in [0, 1].

    Written stably as ℓ = max(x, 0) - x·t + log(1 + e^(-|x|)) (no exp of a large number,
    no log of 0). Differentiating the first form with σ' = σ(1 - σ):

        dℓ/dx = -[t(1 - σ) - (1 - t)σ] = σ(x) - t        (the logistic 'prediction minus target')
        dℓ/dt = -x                                        (log σ(x) - log(1 - σ(x)) = x)

    With a weight p on the positive term, ℓ = -[p·t log σ(x) + (1 - t) log(1 - σ(x))]; with
    w = 1 + (p - 1)·t and -log σ(x) = softplus(-x), -log(1 - σ(x)) = x + softplus(-x):

        ℓ = (1 - t)·x + w·softplus(-x)
        dℓ/dx = (1 - t) - w·σ(-x) = (1 - t) - w·(1 - σ(x))     (p = 1: σ(x) - t again)
        dℓ/dt = -x + (p - 1)·softplus(-x)
    """

    def forward(self, x, t, reduction="mean", pos_weight=None):
        if x.shape != t.shape:
            raise ValueError(f"binary_cross_entropy_with_logits: input shape {x.shape} and target shape {t.shape} differ")
        xp = get_array_module(x)
        self.reduction, self.count = _check_reduction("binary_cross_entropy_with_logits", reduction), x.size
        self.pos_weight = None if pos_weight is None else xp.asarray(pos_weight, dtype=x.dtype)
        self.save_for_backward(x, t)
        if self.pos_weight is None:
            per_element = xp.maximum(x, 0) - x * t + xp.log1p(xp.exp(-xp.abs(x)))
        else:
            softplus_neg = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))       # softplus(-x), stable
            per_element = (1 - t) * x + (1 + (self.pos_weight - 1) * t) * softplus_neg
        return _reduce(per_element, reduction)

    def backward(self, g):
        x, t = self.saved_tensors
        scale = g / self.count if self.reduction == "mean" else g
        if self.pos_weight is None:
            return scale * (sigmoid(x) - t), scale * -x
        p = self.pos_weight
        w = 1 + (p - 1) * t
        softplus_neg = -log(sigmoid(x))
        return scale * ((1 - t) - w * (1 - sigmoid(x))), scale * (-x + (p - 1) * softplus_neg)


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
