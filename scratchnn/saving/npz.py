"""scratchnn's own weights format: a NumPy `.npz` archive in Keras's layout.

The arrays are named by the same paths as in Keras's `.weights.h5` (see state.py),
so the two formats hold exactly the same things, and need nothing but NumPy:

    layers/dense/vars/0, layers/dense/vars/1, ...    each layer's weights
    optimizer/vars/0, 1, ...                         iterations, learning_rate, slots
    __format__        "scratchnn.weights.npz/2"
    __layers__        every layer's path key, in order (layers without weights included)
    __layer_names__   the layers' names, in the same order
    __model_name__, __optimizer_name__

Strings are stored as NumPy unicode arrays, never pickled objects: files are read
with `allow_pickle=False`. The first version of the format (`w0, w1, ...` plus
`__names__`) is still read, matching weighted layers in order.

Reading goes member by member with `zipfile`: each array's header (shape, dtype) is
read first and checked against the model, and its data only afterwards.
"""

from __future__ import annotations

import contextlib
from typing import BinaryIO, Iterator

import numpy as np

from .state import InvalidFile, StoredArray, StoredGroup, StoredState, collect

FORMAT = "scratchnn.weights.npz/2"


# -- writing --------------------------------------------------------------------------------
def write_weights_npz(model, f: BinaryIO) -> None:
    layers, optimizer = collect(model)
    arrays = {"__format__": np.array(FORMAT), "__model_name__": np.array(model.name),
              "__layers__": np.array([key for key, _, _ in layers], dtype=str),
              "__layer_names__": np.array([name for _, name, _ in layers], dtype=str)}
    for key, _, weights in layers:
        arrays.update({f"layers/{key}/vars/{i}": w for i, w in enumerate(weights)})
    if optimizer is not None:
        name, variables = optimizer
        arrays["__optimizer_name__"] = np.array(name)
        arrays.update({f"optimizer/vars/{i}": v for i, v in enumerate(variables)})
    np.savez(f, **arrays)


# -- reading --------------------------------------------------------------------------------
class _Members:
    """The .npy members of an open zip, by array name, readable header first."""

    def __init__(self, zf, where: str) -> None:
        self.zf, self.where = zf, where
        self.names = {n[:-4]: n for n in zf.namelist() if n.endswith(".npy")}

    def header(self, name: str) -> tuple[tuple, np.dtype]:
        with self.zf.open(self.names[name]) as fp:
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
            else:
                raise InvalidFile(f"'{self.where}': array '{name}' uses .npy version {version}")
        if dtype.hasobject:
            raise InvalidFile(f"'{self.where}': array '{name}' holds Python objects (pickled "
                              "data), which scratchnn never loads")
        return tuple(shape), dtype

    def read(self, name: str) -> np.ndarray:
        with self.zf.open(self.names[name]) as fp:
            return np.lib.format.read_array(fp, allow_pickle=False)

    def stored(self, name: str) -> StoredArray:
        shape, dtype = self.header(name)
        return StoredArray(shape, dtype, lambda: self.read(name))

    def strings(self, name: str, ndim: int) -> list[str]:
        """A small unicode array of names (ndim 0: one string, 1: a list)."""
        shape, dtype = self.header(name)
        if dtype.kind != "U" or len(shape) != ndim or (shape and shape[0] > 100_000):
            raise InvalidFile(f"'{self.where}': '{name}' should be {ndim}-d text, "
                              f"found {dtype} {shape}")
        value = self.read(name)
        return str(value) if ndim == 0 else [str(s) for s in value]

    def group(self, prefix: str, name: str | None) -> StoredGroup:
        arrays = []
        while f"{prefix}/vars/{len(arrays)}" in self.names:
            arrays.append(self.stored(f"{prefix}/vars/{len(arrays)}"))
        return StoredGroup(name, arrays)


def _state_v2(m: _Members) -> StoredState:
    keys = m.strings("__layers__", 1)
    names = m.strings("__layer_names__", 1)
    if len(keys) != len(names):
        raise InvalidFile(f"'{m.where}': {len(keys)} layer paths but {len(names)} layer names")
    layers = {key: m.group(f"layers/{key}", name) for key, name in zip(keys, names)}
    known = {f"layers/{key}/vars/{i}" for key, g in layers.items() for i in range(len(g.arrays))}
    optimizer = None
    if "__optimizer_name__" in m.names:
        optimizer = m.group("optimizer", m.strings("__optimizer_name__", 0))
        known |= {f"optimizer/vars/{i}" for i in range(len(optimizer.arrays))}
    strays = sorted(n for n in m.names if not n.startswith("__") and n not in known)
    if strays:
        raise InvalidFile(f"'{m.where}': arrays {strays[:5]} belong to no layer listed in "
                          "__layers__ (the file is damaged or was edited)")
    return StoredState(layers, optimizer)


def _state_v1(m: _Members) -> StoredState:
    """scratchnn's first format: w0, w1, ... and __names__ ('<layer>/<weight>')."""
    names = m.strings("__names__", 1)
    if sorted(m.names) != sorted(["__names__"] + [f"w{i}" for i in range(len(names))]):
        raise InvalidFile(f"'{m.where}': expected arrays w0..w{len(names) - 1} and __names__, "
                          f"found {sorted(m.names)[:10]}")
    layers: dict[str, StoredGroup] = {}
    for i, name in enumerate(names):
        layer = name.rsplit("/", 1)[0]
        layers.setdefault(layer, StoredGroup(layer, [])).arrays.append(m.stored(f"w{i}"))
    return StoredState(layers, by_position=True)


@contextlib.contextmanager
def read_weights_npz(path: str, where: str) -> Iterator[StoredState]:
    import zipfile

    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        from .h5 import head_of, unreadable
        raise unreadable(where, head_of(path), "zip", err) from err
    with zf:
        members = _Members(zf, where)
        try:
            if "__format__" in members.names:
                version = members.strings("__format__", 0)
                if version != FORMAT:
                    raise InvalidFile(f"'{where}' is in format {version!r}; this scratchnn "
                                      f"reads {FORMAT!r}")
                state = _state_v2(members)
            elif "__names__" in members.names:
                state = _state_v1(members)
            else:
                raise InvalidFile(f"'{where}' is a .npz archive but not a scratchnn weights "
                                  f"file (it holds {sorted(members.names)[:10]})")
        except InvalidFile:
            raise
        except Exception as err:      # zipfile / NumPy on a damaged archive
            raise InvalidFile(f"'{where}' is damaged and cannot be read: "
                              f"{type(err).__name__}: {err}") from err
        yield state
