"""Seeding, one-hot labels and unique layer names.

`set_random_seed(s)` seeds everything random in scratchnn the way
`keras.utils.set_random_seed(s)` seeds Keras, so the same script gives the same
numbers on both engines (see `scratchnn.random`):

* Python's `random`: initializers and Dropout layers draw their seeds from it
  when they are constructed;
* the global seed that `fit(shuffle=True)` derives its sample order from
  (TensorFlow's global seed in Keras);
* NumPy's legacy global generator (`np.random.seed`), as Keras does, for user code.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict

import numpy as np

from . import random as scratch_random
from .py_dataset import PyDataset  # noqa: F401  (snn.utils.PyDataset, as keras.utils)

_name_counts: dict[str, int] = defaultdict(int)


def set_random_seed(seed: int) -> None:
    """Seed Python's `random`, NumPy's legacy generator and scratchnn's global seed, as
    `keras.utils.set_random_seed` does. Then the same model code gives Keras's initial
    weights, Dropout masks and sample order, bit for bit. The seed must be an int in
    [0, 2**32) (the range Keras accepts, NumPy's legacy seed range)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"set_random_seed expects an integer seed, got {seed!r}")
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"set_random_seed expects a seed in [0, 2**32), got {seed}")
    random.seed(int(seed))
    np.random.seed(int(seed))
    scratch_random.set_global_seed(int(seed))


def get_random_seed() -> int | None:
    """The seed of the last `set_random_seed`, or None (`keras.utils.get_random_seed`)."""
    return scratch_random.global_seed()


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


def refuse_switched_on(where: str, options: list[tuple[str, object, object]]) -> None:
    """Keras arguments scratchnn takes only switched off: each (name, value, off) whose value
    is not `off` is refused by name, "<where>: name=value is not supported by scratchnn"."""
    for name, value, off in options:
        if not _is_off(value, off):
            raise ValueError(f"{where}: {name}={value!r} is not supported by scratchnn "
                             f"(accepted: {name}={off!r})")


def _is_off(value, off) -> bool:
    """value is the switched-off `off` (None is None; a boolean is a boolean: 0 is not False)."""
    if value is off:
        return True
    if isinstance(off, bool):
        return isinstance(value, (bool, np.bool_)) and bool(value) is off
    return off is not None and type(value) is type(off) and value == off


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
