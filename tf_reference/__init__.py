"""Keras twins of scratchnn models, and reference runs on TensorFlow.

    keras_model = to_keras(model)            # same layers, configs, names and weights; a
                                             # graph model's twin makes the same calls
    model = from_keras(keras_model)          # and back (Sequential or Functional)
    loss, grads = keras_gradients(keras_model, x, y)        # what Keras fit applies
    history = keras_fit(keras_model, x, y, epochs=5, orders=recorded_orders)

x and y may be lists or dicts of arrays for models with several inputs or outputs.
This package (unlike scratchnn) imports TensorFlow and Keras.
"""

from .convert import from_keras, to_keras
from .masks import InjectedDropout, MaskFeeder, MaskRecorder
from .reference import EpochOrderRecorder, keras_fit, keras_gradients, train_both

__all__ = ["to_keras", "from_keras", "keras_gradients", "keras_fit", "train_both",
           "EpochOrderRecorder",
           "MaskRecorder", "InjectedDropout", "MaskFeeder"]
