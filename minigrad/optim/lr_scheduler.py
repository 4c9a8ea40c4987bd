"""Learning-rate schedules. Call ``scheduler.step()`` once per epoch (StepLR, Cosine) or once
per batch (OneCycleLR), after ``optimizer.step()``, as in PyTorch."""
import math


class LRScheduler:
    def __init__(self, optimizer):
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = 0
        self._apply()

    def lr_at(self, base_lr, step):
        raise NotImplementedError

    def _apply(self):
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_at(base, self.last_epoch)

    def step(self):
        self.last_epoch += 1
        self._apply()

    def get_last_lr(self):
        return [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self):
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state):
        self.last_epoch, self.base_lrs = state["last_epoch"], list(state["base_lrs"])
        self._apply()


class StepLR(LRScheduler):
    """lr = base · gamma^(epoch // step_size)."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def lr_at(self, base_lr, step):
        return base_lr * self.gamma ** (step // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base - eta_min) · (1 + cos(π · t / T_max)) / 2."""

    def __init__(self, optimizer, T_max, eta_min=0.0):  # noqa: N803 - PyTorch's name
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer)

    def lr_at(self, base_lr, step):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * step / self.T_max)) / 2


class MultiStepLR(LRScheduler):
    """lr = base · gamma^(number of milestones reached)."""

    def __init__(self, optimizer, milestones, gamma=0.1):
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer)

    def lr_at(self, base_lr, step):
        return base_lr * self.gamma ** sum(step >= m for m in self.milestones)


class ExponentialLR(LRScheduler):
    """lr = base · gamma^epoch."""

    def __init__(self, optimizer, gamma):
        self.gamma = gamma
        super().__init__(optimizer)

    def lr_at(self, base_lr, step):
        return base_lr * self.gamma ** step


class LambdaLR(LRScheduler):
    """lr = base · lr_lambda(epoch), for any schedule written as a function."""

    def __init__(self, optimizer, lr_lambda):
        self.lr_lambda = lr_lambda
        super().__init__(optimizer)

    def lr_at(self, base_lr, step):
        return base_lr * self.lr_lambda(step)


class LinearLR(LRScheduler):
    """lr = base · factor, the factor going linearly from start_factor to end_factor over
    total_iters steps, then staying there."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer)

    def lr_at(self, base_lr, step):
        fraction = min(step, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * fraction)


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
    pct_start of the steps, then anneal (cosine) to max_lr/(div_factor·final_div_factor).
    With cycle_momentum, momentum (or Adam's β1) moves the opposite way, between
    max_momentum and base_momentum."""

    def __init__(self, optimizer, max_lr, total_steps=None, pct_start=0.3, div_factor=25.0,
                 final_div_factor=1e4, cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 epochs=None, steps_per_epoch=None):
        if total_steps is None:  # PyTorch's other way to say it
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            total_steps = epochs * steps_per_epoch
        self.max_lr, self.total_steps = max_lr, total_steps
        self.div_factor, self.final_div_factor = div_factor, final_div_factor
        self.warmup_end = float(pct_start * total_steps) - 1
        self.cycle_momentum = cycle_momentum
        self.base_momentum, self.max_momentum = base_momentum, max_momentum
        for group in optimizer.param_groups:
            group["initial_lr"] = max_lr / div_factor
        super().__init__(optimizer)

    @staticmethod
    def _cosine(start, end, fraction):
        return end + (start - end) * (1 + math.cos(math.pi * fraction)) / 2

    def _phase(self, step):
        """(fraction of the current phase done, is it the warm-up)."""
        if step <= self.warmup_end:
            return step / self.warmup_end, True
        return (step - self.warmup_end) / (self.total_steps - 1 - self.warmup_end), False

    def lr_at(self, base_lr, step):
        if step > self.total_steps:  # the step after the last batch is allowed, as in PyTorch
            raise ValueError(f"OneCycleLR stepped {step} times, beyond total_steps={self.total_steps}")
        fraction, warmup = self._phase(step)
        if warmup:
            return self._cosine(base_lr, self.max_lr, fraction)
        return self._cosine(self.max_lr, base_lr / self.final_div_factor, fraction)

    def _apply(self):
        super()._apply()
        if not self.cycle_momentum:
            return
        fraction, warmup = self._phase(self.last_epoch)
        momentum = (self._cosine(self.max_momentum, self.base_momentum, fraction) if warmup
                    else self._cosine(self.base_momentum, self.max_momentum, fraction))
        for group in self.optimizer.param_groups:
            if "betas" in group:
                group["betas"] = (momentum, group["betas"][1])
            else:
                group["momentum"] = momentum
