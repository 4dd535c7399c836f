"""`keras.models`'s counterpart: the Sequential class and whole-model files.

    import scratchnn as snn
    model = snn.models.load_model("model.keras")    # written by scratchnn or by Keras 3
    snn.models.save_model(model, "copy.keras")      # the same as model.save("copy.keras")
"""

from __future__ import annotations

from .model import Sequential
from .saving import load_model, save_model

__all__ = ["Sequential", "load_model", "save_model"]
