"""Elementwise arithmetic: each output element depends on the matching input elements only.

So each backward is the upstream gradient times a local derivative, element by element.
Binary ops broadcast; the engine sums their gradients back to each input's shape.
"""
from ..backend import get_array_module
from ..tensor import Function


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

    backward_graph = backward  # the same code serves tensors (create_graph=True)


class Sub(Function):
    """y = a - b.   da = g, db = -g."""

    broadcasts = True

    def forward(self, a, b):
        broadcast_shape("sub", a.shape, b.shape)
        return a - b

    def backward(self, g):
        return g, -g

    backward_graph = backward


class Mul(Function):
    """y = a * b.   da = g * b, db = g * a."""

    broadcasts = True

    def forward(self, a, b):
        broadcast_shape("mul", a.shape, b.shape)
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        da = g * self.b if self.needs_input_grad[0] else None
        db = g * self.a if self.needs_input_grad[1] else None
        return da, db

    def backward_graph(self, g):
        return g * self.input_tensor(1, self.b), g * self.input_tensor(0, self.a)


class Div(Function):
    """y = a / b.   da = g / b,  db = -g * a / b**2 = -g * y / b."""

    broadcasts = True

    def forward(self, a, b):
        broadcast_shape("div", a.shape, b.shape)
        self.b = b
        self.y = a / b
        return self.y

    def backward(self, g):
        da = g / self.b if self.needs_input_grad[0] else None
        db = -g * self.y / self.b if self.needs_input_grad[1] else None
        return da, db

    def backward_graph(self, g):
        b, y = self.input_tensor(1, self.b), self.output_tensor(self.y)
        return g / b, -g * y / b


class Neg(Function):
    """y = -x.   dx = -g."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return -g

    backward_graph = backward


class Pow(Function):
    """y = a ** b.

    da = g * b * a**(b-1)           (power rule)
    db = g * a**b * log(a) = g*y*log(a)   (exponential rule; only defined for a > 0)
    """

    broadcasts = True

    def forward(self, a, b):
        broadcast_shape("pow", a.shape, b.shape)
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, g):
        xp = get_array_module(g)
        da = g * self.b * self.a ** (self.b - 1) if self.needs_input_grad[0] else None
        db = g * self.y * xp.log(self.a) if self.needs_input_grad[1] else None
        return da, db

    def backward_graph(self, g):
        a, b, y = self.input_tensor(0, self.a), self.input_tensor(1, self.b), self.output_tensor(self.y)
        da = g * b * a ** (b - 1) if self.needs_input_grad[0] else None
        db = g * y * a.log() if self.needs_input_grad[1] else None
        return da, db


class Exp(Function):
    """y = e**x.   dx = g * y (exp is its own derivative; reuse the saved output)."""

    def forward(self, x):
        self.y = get_array_module(x).exp(x)
        return self.y

    def backward(self, g):
        return g * self.y

    def backward_graph(self, g):
        return g * self.output_tensor(self.y)


class Sin(Function):
    """y = sin x.   dx = g · cos x."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).sin(x)

    def backward(self, g):
        return g * get_array_module(g).cos(self.x)

    def backward_graph(self, g):
        return g * self.input_tensor(0, self.x).cos()


class Cos(Function):
    """y = cos x.   dx = -g · sin x."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).cos(x)

    def backward(self, g):
        return -g * get_array_module(g).sin(self.x)

    def backward_graph(self, g):
        return -g * self.input_tensor(0, self.x).sin()


class Log(Function):
    """y = ln x.   dx = g / x."""

    def forward(self, x):
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, g):
        return g / self.x

    def backward_graph(self, g):
        return g / self.input_tensor(0, self.x)


class Sqrt(Function):
    """y = sqrt(x).   dy/dx = 1 / (2 sqrt(x)) = 1 / (2y)."""

    def forward(self, x):
        self.y = get_array_module(x).sqrt(x)
        return self.y

    def backward(self, g):
        return g / (2 * self.y)

    def backward_graph(self, g):
        return g / (2 * self.output_tensor(self.y))


class Abs(Function):
    """y = |x|.   dy/dx = sign(x) (0 at x = 0, as in PyTorch)."""

    def forward(self, x):
        self.x = x
        return abs(x)

    def backward(self, g):
        return g * get_array_module(g).sign(self.x)

    def backward_graph(self, g):
        return g * get_array_module(self.x).sign(self.x)  # piecewise constant: its own derivative is 0


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

    def backward_graph(self, g):
        return g * self.inside


class Maximum(Function):
    """y = max(a, b) elementwise.

    The larger input passes the gradient: da = g·[a > b], db = g·[b > a].
    At a tie both are 'the max', and the gradient is split equally (as in PyTorch).
    """

    broadcasts = True

    def forward(self, a, b):
        broadcast_shape("maximum", a.shape, b.shape)
        self.a, self.b = a, b
        return get_array_module(a).maximum(a, b)

    def backward(self, g):
        share_a = (self.a > self.b) + 0.5 * (self.a == self.b)
        da = g * share_a.astype(g.dtype)
        return da, g - da

    def backward_graph(self, g):
        da = g * ((self.a > self.b) + 0.5 * (self.a == self.b)).astype(g.dtype)
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
        xp = get_array_module(g)
        zero = xp.zeros((), dtype=g.dtype)
        da = xp.where(self.cond, g, zero)
        db = xp.where(self.cond, zero, g)
        return da, db

    def backward_graph(self, g):
        return g * self.cond, g * ~self.cond


class Cast(Function):
    """y = x converted to another dtype.   dx = g converted back to x's dtype."""

    def forward(self, x, dtype=None):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return g.astype(self.dtype)

    def backward_graph(self, g):
        return g.to(self.dtype)


class ToDevice(Function):
    """y = x copied to another device.   dx = g copied back to x's device."""

    def forward(self, x, device=None):
        from ..backend import device_of, to_device

        self.source = device_of(x)
        return to_device(x, device)

    def backward(self, g):
        from ..backend import to_device

        return to_device(g, self.source)

    def backward_graph(self, g):  # the same on tensors (create_graph=True)
        return g.to(self.source)
