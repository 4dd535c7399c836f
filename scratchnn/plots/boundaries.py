"""Figures of 2-D data: the points, a model's decision boundary, a regression fit."""

from __future__ import annotations

import os
from typing import Mapping

import numpy as np

from .figures import new_figure, save_figure


def _check_points(x, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"{what} expects 2-D points of shape (N, 2), got {x.shape}")
    return x


def _own_axes(ax, figsize):
    """(fig, ax, owned): a new figure unless the caller gave axes to draw on."""
    if ax is not None:
        return ax.figure, ax, False
    fig, axes = new_figure(1, 1, figsize=figsize)
    return fig, axes[0, 0], True


def predicted_classes(outputs: np.ndarray) -> np.ndarray:
    """The class each prediction stands for, as the tutorials decide it: one output
    column is a probability of class 1 (p > 0.5, which is the tutorials' rounding for
    p in [0, 1]); several columns are class scores (argmax)."""
    outputs = np.asarray(outputs)
    if outputs.ndim == 1 or outputs.shape[-1] == 1:
        return (outputs.reshape(len(outputs)) > 0.5).astype(int)
    return outputs.argmax(axis=-1)


def data_scatter(x, y, title: str | None = None, ax=None, cmap: str = "RdYlBu",
                 path: str | os.PathLike | None = None):
    """The points of a 2-D classification data set, coloured by label (T1's first plot)."""
    x = _check_points(x, "data_scatter")
    fig, ax, owned = _own_axes(ax, (6, 5.5))
    ax.scatter(x[:, 0], x[:, 1], c=np.asarray(y).ravel(), cmap=cmap, s=14, edgecolors="k",
               linewidths=0.3)
    ax.set_xlabel("X0")
    ax.set_ylabel("X1")
    ax.set_aspect("equal", adjustable="datalim")
    if title:
        ax.set_title(title)
    return save_figure(fig, path) if owned else fig


def decision_boundary(model, x, y, ax=None, title: str | None = None, resolution: int = 100,
                      cmap: str = "RdYlBu", path: str | os.PathLike | None = None):
    """The class `model` predicts at every point of the plane, with the data on top.

    As T1's plot_decision_boundary: a resolution x resolution grid over the data's
    range +-0.1, `model.predict` on it, classes by `predicted_classes` (binary or
    multiclass), drawn with contourf. Works for scratchnn and Keras models alike.
    ax: draw on these axes (e.g. one panel of a figure of yours); otherwise a new
    figure. Returns the Figure; `path=` saves it (only for a figure made here)."""
    x = _check_points(x, "decision_boundary")
    fig, ax, owned = _own_axes(ax, (6, 5.5))
    x0 = np.linspace(x[:, 0].min() - 0.1, x[:, 0].max() + 0.1, resolution)
    x1 = np.linspace(x[:, 1].min() - 0.1, x[:, 1].max() + 0.1, resolution)
    xx, yy = np.meshgrid(x0, x1)
    grid = np.c_[xx.ravel(), yy.ravel()]                        # (resolution^2, 2)
    outputs = np.asarray(model.predict(grid, verbose=0))
    classes = predicted_classes(outputs).reshape(xx.shape)
    n_classes = max(2, outputs.shape[-1] if outputs.ndim > 1 else 1,
                    int(np.max(y)) + 1 if np.size(y) else 2)
    levels = np.arange(n_classes + 1) - 0.5                     # one colour band per class
    ax.contourf(xx, yy, classes, levels=levels, cmap=cmap, alpha=0.7)
    labels = np.asarray(y).ravel()
    # The points keep the data's colours (0 red ... last label blue) even when the model
    # has more outputs than the data has classes.
    ax.scatter(x[:, 0], x[:, 1], c=labels, cmap=cmap, s=14, edgecolors="k", linewidths=0.3,
               vmin=0, vmax=max(1, int(labels.max()) if labels.size else 1))
    ax.set_xlim(x0[0], x0[-1])
    ax.set_ylim(x1[0], x1[-1])
    ax.set_xlabel("X0")
    ax.set_ylabel("X1")
    if title:
        ax.set_title(title)
    return save_figure(fig, path) if owned else fig


def decision_boundaries(model, datasets: Mapping[str, tuple], title: str | None = None,
                        path: str | os.PathLike | None = None):
    """Decision boundaries side by side, one panel per data set, e.g.
    `decision_boundaries(model, {"Train": (X_train, y_train), "Test": (X_test, y_test)})`.

    `model` may also be a dict of models, one per panel, in the same order (e.g. the
    same network trained by scratchnn and by Keras). Returns the Figure."""
    models = list(model.values()) if isinstance(model, Mapping) else [model] * len(datasets)
    if len(models) != len(datasets):
        raise ValueError(f"decision_boundaries: {len(models)} models for {len(datasets)} "
                         "data sets")
    fig, axes = new_figure(1, len(datasets), figsize=(5.5 * len(datasets), 5))
    for ax, panel_model, (name, (x, y)) in zip(axes[0], models, datasets.items()):
        decision_boundary(panel_model, x, y, ax=ax, title=name)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def regression_predictions(x_train, y_train, x_test, y_test, predictions,
                           title: str | None = None, path: str | os.PathLike | None = None):
    """T1's regression side trip: training data (blue), test data (green) and the
    model's predictions on the test inputs (red)."""
    fig, axes = new_figure(1, 1, figsize=(8, 5.5))
    ax = axes[0, 0]
    ax.scatter(np.ravel(x_train), np.ravel(y_train), c="b", s=12, label="Training data")
    ax.scatter(np.ravel(x_test), np.ravel(y_test), c="g", s=12, label="Testing data")
    ax.scatter(np.ravel(x_test), np.ravel(predictions), c="r", s=12, label="Predictions")
    ax.set_xlabel("X")
    ax.set_ylabel("y")
    ax.legend()
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)
