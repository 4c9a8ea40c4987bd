"""Python's operators and PyTorch's tensor methods, each a call of an op: ``a + b`` is
``ops.add(a, b)``, ``x.sum(1)`` is ``ops.sum(x, 1)``.

They live here, beside the ops they call, and not in the engine (tensor.py): the engine
records and walks graphs and knows no op. Importing minigrad.ops gives `Tensor` these
methods (the loop at the bottom), as DeZero's setup_variable does.
"""
import numpy as np

from .. import ops
from ..backend import get_array_module
from ..tensor import Tensor, _data, is_grad_enabled
from .shape import scattered


class TensorMethods:
    """Attached to Tensor below; never instantiated."""

    def to(self, *args, device=None, dtype=None, copy=False):
        """PyTorch's forms: ``.to('cuda')``, ``.to(mg.device('cpu'))``, ``.to(np.float64)``,
        ``.to(device, dtype)``, ``.to(dtype=...)``, ``.to(other_tensor)`` (its device and
        dtype). A new tensor in the same graph, or self when nothing changes."""
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda"):
                device = arg
            elif arg is not None:
                try:
                    dtype = np.dtype(arg)
                except TypeError:
                    raise TypeError(f"Tensor.to: expected a device, a dtype or a tensor, got {arg!r}") from None
        out = self
        if device is not None and str(device).split(":")[0] != self.device:
            out = ops.to_device(out, device)
        if dtype is not None and np.dtype(dtype) != out.dtype:
            out = ops.cast(out, dtype)
        return out.clone() if copy and out is self else out

    def type(self, dtype=None):  # noqa: A003 - PyTorch's name
        """Without an argument, the type's name ('minigrad.FloatTensor'); with a dtype, a cast."""
        if dtype is not None:
            return self.to(dtype)
        names = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
                 "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
        prefix = "minigrad.cuda." if self.device == "cuda" else "minigrad."
        return f"{prefix}{names.get(str(self.dtype), str(self.dtype))}Tensor"

    def is_floating_point(self):
        return self.dtype.kind == "f"

    def contiguous(self):
        """Self if its memory is in row-major order, else a row-major copy (in the graph)."""
        return _contiguous_copy(self)

    def is_contiguous(self):
        return bool(self.data.flags.c_contiguous)

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def clone(self):
        """A copy of the data that stays in the graph (the gradient flows back to self)."""
        return ops.mul(self, 1)

    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __pow__(self, exponent):
        return ops.pow(self, exponent)

    def __rpow__(self, base):
        return ops.pow(base, self)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __neg__(self):
        return ops.neg(self)

    # The operators by name, as PyTorch's methods
    def add(self, other, alpha=1):
        return ops.add(self, other if alpha == 1 else ops.mul(other, alpha))

    def sub(self, other, alpha=1):
        return ops.sub(self, other if alpha == 1 else ops.mul(other, alpha))

    def mul(self, other):
        return ops.mul(self, other)

    def div(self, other):
        return ops.div(self, other)

    def pow(self, exponent):
        return ops.pow(self, exponent)

    def matmul(self, other):
        return ops.matmul(self, other)

    def dot(self, other):
        return ops.dot(self, other)

    def neg(self):
        return ops.neg(self)

    def square(self):
        return ops.mul(self, self)

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    def isnan(self):
        return Tensor(self.xp.isnan(self.data))

    def isinf(self):
        return Tensor(self.xp.isinf(self.data))

    def isfinite(self):
        return Tensor(self.xp.isfinite(self.data))

    def sort(self, dim=-1, descending=False, stable=False):
        return ops.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return ops.argsort(self, dim, descending, stable)

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - PyTorch's name
        return ops.topk(self, k, dim, largest, sorted)

    def split(self, split_size_or_sections, dim=0):
        return ops.split(self, split_size_or_sections, dim)

    def unbind(self, dim=0):
        return ops.unbind(self, dim)

    def index_select(self, dim, index):
        return ops.index_select(self, dim, index)

    def new_zeros(self, *size):
        return Tensor(self.xp.zeros(_size(size), dtype=self.dtype))

    def new_ones(self, *size):
        return Tensor(self.xp.ones(_size(size), dtype=self.dtype))

    def new_full(self, size, fill_value):
        return Tensor(self.xp.full(_size((size,)), fill_value, dtype=self.dtype))

    def new_tensor(self, data):
        return Tensor(self.xp.asarray(_data(data), dtype=self.dtype))

    @property
    def xp(self):
        """NumPy or CuPy: the array module of this tensor's data."""
        return get_array_module(self.data)

    def __abs__(self):
        return ops.abs(self)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    # Comparisons give boolean tensors outside the graph (they have no useful gradient).
    def __lt__(self, other):
        return Tensor(self.data < _data(other))

    def __le__(self, other):
        return Tensor(self.data <= _data(other))

    def __gt__(self, other):
        return Tensor(self.data > _data(other))

    def __ge__(self, other):
        return Tensor(self.data >= _data(other))

    def __eq__(self, other):
        return Tensor(self.data == _data(other))

    def __ne__(self, other):
        return Tensor(self.data != _data(other))

    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def sqrt(self):
        return ops.sqrt(self)

    def abs(self):
        return ops.abs(self)

    def relu(self):
        return ops.relu(self)

    def sigmoid(self):
        return ops.sigmoid(self)

    def tanh(self):
        return ops.tanh(self)

    def sin(self):
        return ops.sin(self)

    def cos(self):
        return ops.cos(self)

    def gather(self, dim, index):
        return ops.gather(self, dim, index)

    def scatter_add(self, dim, index, src):
        return ops.scatter_add(self, dim, index, src)

    def prod(self, dim=None, keepdim=False, **numpy_names):
        return ops.prod(self, dim, keepdim, **numpy_names)

    def expand(self, *sizes):
        return ops.expand(self, *sizes)

    def repeat(self, *repeats):
        return ops.repeat(self, *repeats)

    def chunk(self, chunks, dim=0):
        return ops.chunk(self, chunks, dim)

    def where(self, condition, other):
        """self where ``condition`` holds, else ``other`` (PyTorch's Tensor.where)."""
        return ops.where(condition, self, other)

    def masked_fill(self, mask, value):
        return ops.masked_fill(self, mask, value)

    def logsumexp(self, dim, keepdim=False):
        return ops.logsumexp(self, dim, keepdim)

    def norm(self, p=2, dim=None, keepdim=False):
        return ops.norm(self, p, dim, keepdim)

    def any(self, dim=None, keepdim=False):
        return Tensor(self.data.any(axis=dim, keepdims=keepdim))

    def all(self, dim=None, keepdim=False):  # noqa: A003 - PyTorch's name
        return Tensor(self.data.all(axis=dim, keepdims=keepdim))

    def __and__(self, other):
        return Tensor(self.data & _data(other))

    def __or__(self, other):
        return Tensor(self.data | _data(other))

    def __xor__(self, other):
        return Tensor(self.data ^ _data(other))

    def __invert__(self):
        return Tensor(~self.data)

    def half(self):
        return self.to(np.float16)

    def long(self):
        """An int64 copy, outside the graph (integers carry no gradient)."""
        return Tensor(self.data.astype(np.int64))

    def int(self):  # noqa: A003 - PyTorch's name
        return Tensor(self.data.astype(np.int32))

    def bool(self):  # noqa: A003 - PyTorch's name
        return Tensor(self.data.astype(bool))

    def clip(self, min=None, max=None):  # noqa: A002 - PyTorch's argument names
        return ops.clip(self, min, max)

    clamp = clip

    def softmax(self, dim=None, **numpy_names):
        return ops.softmax(self, dim, **numpy_names)

    def log_softmax(self, dim=None, **numpy_names):
        return ops.log_softmax(self, dim, **numpy_names)

    def sum(self, dim=None, keepdim=False, **numpy_names):
        return ops.sum(self, dim, keepdim, **numpy_names)

    def mean(self, dim=None, keepdim=False, **numpy_names):
        return ops.mean(self, dim, keepdim, **numpy_names)

    def max(self, dim=None, keepdim=False, **numpy_names):
        """The largest value; along ``dim``, the pair (values, indices), as in PyTorch."""
        return ops.max(self, dim, keepdim, **numpy_names)

    def min(self, dim=None, keepdim=False, **numpy_names):
        return ops.min(self, dim, keepdim, **numpy_names)

    def amax(self, dim=None, keepdim=False, **numpy_names):
        return ops.amax(self, dim, keepdim, **numpy_names)

    def amin(self, dim=None, keepdim=False, **numpy_names):
        return ops.amin(self, dim, keepdim, **numpy_names)

    def var(self, dim=None, keepdim=False, correction=1, **numpy_names):
        return ops.var(self, dim, keepdim, correction, **numpy_names)

    def std(self, dim=None, keepdim=False, correction=1, **numpy_names):
        return ops.std(self, dim, keepdim, correction, **numpy_names)

    def argmax(self, dim=None, keepdim=False, **numpy_names):
        return ops.argmax(self, dim, keepdim, **numpy_names)

    def argmin(self, dim=None, keepdim=False, **numpy_names):
        return ops.argmin(self, dim, keepdim, **numpy_names)

    def reshape(self, *shape):
        return ops.reshape(self, *shape)

    view = reshape

    def view_as(self, other):
        return ops.reshape(self, other.shape)

    def expand_as(self, other):
        return ops.expand(self, other.shape)

    def t(self):
        """The transpose of a matrix (a 0-D or 1-D tensor is returned as it is), as PyTorch."""
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor with at most 2 dimensions, got shape {self.shape}; "
                             f"use transpose(dim0, dim1) or mT")
        return self if self.ndim < 2 else ops.transpose(self, 0, 1)

    @property
    def mT(self):  # noqa: N802 - PyTorch's name
        """The last two axes swapped (a batch of matrices transposed)."""
        return ops.transpose(self, -2, -1)

    def permute(self, *dims):
        return ops.permute(self, *dims)

    def transpose(self, dim0=-2, dim1=-1):
        return ops.transpose(self, dim0, dim1)

    @property
    def T(self):
        return ops.permute(self, tuple(reversed(range(self.ndim))))

    def flatten(self, start_dim=0, end_dim=-1):
        return ops.flatten(self, start_dim, end_dim)

    def squeeze(self, dim=None, **numpy_names):
        return ops.squeeze(self, dim, **numpy_names)

    def unsqueeze(self, dim=None, **numpy_names):
        return ops.unsqueeze(self, dim, **numpy_names)



class InPlaceMethods:
    """In-place changes of a tensor that is part of a graph (``h = w * 2; h.add_(1)``), as
    PyTorch allows them: the change is recorded as an op whose input is h's value before it,
    h takes the result (written into its memory, so its views see it) and the op's place in
    the graph, and h's version moves on, so that a backward that saved the old values
    refuses to run. Everything else (a plain tensor; a parameter in an optimizer step under
    no_grad; the refusal for a leaf that requires grad) is the engine's modify_in_place."""

    def add_(self, other, alpha=1):
        return _in_place(self, other, lambda old, v: ops.add(old, v if alpha == 1 else ops.mul(v, alpha)),
                         lambda: Tensor.modify_in_place(self, self.data + alpha * _data(other), "add_"))

    def sub_(self, other, alpha=1):
        return _in_place(self, other, lambda old, v: ops.sub(old, v if alpha == 1 else ops.mul(v, alpha)),
                         lambda: Tensor.modify_in_place(self, self.data - alpha * _data(other), "sub_"))

    def mul_(self, other):
        return _in_place(self, other, ops.mul, lambda: Tensor.modify_in_place(self, self.data * _data(other), "mul_"))

    def div_(self, other):
        return _in_place(self, other, ops.div, lambda: Tensor.modify_in_place(self, self.data / _data(other), "div_"))

    def __iadd__(self, other):
        return _in_place(self, other, ops.add, lambda: Tensor.modify_in_place(self, self.data + _data(other), "+="))

    def __isub__(self, other):
        return _in_place(self, other, ops.sub, lambda: Tensor.modify_in_place(self, self.data - _data(other), "-="))

    def __imul__(self, other):
        return _in_place(self, other, ops.mul, lambda: Tensor.modify_in_place(self, self.data * _data(other), "*="))

    def __itruediv__(self, other):
        return _in_place(self, other, ops.div, lambda: Tensor.modify_in_place(self, self.data / _data(other), "/="))

    def clamp_(self, min=None, max=None):  # noqa: A002 - PyTorch's argument names
        return _in_place(self, None, lambda old, _: ops.clip(old, min, max),
                         lambda: Tensor.modify_in_place(self, self.xp.clip(self.data, min, max), "clamp_"))

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        return _in_place(self, value, lambda old, v: ops.add(ops.mul(old, 0), v),  # no gradient to the old values
                         lambda: Tensor.modify_in_place(self, _data(value), "fill_"))

    def copy_(self, source):
        return _in_place(self, source, lambda old, v: ops.add(ops.mul(old, 0), v),
                         lambda: Tensor.modify_in_place(self, source, "copy_"))

    def __setitem__(self, index, value):
        def placed(old, v):
            xp = old.xp
            key = tuple(_data(i) for i in index) if isinstance(index, tuple) else _data(index)
            mask = xp.zeros(old.shape, dtype=bool)
            mask[key] = True
            if isinstance(v, Tensor):
                target = old.data[key].shape
                v = ops.expand(v, target) if v.shape != target else v
                return ops.where(mask, scattered(v, old.shape, key, distinct=True), old)
            values = xp.zeros_like(old.data)
            values[key] = _data(v)
            return ops.where(mask, values, old)

        _in_place(self, value, placed, lambda: Tensor._set_items(self, index, value))


def _in_place(self, value, graph_op, plain):
    value_needs_grad = isinstance(value, Tensor) and value.requires_grad
    in_graph = is_grad_enabled() and (self.requires_grad or value_needs_grad)
    if not in_graph or (self.is_leaf and self.requires_grad):
        return plain()  # a plain write, or the engine's refusal for a leaf that requires grad
    old = Tensor(self.data.copy())  # h's value before, standing in for h's history
    old._ctx, old.requires_grad = self._ctx, self.requires_grad
    new = graph_op(old, value)
    if new.shape != self.shape or new.dtype != self.dtype:
        raise RuntimeError(f"in-place operation: a result of shape {new.shape} and dtype {new.dtype} cannot be "
                           f"written into a tensor of shape {self.shape} and dtype {self.dtype}")
    self.data[...] = new.data
    self._ctx, self.requires_grad = new._ctx, True
    self._keep_in_graph()
    self._bump_version()
    return self


def _size(size):
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else tuple(size)


def _contiguous_copy(x):
    """A row-major copy of x, in the graph: reshape(-1) copies a strided array, reshape back."""
    return ops.reshape(ops.reshape(x, -1), x.shape) if not x.data.flags.c_contiguous else x


_CLASS_MACHINERY = set(vars(type("Empty", (), {})))  # __module__, __dict__, __doc__, ...
for _methods in (TensorMethods, InPlaceMethods):
    for _name, _method in vars(_methods).items():
        if _name not in _CLASS_MACHINERY:
            setattr(Tensor, _name, _method)
