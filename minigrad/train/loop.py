"""The training loop the examples share: fit, evaluate, accuracy — one screen each.

Per epoch: train on every batch (progress bar with live loss and images/s), then evaluate
on the validation set, record both in ``history``, keep the best weights (chosen on
validation, never on test data), and write a checkpoint from which ``resume=True`` continues.

Under a process group (minigrad.distributed, model wrapped in DistributedDataParallel) the
same code trains on every rank: metrics are summed over the ranks before they are recorded,
so every rank sees the same history and picks the same best epoch; rank 0 alone shows
progress bars, prints, and writes the checkpoint and the history (every rank resumes from
that one checkpoint).
"""
import csv
import json
import pathlib
import time

import numpy as np

from .. import distributed, ops, random
from ..backend import to_numpy
from ..nn.utils import clip_grad_norm_
from ..tensor import Tensor, no_grad
from . import checkpoint


class ResumeError(ValueError):
    """A checkpoint that cannot continue this run: another model, or other schedule settings."""


def accuracy(scores, labels):
    """Fraction of rows whose highest score is at the true label, over the *whole* set:
    mean over samples of [argmax_c scores[i, c] == labels[i]]  (argmax along axis 1, per row)."""
    scores, labels = to_numpy(getattr(scores, "data", scores)), to_numpy(getattr(labels, "data", labels))
    if scores.ndim != 2 or len(scores) != len(labels):
        raise ValueError(f"accuracy: expected scores (N, C) and labels (N,), got shapes {scores.shape} and {labels.shape}")
    return float((scores.argmax(axis=1) == labels).mean())


def evaluate(model, loader, loss_fn=ops.cross_entropy, return_predictions=False):
    """Mean loss and accuracy of ``model`` over every sample of ``loader`` (eval mode, no graph)."""
    was_training = model.training
    model.eval()
    total_loss, correct, count, predictions = 0.0, 0, 0, []  # summed over the ranks below
    with no_grad():
        for x, y in loader:
            scores = model(Tensor(x))
            total_loss += float(loss_fn(scores, y, reduction="sum").item())
            predicted = to_numpy(scores.data.argmax(axis=1))
            correct += int((predicted == to_numpy(y)).sum())
            count += len(y)
            predictions.append(predicted)
    model.train(was_training)
    total_loss, correct, count = distributed.reduce_numbers([total_loss, correct, count])
    result = {"loss": total_loss / count, "accuracy": correct / count}
    if return_predictions:
        result["predictions"] = np.concatenate(predictions)
    return result


class Trainer:
    """Train ``model`` with ``optimizer``; see ``fit``.

    scheduler            a learning-rate schedule, stepped once per epoch, or per batch if
                         ``scheduler_per_batch`` (OneCycleLR).
    checkpoint_path      where to write the checkpoint after every epoch (atomically).
    out_dir              where history.json / history.csv go.
    """

    def __init__(self, model, optimizer, loss_fn=ops.cross_entropy, scheduler=None, scheduler_per_batch=False,
                 checkpoint_path=None, out_dir=None, clip_grad_norm=None, progress=True, skip_nonfinite=False):
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.scheduler, self.scheduler_per_batch = scheduler, scheduler_per_batch
        self.checkpoint_path = pathlib.Path(checkpoint_path) if checkpoint_path else None
        self.out_dir = pathlib.Path(out_dir) if out_dir else None
        self.clip_grad_norm = clip_grad_norm
        self.lead = distributed.get_rank() == 0  # the rank that prints and writes files
        self.progress = progress and self.lead
        self.skip_nonfinite, self.skipped = skip_nonfinite, 0
        self.history, self.best = [], {"epoch": 0, "val_accuracy": -1.0, "state": None}

    def fit(self, train_loader, val_loader=None, epochs=1, resume=False, patience=None):
        """Train for ``epochs`` (continuing from the checkpoint with ``resume=True``); return
        the history. A loss that is NaN or infinite stops training with an error naming the
        epoch and step, unless the Trainer was made with ``skip_nonfinite=True``, which skips
        such batches (no update) and counts them in ``skipped``."""
        self.run = self.describe_run(train_loader)
        start = self.restore() + 1 if resume and self.checkpoint_path and self.checkpoint_path.exists() else 1
        for epoch in range(start, epochs + 1):
            train_loader.set_epoch(epoch)
            self.epoch = epoch
            record = {"epoch": epoch, **self.train_one_epoch(train_loader, f"epoch {epoch}/{epochs}")}
            if val_loader is not None:
                val = evaluate(self.model, val_loader, self.loss_fn)
                record.update(val_loss=val["loss"], val_accuracy=val["accuracy"])
            self.history.append(record)
            if record.get("val_accuracy", record["train_accuracy"]) > self.best["val_accuracy"]:
                self.best = {"epoch": epoch, "val_accuracy": record.get("val_accuracy", record["train_accuracy"]),
                             "state": self.plain_model.state_dict()}
            self.report(record)
            self.save()
            if patience and epoch - self.best["epoch"] >= patience:
                if self.lead:
                        print(f"early stopping: no validation improvement for {patience} epochs")
                break
        return self.history

    @property
    def plain_model(self):
        """The model itself, not its DistributedDataParallel wrapper: checkpoints then load
        into a single-process run too."""
        from ..distributed.ddp import DistributedDataParallel

        return self.model.module if isinstance(self.model, DistributedDataParallel) else self.model

    def train_one_epoch(self, loader, description):
        self.model.train()
        total_loss, correct, count = 0.0, 0, 0
        start = time.perf_counter()
        bar = _progress(loader, description, self.progress)
        for step, (x, y) in enumerate(bar, 1):
            scores = self.model(Tensor(x))
            loss = self.loss_fn(scores, y)
            batch_loss = float(loss.item())
            if distributed.is_initialized():  # every rank must skip, or stop, together
                batch_loss = batch_loss if distributed.reduce_numbers([np.isfinite(batch_loss)], "min")[0] else np.nan
            if not np.isfinite(batch_loss):
                if self.skip_nonfinite:
                    self.skipped += 1
                    continue
                raise FloatingPointError(
                    f"epoch {getattr(self, 'epoch', '?')}, step {step}: the loss is {batch_loss}. Check the data for "
                    f"NaN or infinite values and lower the learning rate; Trainer(skip_nonfinite=True) skips such "
                    f"batches instead. The last checkpoint is the end of the previous epoch.")
            self.optimizer.zero_grad()
            loss.backward()
            if self.clip_grad_norm:
                clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
            self.optimizer.step()
            if self.scheduler is not None and self.scheduler_per_batch:
                self.scheduler.step()
            total_loss += batch_loss * len(y)
            correct += int((to_numpy(scores.data.argmax(axis=1)) == to_numpy(y)).sum())
            count += len(y)
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{batch_loss:.4f}", img_per_s=f"{count / (time.perf_counter() - start):.0f}")
        if self.scheduler is not None and not self.scheduler_per_batch:
            self.scheduler.step()
        seconds = time.perf_counter() - start
        total_loss, correct, count = distributed.reduce_numbers([total_loss, correct, count])
        if count == 0:
            raise FloatingPointError(f"epoch {getattr(self, 'epoch', '?')}: every batch had a non-finite loss")
        return {"train_loss": total_loss / count, "train_accuracy": correct / count,
                "lr": self.optimizer.param_groups[0]["lr"], "seconds": seconds, "samples_per_second": count / seconds}

    def report(self, record):
        if not self.lead:
            return
        text = f"epoch {record['epoch']}: train loss {record['train_loss']:.4f} acc {record['train_accuracy']:.4f}"
        if "val_loss" in record:
            text += f" | val loss {record['val_loss']:.4f} acc {record['val_accuracy']:.4f}"
        print(text + f" | {record['samples_per_second']:.0f} samples/s", flush=True)
        if self.out_dir:
            save_history(self.history, self.out_dir)

    # ----- checkpoints ----------------------------------------------------------------
    def save(self):
        if not self.checkpoint_path or not self.lead:
            return
        checkpoint.save_atomically({
            "epoch": self.history[-1]["epoch"],
            "model": self.plain_model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "rng": random.get_state(),
            "history": self.history,
            "best": self.best,
            "run": self.run,
        }, self.checkpoint_path)

    def describe_run(self, train_loader):
        """What fixes the shape of this run's schedule (batches per epoch, the scheduler's
        settings; a one-cycle schedule's total_steps follows the number of epochs), so that a
        resume can check it is the same. The number of epochs alone may grow: a run can be
        extended when its schedule does not depend on it."""
        run = {"steps_per_epoch": len(train_loader)}
        if self.scheduler is not None:
            run["scheduler"] = type(self.scheduler).__name__
            state = set(self.scheduler.state_dict()) | {"last_epoch"}  # what changes as it runs
            run.update((k, v) for k, v in vars(self.scheduler).items()
                       if k not in state and isinstance(v, (int, float, str, bool)))
        return run

    def restore(self):
        """Load the checkpoint; return the epoch it finished. Refuses a checkpoint of another
        model, or of a run whose schedule differs (batches per epoch, scheduler settings):
        resuming it would silently reshape the schedule."""
        path = self.checkpoint_path
        state = checkpoint.load(path)
        saved_run = state.get("run")
        if saved_run is not None and saved_run != self.run:
            changed = ", ".join(f"{k}: {saved_run.get(k)} -> {self.run.get(k)}"
                                for k in sorted(set(saved_run) | set(self.run)) if saved_run.get(k) != self.run.get(k))
            raise ResumeError(f"{path}: this checkpoint was written by a run with other settings ({changed}); resume "
                             f"with the same settings, or start a new run (another output folder, or without resume)")
        try:
            self.plain_model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (KeyError, ValueError) as err:
            raise ResumeError(f"{path}: the checkpoint does not fit this model ({err})") from err
        if self.scheduler and state["scheduler"]:
            self.scheduler.load_state_dict(state["scheduler"])
        random.set_state(state["rng"])
        self.history, self.best = state["history"], state["best"]
        if self.lead:
            print(f"resumed from {path} after epoch {state['epoch']}")
        return state["epoch"]

    def load_best(self):
        """Put the weights of the best validation epoch back into the model."""
        if self.best["state"] is not None:
            self.plain_model.load_state_dict(self.best["state"])
        return self.best["epoch"]


def save_history(history, out_dir):
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "history.json").write_text(json.dumps(history, indent=1))
    with open(out_dir / "history.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)


def _progress(iterable, description, enabled):
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=description, leave=False, dynamic_ncols=True)
