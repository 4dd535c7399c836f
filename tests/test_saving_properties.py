"""Property tests: whatever a file holds, loading it either works or raises a clear error.

The contract for `load_weights` and `load_model`: success, or a ValueError / TypeError /
FileNotFoundError / OSError whose message names the file; never an IndexError, a
KeyError or a bare h5py / NumPy / zipfile message; and a failed load_weights leaves
the model exactly as it was.
"""

from __future__ import annotations

import json
import tempfile
import warnings
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import scratchnn as snn
from scratchnn import layers

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
ALLOWED = (ValueError, TypeError, FileNotFoundError, OSError)


def model():
    snn.utils.clear_session()
    m = snn.Sequential([snn.Input((4, 4, 1)), layers.Conv2D(2, 2, activation="relu"),
                        layers.MaxPooling2D(), layers.Flatten(), layers.Dropout(0.5),
                        layers.Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


_VALID: dict[str, bytes] = {}


def valid_bytes(name: str) -> bytes:
    """The bytes of a good file of each kind, made once."""
    if name not in _VALID:
        m = model()
        m.fit(np.ones((4, 4, 4, 1)), np.arange(4) % 3, epochs=1, verbose=0)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            (m.save if name.endswith(".keras") else m.save_weights)(path)
            _VALID[name] = path.read_bytes()
    return _VALID[name]


def state(m):
    opt = m.optimizer.variables if m.optimizer.built else []
    return [w.copy() for w in m.get_weights()] + [np.array(v, copy=True) for v in opt]


def check_load(path: Path, load_model: bool = False) -> None:
    """Load `path`; accept success or an allowed error naming the file (model unchanged)."""
    target = model()
    before = state(target)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")        # a skipped optimizer state warns, fine
            if load_model:
                snn.models.load_model(path)
            else:
                target.load_weights(path)
    except ALLOWED as err:
        assert path.name in str(err), f"{type(err).__name__} does not name the file: {err}"
        after = state(target)
        assert all(np.array_equal(a, b) for a, b in zip(before, after))


# -- damaged bytes ----------------------------------------------------------------------------
damage = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)),
                                        min_size=1, max_size=8)),
    st.tuples(st.just("random"), st.binary(max_size=600)),
)


def damaged(data: bytes, how) -> bytes:
    kind, arg = how
    if kind == "truncate":
        return data[:int(len(data) * arg)]
    if kind == "random":
        return arg
    out = bytearray(data)
    for where, xor in arg:
        out[min(int(where * len(out)), len(out) - 1)] ^= xor
    return bytes(out)


@pytest.mark.parametrize("name", ["w.weights.h5", "w.weights.npz", "m.keras"])
@SETTINGS
@given(how=damage)
def test_damaged_files_load_or_raise_an_error_naming_the_file(name, how):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(damaged(valid_bytes(name), how))
        check_load(path)
        if name.endswith(".keras"):
            check_load(path, load_model=True)


# -- random contents in a well-formed file ----------------------------------------------------
dtypes = st.sampled_from(["float32", "float64", "int64", "bool", "complex64", "S3"])
arrays = st.builds(lambda shape, dtype: np.zeros(shape, dtype),
                   st.lists(st.integers(0, 4), max_size=4).map(tuple), dtypes)
groups = st.dictionaries(st.sampled_from(["conv2d", "max_pooling2d", "flatten", "dropout",
                                          "dense", "dense_1", "batch_normalization"]),
                         st.lists(arrays, max_size=3), max_size=7)


@SETTINGS
@given(layer_groups=groups, optimizer=st.none() | st.lists(arrays, max_size=12),
       own=st.lists(arrays, max_size=2), vars_names=st.booleans())
def test_random_weight_lists_in_an_h5_file_load_or_raise_a_named_error(layer_groups, optimizer,
                                                                      own, vars_names):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "w.weights.h5"
        with h5py.File(path, "w") as f:
            f.create_group("vars")
            for i, value in enumerate(own):
                f[f"vars/{i}"] = value
            for key, values in layer_groups.items():
                group = f.create_group(f"layers/{key}/vars")
                for i, value in enumerate(values):
                    group[str(i) if vars_names else f"v{i}"] = value
            if optimizer is not None:
                group = f.create_group("optimizer/vars")
                for i, value in enumerate(optimizer):
                    group[str(i)] = value
        check_load(path)


@SETTINGS
@given(layer_groups=groups, optimizer=st.none() | st.lists(arrays, max_size=12),
       listed=st.lists(st.sampled_from(["conv2d", "dense", "flatten", "dropout", "x"]),
                       max_size=6))
def test_random_weight_lists_in_an_npz_file_load_or_raise_a_named_error(layer_groups, optimizer,
                                                                       listed):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "w.weights.npz"
        keys = listed or list(layer_groups)
        contents = {"__format__": np.array("scratchnn.weights.npz/2"),
                    "__layers__": np.array(keys, dtype=str),
                    "__layer_names__": np.array(keys, dtype=str)}
        for key, values in layer_groups.items():
            contents.update({f"layers/{key}/vars/{i}": v for i, v in enumerate(values)})
        if optimizer is not None:
            contents["__optimizer_name__"] = np.array("adam")
            contents.update({f"optimizer/vars/{i}": v for i, v in enumerate(optimizer)})
        np.savez(path, **contents)
        check_load(path)


# -- random values in config.json -------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 40) | st.floats(-2, 2) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=6)


def _paths(node, prefix=()):
    """Every place in a JSON tree where a value can be replaced."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


@SETTINGS
@given(choice=st.integers(0, 10**6), value=json_values)
def test_random_config_values_load_or_raise_a_named_error(choice, value):
    data = valid_bytes("m.keras")
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    cfg = json.loads(members["config.json"])
    paths = list(_paths(cfg))[1:]
    where = paths[choice % len(paths)]
    node = cfg
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    members["config.json"] = json.dumps(cfg).encode()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.keras"
        with zipfile.ZipFile(path, "w") as zf:
            for member, content in members.items():
                zf.writestr(member, content)
        check_load(path, load_model=True)
