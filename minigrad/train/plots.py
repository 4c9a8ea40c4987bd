"""Learning curves and confusion matrices as PNG files (matplotlib, Agg backend: no display)."""
import pathlib

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_history(history, path, title=""):
    """Loss and error (1 - accuracy) per epoch, training and validation, side by side."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_err) = plt.subplots(1, 2, figsize=(11, 4))
    for split, style in (("train", "-"), ("val", "--")):
        if f"{split}_loss" in history[0]:
            ax_loss.plot(epochs, [h[f"{split}_loss"] for h in history], style, label=split)
            ax_err.plot(epochs, [100 * (1 - h[f"{split}_accuracy"]) for h in history], style, label=split)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Loss per epoch")
    ax_err.set(xlabel="epoch", ylabel="error (%)", title="Error per epoch")
    for ax in (ax_loss, ax_err):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


def plot_curves(curves, path, xlabel, ylabel, title=""):
    """Several labelled curves on one axis: ``curves`` maps label -> (xs, ys)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, (xs, ys) in curves.items():
        ax.plot(xs, ys, marker="o" if len(xs) < 12 else None, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    _save(fig, path)


def confusion_matrix(predictions, labels, num_classes):
    """counts[true, predicted]."""
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(labels), np.asarray(predictions)), 1)
    return counts


def plot_confusion_matrix(counts, class_names, path, title="Confusion matrix (test set)"):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 6))
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    for i in range(len(class_names)):
        for j in range(len(class_names)):
            ax.text(j, i, counts[i, j], ha="center", va="center", fontsize=7,
                    color="white" if rates[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    _save(fig, path)


def _save(fig, path):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
