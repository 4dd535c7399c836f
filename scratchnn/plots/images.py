"""Figures of images: grids with titles, tfds-style examples, predictions and the
least confident of them."""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from .classification import as_labels
from .figures import new_figure, save_figure

RIGHT, WRONG = "green", "red"


def _as_images(images, what: str) -> np.ndarray:
    """(N, H, W) or (N, H, W, 3) for imshow, from (N, H, W), (N, H, W, 1) or (N, H, W, 3)."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] not in (3, 4)):
        raise ValueError(f"{what} expects images (N, H, W), (N, H, W, 1) or (N, H, W, 3), "
                         f"got shape {images.shape}")
    return images


def _grid(n: int, cols: int, cell: tuple[float, float]):
    cols = max(1, min(cols, n))
    rows = int(np.ceil(n / cols)) if n else 1
    fig, axes = new_figure(rows, cols, figsize=(cell[0] * cols, cell[1] * rows))
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_frame_on(False)
    return fig, axes


def image_grid(images, titles: Sequence[str] | None = None, correct=None, cols: int = 5,
               cmap: str = "binary", title: str | None = None, cell: tuple[float, float] = (2.2, 2.5),
               path: str | os.PathLike | None = None):
    """Images in a grid, each with its title; `correct` (one bool per image) colours the
    titles green (right) or red (wrong). cmap "binary" draws ink dark on white, as the
    tutorials show Fashion-MNIST. Returns the Figure; `path=` saves it."""
    images = _as_images(images, "image_grid")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"image_grid: {len(images)} images but {len(titles)} titles")
    if correct is not None and len(correct) != len(images):
        raise ValueError(f"image_grid: {len(images)} images but {len(correct)} correct flags")
    fig, axes = _grid(len(images), cols, cell)
    for k, ax in enumerate(axes.ravel()[:len(images)]):
        ax.imshow(images[k], cmap=cmap)
        if titles is not None:
            color = "black" if correct is None else (RIGHT if correct[k] else WRONG)
            ax.set_title(titles[k], fontsize=9, color=color)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def show_examples(images, labels, class_names: Sequence[str], rows: int = 3, cols: int = 3,
                  plot_scale: float = 3.0, path: str | os.PathLike | None = None):
    """The first rows x cols examples as `tfds.show_examples` draws them: grey images,
    no ticks, each labelled "<class name> (<label>)" underneath. Returns the Figure."""
    images = _as_images(images, "show_examples")[:rows * cols]
    labels = as_labels(labels, "labels")[:rows * cols]
    fig, axes = new_figure(rows, cols, figsize=(plot_scale * cols, plot_scale * rows))
    for k, ax in enumerate(axes.ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= len(images):
            ax.set_axis_off()
            continue
        ax.imshow(images[k], cmap="gray")
        ax.set_xlabel(f"{class_names[labels[k]]} ({labels[k]})")
    return save_figure(fig, path)


def prediction_grid(images, probabilities, y_true, class_names: Sequence[str], cols: int = 2,
                    title: str | None = None, path: str | os.PathLike | None = None):
    """Each image with the predicted class and its confidence, and the true class;
    green when right, red when wrong (T1's random image, T4's six test images).
    probabilities: the model's outputs (N, C) for these images. Returns the Figure."""
    images = _as_images(images, "prediction_grid")
    probabilities = np.asarray(probabilities)
    truth = as_labels(y_true, "y_true")
    if not len(images) == len(probabilities) == len(truth):
        raise ValueError(f"prediction_grid: {len(images)} images, {len(probabilities)} "
                         f"predictions and {len(truth)} labels")
    predicted = probabilities.argmax(axis=1)
    titles = [f"Pred: {class_names[p]} {probabilities[k, p]:.0%}\nTrue: {class_names[t]}"
              for k, (p, t) in enumerate(zip(predicted, truth))]
    return image_grid(images, titles, correct=predicted == truth, cols=cols, title=title,
                      cell=(2.8, 3.0), path=path)


def least_confident(images, probabilities, y_true, class_names: Sequence[str], n: int = 6,
                    cols: int = 2, path: str | os.PathLike | None = None):
    """The `n` predictions made with the lowest confidence (highest class probability),
    least confident first, drawn by `prediction_grid`. Returns the Figure."""
    probabilities = np.asarray(probabilities)
    order = np.argsort(probabilities.max(axis=1), kind="stable")[:n]
    return prediction_grid(np.asarray(images)[order], probabilities[order],
                           as_labels(y_true, "y_true")[order], class_names, cols=cols,
                           title=f"The {len(order)} least confident predictions", path=path)
