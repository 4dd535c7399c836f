"""Figures of a classifier's test results: the confusion matrix and how confident it is."""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from .figures import new_figure, save_figure


def as_labels(y, what: str = "labels") -> np.ndarray:
    """Integer class labels from labels (N,) or (N, 1), or from one-hot rows /
    probabilities (N, C) (argmax)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{what}: expected labels (N,) or one-hot/probabilities (N, C), "
                         f"got shape {y.shape}")
    if y.size and not np.all(np.equal(np.mod(y, 1), 0)):
        raise ValueError(f"{what}: expected integer class labels, got {y[:5]} ...; round "
                         "binary probabilities first (np.round(p))")
    return y.astype(int)


def confusion_counts(y_true, y_pred, n_classes: int | None = None) -> np.ndarray:
    """cm[i, j] = how many samples of true class i were predicted as class j."""
    y_true, y_pred = as_labels(y_true, "y_true"), as_labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"confusion matrix: y_true {y_true.shape} and y_pred {y_pred.shape} "
                         "differ in length")
    if n_classes is None:
        n_classes = int(max(y_true.max(initial=0), y_pred.max(initial=0))) + 1
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def confusion_matrix(y_true, y_pred, classes: Sequence[str] | None = None,
                     normalize: bool = False, cmap: str = "Blues",
                     title: str = "Confusion matrix", figsize: tuple[float, float] | None = None,
                     text_size: float | None = None, path: str | os.PathLike | None = None):
    """The confusion matrix with a colour bar, rows = true class, columns = predicted.

    normalize=False (T1, T2): colours by count, each cell "count (row %)".
    normalize=True (T4): colours and text by the fraction of the true class (each row
    sums to 1). Text is white on dark cells, black on light ones.
    y_true, y_pred: integer labels, or one-hot rows / probabilities (argmax).
    Returns the Figure; `path=` saves it."""
    n = len(classes) if classes is not None else None
    cm = confusion_counts(y_true, y_pred, n)
    n = len(cm)
    fractions = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    shown = fractions if normalize else cm
    side = figsize or (max(4.5, 0.85 * n + 2.5),) * 2
    fig, axes = new_figure(1, 1, figsize=side)
    ax = axes[0, 0]
    image = ax.imshow(shown, cmap=cmap, vmin=0, vmax=1 if normalize else None)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    labels = [str(c) for c in classes] if classes is not None else [str(i) for i in range(n)]
    ax.set(title=title, xlabel="Predicted label", ylabel="True label",
           xticks=np.arange(n), yticks=np.arange(n))
    ax.set_xticklabels(labels, rotation=45 if classes is not None else 0,
                       ha="right" if classes is not None else "center")
    ax.set_yticklabels(labels)
    # Text colour from the cell's own brightness, so it reads on any colormap
    # (Blues is light where counts are low, gray is dark there).
    rgba = image.cmap(image.norm(shown))                         # (n, n, 4)
    brightness = rgba[..., :3] @ np.array([0.299, 0.587, 0.114])
    size = text_size or (11 if n <= 4 else 8)
    for i in range(n):
        for j in range(n):
            text = (f"{fractions[i, j]:.2f}" if normalize
                    else f"{cm[i, j]}\n({fractions[i, j] * 100:.1f}%)")
            ax.text(j, i, text, ha="center", va="center", fontsize=size,
                    color="white" if brightness[i, j] < 0.5 else "black")
    return save_figure(fig, path)


def confidence_histogram(probabilities, y_true=None, bins: int = 20,
                         title: str = "Confidence of the predictions",
                         path: str | os.PathLike | None = None):
    """Histogram of each prediction's confidence (its highest class probability).

    With `y_true`, right and wrong predictions are stacked in green and red, so you
    can see whether low confidence goes with mistakes. Returns the Figure."""
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or probabilities.shape[1] < 2:
        raise ValueError("confidence_histogram expects class probabilities (N, C) with C >= 2, "
                         f"got shape {probabilities.shape}")
    confidence = probabilities.max(axis=1)
    fig, axes = new_figure(1, 1, figsize=(8, 5))
    ax = axes[0, 0]
    edges = np.linspace(1 / probabilities.shape[1], 1, bins + 1)
    if y_true is None:
        ax.hist(confidence, bins=edges, color="C0", edgecolor="white")
    else:
        right = probabilities.argmax(axis=1) == as_labels(y_true, "y_true")
        ax.hist([confidence[right], confidence[~right]], bins=edges, stacked=True,
                color=["tab:green", "tab:red"], edgecolor="white",
                label=[f"right ({right.sum()})", f"wrong ({(~right).sum()})"])
        ax.legend(loc="upper left")
    ax.set_xlabel("confidence (highest class probability)")
    ax.set_ylabel("predictions")
    ax.set_title(title)
    return save_figure(fig, path)
