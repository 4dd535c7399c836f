"""Saving and loading models and weights.

    model.save_weights("w.weights.npz")     # the format follows the file name
    model.load_weights("w.weights.npz")

Every write goes to a temporary file in the destination's folder and is renamed
into place, so an interrupted save never destroys an earlier file.
"""

from __future__ import annotations

import os

from .npz import load_weights_npz, save_weights_npz


def save_weights(model, path: str | os.PathLike) -> None:
    """Write all weights of `model` to `path`."""
    save_weights_npz(model, os.fspath(path))


def load_weights(model, path: str | os.PathLike) -> None:
    """Read weights written by `save_weights` into `model` (count and shapes checked)."""
    load_weights_npz(model, os.fspath(path))


__all__ = ["save_weights", "load_weights"]
