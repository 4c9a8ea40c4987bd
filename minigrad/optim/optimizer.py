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
        """Restore the settings of each group (lr, momentum, ...) and each parameter's state.
        Every field is checked first, so that a damaged or edited state is refused (naming
        the field) instead of, say, freezing the optimizer with an empty parameter list."""
        order = [p for g in self.param_groups for p in g["params"]]
        groups, state = _check_state_dict(state_dict, self.param_groups, order)
        for group, saved in zip(self.param_groups, groups):
            group.update(saved)
        self.state = {}
        for i, entries in state.items():
            p = order[int(i)]
            self.state[id(p)] = {
                k: backend.to_device(v, p.device) if hasattr(v, "shape") else v for k, v in entries.items()
            }


def _check_state_dict(state_dict, live_groups, order):
    """(param_groups, state) of a saved optimizer state, each field checked against this
    optimizer: the same groups with the same settings of the same kinds, and per-parameter
    state for parameters that exist, with arrays of their shapes."""
    if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
        raise ValueError("optimizer state: expected the fields 'state' and 'param_groups'")
    groups, state = state_dict["param_groups"], state_dict["state"]
    if not isinstance(groups, list) or len(groups) != len(live_groups):
        raise ValueError(f"optimizer state: {len(groups) if isinstance(groups, list) else 'no'} parameter groups, "
                         f"this optimizer has {len(live_groups)}")
    for k, (saved, live) in enumerate(zip(groups, live_groups)):
        expected = set(live) - {"params"}
        if not isinstance(saved, dict) or set(saved) != expected:
            found = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
            raise ValueError(f"optimizer state: param_groups[{k}] has the fields {found}, expected {sorted(expected)}")
        for name, value in saved.items():
            if not _same_kind(value, live[name]):
                raise ValueError(f"optimizer state: param_groups[{k}][{name!r}] = {value!r} is not a setting of the "
                                 f"kind this optimizer has ({live[name]!r})")
    if not isinstance(state, dict):
        raise ValueError("optimizer state: 'state' is not a dict")
    for i, entries in state.items():
        if not str(i).isdigit() or int(i) >= len(order) or not isinstance(entries, dict):
            raise ValueError(f"optimizer state: state[{i!r}] names no parameter of this optimizer ({len(order)})")
        for name, value in entries.items():
            if hasattr(value, "shape") and value.shape not in ((), order[int(i)].shape):
                raise ValueError(f"optimizer state: state[{i}][{name!r}] has shape {value.shape}, the parameter "
                                 f"{order[int(i)].shape}")
            if not hasattr(value, "shape") and not isinstance(value, (int, float)):
                raise ValueError(f"optimizer state: state[{i}][{name!r}] is a {type(value).__name__}")
    return groups, state


def _same_kind(value, live):
    """A saved setting fits when it is of the live one's kind: a finite number >= 0 for a
    number (lr, momentum, eps...), a bool for a bool, a pair of numbers for a pair (betas)."""
    if isinstance(live, bool) or live is None:
        return type(value) is type(live)
    if isinstance(live, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < float("inf")
    if isinstance(live, (tuple, list)):
        return (isinstance(value, (tuple, list)) and len(value) == len(live)
                and all(_same_kind(v, w) for v, w in zip(value, live)))
    return type(value) is type(live)
