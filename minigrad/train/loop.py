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
from ..data.files import DatasetError
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
    if count == 0:
        raise DatasetError("evaluate: the loader gave no samples (an empty evaluation set)")
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

    def fit(self, train_loader, val_loader=None, epochs=1, resume=False, patience=None, overwrite=False):
        """Train for ``epochs`` (continuing from the checkpoint with ``resume=True``); return
        the history. A loss that is NaN or infinite stops training with an error naming the
        epoch and step, unless the Trainer was made with ``skip_nonfinite=True``, which skips
        such batches (no update) and counts them in ``skipped``. A checkpoint already on disk
        is never overwritten by a fresh start unless ``overwrite=True``."""
        if len(train_loader) == 0:
            raise DatasetError("Trainer.fit: the training loader gives no batches (an empty training set)")
        self.run = self.describe_run(train_loader)
        exists = bool(self.checkpoint_path) and self.checkpoint_path.exists()
        if exists and not resume and not overwrite:
            raise ResumeError(f"{self.checkpoint_path} exists: resume it (--resume), or start over by removing it "
                              f"or choosing another output folder (--out); a fresh start would overwrite it")
        start = self.restore(epochs) + 1 if resume and exists else 1
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
            self.save()  # first the checkpoint, then the history files: after a kill they never get ahead of it
            self.report(record)
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
        if distributed.is_initialized():  # every rank must take the same number of steps, or one waits for ever
            fewest, most = (distributed.reduce_numbers([len(loader)], op)[0] for op in ("min", "max"))
            if fewest != most:
                raise distributed.DistributedError(
                    f"rank {distributed.get_rank()}: the ranks' loaders give from {fewest:.0f} to {most:.0f} batches "
                    f"this epoch; give every rank the same number (DistributedSampler does)")
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

    def restore(self, epochs=None):
        """Load the checkpoint; return the epoch it finished. Refuses a checkpoint of another
        model, or of a run whose schedule differs (batches per epoch, scheduler settings):
        resuming it would silently reshape the schedule; and one that has done more epochs
        than the run asks for."""
        path = self.checkpoint_path
        state = checkpoint.load(path)
        self._check_state(state, path)
        saved_run = state["run"]
        if saved_run != self.run:
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
        if epochs is not None and state["epoch"] > epochs:
            raise ResumeError(f"{path}: this checkpoint has done {state['epoch']} epochs, more than the {epochs} "
                              f"the run asks for")
        random.set_state(state["rng"])
        self.history, self.best = state["history"], state["best"]
        if self.lead:
            print(f"resumed from {path} after epoch {state['epoch']}")
        return state["epoch"]

    def _check_state(self, state, path):
        """Every field of a checkpoint checked before any is used: the SHA-256 in the file
        stops accidents, not edits, so an edited file whose hash was recomputed must still
        be refused when its contents make no sense for this run (a ResumeError naming the
        file and the field)."""
        def refuse(field, what):
            raise ResumeError(f"{path}: {field} {what}; the checkpoint was damaged or edited")

        fields = {"epoch", "model", "optimizer", "scheduler", "rng", "history", "best", "run"}
        if not isinstance(state, dict) or set(state) != fields:
            refuse("the checkpoint", f"has the fields {sorted(state) if isinstance(state, dict) else type(state)}, "
                                     f"expected {sorted(fields)}")
        epoch, history = state["epoch"], state["history"]
        if not _is_int(epoch) or epoch < 1:
            refuse("'epoch'", f"is {epoch!r}, not an epoch number")
        if not isinstance(history, list) or len(history) != epoch or not all(
                isinstance(r, dict) and r.get("epoch") == i + 1 and all(isinstance(v, (int, float)) for v in r.values())
                for i, r in enumerate(history)):
            refuse("'history'", f"is not the {epoch} epochs' records, one per epoch in order")
        if not isinstance(state["run"], dict):
            refuse("'run'", "is not a dict of the run's settings")
        self._check_weights(state["model"], "'model'", refuse)
        best = state["best"]
        if not isinstance(best, dict) or set(best) != {"epoch", "val_accuracy", "state"} or not _is_int(best["epoch"]) \
                or not 0 <= best["epoch"] <= epoch or not isinstance(best["val_accuracy"], (int, float)):
            refuse("'best'", "is not the best epoch's record (epoch, val_accuracy, state)")
        if best["state"] is not None:
            self._check_weights(best["state"], "'best.state'", refuse)
        scheduler = state["scheduler"]
        if (scheduler is None) != (self.scheduler is None):
            refuse("'scheduler'", "does not match this run, which " + ("has" if self.scheduler else "has no") +
                   " learning-rate schedule")
        if scheduler is not None:
            steps = epoch * (state["run"].get("steps_per_epoch", 0) if self.scheduler_per_batch else 1)
            if not isinstance(scheduler, dict) or not _is_int(scheduler.get("last_epoch")) \
                    or not 0 <= scheduler["last_epoch"] <= steps:
                refuse("'scheduler.last_epoch'", f"is not a step within the {steps} this checkpoint has done")
        rng = state["rng"]
        try:
            np.random.default_rng().bit_generator.state = rng["cpu"]  # a throwaway generator checks it
            if rng["seed"] is not None and not _is_int(rng["seed"]):
                raise TypeError("seed")
        except (TypeError, ValueError, KeyError, OverflowError) as err:
            refuse("'rng'", f"is not a random generator's state ({err})")

    def _check_weights(self, weights, field, refuse):
        expected = self.plain_model.state_dict()
        path = self.checkpoint_path
        if not isinstance(weights, dict):
            refuse(field, "is not a dict of weights")
        if set(weights) != set(expected):
            raise ResumeError(f"{path}: the checkpoint does not fit this model ({field}: missing keys "
                              f"{sorted(set(expected) - set(weights))}, unexpected keys {sorted(set(weights) - set(expected))})")
        for name, array in weights.items():
            if getattr(array, "shape", None) != expected[name].shape or array.dtype != expected[name].dtype:
                raise ResumeError(f"{path}: the checkpoint does not fit this model ({field}: {name} has shape "
                                  f"{getattr(array, 'shape', None)} and dtype {getattr(array, 'dtype', None)} in the "
                                  f"checkpoint, {expected[name].shape} and {expected[name].dtype} in the model)")

    def load_best(self):
        """Put the weights of the best validation epoch back into the model."""
        if self.best["state"] is not None:
            self.plain_model.load_state_dict(self.best["state"])
        return self.best["epoch"]


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


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
