"""The tutorials' figures. matplotlib is imported lazily, only here.

Every function draws on a new figure and returns it; pass `path=` to save a PNG.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def _plt():
    import matplotlib
    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _finish(fig, path):
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
        _plt().close(fig)
    return fig


def decision_boundary(model, x: np.ndarray, y: np.ndarray, ax=None, title: str | None = None):
    """Predictions on a 100x100 grid over the data range +-0.1, drawn with contourf;
    rounded for one output (binary), argmax for several (multiclass)."""
    plt = _plt()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 5))
    x_min, x_max = x[:, 0].min() - 0.1, x[:, 0].max() + 0.1
    y_min, y_max = x[:, 1].min() - 0.1, x[:, 1].max() + 0.1
    xx, yy = np.meshgrid(np.linspace(x_min, x_max, 100), np.linspace(y_min, y_max, 100))
    pred = model.predict(np.c_[xx.ravel(), yy.ravel()], verbose=0)
    pred = np.round(pred) if pred.shape[-1] == 1 else np.argmax(pred, axis=1)
    ax.contourf(xx, yy, pred.reshape(xx.shape), cmap="RdYlBu", alpha=0.7)
    ax.scatter(x[:, 0], x[:, 1], c=y, s=12, cmap="RdYlBu")
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    if title:
        ax.set_title(title)
    return fig if fig is not None else ax.figure


def history_curves(history: dict, title: str = "Training curves", path=None):
    """Every History key against the epoch (loss, accuracy, val_*), like DataFrame.plot()."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5))
    for key, values in history.items():
        if key != "learning_rate":
            ax.plot(range(1, len(values) + 1), values, label=key)
    ax.set_xlabel("epoch")
    ax.set_title(title)
    ax.legend()
    return _finish(fig, path)


def lr_finder(learning_rates: Sequence[float], losses: Sequence[float], path=None):
    """Loss against learning rate on a log axis (the LR-finder figure)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.semilogx(learning_rates, losses)
    ax.set_xlabel("Learning rate")
    ax.set_ylabel("Loss")
    ax.set_title("Learning rate vs. loss")
    return _finish(fig, path)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str] | None = None,
                     normalize: bool = False, cmap: str = "Blues", path=None, figsize=(10, 10)):
    """Counts (and row-normalised percentages) with threshold-coloured text, as the tutorials."""
    plt = _plt()
    n = int(max(y_true.max(), y_pred.max())) + 1
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (y_true.astype(int), y_pred.astype(int)), 1)
    cm_norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=figsize)
    image = ax.matshow(cm_norm if normalize else cm, cmap=cmap)
    fig.colorbar(image)
    labels = list(classes) if classes is not None else list(range(n))
    ax.set(title="Confusion Matrix", xlabel="Predicted label", ylabel="True label",
           xticks=np.arange(n), yticks=np.arange(n), xticklabels=labels, yticklabels=labels)
    ax.xaxis.set_label_position("bottom")
    ax.xaxis.tick_bottom()
    plt.setp(ax.get_xticklabels(), rotation=70 if classes is not None else 0)
    threshold = (cm_norm if normalize else cm).max() / 2
    for i in range(n):
        for j in range(n):
            value = cm_norm[i, j] if normalize else cm[i, j]
            ax.text(j, i, f"{cm[i, j]} ({cm_norm[i, j] * 100:.1f}%)", ha="center", va="center",
                    fontsize=8, color="white" if value > threshold else "black")
    return _finish(fig, path)


def image_grid(images: np.ndarray, titles: Sequence[str], cols: int = 5, path=None,
               colors: Sequence[str] | None = None):
    """Grayscale images with titles (e.g. predicted label and confidence, green/red)."""
    plt = _plt()
    rows = int(np.ceil(len(images) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.4 * rows), squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k < len(images):
            ax.imshow(np.asarray(images[k]).squeeze(), cmap=plt.cm.binary)
            ax.set_title(titles[k], fontsize=9, color="black" if colors is None else colors[k])
    return _finish(fig, path)
