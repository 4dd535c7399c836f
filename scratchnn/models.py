"""`keras.models`'s counterpart: the model classes and whole-model files.

    import scratchnn as snn
    model = snn.models.Model(inputs, outputs)       # a graph (also snn.Model)
    model = snn.models.load_model("model.keras")    # written by scratchnn or by Keras 3
    snn.models.save_model(model, "copy.keras")      # the same as model.save("copy.keras")
    copy = snn.models.clone_model(model)            # same architecture, new weights
    same = snn.models.model_from_json(model.to_json())   # from Keras's JSON, new weights
"""

from __future__ import annotations

from .cloning import clone_model
from .functional import Functional
from .model import Model
from .saving import load_model, model_from_json, save_model
from .sequential import Sequential

__all__ = ["Model", "Sequential", "Functional", "load_model", "save_model", "clone_model",
           "model_from_json"]
