"""Saving and loading models and weights, in Keras 3's formats and scratchnn's own.

    model.save("model.keras")                  # Keras 3's archive: config, weights, optimizer
    model = scratchnn.models.load_model("model.keras")     # also one written by Keras
    model = scratchnn.models.model_from_json(model.to_json())   # the config alone, new weights
    model.save_weights("w.weights.h5")         # Keras 3's weights layout (needs h5py)
    model.save_weights("w.weights.npz")        # the same content with NumPy only
    model.load_weights("w.weights.h5")         # also from a .keras or .npz file

The format follows the file name:

    .keras          model.save / load_model (and load_weights): Keras 3's zip archive
    .weights.h5     save_weights / load_weights: Keras 3's HDF5 layout
    .weights.npz    save_weights / load_weights: the same layout in a NumPy archive
    .npz            the same as .weights.npz (scratchnn's first weights format is read too)

Anything else is refused, the plain `.h5` of Keras 2's legacy format included. Both kinds
of model are saved and loaded: Sequential and Functional (graphs: keras_config.py writes
the calls that made them, keras_model_reader.py replays them).
A compiled model's files carry the optimizer's state (iterations, learning rate,
slots), so training resumes exactly where it stopped.

Every write goes to a temporary file in the destination's folder and is renamed
into place (atomic.py): an interrupted save never destroys an earlier file.
Every load checks the whole file against the model before assigning anything
(state.py): a file that does not fit raises an error naming the file and what did
not match, and leaves the model as it was.

h5py is imported only when a .weights.h5 or .keras file is read or written.
"""

from __future__ import annotations

import os

KERAS_SUFFIX = ".keras"
WEIGHTS_SUFFIXES = {".weights.h5": "h5", ".weights.npz": "npz", ".npz": "npz"}


def _path(path) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"Expected a file path (str or os.PathLike), got {type(path).__name__}")
    return os.fspath(path)


def _unknown_suffix(path: str, action: str, known: list[str]) -> ValueError:
    legacy = (" A plain '.h5' name means Keras 2's legacy HDF5 format, which scratchnn does "
              "not read or write; Keras 3 itself names weights files '*.weights.h5'."
              if path.lower().endswith((".h5", ".hdf5")) else "")
    return ValueError(f"Cannot {action} '{path}': the format follows the file name, and this "
                      f"name ends in none of {known}.{legacy}")


def _weights_format(path: str, action: str, allow_keras: bool) -> str:
    for suffix, fmt in WEIGHTS_SUFFIXES.items():
        if path.endswith(suffix):
            return fmt
    if allow_keras and path.endswith(KERAS_SUFFIX):
        return "keras"
    known = list(WEIGHTS_SUFFIXES) + ([KERAS_SUFFIX] if allow_keras else [])
    raise _unknown_suffix(path, action, known)


def _check_overwrite(path: str, overwrite: bool) -> None:
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"'{path}' exists and overwrite=False")


def _check_readable(path: str, what: str) -> None:
    if not os.path.exists(path):
        raise FileNotFoundError(f"Cannot load {what} from '{path}': no such file")
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot load {what} from '{path}': it is a directory "
                                "(scratchnn reads .keras files, not SavedModel folders)")


def _require_built(model, action: str) -> None:
    if not model.built:
        raise ValueError(f"{model._describe()} is not built yet, so {action} is not "
                         "available: give the first layer input_shape=..., start with "
                         "Input(shape), or call the model on data first")


def save_weights(model, path: str | os.PathLike, overwrite: bool = True) -> None:
    """Write the weights of `model` (and its optimizer's state, when compiled) to `path`."""
    path = _path(path)
    fmt = _weights_format(path, "save weights to", allow_keras=False)
    _require_built(model, "save_weights")
    _check_overwrite(path, overwrite)
    from .atomic import atomic_write
    if fmt == "h5":
        from .h5 import weights_h5_bytes
        data = weights_h5_bytes(model)           # all computed before the file is touched
        with atomic_write(path) as f:
            f.write(data)
    else:
        from .npz import write_weights_npz
        with atomic_write(path) as f:
            write_weights_npz(model, f)


def load_weights(model, path: str | os.PathLike) -> None:
    """Read weights (and optimizer state) saved by scratchnn or Keras into `model`.

    Layers are matched by their Keras path (class and position), every count and
    shape is checked first, and nothing changes unless everything fits."""
    path = _path(path)
    fmt = _weights_format(path, "load weights from", allow_keras=True)
    _require_built(model, "load_weights")
    _check_readable(path, "weights")
    from .state import restore
    if fmt == "keras":
        from .keras_archive import load_weights_from_keras
        load_weights_from_keras(model, path)
        return
    if fmt == "h5":
        from .h5 import read_weights_h5 as reader
    else:
        from .npz import read_weights_npz as reader
    with reader(path, path) as state:
        restore(model, state, path)


def save_model(model, path: str | os.PathLike, overwrite: bool = True) -> None:
    """Save `model` as a Keras 3 `.keras` archive that `keras.models.load_model` opens."""
    path = _path(path)
    if not path.endswith(KERAS_SUFFIX):
        hint = (" (to save only the weights, use save_weights with a '.weights.h5' or "
                "'.weights.npz' name)")
        raise ValueError(str(_unknown_suffix(path, "save a model to", [KERAS_SUFFIX])) + hint)
    _check_overwrite(path, overwrite)
    if not model.built:
        import warnings
        warnings.warn(f"Saving {model._describe()} before it is built: the file holds "
                      "its layers but no weights (as Keras does)", stacklevel=3)
    from .keras_archive import save_keras
    save_keras(model, path)


def load_model(path: str | os.PathLike, compile: bool = True):
    """The model (Sequential or Functional) in a `.keras` archive written by scratchnn or by
    Keras 3, with its weights and, unless compile=False, its loss, metrics, optimizer and
    optimizer state."""
    path = _path(path)
    if os.path.isdir(path):                      # a TensorFlow SavedModel, say
        _check_readable(path, "a model")
    if not path.endswith(KERAS_SUFFIX):
        raise _unknown_suffix(path, "load a model from", [KERAS_SUFFIX])
    _check_readable(path, "a model")
    from .keras_archive import load_keras
    return load_keras(path, compile=compile)


def model_from_json(json_string: str):
    """The model a `model.to_json()` string describes (Keras's `model_from_json`), with NEW
    weights drawn by its layers' initializers; compiled as its compile_config says, as
    Keras does (measured: Keras 3.15's model_from_json compiles when the JSON holds one)."""
    import json

    from .keras_compile import compile_from_keras
    from .keras_model_reader import model_from_keras
    from .state import InvalidFile

    where = "model_from_json(json_string)"
    if not isinstance(json_string, (str, bytes, bytearray)):
        raise TypeError(f"{where} expects a JSON string, got {type(json_string).__name__}")
    try:
        cfg = json.loads(json_string)
    except json.JSONDecodeError as err:
        raise InvalidFile(f"Cannot load '{where}': it is not valid JSON ({err})") from None
    model = model_from_keras(cfg, where)
    compile_from_keras(model, cfg.get("compile_config"), where)
    return model


__all__ = ["save_weights", "load_weights", "save_model", "load_model", "model_from_json"]
