"""scratchnn: a neural-network engine written from scratch in NumPy, to be read.

Its public API mirrors tf.keras, so Keras tutorials run by changing the import:

    import scratchnn as snn
    model = snn.Sequential([snn.layers.Dense(10, activation="relu"),
                            snn.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=20)
"""

from . import activations, callbacks, config, initializers, layers, losses, metrics, optimizers
from . import datasets, models, saving, utils
from . import gradcheck, regularizers
from .functional import Functional
from .layers import Input
from .model import Model
from .sequential import Sequential

__version__ = "0.1.0"
__all__ = ["Sequential", "Model", "Input", "activations", "callbacks", "config", "initializers",
           "layers", "losses", "metrics", "models", "optimizers", "saving", "datasets", "utils",
           "gradcheck", "regularizers"]


def __getattr__(name: str):
    """`snn.plots` right after `import scratchnn as snn`, without importing the figures'
    modules (and matplotlib with them) at import time: the subpackage is imported on
    first access. scratchnn.plots itself imports matplotlib only when a figure is drawn."""
    if name == "plots":
        import importlib

        return importlib.import_module(".plots", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
