"""A model's saved state, whatever the file format, and putting it back all-or-nothing.

What Keras 3 saves (`keras/src/saving/saving_lib.py`, `_save_state`), and so what
every scratchnn weights file holds:

    vars                      the model's own variables (none: models here have none)
    layers/dense/vars/0, 1    each layer's weights in its own order (kernel, bias; a
                              BatchNormalization's gamma, beta, moving_mean, moving_variance)
    layers/dense_1/vars/...   a group per layer of `model.layers`, even one without weights
    optimizer/vars/0, 1, ...  `optimizer.variables`: iterations, learning_rate (not with a
                              schedule), then the slots (only for a compiled model)

`model.layers` decides the groups: a Sequential's lists its layers only, a Functional
model's also its InputLayers and merge layers (empty groups `input_layer`, `add`, ...),
each layer once however often the graph calls it, in Keras's order (graph.py).

A layer's group is named after its CLASS, not its name: the first Dense is
`dense`, the second `dense_1`, whatever the user called them (Keras does this so
that two runs of the same code, with different automatic names, give the same
paths). The layer's own name is kept as the group's `name` attribute; files are
matched by path, like Keras, and names only appear in error messages.

Loading is all-or-nothing: every count and shape is checked against the model
first, then every array is read into memory, and only then is anything assigned.
A file that does not fit leaves the model exactly as it was.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Callable

import numpy as np

from .. import utils


class InvalidFile(ValueError):
    """A file that cannot be loaded; the message names the file and what is wrong."""


@dataclasses.dataclass
class StoredArray:
    """One array in a file, known by its shape and dtype before its data is read."""
    shape: tuple
    dtype: np.dtype
    read: Callable[[], np.ndarray]


@dataclasses.dataclass
class StoredGroup:
    """The arrays of one saved object (layer, optimizer, model), in order 0, 1, ..."""
    name: str | None
    arrays: list[StoredArray]


@dataclasses.dataclass
class StoredState:
    """Everything a weights file holds, not yet read: groups by Keras path.

    `by_position` marks scratchnn's first .npz format, which recorded layer names but
    not Keras paths: its groups are matched to the model's weighted layers in order."""
    layers: dict[str, StoredGroup]
    optimizer: StoredGroup | None = None
    own: StoredGroup | None = None
    by_position: bool = False


# -- the model's side ---------------------------------------------------------------------
def layer_paths(model) -> list[tuple[str, object]]:
    """(Keras path key, layer) for every layer: 'dense', 'dense_1', 'conv2d', ... as
    Keras's `_save_container_state` names them (snake_case class name, then a counter)."""
    used: dict[str, int] = {}
    out = []
    for layer in model.layers:
        key = utils.snake_case(type(layer).__name__)
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        out.append((key, layer))
    return out


def collect(model) -> tuple[list[tuple[str, str, list[np.ndarray]]], tuple | None]:
    """What a save writes: [(path key, layer name, weights)] and (optimizer name,
    optimizer.variables) when the model is compiled, else None."""
    layers = [(key, layer.name, layer.weights) for key, layer in layer_paths(model)]
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return layers, None
    # Before the first step these are [iterations, learning_rate], or [iterations] alone
    # when the rate is a schedule (Keras then has no learning-rate variable), as in Keras.
    return layers, (optimizer.name, [np.asarray(v) for v in optimizer.variables])


# -- restoring --------------------------------------------------------------------------------
def _fmt(shape) -> str:
    return str(tuple(int(d) for d in shape))


def _numeric(dtype: np.dtype) -> bool:
    return dtype.kind in "fiu"


def _shapes(shapes) -> str:
    return "[" + ", ".join(_fmt(s) for s in shapes) + "]"


def _describe_file(state: StoredState) -> str:
    return ", ".join(f"{key} '{group.name}' {_shapes(a.shape for a in group.arrays)}"
                     for key, group in state.layers.items()) or "none"


def _describe_model(paths) -> str:
    return ", ".join(f"{key} '{layer.name}' {_shapes(w.shape for w in layer.weights)}"
                     for key, layer in paths) or "none"


def _match_by_position(paths, state: StoredState, where: str) -> StoredState:
    """scratchnn's first .npz format: the weighted layers, in order."""
    weighted = [(key, layer) for key, layer in paths if layer.weights]
    groups = list(state.layers.values())
    if len(groups) != len(weighted):
        raise InvalidFile(f"Cannot load weights from '{where}': the file holds weights for "
                          f"{len(groups)} layers ({_describe_file(state)}), the model has "
                          f"{len(weighted)} layers with weights ({_describe_model(weighted)})")
    layers = {key: StoredGroup(None, []) for key, _ in paths}
    layers.update({key: group for (key, _), group in zip(weighted, groups)})
    return StoredState(layers, state.optimizer, state.own)


def _check_layers(model, paths, state: StoredState) -> list[str]:
    """Every disagreement between the model's layers and the file's, as sentences."""
    file_keys, model_keys = set(state.layers), {key for key, _ in paths}
    if file_keys != model_keys:
        return [f"the model's layers are [{_describe_model(paths)}] but the file's are "
                f"[{_describe_file(state)}] (missing from the file: "
                f"{sorted(model_keys - file_keys)}; not in the model: "
                f"{sorted(file_keys - model_keys)})"]
    problems = []
    for key, layer in paths:
        group, params = state.layers[key], list(layer.named_weights.items())
        where = f"layer '{layer.name}' (layers/{key}, '{group.name}' in the file)"
        if len(group.arrays) != len(params):
            problems.append(f"{where}: the model has {len(params)} arrays "
                            f"[{', '.join(f'{n} {_fmt(w.shape)}' for n, w in params)}], the file "
                            f"has {len(group.arrays)} {_shapes(a.shape for a in group.arrays)}")
            continue
        for i, ((name, weight), stored) in enumerate(zip(params, group.arrays)):
            if tuple(stored.shape) != weight.shape:
                problems.append(f"{where}: weight '{name}' has shape {_fmt(weight.shape)}, "
                                f"got {_fmt(stored.shape)} from the file (vars/{i})")
            elif not _numeric(stored.dtype):
                problems.append(f"{where}: weight '{name}' (vars/{i}) is stored as "
                                f"{stored.dtype}, not numbers")
    if state.own is not None and state.own.arrays:
        problems.append(f"the file stores {len(state.own.arrays)} variables for the model "
                        f"itself; {type(model).__name__} has none")
    return problems


def _read(stored: StoredArray, where: str, what: str) -> np.ndarray:
    try:
        value = np.asarray(stored.read())
    except InvalidFile:
        raise
    except Exception as err:               # h5py / zipfile / NumPy: damaged data
        raise InvalidFile(f"Cannot load weights from '{where}': {what} cannot be read "
                          f"(the file is damaged): {type(err).__name__}: {err}") from err
    if value.shape != tuple(stored.shape):
        raise InvalidFile(f"Cannot load weights from '{where}': {what} declares shape "
                          f"{_fmt(stored.shape)} but holds {value.shape}")
    return value


def _read_optimizer_state(model, state: StoredState, where: str) -> list[np.ndarray] | None:
    """The optimizer's saved variables, if this model can take them, else None."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or state.optimizer is None or not state.optimizer.arrays:
        return None         # like Keras: nothing to load into, or nothing saved
    # Only arrays shaped like a scalar or like one of the model's weights can be optimizer
    # state; anything else is refused before it is read (a huge declared shape would
    # otherwise be allocated).
    plausible = {()} | {tuple(w.shape) for w in model.trainable_weights}
    arrays = state.optimizer.arrays
    if any(tuple(a.shape) not in plausible or not _numeric(a.dtype) for a in arrays):
        _skip_optimizer(optimizer, where, f"its arrays {_shapes(a.shape for a in arrays)} "
                        "do not fit this model's weights")
        return None
    return [_read(a, where, f"optimizer variable {i}") for i, a in enumerate(arrays)]


def _skip_optimizer(optimizer, where: str, why: str) -> None:
    warnings.warn(f"Loading '{where}': the optimizer state was NOT loaded because {why}; "
                  f"{type(optimizer).__name__} '{optimizer.name}' keeps its current state "
                  "(Keras also skips a mismatched optimizer with a warning)", stacklevel=4)


def restore(model, state: StoredState, where: str) -> None:
    """Check `state` against `model`, read it, then assign it: all of it or nothing."""
    paths = layer_paths(model)
    if state.by_position:
        state = _match_by_position(paths, state, where)
    problems = _check_layers(model, paths, state)
    if problems:
        raise InvalidFile(f"Cannot load weights from '{where}' into {model._describe()}: "
                          "the file does not match the model (saved from another "
                          "architecture?):\n  - "
                          + "\n  - ".join(problems))
    values = {key: [_read(a, where, f"layers/{key}/vars/{i}")
                    for i, a in enumerate(state.layers[key].arrays)] for key, _ in paths}
    optimizer_values = _read_optimizer_state(model, state, where)
    # Everything is in memory and fits. The optimizer checks its own state (count, shapes,
    # kinds) before assigning any of it; a mismatch skips it with a warning, as in Keras.
    if optimizer_values is not None:
        try:
            model.optimizer.set_variables(optimizer_values, model.trainable_weights)
        except (ValueError, TypeError) as err:
            _skip_optimizer(model.optimizer, where, str(err))
    for key, layer in paths:
        for weight, value in zip(layer.weights, values[key]):
            weight[...] = value               # in place: the flat buffers stay shared
