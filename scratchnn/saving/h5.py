"""Keras 3's `.weights.h5` layout, read and written with h5py (imported only here, lazily).

    /vars                       attrs name = the model's name; no datasets for a Sequential
    /layers/dense/vars          attrs name = the layer's name; datasets "0" (kernel), "1" (bias)
    /layers/flatten/vars        an empty group: Keras writes one for every layer
    /optimizer/vars             attrs name = the optimizer's name; "0" iterations (int64),
                                "1" learning_rate, then the slots in `variables` order

The same bytes are the `model.weights.h5` member of a `.keras` archive. Datasets are
written plainly (contiguous, uncompressed), as Keras writes them.

Reading is careful: links (soft or external), external and virtual datasets are
refused as Keras refuses them, and nothing is read until `state.restore` has checked
every shape against the model.
"""

from __future__ import annotations

import contextlib
import io
from typing import BinaryIO, Iterator

import numpy as np

from .state import InvalidFile, StoredArray, StoredGroup, StoredState, collect

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def require_h5py():
    """h5py, or an ImportError saying how to get it (it is the `h5` extra)."""
    try:
        import h5py
    except ImportError:
        raise ImportError("Keras's .weights.h5 and .keras files need h5py: "
                          "pip install 'scratchnn[h5]' (or pip install h5py)") from None
    return h5py


# -- writing --------------------------------------------------------------------------------
def weights_h5_bytes(model) -> bytes:
    """The model's weights (and optimizer state, when compiled) in Keras's layout."""
    h5py = require_h5py()
    layers, optimizer = collect(model)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        h5.create_group("vars").attrs["name"] = model.name
        for key, name, weights in layers:
            group = h5.create_group(f"layers/{key}/vars")
            group.attrs["name"] = name
            for i, weight in enumerate(weights):
                group[str(i)] = weight
        if optimizer is not None:
            name, variables = optimizer
            group = h5.create_group("optimizer/vars")
            group.attrs["name"] = name
            for i, value in enumerate(variables):
                group[str(i)] = value
    return buffer.getvalue()


def write_weights_h5(model, f: BinaryIO) -> None:
    f.write(weights_h5_bytes(model))


# -- reading --------------------------------------------------------------------------------
def _child(h5py, parent, name: str, kind, where: str):
    """parent[name] if it is a plain `kind` (Group or Dataset) stored in this file."""
    link = parent.get(name, getclass=True, getlink=True)
    if link in (h5py.SoftLink, h5py.ExternalLink):
        raise InvalidFile(f"'{where}': '{parent.name}/{name}' is a link; weights files "
                          "with links are refused (as Keras refuses them)")
    obj = parent[name]
    if not isinstance(obj, kind):
        raise InvalidFile(f"'{where}': '{obj.name}' should be a {kind.__name__}, "
                          f"found a {type(obj).__name__}")
    if isinstance(obj, h5py.Dataset) and (obj.external or obj.is_virtual):
        raise InvalidFile(f"'{where}': dataset '{obj.name}' keeps its data outside the file; "
                          "refused (as Keras refuses it)")
    return obj


def _name_attr(group) -> str | None:
    name = group.attrs.get("name")
    if isinstance(name, bytes):
        return name.decode("utf-8", "replace")
    return None if name is None else str(name)


def _vars_group(h5py, parent, path: str, where: str) -> StoredGroup | None:
    """The `vars` group under `path` as a StoredGroup (datasets "0", "1", ... in order)."""
    if path and path not in parent:
        return None
    owner = _child(h5py, parent, path, h5py.Group, where) if path else parent
    if "vars" not in owner:
        return StoredGroup(None, [])
    group = _child(h5py, owner, "vars", h5py.Group, where)
    names = list(group.keys())
    if sorted(names) != sorted(str(i) for i in range(len(names))):
        raise InvalidFile(f"'{where}': '{group.name}' should hold datasets named 0, 1, ..., "
                          f"{len(names) - 1}; found {sorted(names)}")
    arrays = []
    for i in range(len(names)):
        dataset = _child(h5py, group, str(i), h5py.Dataset, where)
        arrays.append(StoredArray(tuple(dataset.shape), dataset.dtype,
                                  lambda dataset=dataset: np.asarray(dataset[()])))
    return StoredGroup(_name_attr(group), arrays)


def _state_from_h5(h5py, h5, where: str) -> StoredState:
    layers = {}
    if "layers" in h5:
        for key in _child(h5py, h5, "layers", h5py.Group, where).keys():
            layers[key] = _vars_group(h5py, h5, f"layers/{key}", where)
    elif "vars" not in h5 and "optimizer" not in h5:
        found = sorted(h5.keys())
        hint = (" (its root attribute 'layer_names' marks Keras 2's legacy .h5 format, which "
                "scratchnn does not read)" if "layer_names" in h5.attrs else "")
        raise InvalidFile(f"'{where}' is an HDF5 file but not in Keras 3's weights layout "
                          f"(no 'layers' group; top level holds {found}){hint}")
    return StoredState(layers, _vars_group(h5py, h5, "optimizer", where),
                       _vars_group(h5py, h5, "", where))


_KINDS = {"hdf5": "an HDF5 file (like .weights.h5)",
          "zip": "a zip archive (like .npz and .keras files)"}


def _kind(head: bytes) -> str:
    if head.startswith(HDF5_SIGNATURE):
        return "hdf5"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    return "empty" if not head else "other"


def unreadable(where: str, head: bytes, expected: str, err: Exception) -> InvalidFile:
    """The error for a file that does not open as `expected` ("hdf5" or "zip"), saying what
    its first bytes show it is: damaged, the wrong kind, empty, or something else."""
    kind = _kind(head)
    if kind == expected:
        what = f"a damaged or truncated {'HDF5 file' if kind == 'hdf5' else 'zip archive'}"
    elif kind in _KINDS:
        what = f"{_KINDS[kind]}, not {_KINDS[expected].split(' (')[0]}"
    else:
        what = "empty" if kind == "empty" else "neither an HDF5 file nor a zip archive"
    return InvalidFile(f"Cannot load '{where}': it is {what} ({type(err).__name__}: {err})")


def head_of(source) -> bytes:
    """The first 8 bytes of a path or a seekable file object."""
    if hasattr(source, "read"):
        source.seek(0)
        return source.read(8)
    with open(source, "rb") as f:
        return f.read(8)


@contextlib.contextmanager
def read_weights_h5(source: str | BinaryIO, where: str) -> Iterator[StoredState]:
    """Open a `.weights.h5` (a path or a file object) and yield its StoredState; the file
    stays open inside the block, so arrays are read only when restore asks for them."""
    h5py = require_h5py()
    try:
        h5 = h5py.File(source, "r")
    except Exception as err:
        raise unreadable(where, head_of(source), "hdf5", err) from err
    with h5:
        try:
            state = _state_from_h5(h5py, h5, where)
        except InvalidFile:
            raise
        except Exception as err:       # h5py on a damaged file: OSError, KeyError, RuntimeError
            raise InvalidFile(f"'{where}' is damaged and cannot be read: "
                              f"{type(err).__name__}: {err}") from err
        yield state
