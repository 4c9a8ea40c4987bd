"""Optimizer: the base class. Holds parameter groups (each a dict with its own lr etc., as
in PyTorch, so schedulers can change ``group['lr']``) and per-parameter state."""
import copy

from .. import backend


class Optimizer:
    def __init__(self, params, defaults):
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = defaults
        self.param_groups = []
        for group in groups:
            self.add_param_group(group)
        self.state = {}  # id(parameter) -> dict of arrays (momentum buffers, moments...)

    def add_param_group(self, group):
        """Train more parameters, with their own settings (the rest from the defaults)."""
        group = {**self.defaults, **group, "params": list(group["params"])}
        known = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in known for p in group["params"]):
            raise ValueError("add_param_group: some parameters are in another group already")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    def step(self, closure=None):
        """One update from the current gradients. ``closure`` (PyTorch's): a function that
        recomputes the loss (zero_grad, forward, backward) and returns it; step returns it."""
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.update(p, p.grad.data, self.state.setdefault(id(p), {}), group)
        return loss

    def update(self, p, grad, state, group):
        """Change ``p.data`` in place from its gradient; ``state`` persists between steps."""
        raise NotImplementedError

    # Checkpoints: state is stored by parameter position, as NumPy arrays.
    def state_dict(self):
        order = [p for g in self.param_groups for p in g["params"]]
        state = {
            i: {k: backend.to_numpy(v) if hasattr(v, "shape") else v for k, v in self.state[id(p)].items()}
            for i, p in enumerate(order) if id(p) in self.state
        }
        groups = [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]
        return {"state": state, "param_groups": copy.deepcopy(groups)}

    def load_state_dict(self, state_dict):
        order = [p for g in self.param_groups for p in g["params"]]
        if len(state_dict["param_groups"]) != len(self.param_groups):
            raise ValueError("optimizer state has a different number of parameter groups")
        for group, saved in zip(self.param_groups, state_dict["param_groups"]):
            group.update(saved)
        self.state = {}
        for i, entries in state_dict["state"].items():
            p = order[int(i)]
            self.state[id(p)] = {
                k: backend.to_device(v, p.device) if hasattr(v, "shape") else v for k, v in entries.items()
            }
