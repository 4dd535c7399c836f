"""Keras 3's `.keras` archive: a zip of three members, written and read.

    metadata.json       {"keras_version": "3.15.1", "date_saved": "2025-01-31@12:00:00"}
    config.json         the model: class, layers, build and compile configs (keras_config.py,
                        read back by keras_model_reader.py)
    model.weights.h5    weights and optimizer state in the .weights.h5 layout (h5.py)

Members are stored uncompressed, as Keras stores them. `keras.models.load_model`
rebuilds the model from config.json, compiles it from its compile_config, builds
the optimizer, then loads model.weights.h5; `load_model` here does the same.
"""

from __future__ import annotations

import datetime
import io
import json

from . import h5, keras_compile, keras_config, keras_model_reader
from .atomic import atomic_write
from .state import InvalidFile, restore

CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
# A member bigger than this that expands more than 100x is refused unread (Keras's guard
# against zip bombs, `_reject_zip_bomb`).
_BOMB_FLOOR = 1 << 32


def save_keras(model, path: str) -> None:
    """Write `model` (config, weights, compile state) as a .keras archive at `path`."""
    import zipfile

    config_json = json.dumps(keras_config.model_to_keras(model))
    metadata_json = json.dumps({
        "keras_version": keras_config.KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})
    weights = h5.weights_h5_bytes(model)
    with atomic_write(path) as f:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr(METADATA, metadata_json)
            zf.writestr(CONFIG, config_json)
            zf.writestr(WEIGHTS, weights)


class _Archive:
    """An open .keras file: its members, read with clear errors."""

    def __init__(self, path: str) -> None:
        import zipfile

        self.path = path
        try:
            self.zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile as err:
            raise h5.unreadable(path, h5.head_of(path), "zip", err) from err
        names = set(self.zf.namelist())
        if CONFIG not in names:
            raise InvalidFile(f"'{path}' is a zip archive but not a Keras model: it has no "
                              f"{CONFIG} (members: {sorted(names)[:10]})")
        if WEIGHTS not in names:
            npz = " (weights saved with weights_format='npz' are pickled; scratchnn never " \
                  "loads pickles)" if "model.weights.npz" in names else ""
            raise InvalidFile(f"'{path}' has no {WEIGHTS}{npz}")

    def read(self, member: str) -> bytes:
        info = self.zf.getinfo(member)
        if info.file_size > _BOMB_FLOOR and info.file_size > 100 * info.compress_size:
            raise InvalidFile(f"'{self.path}': member {member} declares {info.file_size} bytes "
                              f"from {info.compress_size} stored; refused as a zip bomb")
        try:
            return self.zf.read(member)
        except Exception as err:           # BadZipFile (CRC), EOFError, zlib.error...
            raise InvalidFile(f"'{self.path}' is damaged: member {member} cannot be read "
                              f"({type(err).__name__}: {err})") from err

    def config(self) -> dict:
        try:
            cfg = json.loads(self.read(CONFIG).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise InvalidFile(f"'{self.path}': {CONFIG} is not valid JSON ({err})") from err
        if not isinstance(cfg, dict):
            raise InvalidFile(f"'{self.path}': {CONFIG} should hold a JSON object")
        return cfg

    def restore_weights(self, model) -> None:
        with h5.read_weights_h5(io.BytesIO(self.read(WEIGHTS)), f"{self.path}/{WEIGHTS}") \
                as state:
            restore(model, state, f"{self.path}/{WEIGHTS}")

    def close(self) -> None:
        self.zf.close()


def load_keras(path: str, compile: bool = True):
    """The model saved in a .keras archive (by scratchnn or Keras), compiled as it was saved
    and with its optimizer state, unless compile=False."""
    h5.require_h5py()
    archive = _Archive(path)
    try:
        cfg = archive.config()
        model = keras_model_reader.model_from_keras(
            cfg, path, weights_bytes=archive.zf.getinfo(WEIGHTS).file_size)
        if compile:
            keras_compile.compile_from_keras(model, cfg.get("compile_config"), path)
        if model.built:
            archive.restore_weights(model)
        return model
    finally:
        archive.close()


def load_weights_from_keras(model, path: str) -> None:
    """Only the weights (and optimizer state) of a .keras archive, into `model`."""
    h5.require_h5py()
    archive = _Archive(path)
    try:
        archive.restore_weights(model)
    finally:
        archive.close()
