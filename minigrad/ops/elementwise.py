"""Elementwise arithmetic: each output element depends on the matching input elements only.

So each backward is the upstream gradient times a local derivative, element by element.
Binary ops broadcast; the engine sums their gradients back to each input's shape.
"""
from ..backend import get_array_module
from ..tensor import Function
from .both import cast, constant, cos, is_tensor, log, sign, sin, where


def broadcast_shape(op, *shapes):
    """The broadcast result of ``shapes``, or a ValueError that names the op and the shapes."""
    result = []
    for dims in _zip_right_aligned(shapes):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise ValueError(f"{op}: shapes {' and '.join(map(str, shapes))} cannot be broadcast together")
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def _zip_right_aligned(shapes):
    ndim = max(len(s) for s in shapes)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    return zip(*padded)


class Add(Function):
    """y = a + b.   dy/da = 1, dy/db = 1, so both get the upstream gradient g."""

    broadcasts = True

    def forward(self, a, b):
        broadcast_shape("add", a.shape, b.shape)
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    """y = a - b.   da = g, db = -g."""

    broadcasts = True

    def forward(self, a, b):
        broadcast_shape("sub", a.shape, b.shape)
        return a - b

    def backward(self, g):
        return g, -g


class Mul(Function):
    """y = a * b.   da = g * b, db = g * a."""

    broadcasts = True

    def forward(self, a, b):
        broadcast_shape("mul", a.shape, b.shape)
        self.save_for_backward(a, b)
        return a * b

    def backward(self, g):
        a, b = self.saved_tensors
        da = g * b if self.needs_input_grad[0] else None
        db = g * a if self.needs_input_grad[1] else None
        return da, db


class Div(Function):
    """y = a / b.   da = g / b,  db = -g * a / b**2 = -g * y / b."""

    broadcasts = True

    def forward(self, a, b):
        broadcast_shape("div", a.shape, b.shape)
        y = a / b
        self.save_for_backward(b, y)
        return y

    def backward(self, g):
        b, y = self.saved_tensors
        da = g / b if self.needs_input_grad[0] else None
        db = -g * y / b if self.needs_input_grad[1] else None
        return da, db


class Neg(Function):
    """y = -x.   dx = -g."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class Pow(Function):
    """y = a ** b.

    da = g * b * a**(b-1)           (power rule)
    db = g * a**b * log(a) = g*y*log(a)   (exponential rule; only defined for a > 0)

    Where b = 0, y = 1 whatever a is, so da = 0, also at a = 0 where b·a^(b-1) would be
    0·∞ = NaN; and where a = 0 and b ≥ 0, db = 0 (y·log a would be 0·(-∞)). Both as in
    PyTorch. The base is replaced by 1 at those places *before* the power and the log, so
    that the masked branch stays finite and its own derivative (a higher order) does too.
    """

    broadcasts = True

    def forward(self, a, b):
        broadcast_shape("pow", a.shape, b.shape)
        y = a**b
        self.save_for_backward(a, b, y)
        return y

    def backward(self, g):
        a, b, y = self.saved_tensors
        da = db = None
        if self.needs_input_grad[0]:
            zero_power = constant(b) == 0
            da = where(zero_power, 0, g * b * where(zero_power, 1, a) ** (b - 1))
        if self.needs_input_grad[1]:
            zero_base = (constant(a) == 0) & (constant(b) >= 0)
            db = g * y * log(where(zero_base, 1, a))
        return da, db


class Exp(Function):
    """y = e**x.   dx = g * y (exp is its own derivative; reuse the saved output)."""

    def forward(self, x):
        y = get_array_module(x).exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        y, = self.saved_tensors
        return g * y


class Sin(Function):
    """y = sin x.   dx = g · cos x."""

    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).sin(x)

    def backward(self, g):
        x, = self.saved_tensors
        return g * cos(x)


class Cos(Function):
    """y = cos x.   dx = -g · sin x."""

    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).cos(x)

    def backward(self, g):
        x, = self.saved_tensors
        return -g * sin(x)


class Log(Function):
    """y = ln x.   dx = g / x."""

    def forward(self, x):
        self.save_for_backward(x)
        return get_array_module(x).log(x)

    def backward(self, g):
        x, = self.saved_tensors
        return g / x


class Sqrt(Function):
    """y = sqrt(x).   dy/dx = 1 / (2 sqrt(x)) = 1 / (2y)."""

    def forward(self, x):
        y = get_array_module(x).sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, g):
        y, = self.saved_tensors
        return g / (2 * y)


class Abs(Function):
    """y = |x|.   dy/dx = sign(x) (0 at x = 0, as in PyTorch): piecewise constant, so the
    sign is a constant to a second derivative."""

    def forward(self, x):
        self.save_for_backward(x)
        return abs(x)

    def backward(self, g):
        x, = self.saved_tensors
        return g * sign(x)


class Clip(Function):
    """y = min(max(x, low), high).

    Inside [low, high] y = x, so dx = g; outside y is constant, so dx = 0.
    The boundary itself counts as inside, as in PyTorch's clamp.
    """

    def forward(self, x, low=None, high=None):
        xp = get_array_module(x)
        inside = xp.ones(x.shape, dtype=bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        self.inside = inside
        return xp.clip(x, low, high)

    def backward(self, g):
        return g * self.inside


class Maximum(Function):
    """y = max(a, b) elementwise.

    The larger input passes the gradient: da = g·[a > b], db = g·[b > a].
    At a tie both are 'the max', and the gradient is split equally (as in PyTorch).
    """

    broadcasts = True

    def forward(self, a, b):
        broadcast_shape("maximum", a.shape, b.shape)
        self.save_for_backward(a, b)
        return get_array_module(a).maximum(a, b)

    def backward(self, g):
        a, b = constant(self.saved_tensors[0]), constant(self.saved_tensors[1])
        share_a = (a > b) + 0.5 * (a == b)                    # [a > b], 1/2 at a tie: a constant
        da = g * cast(share_a, g.dtype)
        return da, g - da


class Where(Function):
    """y = a where cond else b  (cond is a boolean array, not differentiated).

    Each output element came from exactly one input: da = g·cond, db = g·(not cond).
    """

    broadcasts = True

    def forward(self, a, b, cond=None):
        broadcast_shape("where", cond.shape, a.shape, b.shape)
        self.cond = cond
        return get_array_module(a).where(cond, a, b)

    def backward(self, g):
        return where(self.cond, g, 0), where(self.cond, 0, g)


class Cast(Function):
    """y = x converted to another dtype.   dx = g converted back to x's dtype."""

    def forward(self, x, dtype=None):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return cast(g, self.dtype)


class ToDevice(Function):
    """y = x copied to another device.   dx = g copied back to x's device."""

    def forward(self, x, device=None):
        from ..backend import device_of, to_device

        self.source = device_of(x)
        return to_device(x, device)

    def backward(self, g):
        from ..backend import to_device

        return g.to(self.source) if is_tensor(g) else to_device(g, self.source)
