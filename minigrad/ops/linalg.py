"""Matrix multiplication, batched over leading axes as in numpy.matmul, and einsum."""
from ..backend import get_array_module
from ..tensor import Function
from .both import broadcast_to, cast, is_tensor, swap_last_axes


class MatMul(Function):
    """Y = A @ B with A (..., n, k), B (..., k, m), Y (..., n, m).

    Y_ij = Σ_k A_ik B_kj, so dL/dA_ik = Σ_j G_ij B_kj and dL/dB_kj = Σ_i A_ik G_ij:

        dA = G @ Bᵀ        dB = Aᵀ @ G        (ᵀ swaps the last two axes)

    Leading (batch) axes broadcast like elementwise ops; the engine sums the gradient over
    any batch axis an input was broadcast along. A 1-D A is a row vector (1, k) and a 1-D B a
    column vector (k, 1), and the added axis is removed again from the result.
    """

    broadcasts = True

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: needs at least 1-D inputs, got shapes {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} are not aligned "
                f"({a.shape[-1]} != {b.shape[-2 if b.ndim > 1 else 0]})"
            )
        self.a_vector, self.b_vector = a.ndim == 1, b.ndim == 1
        self.save_for_backward(a, b)
        return a @ b

    def backward(self, g):
        a, b = self.saved_tensors
        if self.b_vector:  # put back the axes the vectors lost (b's first: g may be 0-d)
            g, b = g.reshape(g.shape + (1,)), b.reshape(-1, 1)
        if self.a_vector:
            g, a = g.reshape(g.shape[:-1] + (1, g.shape[-1])), a.reshape(1, -1)
        da = db = None
        if self.needs_input_grad[0]:
            da = g @ swap_last_axes(b)                        # dA = G Bᵀ
            if self.a_vector:
                da = da.reshape(da.shape[:-2] + da.shape[-1:])
        if self.needs_input_grad[1]:
            db = swap_last_axes(a) @ g                        # dB = Aᵀ G
            if self.b_vector:
                db = db.reshape(db.shape[:-1])
        return da, db


class Einsum(Function):
    """y = einsum("ij,jk->ik", a, b) and any other contraction in which no operand repeats a
    letter (no diagonals) and every operand's letters are written out (no "...").

    y is a sum of products with one factor from each operand, so dy/d(a_ij) is the sum of the
    products of the *other* factors: the gradient of operand k is itself an einsum, of g (the
    output's letters) with the other operands, written with operand k's letters:

        "ij,jk->ik":   da = einsum("ik,jk->ij", g, b)      db = einsum("ij,ik->jk", a, g)

    A letter that only operand k has and the output drops (a sum over it inside k) does not
    appear in g or the others: y does not depend on which element of that axis it is, so the
    gradient is the same for all of them, broadcast along that axis.
    """

    def forward(self, *operands, equation=None):
        self.inputs_letters, self.output_letters = _parse_einsum(equation, operands)
        self.operands_shapes = [x.shape for x in operands]
        self.save_for_backward(*operands)
        return get_array_module(operands[0]).einsum(equation, *operands)

    def backward(self, g):
        operands = self.saved_tensors
        grads = []
        for k, shape in enumerate(self.operands_shapes):
            if not self.needs_input_grad[k]:
                grads.append(None)
                continue
            equation, kept_shape = self.gradient_equation(k)
            others = [x for i, x in enumerate(operands) if i != k]
            grad = einsum(equation, g, *others).reshape(kept_shape)
            grads.append(cast(broadcast_to(grad, shape), g.dtype))
        return tuple(grads)

    def gradient_equation(self, k):
        """The einsum that gives operand k's gradient, "out,others->kept", and the shape that
        puts back, as size 1, the letters only operand k has (its gradient is broadcast there)."""
        letters = self.inputs_letters[k]
        others = [l for i, l in enumerate(self.inputs_letters) if i != k]
        known = set(self.output_letters).union(*others)
        kept = "".join(c for c in letters if c in known)
        shape = [n if c in known else 1 for c, n in zip(letters, self.operands_shapes[k])]
        return ",".join([self.output_letters] + others) + "->" + kept, shape


def einsum(equation, *operands):
    """NumPy's einsum on arrays; on tensors the Einsum op, so that it can be differentiated again."""
    if any(is_tensor(x) for x in operands):
        return Einsum.apply(*operands, equation=equation)
    return get_array_module(*operands).einsum(equation, *operands)


def _parse_einsum(equation, operands):
    if not isinstance(equation, str) or "->" not in equation or "." in equation:
        raise ValueError(f"einsum: write the equation with an explicit output and no '...', "
                         f"such as 'bij,bjk->bik'; got {equation!r}")
    inputs, output = equation.replace(" ", "").split("->")
    inputs = inputs.split(",")
    if len(inputs) != len(operands):
        raise ValueError(f"einsum: {equation!r} names {len(inputs)} operands, got {len(operands)}")
    for letters, x in zip(inputs, operands):
        if len(letters) != x.ndim:
            raise ValueError(f"einsum: {letters!r} names {len(letters)} axes for an operand of shape {x.shape}")
        if len(set(letters)) != len(letters):
            raise ValueError(f"einsum: {letters!r} repeats a letter (a diagonal), which minigrad's einsum does not take")
    return inputs, output
