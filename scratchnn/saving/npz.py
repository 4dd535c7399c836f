"""scratchnn's own weights format: a NumPy .npz archive, one array per weight.

Arrays are stored as `w0, w1, ...` in `model.weights` order, with `__names__`
holding "<layer name>/<weight name>" for each. Values round-trip exactly.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np


def save_weights_npz(model, path: str) -> None:
    arrays = {f"w{i}": w for i, w in enumerate(model.weights)}
    names = np.array([f"{layer.name}/{name}" for layer in model.layers for name in layer.params])
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, __names__=names, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_weights_npz(model, path: str) -> None:
    with np.load(path, allow_pickle=False) as data:
        n = len(data.files) - 1
        model.set_weights([data[f"w{i}"] for i in range(n)])
