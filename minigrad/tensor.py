"""The engine: a Tensor that remembers how it was made, and reverse-mode autograd.

Every differentiable op is a `Function` subclass with two methods:

    forward(*arrays, **params)  -> output array           (saves what backward needs)
    backward(grad_output)       -> one gradient per input (None where no gradient is needed)

`Function.apply` runs the forward pass on plain arrays and, when any input requires a
gradient, records the function on the output tensor (``tensor._ctx``). `Tensor.backward()`
then walks that graph from the output back to the leaves in reverse topological order,
calling each backward once with the summed gradient of everything that used its output (the
multivariate chain rule).

Each backward is written once and serves every order. Forward saves inputs and its output
with ``save_for_backward`` and computes intermediate values with ``keep``; backward reads
them back with ``saved_tensors`` and ``kept``. For an ordinary backward they are arrays and
the backward is array code; under ``create_graph=True`` they, and the gradient, are tensors,
so the same lines record a graph that can be differentiated again (ops/both.py has the few
functions that take either).

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

This file knows no op and no kernel: the Tensor's operators and PyTorch's methods (``a + b``,
``x.sum()``) are attached by minigrad/ops/methods.py, and the fast kernels plug into the
dispatch hook (`install_kernel_choice`) when minigrad/fast is imported.
"""
import contextlib
import weakref

import numpy as np

from . import backend

_grad_enabled = True
_graph_backward = False  # True while a create_graph=True backward runs: saved values are tensors then
_kernel_choice = None    # (op class, first input array) -> the class that runs it; see install_kernel_choice


def install_kernel_choice(choose):
    """The hook of the one dispatch point between the two rooms: from now on ``Function.apply``
    runs op ``cls`` as the class ``choose(cls, first_input_array)`` returns (a fast twin, or
    cls itself). minigrad/fast installs its choice when it is imported; without one every op
    runs its own code. ``None`` takes the hook away again."""
    global _kernel_choice
    _kernel_choice = choose


def kernel_choice():
    """The choice installed in the dispatch hook (None: every op runs its own code), for a
    choice that wraps it: exercises/swap.py runs a student's ops in its place."""
    return _kernel_choice


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


def inference_mode(mode=True):
    """PyTorch's inference_mode: here the same as no_grad() (minigrad has no lighter mode)."""
    return set_grad_enabled(not mode)


def enable_grad():
    return set_grad_enabled(True)


class GradientError(RuntimeError):
    """An op's backward returned a gradient that does not fit its input."""


class Function:
    """Base class of every differentiable op. See the module docstring for the contract.

    Inside ``backward``, ``self.needs_input_grad[i]`` says whether input ``i`` wants a
    gradient, so an op can skip work nobody will use (conv2d skips dx for the first layer).

    One backward serves every order. What it reads of the forward pass comes back through
    ``self.saved_tensors`` (inputs and the output, saved with ``save_for_backward``) and
    ``self.kept(...)`` (intermediate values, computed with ``keep``). At first order these are
    the forward's arrays and the backward is plain array code. Under ``create_graph=True`` the
    engine hands the backward a tensor ``g`` and the saved values as tensors in the graph, so
    the same lines record a graph that can be differentiated again. Anything else kept on
    ``self`` (a mask, a shape, indices) is a constant to the second derivative.
    """

    #: True for elementwise ops whose inputs broadcast; the engine then sums each gradient
    #: over the broadcast axes. For every other op a shape mismatch is a bug and raises.
    broadcasts = False
    #: Whether ``backward`` also runs on tensors under create_graph=True. An op written on
    #: saved_tensors and kept() does; a fast twin's array kernels do not, and say so here.
    differentiable_backward = True
    _freed = False
    _saved = _keep = None

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad_output):
        raise NotImplementedError

    # ----- what forward leaves for backward ---------------------------------------------
    def save_for_backward(self, *arrays):
        """In forward: keep these inputs (or the output) for backward, which reads them back
        with ``self.saved_tensors``, as in PyTorch."""
        self._saved = arrays

    @property
    def saved_tensors(self):
        """What forward saved: the arrays themselves at first order; under create_graph the
        tensors in the graph that they are (a leaf, an earlier op's output, or this op's)."""
        if not _graph_backward:
            return self._saved
        return tuple(map(self._graph_node_of, self._saved))

    def keep(self, compute, *inputs, **constants):
        """In forward: ``compute(*inputs, **constants)``, kept for backward (x̂ in batch norm,
        an LSTM's gates). ``compute`` must be written on operators and ops/both.py's functions,
        so that under create_graph ``kept`` can run it again on tensors: there the values
        depend on the inputs, and the second derivative must see that."""
        values = compute(*inputs, **constants)
        self._keep = (values, compute, constants)
        return values

    def kept(self, *inputs):
        """In backward: what ``keep`` computed; under create_graph computed again from
        ``inputs`` (the tensors of saved_tensors)."""
        values, compute, constants = self._keep
        return compute(*inputs, **constants) if _graph_backward else values

    def _graph_node_of(self, array):
        """A saved array as a tensor in the graph: the input it is (the leaf itself, or a tensor
        made by the op that made it), or this op's output. An array alive in _saved has the
        id it had in forward, and no other array alive then had it: the ids tell which it is."""
        if id(array) in self.input_ids:
            parent = self.parents[self.input_ids.index(id(array))]
        elif id(array) == self.output_id:
            parent = self
        else:
            raise GradientError(f"{self.name}.forward saved an array that is neither one of its inputs nor its "
                                f"output: save_for_backward takes those; compute intermediate values with "
                                f"self.keep(...)")
        if isinstance(parent, Tensor):
            return parent
        t = Tensor(array)
        if parent is not None:
            t._ctx, t.requires_grad = parent, True
        return t

    @property
    def name(self):
        return type(self).__name__

    @classmethod
    def apply(cls, *inputs, **params):
        tensors = _as_tensors(inputs)
        # The one dispatch point of the two rooms: an installed kernel choice (the fast room
        # installs one when it is imported) may run the op as a twin, a subclass with the
        # same inputs and outputs; otherwise the code of cls itself.
        fn = (cls if _kernel_choice is None else _kernel_choice(cls, tensors[0].data if tensors else None))()
        needs = tuple([t.requires_grad for t in tensors]) if _grad_enabled else ()
        requires_grad = True in needs
        arrays = [t.data for t in tensors]
        if requires_grad:
            if len(tensors) > 1:
                _check_same_float_dtype(cls.__name__, tensors)
                if arrays[0] is arrays[1] or (len(arrays) > 2 and len(set(map(id, arrays))) < len(arrays)):
                    _distinct_arrays(arrays, tensors)  # one array behind two inputs
            fn.needs_input_grad = needs
        else:
            fn.needs_input_grad = (False,) * len(tensors)
        result = fn.forward(*arrays, **params)
        out = Tensor(result)
        if getattr(result, "base", None) is not None:  # a view of some memory: of an input's?
            _share_version_with_viewed_input(out, result, tensors)
        if requires_grad:
            out.requires_grad = True
            out._ctx = fn
            fn.parents = tuple(map(_node_of, tensors))            # the graph's edges
            fn.output_meta = (out.data.shape, out.data.dtype)     # what its gradient must fit
            fn.input_refs = tuple(map(weakref.ref, tensors))      # for the in-place check,
            fn.input_versions = tuple(map(_version_of, tensors))  # without keeping them alive
            fn.output_id = id(result)                             # which saved array is which:
            if fn._saved is not None:                             # (see _graph_node_of)
                fn.input_ids = tuple(map(id, arrays))
        return out

    def release(self):
        """Drop saved arrays and input references once the graph has been used."""
        self.__dict__.clear()
        self._freed = True


def _memory_owner(array):
    return array if array.base is None else array.base  # (NumPy and CuPy keep the owner in base)


def _share_version_with_viewed_input(out, result, tensors):
    owner = _memory_owner(result)
    for t in tensors:
        if t.data is owner or _memory_owner(t.data) is owner:
            out._versions = t._version_counter()
            return


def _distinct_arrays(arrays, tensors):
    """Two inputs with the same array but different tensors (``x * x.detach()``) get array
    objects of their own, so that save_for_backward can tell which input it was given.
    """
    for i in range(1, len(arrays)):
        for j in range(i):
            if arrays[i] is arrays[j] and tensors[i] is not tensors[j]:
                arrays[i] = arrays[i].view()
                break


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
    """The chain rule, node by node from the roots back, in three steps:

        1. a node's gradient is complete when its turn comes (every op that used its output
           comes later in the graph, so earlier in this walk): its tensor receives it;
        2. an op's backward turns it into one gradient per input;
        3. each input adds its gradient to what it has received so far.

    Step 1 is where the extras live (`_arrive`): hooks, ``.grad`` for leaves, and with
    ``capture`` (grad()) the gradients returned by node id instead of written to ``.grad``.
    With ``create_graph`` the gradients are tensors and each backward runs on tensors
    (`_pass_back`), recorded like a forward pass, so they can be differentiated again;
    the graph is then kept, for the backward that will walk it."""
    grads, nodes = _root_gradients(roots, root_grads, as_tensors=create_graph)
    wanted = None if capture is None else {id(_node_of(t)) for t in capture}
    captured = {}
    try:
        with _building_graph(create_graph):
            for node in reversed(_topological_order(nodes)):
                g = grads.pop(id(node), None)
                if g is None:
                    continue
                g = _arrive(node, g, wanted, captured)                                # 1
                if not isinstance(node, Function):
                    continue  # a leaf: nothing further back
                _pass_back(node, g, grads, create_graph)                              # 2 and 3
                if not retain_graph and not create_graph:
                    node.release()
    except BaseException:
        _end_of_backward.clear()  # a failed backward's callbacks must not run after the next one
        raise
    while _end_of_backward:
        _end_of_backward.pop(0)()
    return captured


@contextlib.contextmanager
def _building_graph(create_graph):
    """Inside: ops record a graph (even under no_grad) and saved values come back as tensors."""
    global _graph_backward
    if not create_graph:
        yield
        return
    previous, _graph_backward = _graph_backward, True
    try:
        with set_grad_enabled(True):
            yield
    finally:
        _graph_backward = previous


def _pass_back(fn, g, grads, create_graph):
    """Steps 2 and 3 for op ``fn``: its backward turns ``g`` into one gradient per input, each
    checked against the input's shape and dtype, and each input that wants one adds it to
    what it has received so far (``grads``, by node id)."""
    if create_graph:
        _check_differentiable(fn)
    _check_versions(fn)
    input_grads = fn.backward(g)
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    if len(input_grads) != len(fn.parents):
        raise GradientError(f"{fn.name}.backward has a bug: returned {len(input_grads)} gradients "
                            f"for {len(fn.parents)} inputs")
    for i, parent in enumerate(fn.parents):
        if input_grads[i] is None or parent is None or not fn.needs_input_grad[i]:
            continue
        input_grad = _checked_gradient(fn, i, parent, input_grads[i])
        key = id(parent)
        grads[key] = input_grad if key not in grads else grads[key] + input_grad


def _check_differentiable(fn):
    """Refuse, naming the op, a backward that cannot build a graph: one whose class says so
    (a fast twin's array kernels), or one whose forward kept an input or its output on
    ``self`` instead of saving it (its backward would take that array for a constant, and
    the second derivative would be silently wrong)."""
    if not type(fn).differentiable_backward:
        raise RuntimeError(f"{fn.name} cannot be differentiated twice (create_graph=True): its backward works on "
                           f"arrays only (differentiable_backward = False). If it is a fast kernel, run the model "
                           f"under minigrad.use_kernels('reference') (or MINIGRAD_KERNELS=reference)")
    inputs = [ref() for ref in fn.input_refs]
    input_ids = vars(fn).get("input_ids", ())
    for name, value in vars(fn).items():
        if not hasattr(value, "dtype") or isinstance(value, Tensor):
            continue  # not an array
        # an array kept on self since forward: while it lives, no other array has its id
        if id(value) in input_ids or any(t is not None and value is t.data for t in inputs):
            which = "an input"
        elif id(value) == fn.output_id:
            which = "its output"
        else:
            continue
        raise RuntimeError(f"{fn.name} cannot be differentiated twice (create_graph=True): its forward kept "
                           f"{which} as self.{name}, which its backward would take for a constant; save it "
                           f"with self.save_for_backward(...) and read it back from self.saved_tensors")


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


def _version_of(t):
    versions = t._versions  # (the _version property, without its cost: this runs for every op's inputs)
    return versions[0] if versions else 0


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

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_retains_grad", "_versions", "_hooks", "__weakref__")
    __array_priority__ = 1000  # numpy_array * tensor calls Tensor.__rmul__, not NumPy's

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        if type(data) is np.ndarray and dtype is None and device is None:  # the hot path: op outputs
            self.data, self.grad, self._ctx, self._retains_grad, self.requires_grad = data, None, None, False, False
            self._versions, self._hooks = None, None
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
        self._versions = None  # [changes in place], shared with its views (see _version)
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
        """The same data, cut from the graph (no gradient flows through it). It shares the
        version counter, as a view does: changing it in place is seen by the graph."""
        out = Tensor(self.data)
        out._versions = self._version_counter()
        return out

    # ----- the version counter ------------------------------------------------------------
    @property
    def _version(self):
        """How many in-place changes this tensor's memory has seen. A view (a basic slice, a
        reshape, a transpose, detach) shares the counter of the tensor it views, as in
        PyTorch, so that ``b = a[0:2]; loss = (w * b).sum(); a.add_(1)`` makes backward
        refuse instead of using the changed values of b."""
        return 0 if self._versions is None else self._versions[0]

    def _version_counter(self):
        if self._versions is None:
            self._versions = [0]
        return self._versions

    def _bump_version(self):
        self._version_counter()[0] += 1

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

    # ----- in place: change this tensor's data ------------------------------------------
    def modify_in_place(self, new_values, op):
        """Write ``new_values`` into this tensor's data (broadcast to its shape, in its dtype)
        and count the change, so that a backward that used the old values refuses to run.

        As in PyTorch, a leaf that requires grad can be changed in place only inside
        ``no_grad()`` (an optimizer step: ``p -= lr * p.grad``). A tensor inside a graph
        (``h = w * 2; h.add_(1)``) is changed by the ops' in-place methods, which record the
        change as an op (ops/methods.py); this engine method writes plain values only."""
        self._check_in_place(new_values, op)
        values = backend.get_array_module(self.data).asarray(_data(new_values))
        if np.broadcast_shapes(values.shape, self.shape) != self.shape:
            raise RuntimeError(f"{op}: a result of shape {values.shape} cannot be written into a tensor of shape {self.shape}")
        self.data[...] = values
        self._bump_version()
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
        self._set_items(index, value)

    def _set_items(self, index, value):
        if isinstance(index, tuple):
            index = tuple(_data(i) for i in index)
        else:
            index = _data(index)
        self._check_in_place(value, "__setitem__")
        self.data[index] = _data(value)  # only the indexed elements are written
        self._bump_version()

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
