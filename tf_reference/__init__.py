"""Keras twins of scratchnn models, and reference runs on TensorFlow.

    keras_model = to_keras(model)            # same layers, configs, names and weights
    model = from_keras(keras_model)          # and back
    loss, grads = keras_gradients(keras_model, x, y)        # what Keras fit applies
    history = keras_fit(keras_model, x, y, epochs=5, orders=recorded_orders)

This package (unlike scratchnn) imports TensorFlow and Keras.
"""

from .convert import from_keras, to_keras
from .masks import InjectedDropout, MaskFeeder, MaskRecorder
from .reference import EpochOrderRecorder, keras_fit, keras_gradients, train_both

__all__ = ["to_keras", "from_keras", "keras_gradients", "keras_fit", "train_both",
           "EpochOrderRecorder",
           "MaskRecorder", "InjectedDropout", "MaskFeeder"]
