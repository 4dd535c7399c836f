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
from . import regularizers
from .layers import Input
from .model import Sequential

__version__ = "0.1.0"
__all__ = ["Sequential", "Input", "activations", "callbacks", "config", "initializers", "layers",
           "losses", "metrics", "models", "optimizers", "saving", "datasets", "utils"]
