"""The engine: a Tensor that remembers how it was made, and reverse-mode autograd.

Every differentiable op is a `Function` subclass with two methods on plain arrays:

    forward(*arrays, **params)  -> output array           (saves what backward needs on self)
    backward(grad_output)       -> one gradient per input (None where no gradient is needed)

`Function.apply` runs the forward pass and, when any input requires a gradient, records the
function on the output tensor (``tensor._ctx``). `Tensor.backward()` then walks that graph
from the output back to the leaves in reverse topological order, calling each backward once
with the summed gradient of everything that used its output (the multivariate chain rule).

The graph's edges run from each op to the ops that made its inputs (``fn.parents``), and
to the leaves (parameters, inputs that require grad) directly: an op does not hold its
input *tensors*, so an intermediate result that no backward reads (a batch norm output,
which the ReLU after it does not need) is freed as soon as the forward pass moves on. What
a backward needs, each op saves itself.

Three jobs are done here once, so no op has to repeat them:
  * undo broadcasting: if ``a`` (shape (3,1)) was broadcast to (3,4), its gradient is summed
    over the broadcast axes back to (3,1);
  * check every gradient an op returns has its input's shape and dtype, naming the op if not;
  * free the graph after use (unless ``retain_graph=True``), so memory is returned at once.
"""
import contextlib
import operator
import weakref

import numpy as np

from . import backend, fast

_grad_enabled = True


def is_grad_enabled():
    return _grad_enabled


@contextlib.contextmanager
def set_grad_enabled(mode):
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, bool(mode)
    try:
        yield
    finally:
        _grad_enabled = previous


def no_grad():
    """Context manager: ops inside record no graph (inference, optimizer steps)."""
    return set_grad_enabled(False)


def enable_grad():
    return set_grad_enabled(True)


class GradientError(RuntimeError):
    """An op's backward returned a gradient that does not fit its input."""


class Function:
    """Base class of every differentiable op. See the module docstring for the contract.

    Inside ``backward``, ``self.needs_input_grad[i]`` says whether input ``i`` wants a
    gradient, so an op can skip work nobody will use (conv2d skips dx for the first layer).
    """

    #: True for elementwise ops whose inputs broadcast; the engine then sums each gradient
    #: over the broadcast axes. For every other op a shape mismatch is a bug and raises.
    broadcasts = False
    _freed = False

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad_output):
        raise NotImplementedError

    def backward_graph(self, grad_output):
        """The same derivative as ``backward``, written with minigrad's own ops on tensors, so
        that the gradients it returns have a graph and can be differentiated again
        (``backward(create_graph=True)``). Ops that do not define it refuse, naming themselves."""
        raise NotImplementedError(
            f"{self.name} cannot be differentiated twice yet (create_graph=True): it has no backward_graph")

    def input_tensor(self, i, array):
        """Input ``i`` as a tensor in the graph, for backward_graph: the leaf itself, or the
        saved ``array`` as the output of the op that made it (so gradients flow on to that op)."""
        parent = self.parents[i]
        if isinstance(parent, Tensor):
            return parent
        t = Tensor(array)
        if parent is not None:
            t._ctx, t.requires_grad = parent, True
        return t

    def output_tensor(self, array):
        """This op's saved output ``array`` as a tensor in the graph (made by this op)."""
        t = Tensor(array)
        t._ctx, t.requires_grad = self, True
        return t

    @property
    def name(self):
        return type(self).__name__

    @classmethod
    def apply(cls, *inputs, **params):
        tensors = _as_tensors(inputs)
        # The one dispatch point of the two rooms: with the fast kernels selected (the
        # default), an op that has a fast twin in minigrad/fast/ runs as that twin, a
        # subclass with the same inputs and outputs; otherwise the code of cls itself.
        fn = fast.twin(cls, tensors[0].data if tensors else None)()
        needs = tuple([t.requires_grad for t in tensors]) if _grad_enabled else ()
        requires_grad = True in needs
        if requires_grad:
            if len(tensors) > 1:
                _check_same_float_dtype(cls.__name__, tensors)
            fn.needs_input_grad = needs
        else:
            fn.needs_input_grad = (False,) * len(tensors)
        out = Tensor(fn.forward(*[t.data for t in tensors], **params))
        if requires_grad:
            out.requires_grad = True
            out._ctx = fn
            fn.parents = tuple(map(_node_of, tensors))            # the graph's edges
            fn.output_meta = (out.data.shape, out.data.dtype)     # what its gradient must fit
            fn.input_refs = tuple(map(weakref.ref, tensors))      # for the in-place check,
            fn.input_versions = tuple(map(_version_of, tensors))  # without keeping them alive
        return out

    def release(self):
        """Drop saved arrays and input references once the graph has been used."""
        self.__dict__.clear()
        self._freed = True


def _node_of(t):
    """The graph node behind tensor ``t``: the op that made it, the tensor itself for a leaf
    that requires grad, or None (a constant: no gradient flows into it)."""
    if t._ctx is not None:
        return t._ctx
    return t if t.requires_grad else None


def _as_tensors(inputs):
    for x in inputs:
        if not isinstance(x, Tensor):
            break
    else:
        return inputs  # (the common case: every input is a tensor already)
    like = next((x for x in inputs if isinstance(x, Tensor)), None)
    if like is None:
        return tuple(Tensor(x) for x in inputs)
    return tuple(x if isinstance(x, Tensor) else _constant_like(x, like) for x in inputs)


def _constant_like(value, like):
    """Wrap a Python number or array so that ``x * 2`` keeps x's dtype and device."""
    xp = backend.get_array_module(like.data)
    kind = value.dtype.kind if hasattr(value, "dtype") else np.asarray(value).dtype.kind  # no GPU->CPU copy
    if like.dtype.kind == "f" and kind in "biuf":
        return Tensor(xp.asarray(value, dtype=like.dtype))
    return Tensor(xp.asarray(value))


def _check_same_float_dtype(op, tensors):
    first = tensors[0].data.dtype
    if all(t.data.dtype == first for t in tensors):
        return
    names = " and ".join(sorted({str(t.dtype) for t in tensors}))
    raise TypeError(f"{op}: inputs have different dtypes ({names}); convert one with .to(dtype)")


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched, giving ``shape``.

    Broadcasting copies an input along an axis; the chain rule adds the copies' gradients.
    (The same lines serve an array and, under create_graph, a tensor.)
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        return grad  # cannot be a broadcast; the shape check reports it
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1
    )
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


def _checked_gradient(fn, index, parent, grad):
    shape, dtype = parent.output_meta if isinstance(parent, Function) else (parent.shape, parent.dtype)
    if fn.broadcasts:
        grad = unbroadcast(grad, shape)
    if grad.shape != shape:
        raise GradientError(
            f"{fn.name}.backward has a bug: gradient for input {index} has shape "
            f"{grad.shape}, but the input has shape {shape}"
        )
    if grad.dtype != dtype:
        raise GradientError(
            f"{fn.name}.backward has a bug: gradient for input {index} has dtype "
            f"{grad.dtype}, but the input has dtype {dtype}"
        )
    return grad


def _topological_order(roots):
    """Every node that leads to one of ``roots`` (ops, and leaves that require grad), each
    after all of its parents.

    Iterative depth-first search (an explicit stack instead of recursion), so a graph that
    is 10,000 ops deep, such as a long unrolled RNN, does not hit Python's recursion limit.
    """
    order, visited = [], set()
    stack = [(root, False) for root in reversed(roots)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if not isinstance(node, Function):
            continue  # a leaf
        if node._freed:
            raise RuntimeError(
                "trying to backward through the graph a second time: its saved arrays were "
                "freed after the first backward(); pass retain_graph=True the first time"
            )
        for parent in node.parents:
            if parent is not None and id(parent) not in visited:
                stack.append((parent, False))
    return order


def run_backward(root, grad=None, retain_graph=False, create_graph=False):
    """Reverse-mode autodiff from ``root``; gradients accumulate into leaves' ``.grad``."""
    _backpropagate([root], [grad], retain_graph, create_graph=create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=False, create_graph=False, allow_unused=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned as a tuple of tensors
    (torch.autograd.grad): no ``.grad`` attribute anywhere is touched. With ``create_graph``
    the gradients have a graph of their own and can be differentiated again.

        dx, dw = minigrad.grad(loss, [x, w])

    ``grad_outputs`` gives the gradient of each output (needed for outputs of more than one
    element). An input that the outputs do not depend on is an error unless ``allow_unused``,
    which gives None for it."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise RuntimeError(f"grad(): input {i} does not require grad, so it has no gradient")
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    captured = _backpropagate(outputs, list(grad_outputs), retain_graph, capture=inputs, create_graph=create_graph)
    result = []
    for i, x in enumerate(inputs):
        g = captured.get(id(_node_of(x)))
        if g is None and not allow_unused:
            raise RuntimeError(f"grad(): input {i} (shape {x.shape}) was not used to compute the outputs; "
                               "pass allow_unused=True to get None for it")
        result.append(g if g is None or isinstance(g, Tensor) else Tensor(g))
    return tuple(result)


def _initial_gradient(root, grad):
    if not root.requires_grad:
        raise RuntimeError("backward(): this tensor does not require grad and has no graph")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward() on a tensor of shape {root.shape} needs a gradient argument: "
                "only a one-element output has the implied gradient 1"
            )
        return backend.get_array_module(root.data).ones_like(root.data)
    grad = grad.data if isinstance(grad, Tensor) else grad
    if grad.shape != root.shape:
        raise ValueError(f"backward(): gradient shape {grad.shape} != tensor shape {root.shape}")
    return grad.astype(root.dtype, copy=False)


_end_of_backward = []  # functions to call once the running backward pass is done


def queue_callback(fn):
    """Call ``fn()`` once the backward pass now running has finished (PyTorch's
    queue_callback): a gradient hook uses it to act on all of a step's gradients at once,
    as DistributedDataParallel does to finish averaging them."""
    _end_of_backward.append(fn)


def _backpropagate(roots, root_grads, retain_graph, capture=None, create_graph=False):
    """The chain rule, op by op from the roots back. Each node's gradient is complete when
    its turn comes (every op that used its output comes later in the graph, so earlier in
    this walk). Without ``capture``, leaves add their gradient into ``.grad``; with it, the
    gradients of the ``capture`` tensors are returned (by node id) and no ``.grad`` is changed.

    With ``create_graph`` each op's gradient comes from its backward_graph instead: minigrad
    ops on tensors, recorded like any forward pass, so the gradients have a graph and can be
    differentiated again. The graph is then kept (a second backward will walk it), and the
    fast kernels' array code cannot take part: an op that ran as a twin with its own forward
    refuses, naming the switch to the reference kernels."""
    grads, nodes = _root_gradients(roots, root_grads, as_tensors=create_graph)
    wanted = None if capture is None else {id(_node_of(t)) for t in capture}
    captured = {}
    try:
        with set_grad_enabled(True) if create_graph else contextlib.nullcontext():
            for node in reversed(_topological_order(nodes)):
                g = grads.pop(id(node), None)
                if g is None:
                    continue
                g = _arrive(node, g, wanted, captured)
                if not isinstance(node, Function):
                    continue  # a leaf: nothing further back
                fn = node
                if create_graph:
                    _refuse_fast_twin(fn)
                _check_versions(fn)
                input_grads = fn.backward_graph(g) if create_graph else fn.backward(g)
                if not isinstance(input_grads, tuple):
                    input_grads = (input_grads,)
                if len(input_grads) != len(fn.parents):
                    raise GradientError(
                        f"{fn.name}.backward has a bug: returned {len(input_grads)} gradients "
                        f"for {len(fn.parents)} inputs"
                    )
                for i, (parent, needed, pg) in enumerate(zip(fn.parents, fn.needs_input_grad, input_grads)):
                    if not needed or pg is None or parent is None:
                        continue
                    pg = _checked_gradient(fn, i, parent, pg)
                    key = id(parent)
                    grads[key] = pg if key not in grads else grads[key] + pg
                if not retain_graph and not create_graph:
                    fn.release()
    except BaseException:
        _end_of_backward.clear()  # a failed backward's callbacks must not run after the next one
        raise
    while _end_of_backward:
        _end_of_backward.pop(0)()
    return captured


def _refuse_fast_twin(fn):
    cls = type(fn)
    if cls.__module__.startswith(__package__ + ".fast") and "forward" in vars(cls):
        raise RuntimeError(f"{fn.name} ran its fast kernel, whose backward works on arrays only, so its gradient "
                           f"cannot be differentiated again; run the model under minigrad.use_kernels('reference') "
                           f"(or MINIGRAD_KERNELS=reference) to use create_graph=True")


def _root_gradients(roots, root_grads, as_tensors=False):
    """Each root's starting gradient (1 for a one-element root), keyed by its node, and the nodes."""
    grads, nodes = {}, []
    for root, g in zip(roots, root_grads):
        if not isinstance(g, Tensor) or not as_tensors:
            g = _initial_gradient(root, g)
            g = Tensor(g) if as_tensors else g
        node = _node_of(root)
        nodes.append(node)
        grads[id(node)] = g if id(node) not in grads else grads[id(node)] + g
    return grads, nodes


def _arrive(node, g, wanted, captured):
    """Node's gradient ``g`` is complete (an array, or a tensor under create_graph): run its
    tensor's hooks, add it into ``.grad`` (a leaf, or a tensor that retains its gradient), or
    keep it for grad(). Returns the gradient, as the hooks left it."""
    tensor = node.__dict__.get("output") if isinstance(node, Function) else node  # ops keep theirs only for hooks
    if tensor is not None:
        if tensor._hooks:
            g = tensor._run_hooks(g)
        if wanted is None and (tensor is node or tensor._retains_grad):
            tensor._accumulate_grad(g)
    if wanted is not None and id(node) in wanted:
        captured[id(node)] = g
    return g


_version_of = operator.attrgetter("_version")


def _check_versions(fn):
    """An input changed in place after the op used it would make its backward use the new
    values: refuse, as PyTorch does (which checks only the tensors an op saves; here every
    input of the op still alive is checked: one that is gone cannot have been changed)."""
    for i, (ref, seen) in enumerate(zip(fn.input_refs, fn.input_versions)):
        t = ref()
        if t is not None and t._version != seen:
            raise RuntimeError(
                f"one of the tensors needed for gradient computation has been modified by an in-place "
                f"operation: input {i} of {fn.name} (shape {t.shape}) is at version {t._version}, expected "
                f"version {seen}. Change it after backward(), or change a copy (x.clone()) instead")


class Tensor:
    """An n-dimensional array (NumPy or CuPy) that can record the ops applied to it.

    >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_retains_grad", "_version", "_hooks", "__weakref__")
    __array_priority__ = 1000  # numpy_array * tensor calls Tensor.__rmul__, not NumPy's

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        if type(data) is np.ndarray and dtype is None and device is None:  # the hot path: op outputs
            self.data, self.grad, self._ctx, self._retains_grad, self.requires_grad = data, None, None, False, False
            self._version, self._hooks = 0, None
            if requires_grad:
                self.requires_grad_(True)
            return
        if isinstance(data, np.generic) and dtype is None and device is None:  # a NumPy scalar (a full
            self.__init__(np.asarray(data), requires_grad)                     # reduction's): a 0-d array
            return
        if isinstance(data, Tensor):
            data = data.data
        if device is not None:
            data = backend.to_device(data, device)
        xp = backend.get_array_module(data)
        if dtype is not None:
            data = xp.asarray(data, dtype=dtype)
        elif isinstance(data, (np.ndarray, np.generic)) or backend.is_cupy_array(data):
            data = xp.asarray(data)
        else:  # Python numbers and lists: floats become the default dtype, as in PyTorch
            data = xp.asarray(data)
            if data.dtype.kind == "f":
                data = data.astype(backend.get_default_dtype())
        self.data = data
        self.grad = None
        self._ctx = None
        self._retains_grad = False
        self.requires_grad = False
        self._version = 0  # how many in-place changes it has seen (see modify_in_place)
        self._hooks = None  # functions of the gradient (register_hook)
        if requires_grad:
            self.requires_grad_(True)

    # ----- autograd -------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=False, create_graph=False):
        """Compute d(self)/d(leaf) for every leaf that requires grad, adding into ``.grad``.
        With ``create_graph`` the gradients are tensors with a graph of their own, which can
        be differentiated again (a second derivative); the graph is then kept."""
        run_backward(self, gradient, retain_graph, create_graph)

    def _accumulate_grad(self, g):
        if isinstance(g, Tensor):  # create_graph: .grad keeps the gradient's graph
            self.grad = g if self.grad is None else self.grad + g
            return
        if self.grad is None:
            self.grad = Tensor(g.copy())  # a copy: ``g`` may be shared with another input
        else:
            self.grad = Tensor(self.grad.data + g)

    def requires_grad_(self, flag=True):
        if flag and self.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require grad, got {self.dtype}")
        self.requires_grad = bool(flag)
        return self

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient has been computed; if it returns a
        tensor, that replaces the gradient (which then flows on, or into ``.grad`` for a
        leaf). Returns a handle whose ``remove()`` takes the hook off again."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad, so no gradient will reach it")
        if self._hooks is None:
            self._hooks = {}
        self._keep_in_graph()
        handle = _HookHandle(self._hooks)
        self._hooks[handle.key] = hook
        return handle

    def _run_hooks(self, g):
        if isinstance(g, Tensor):  # create_graph: the hooks see, and may replace, a tensor with a graph
            for hook in list(self._hooks.values()):
                replaced = hook(g)
                g = g if replaced is None else replaced
            return g
        for hook in list(self._hooks.values()):
            new = hook(Tensor(g))
            if new is not None:
                new = _data(new)
                if new.shape != g.shape:
                    raise RuntimeError(f"a hook returned a gradient of shape {new.shape} for a tensor of shape {g.shape}")
                g = new.astype(g.dtype, copy=False)
        return g

    def retain_grad(self):
        """Keep the gradient of this non-leaf tensor in ``.grad`` during backward."""
        self._retains_grad = True
        self._keep_in_graph()

    def _keep_in_graph(self):
        """The op that made this tensor keeps it, so that backward finds its hooks and
        retain_grad even when no one else holds it (the graph's edges do not)."""
        if self._ctx is not None:
            self._ctx.output = self

    def detach(self):
        """The same data, cut from the graph (no gradient flows through it)."""
        return Tensor(self.data)

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def grad_fn(self):
        return self._ctx

    def zero_grad(self):
        self.grad = None

    # ----- array facts ------------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return backend.device_of(self.data)

    def __len__(self):
        return len(self.data)

    def numel(self):
        return self.data.size

    def numpy(self):
        """The data as a NumPy array (a copy from the GPU; the same memory on the CPU)."""
        return backend.to_numpy(self.data)

    def item(self):
        return self.data.item()

    def tolist(self):
        return self.numpy().tolist()

    def to(self, target):
        """``.to('cuda')``, ``.to('cpu')`` or ``.to(np.float64)``: a new tensor, same graph."""
        from . import ops

        if isinstance(target, str) and target.split(":")[0] in ("cpu", "cuda"):
            return ops.to_device(self, target)
        return ops.cast(self, target)

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.dtype not in (backend.get_default_dtype(), np.int64, np.bool_):
            extras.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    __hash__ = object.__hash__  # tensors are graph nodes, hashed by identity

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iub" or self.data.size != 1:
            raise TypeError(f"only a one-element integer tensor can be used as an index, got {self.dtype} {self.shape}")
        return int(self.item())

    def __array__(self, dtype=None, copy=None):
        """np.asarray(t): the data as a NumPy array (copied from the GPU)."""
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def size(self, dim=None):
        """The shape (PyTorch's size()), or the length of dimension ``dim``."""
        return self.shape if dim is None else self.shape[dim]

    def dim(self):
        return self.data.ndim

    def clone(self):
        """A copy of the data that stays in the graph (the gradient flows back to self)."""
        return ops.mul(self, 1)

    # ----- in place: change this tensor's data ------------------------------------------
    def modify_in_place(self, new_values, op):
        """Write ``new_values`` into this tensor's data (broadcast to its shape, in its dtype)
        and count the change, so that a backward that used the old values refuses to run.

        As in PyTorch, a leaf that requires grad can be changed in place only inside
        ``no_grad()`` (an optimizer step: ``p -= lr * p.grad``). minigrad does not record
        in-place ops in a graph, so changing a tensor that requires grad, or writing values
        that require grad into one, outside no_grad is refused too: write ``x = x + y``."""
        self._check_in_place(new_values, op)
        values = backend.get_array_module(self.data).asarray(_data(new_values))
        if np.broadcast_shapes(values.shape, self.shape) != self.shape:
            raise RuntimeError(f"{op}: a result of shape {values.shape} cannot be written into a tensor of shape {self.shape}")
        self.data[...] = values
        self._version += 1
        return self

    def _check_in_place(self, value, op):
        value_needs_grad = isinstance(value, Tensor) and value.requires_grad
        if _grad_enabled and (self.requires_grad or value_needs_grad):
            which = "a leaf tensor that requires grad" if self.is_leaf and self.requires_grad else \
                "a tensor that requires grad" if self.requires_grad else "a value that requires grad"
            raise RuntimeError(f"{op}: {which} cannot take part in an in-place operation outside no_grad(); "
                               f"use 'with minigrad.no_grad():' for an update, or an out-of-place op (x = x + y)")

    def __iadd__(self, other):
        return self.modify_in_place(self.data + _data(other), "+=")

    def __isub__(self, other):
        return self.modify_in_place(self.data - _data(other), "-=")

    def __imul__(self, other):
        return self.modify_in_place(self.data * _data(other), "*=")

    def __itruediv__(self, other):
        return self.modify_in_place(self.data / _data(other), "/=")

    def add_(self, other, alpha=1):
        return self.modify_in_place(self.data + alpha * _data(other), "add_")

    def sub_(self, other, alpha=1):
        return self.modify_in_place(self.data - alpha * _data(other), "sub_")

    def mul_(self, other):
        return self.modify_in_place(self.data * _data(other), "mul_")

    def div_(self, other):
        return self.modify_in_place(self.data / _data(other), "div_")

    def zero_(self):
        return self.modify_in_place(0, "zero_")

    def fill_(self, value):
        return self.modify_in_place(_data(value), "fill_")

    def copy_(self, source):
        return self.modify_in_place(source, "copy_")

    def clamp_(self, min=None, max=None):  # noqa: A002 - PyTorch's argument names
        xp = backend.get_array_module(self.data)
        return self.modify_in_place(xp.clip(self.data, min, max), "clamp_")

    def __setitem__(self, index, value):
        if isinstance(index, tuple):
            index = tuple(_data(i) for i in index)
        else:
            index = _data(index)
        self._check_in_place(value, "__setitem__")
        self.data[index] = _data(value)  # only the indexed elements are written
        self._version += 1

    # ----- operators and methods: thin calls into minigrad.ops --------------------------
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


class _HookHandle:
    _next_key = 0

    def __init__(self, hooks):
        self.hooks, self.key = hooks, _HookHandle._next_key
        _HookHandle._next_key += 1

    def remove(self):
        self.hooks.pop(self.key, None)


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def tensor(data, requires_grad=False, dtype=None, device=None):
    """A Tensor holding a copy of ``data`` (as torch.tensor: an in-place change of the tensor
    never reaches the caller's array; from_numpy shares it instead)."""
    if isinstance(data, Tensor):
        data = data.data
    if hasattr(data, "copy") and hasattr(data, "dtype"):  # a NumPy or CuPy array
        data = data.copy()
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def from_numpy(array):
    """A Tensor that shares ``array``'s memory (as torch.from_numpy)."""
    return Tensor(np.asarray(array))


from . import ops  # noqa: E402  (the ops need Tensor and Function, defined above)
