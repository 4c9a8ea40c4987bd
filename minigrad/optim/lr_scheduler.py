"""Learning-rate schedules. Call ``scheduler.step()`` once per epoch (StepLR, Cosine) or once
per batch (OneCycleLR), after ``optimizer.step()``, as in PyTorch.

Two kinds, as in PyTorch:
- *chainable* schedules (StepLR, MultiStepLR, ExponentialLR, LinearLR, CosineAnnealingLR)
  change the rate the group has now, step by step (lr ← lr · γ). A rate set by hand
  (``opt.param_groups[0]['lr'] = 0.01``) is kept and scaled from there, and two of them can
  act on one optimizer (a warm-up, then a decay);
- *closed-form* schedules (LambdaLR, OneCycleLR) set lr = f(base lr, step) at every step, so
  they overwrite a hand-set rate (PyTorch's does too).
"""
import math
import numbers


class LRScheduler:
    def __init__(self, optimizer):
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = 0
        self._apply()

    def next_lr(self, lr, base_lr, step):
        """The group's rate at ``step``, from its rate now (``lr``) and its base rate."""
        return self.lr_at(base_lr, step)

    def lr_at(self, base_lr, step):
        raise NotImplementedError

    def _apply(self):
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.next_lr(group["lr"], base, self.last_epoch)

    def step(self):
        self.last_epoch += 1
        self._apply()

    def get_last_lr(self):
        return [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self):
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state):
        """The schedule's position; the rates themselves come back with the optimizer's state."""
        self.last_epoch, self.base_lrs = state["last_epoch"], list(state["base_lrs"])


class _Chainable(LRScheduler):
    def next_lr(self, lr, base_lr, step):
        return lr * self.factor(step)

    def factor(self, step):
        """lr(step) / lr(step - 1); at step 0, what the schedule does to the starting rate."""
        raise NotImplementedError


class StepLR(_Chainable):
    """lr = base · gamma^(epoch // step_size): × gamma every step_size epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def factor(self, step):
        return self.gamma if step > 0 and step % self.step_size == 0 else 1.0


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base - eta_min) · (1 + cos(π · t / T_max)) / 2, reached step by step:
    the distance to eta_min shrinks by the ratio of successive cosine terms (PyTorch's
    recursive form, so that a rate set by hand is annealed from where it was set)."""

    def __init__(self, optimizer, T_max, eta_min=0.0):  # noqa: N803 - PyTorch's name
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer)

    def next_lr(self, lr, base_lr, step):
        if step == 0:
            return lr
        if (step - 1 - self.T_max) % (2 * self.T_max) == 0:  # leaving the trough: the ratio is 0/0
            return lr + (base_lr - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
        ratio = (1 + math.cos(math.pi * step / self.T_max)) / (1 + math.cos(math.pi * (step - 1) / self.T_max))
        return self.eta_min + ratio * (lr - self.eta_min)


class MultiStepLR(_Chainable):
    """lr = base · gamma^(number of milestones reached)."""

    def __init__(self, optimizer, milestones, gamma=0.1):
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer)

    def factor(self, step):
        return self.gamma ** self.milestones.count(step)


class ExponentialLR(_Chainable):
    """lr = base · gamma^epoch."""

    def __init__(self, optimizer, gamma):
        self.gamma = gamma
        super().__init__(optimizer)

    def factor(self, step):
        return self.gamma if step > 0 else 1.0


class LambdaLR(LRScheduler):
    """lr = base · lr_lambda(epoch), for any schedule written as a function."""

    def __init__(self, optimizer, lr_lambda):
        self.lr_lambda = lr_lambda
        super().__init__(optimizer)

    def lr_at(self, base_lr, step):
        return base_lr * self.lr_lambda(step)


class LinearLR(_Chainable):
    """lr = base · f(t), f going linearly from start_factor to end_factor over total_iters
    steps, then staying there; step by step that is lr ← lr · f(t) / f(t-1)."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1], "
                             f"got {start_factor} and {end_factor} (PyTorch's rule)")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer)

    def factor(self, step):
        if step == 0:
            return self.start_factor
        if step > self.total_iters:
            return 1.0
        slope = self.end_factor - self.start_factor
        return 1.0 + slope / (self.total_iters * self.start_factor + (step - 1) * slope)


class ReduceLROnPlateau:
    """Multiply the learning rate by ``factor`` when the metric passed to step(metric) has not
    improved (by more than a relative ``threshold``) for ``patience`` epochs, as PyTorch's
    default mode ('min', 'rel'); then wait ``cooldown`` epochs; never below ``min_lr``."""

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, cooldown=0, min_lr=0.0):
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be below 1, got {factor}")
        self.optimizer, self.mode, self.factor, self.patience = optimizer, mode, factor, patience
        self.threshold, self.cooldown, self.min_lr = threshold, cooldown, min_lr
        self.best, self.bad_epochs, self.cooldown_left, self.last_epoch = None, 0, 0, 0

    def _improved(self, metric):
        if self.best is None:
            return True
        if self.mode == "min":
            return metric < self.best * (1 - self.threshold)
        return metric > self.best * (1 + self.threshold)

    def step(self, metric):
        metric = float(metric)
        self.last_epoch += 1
        if self._improved(metric):
            self.best, self.bad_epochs = metric, 0
        else:
            self.bad_epochs += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_epochs = 0
        if self.bad_epochs > self.patience:
            for group in self.optimizer.param_groups:
                group["lr"] = max(group["lr"] * self.factor, self.min_lr)
            self.cooldown_left, self.bad_epochs = self.cooldown, 0

    def get_last_lr(self):
        return [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self):
        return {"best": self.best, "bad_epochs": self.bad_epochs, "cooldown_left": self.cooldown_left,
                "last_epoch": self.last_epoch, "lrs": self.get_last_lr()}

    def load_state_dict(self, state):
        self.best, self.bad_epochs = state["best"], state["bad_epochs"]
        self.cooldown_left, self.last_epoch = state["cooldown_left"], state["last_epoch"]
        for group, lr in zip(self.optimizer.param_groups, state["lrs"]):
            group["lr"] = lr


class OneCycleLR(LRScheduler):
    """Smith's one-cycle policy: warm up from max_lr/div_factor to max_lr over the first
    pct_start of the steps, then anneal (cosine, or linear with ``anneal_strategy='linear'``)
    to max_lr/(div_factor·final_div_factor). With ``three_phase`` the rate comes back down to
    its start over as many steps as the warm-up took, and only then anneals to the minimum.
    With cycle_momentum, momentum (or Adam's β1) moves the opposite way, between
    max_momentum and base_momentum. The rate is a function of the step (closed form)."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False):  # PyTorch's order
        if total_steps is None:  # PyTorch's other way to say it
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            total_steps = epochs * steps_per_epoch
        if not isinstance(total_steps, numbers.Integral) or total_steps < 1:
            raise ValueError(f"OneCycleLR: total_steps must be a positive integer, got {total_steps!r}")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.max_lr, self.total_steps = max_lr, total_steps
        self.div_factor, self.final_div_factor = div_factor, final_div_factor
        self.anneal_strategy, self.three_phase = anneal_strategy, three_phase
        self.cycle_momentum = cycle_momentum
        self.base_momentum, self.max_momentum = base_momentum, max_momentum
        warmup_end = float(pct_start * total_steps) - 1
        # (last step of the phase, rate from, rate to, momentum from, momentum to); rates as
        # names: the start ('initial'), the peak ('max') and the end ('min')
        if three_phase:
            self.phases = [(warmup_end, "initial", "max", max_momentum, base_momentum),
                           (2 * warmup_end, "max", "initial", base_momentum, max_momentum),
                           (total_steps - 1, "initial", "min", max_momentum, max_momentum)]
        else:
            self.phases = [(warmup_end, "initial", "max", max_momentum, base_momentum),
                           (total_steps - 1, "max", "min", base_momentum, max_momentum)]
        for group in optimizer.param_groups:
            group["initial_lr"] = max_lr / div_factor
        super().__init__(optimizer)

    def anneal(self, start, end, fraction):
        if self.anneal_strategy == "linear":
            return start + (end - start) * fraction
        return end + (start - end) * (1 + math.cos(math.pi * fraction)) / 2

    def _phase(self, step):
        """(the phase step is in, the fraction of it done)."""
        start = 0
        for index, phase in enumerate(self.phases):
            end = phase[0]
            if step <= end or index == len(self.phases) - 1:
                return phase, (step - start) / (end - start)
            start = end

    def lr_at(self, base_lr, step):
        if step > self.total_steps:  # the step after the last batch is allowed, as in PyTorch
            raise ValueError(f"OneCycleLR stepped {step} times, beyond total_steps={self.total_steps}")
        rates = {"initial": base_lr, "max": self.max_lr, "min": base_lr / self.final_div_factor}
        (_, start, end, _, _), fraction = self._phase(step)
        return self.anneal(rates[start], rates[end], fraction)

    def _apply(self):
        super()._apply()
        if not self.cycle_momentum:
            return
        (_, _, _, start, end), fraction = self._phase(self.last_epoch)
        momentum = self.anneal(start, end, fraction)
        for group in self.optimizer.param_groups:
            if "betas" in group:
                group["betas"] = (momentum, group["betas"][1])
            else:
                group["momentum"] = momentum
