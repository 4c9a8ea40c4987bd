"""Containers that register what they hold, as in PyTorch: ModuleList, ModuleDict, ParameterList.

A Module finds its parameters through its attributes. A plain Python list of layers is not
a Module, so its layers' parameters would be invisible to parameters(), to(), state_dict()
and the optimizer; Module refuses such an attribute and names these containers instead.

    self.blocks = nn.ModuleList([nn.Linear(8, 8) for _ in range(3)])   # blocks.0.weight, ...
    self.heads = nn.ModuleDict({"cls": nn.Linear(8, 10), "box": nn.Linear(8, 4)})
    self.scales = nn.ParameterList([nn.Parameter(np.ones(8, np.float32)) for _ in range(3)])
"""
from .module import Module, Parameter


class ModuleList(Module):
    """A list of Modules, registered under the names "0", "1", ... (PyTorch's state-dict keys)."""

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    def _check(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__} holds Modules, got {type(module).__name__}")
        return module

    def append(self, module):
        setattr(self, str(len(self)), self._check(module))
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        items = list(self)
        items.insert(index, self._check(module))
        self._rebuild(items)

    def _rebuild(self, items):
        for name in list(self._modules):
            delattr(self, name)
            self._modules.pop(name, None)
        self.extend(items)

    def __getitem__(self, index):
        items = list(self._modules.values())
        return ModuleList(items[index]) if isinstance(index, slice) else items[index]

    def __setitem__(self, index, module):
        items = list(self)
        items[index] = self._check(module)
        self._rebuild(items)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList is a container: call its modules in your own forward()")


class ModuleDict(Module):
    """A dict of Modules, registered under their keys."""

    def __init__(self, modules=None):
        super().__init__()
        for name, module in dict(modules or {}).items():
            self[name] = module

    def __setitem__(self, name, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict holds Modules, got {type(module).__name__} for key {name!r}")
        setattr(self, name, module)

    def __getitem__(self, name):
        return self._modules[name]

    def __contains__(self, name):
        return name in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict is a container: call its modules in your own forward()")


class ParameterList(Module):
    """A list of Parameters, registered under the names "0", "1", ..."""

    def __init__(self, parameters=()):
        super().__init__()
        for p in parameters:
            self.append(p)

    def append(self, parameter):
        if not isinstance(parameter, Parameter):
            raise TypeError(f"ParameterList holds Parameters, got {type(parameter).__name__}")
        setattr(self, str(len(self)), parameter)
        return self

    def __getitem__(self, index):
        return list(self._parameters.values())[index]

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())
