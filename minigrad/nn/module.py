"""Module: the base class of layers and models, as in PyTorch.

A Module finds its parameters, buffers and sub-modules by looking at the attributes set in
``__init__``: assigning a Parameter registers it, assigning a Module registers it as a child.
"""
from collections import OrderedDict, namedtuple

import numpy as np

from .. import backend
from ..tensor import Tensor


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])  # PyTorch's name and fields


class Parameter(Tensor):
    """A tensor that is a learnable parameter of a Module (requires_grad by default)."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() before setting {name!r}")
        if name in self._buffers and not isinstance(value, (Parameter, Module)):
            # ``self.n = self.n + 1`` updates the buffer, as in PyTorch: it stays in state_dict(), to()
            # and DDP's broadcast.
            self._buffers[name] = self._buffer_value(name, value)
            object.__setattr__(self, name, self._buffers[name])
            return
        target = self._parameters if isinstance(value, Parameter) else self._modules if isinstance(value, Module) else None
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not target:  # (replacing keeps the entry's place: a Sequential keeps its order)
                registry.pop(name, None)
        if isinstance(value, (list, tuple, dict)):
            items = value.values() if isinstance(value, dict) else value
            if any(isinstance(v, (Module, Parameter)) for v in items):
                kind = "Module" if any(isinstance(v, Module) for v in items) else "Parameter"
                fix = {"Module": "nn.ModuleDict" if isinstance(value, dict) else "nn.ModuleList",
                       "Parameter": "nn.ParameterList"}[kind]
                raise TypeError(f"{type(self).__name__}.{name}: a plain {type(value).__name__} of {kind}s is not "
                                f"registered, so its parameters would be missing from parameters(), to() and "
                                f"state_dict(); wrap it: self.{name} = {fix}(...)")
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name, array, persistent=True):
        """State that is kept with the model but not learned (BatchNorm's running statistics):
        an array (a Tensor is stored as its array) or None. It moves with to(), DDP broadcasts
        it, and, unless ``persistent=False``, state_dict() saves it."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_buffer: the name must be a non-empty string without '.', got {name!r}")
        if name not in self._buffers and name in self.__dict__:
            raise KeyError(f"register_buffer: attribute {name!r} already exists on {type(self).__name__}")
        self._buffers[name] = self._buffer_value(name, array)
        (self._non_persistent_buffers.discard if persistent else self._non_persistent_buffers.add)(name)
        object.__setattr__(self, name, self._buffers[name])

    def _buffer_value(self, name, value):
        if value is None or backend.is_cupy_array(value) or isinstance(value, np.ndarray):
            return value
        if isinstance(value, np.generic):  # (0-d array arithmetic gives NumPy scalars)
            return np.asarray(value)
        if isinstance(value, Tensor):
            return value.data
        raise TypeError(f"{type(self).__name__}.{name}: cannot assign a {type(value).__name__} to buffer {name!r} "
                        f"(an array, a Tensor or None expected, as in PyTorch)")

    # ----- hooks ----------------------------------------------------------------------
    def register_forward_pre_hook(self, hook):
        """``hook(module, args)`` runs before forward; it may return new args (a tuple, or one
        value). Returns a handle whose ``remove()`` takes the hook off."""
        return _Handle(self._forward_pre_hooks, hook)

    def register_forward_hook(self, hook):
        """``hook(module, args, output)`` runs after forward; it may return a new output."""
        return _Handle(self._forward_hooks, hook)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks):
            return self.forward(*args, **kwargs)
        for hook in list(self._forward_pre_hooks.values()):
            changed = hook(self, args)
            if changed is not None:
                args = changed if isinstance(changed, tuple) else (changed,)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            changed = hook(self, args, output)
            if changed is not None:
                output = changed
        return output

    # ----- traversal ------------------------------------------------------------------
    def named_modules(self, prefix=""):
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            yield name, module
            children = [(f"{name}.{n}" if name else n, m) for n, m in module._modules.items()]
            stack.extend(reversed(children))

    def modules(self):
        return (m for _, m in self.named_modules())

    def children(self):
        return iter(self._modules.values())

    def named_parameters(self, prefix="", recurse=True):
        """(dotted name, parameter) pairs, each parameter once; only this module's own with
        recurse=False."""
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{module_prefix}.{name}" if module_prefix else name), p

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def add_module(self, name, module):
        """Register ``module`` under ``name`` (which need not be an identifier), as in PyTorch."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        setattr(self, name, module)

    register_module = add_module

    def register_parameter(self, name, parameter):
        if parameter is not None and not isinstance(parameter, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter, got {type(parameter).__name__}")
        setattr(self, name, parameter)

    def apply(self, fn):
        """Call fn on every sub-module (children first) and on this one; returns self."""
        for module in reversed(list(self.modules())):
            fn(module)
        return self

    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze every parameter; returns self."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def named_buffers(self, persistent_only=False):
        for prefix, module in self.named_modules():
            for name, b in module._buffers.items():
                if b is not None and not (persistent_only and name in module._non_persistent_buffers):
                    yield (f"{prefix}.{name}" if prefix else name), b

    def buffers(self):
        return (b for _, b in self.named_buffers())

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())

    # ----- modes and devices ----------------------------------------------------------
    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def double(self):
        """Parameters and floating-point buffers to float64 (in place; returns self), as in PyTorch."""
        return self._cast(np.float64)

    def float(self):  # noqa: A003 - PyTorch's name
        """Parameters and floating-point buffers to float32 (in place; returns self)."""
        return self._cast(np.float32)

    def _cast(self, dtype):
        for module in self.modules():
            for p in module._parameters.values():
                p.data, p.grad = p.data.astype(dtype), None
            for name, b in list(module._buffers.items()):
                if b is not None and b.dtype.kind == "f":
                    setattr(module, name, b.astype(dtype))
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def to(self, device):
        """Move every parameter and buffer to 'cpu' or 'cuda' (in place; returns self)."""
        for module in self.modules():
            for p in module._parameters.values():
                p.data = backend.to_device(p.data, device)
                p.grad = None
            for name, b in list(module._buffers.items()):
                if b is not None:
                    setattr(module, name, backend.to_device(b, device))
        return self

    # ----- saving and loading ---------------------------------------------------------
    def state_dict(self):
        """Parameters and buffers by dotted name, as NumPy arrays (so a GPU-trained model's
        state loads on a machine without CuPy)."""
        state = OrderedDict((n, backend.to_numpy(p.data).copy()) for n, p in self.named_parameters())
        state.update((n, backend.to_numpy(b).copy()) for n, b in self.named_buffers(persistent_only=True))
        return state

    def load_state_dict(self, state, strict=True):
        """Copy arrays from ``state`` into this model's parameters and buffers, in place.
        A PyTorch state dict loads too (tensors become arrays; BatchNorm's num_batches_tracked,
        a counter minigrad does not keep, is accepted and ignored). Returns, as PyTorch does,
        the pair (missing_keys, unexpected_keys): ``missing, unexpected = m.load_state_dict(sd,
        strict=False)``; with strict=True either one is an error."""
        state = {name: _as_array(value) for name, value in state.items()
                 if not name.endswith("num_batches_tracked") or name in dict(self.named_buffers())}
        targets = {name: p.data for name, p in self.named_parameters()}
        targets.update(self.named_buffers(persistent_only=True))
        missing = [n for n in targets if n not in state]
        unexpected = [n for n in state if n not in targets]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        for name, array in state.items():
            if name not in targets:
                continue
            target, array = targets[name], np.asarray(backend.to_numpy(array))
            if array.shape != target.shape:
                raise ValueError(f"load_state_dict: {name} has shape {array.shape} in the state but {target.shape} in the model")
            target[...] = backend.to_device(array, backend.device_of(target))
        return IncompatibleKeys(missing, unexpected)

    # ----- printing -------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


class _Handle:
    """What register_*_hook returns: ``handle.remove()`` (or leaving a ``with`` block) takes the
    hook off."""

    _next_id = 0

    def __init__(self, hooks, hook):
        self.hooks, self.id = hooks, _Handle._next_id
        _Handle._next_id += 1
        hooks[self.id] = hook

    def remove(self):
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _as_array(value):
    """An array from a state-dict value: a NumPy or CuPy array, or a PyTorch tensor (through
    its numpy(), without importing PyTorch)."""
    if type(value).__module__.startswith("torch"):
        return value.detach().cpu().numpy()
    return value
