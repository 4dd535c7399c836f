"""Seeding, one-hot labels and unique layer names.

scratchnn draws every random number (initial weights, shuffling, dropout masks)
from ONE NumPy Generator kept here, so `set_random_seed(s)` makes a whole script
bit-for-bit repeatable.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict

import numpy as np

_rng = np.random.default_rng()
_name_counts: dict[str, int] = defaultdict(int)


def set_random_seed(seed: int) -> None:
    """Seed scratchnn's generator, and Python's and NumPy's legacy ones (as Keras does)."""
    global _rng
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"set_random_seed expects an integer seed, got {seed!r}")
    _rng = np.random.default_rng(int(seed))
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)


def rng() -> np.random.Generator:
    """The generator every random draw in scratchnn comes from."""
    return _rng


def to_categorical(y, num_classes: int | None = None) -> np.ndarray:
    """One-hot encode integer labels, like `keras.utils.to_categorical` (float64).

    Shapes: y (N,) or (N, 1) -> (N, num_classes).
    """
    y = np.asarray(y, dtype="int64")
    shape = y.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    y = y.reshape(-1)
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical expects labels >= 0, got {y.min()}")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    elif y.size and y.max() >= num_classes:
        raise ValueError(
            f"to_categorical got label {y.max()} but num_classes={num_classes}")
    one_hot = np.zeros((y.size, num_classes))
    one_hot[np.arange(y.size), y] = 1
    return one_hot.reshape(shape + (num_classes,))


def snake_case(name: str) -> str:
    """'MaxPooling2D' -> 'max_pooling2d', as Keras names layers."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix: str) -> str:
    """'dense', then 'dense_1', 'dense_2', ... (Keras's automatic names)."""
    count = _name_counts[prefix]
    _name_counts[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def clear_session() -> None:
    """Restart automatic names from 'dense', 'sequential', ... (keras.backend.clear_session)."""
    _name_counts.clear()


def plot_model(model, to_file="model.png", show_shapes: bool = False,
               show_layer_names: bool = True, **kwargs):
    """Keras's architecture diagram (`keras.utils.plot_model`), drawn with matplotlib, so no
    Graphviz is needed; returns the Figure. See `scratchnn.plots.plot_model` for the options
    (show_dtype, rankdir, dpi, show_layer_activations, show_trainable)."""
    from .plots.architecture import plot_model as draw      # matplotlib only when drawing
    return draw(model, to_file=to_file, show_shapes=show_shapes,
                show_layer_names=show_layer_names, **kwargs)
