"""Identical dropout masks in both engines, without a common seed.

After the same `set_random_seed(s)`, scratchnn's Dropout draws Keras's masks itself
(`scratchnn.random`). Runs WITHOUT a seed (or comparisons that must not depend on the
generator) take the masks scratchnn drew and have Keras apply them:

    recorder = MaskRecorder(model)                 # before fit: records every mask drawn
    model.fit(...)
    twin = to_keras(model_before_fit, masks=recorder.masks)   # Dropout -> InjectedDropout
    keras_fit(twin, ...)                           # feeds one recorded mask per batch

and, for one batch (what `keras_gradients(twin, x, y, masks_from=model)` does):

    model.compute_gradients(x, y)                  # training mode: each Dropout draws a mask
    with masks_injected(twin, last_masks(model)):  # the twin's Dropouts apply those masks
        ...                                        # a training-mode pass of the twin

Every mask is applied with Keras's own formula, where(keep, x * scale, 0), scale being
1 / (1 - rate) converted to the input's dtype (TensorFlow's `_dropout` converts the
Python float directly: in float64 it is NOT rounded through float32 first).
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import keras
import numpy as np
import tensorflow as tf

import scratchnn as snn


class MaskRecorder:
    """Wraps every Dropout layer of a scratchnn model so the masks it draws are kept,
    per layer name, in drawing order."""

    def __init__(self, model: snn.Model) -> None:
        self.masks: dict[str, list[np.ndarray]] = {}
        for layer in model.layers:
            if isinstance(layer, snn.layers.Dropout):
                calls = sum(node.layer is layer for node in getattr(model, "nodes", []))
                if calls > 1:          # its later calls run on replicas, unrecorded
                    raise ValueError(f"MaskRecorder: Dropout '{layer.name}' is called {calls} "
                                     f"times in '{model.name}'; recording the masks of a "
                                     "shared Dropout is not supported")
                self.masks[layer.name] = []
                layer.draw_keep_mask = self._recording(layer, layer.draw_keep_mask)

    def _recording(self, layer, draw):
        def draw_and_keep(shape):
            mask = draw(shape)
            self.masks[layer.name].append(mask.copy())
            return mask
        return draw_and_keep


def dropout_with_mask(inputs, keep, rate: float):
    """Keras's training-mode dropout with a given mask: where(keep, x * scale, 0), scale
    = 1 / (1 - rate) in the input's dtype (as TensorFlow's `_dropout` makes it). `keep`
    broadcasts against the input (a Dropout with noise_shape draws a smaller mask)."""
    scale = tf.constant(1.0 / (1.0 - rate), dtype=inputs.dtype)
    return tf.where(keep, inputs * scale, tf.zeros_like(inputs))


class InjectedDropout(keras.layers.Layer):
    """Keras's dropout formula, where(keep, x * (1/(1-rate)), 0), with `keep` taken from
    a variable that MaskFeeder sets before each training batch."""

    def __init__(self, rate: float, masks: list[np.ndarray], **kwargs) -> None:
        super().__init__(**kwargs)
        self.rate = rate
        self.masks = masks
        self.keep = tf.Variable(np.ones((1,), np.bool_), shape=tf.TensorShape(None),
                                trainable=False)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        keep = tf.reshape(self.keep, tf.shape(inputs))      # gives `keep` the input's rank
        return dropout_with_mask(inputs, keep, self.rate)

    def compute_output_shape(self, input_shape):
        return input_shape


class MaskFeeder(keras.callbacks.Callback):
    """Sets each InjectedDropout's mask before every training batch, in order."""

    def __init__(self, layers: list[InjectedDropout]) -> None:
        super().__init__()
        self.layers = layers
        self.step = 0

    def on_train_batch_begin(self, batch, logs=None):
        for layer in self.layers:
            layer.keep.assign(layer.masks[self.step])
        self.step += 1


# -- one batch: the masks of scratchnn's last training-mode pass ------------------------------
def last_masks(model: snn.Model) -> dict[str, np.ndarray | None]:
    """{Dropout layer name: the keep mask (bool) its last forward pass drew}, for every
    Dropout of a scratchnn model; None for a layer whose last pass let its input through
    (inference, or rate 0). Read after `model.compute_gradients(x, y)` (or a fit step)."""
    masks = {}
    for layer in model.layers:
        if isinstance(layer, snn.layers.Dropout):
            if not hasattr(layer, "keep"):
                raise ValueError(f"Dropout '{layer.name}' of '{model.name}' has run no forward "
                                 "pass yet: call model.compute_gradients(x, y) first")
            masks[layer.name] = None if layer.keep is None else np.asarray(layer.keep)
    return masks


@contextlib.contextmanager
def masks_injected(keras_model, masks: dict[str, np.ndarray | None]) -> Iterator[None]:
    """Inside the block, each layer of `keras_model` named in `masks` (a Dropout, Keras's
    or InjectedDropout) applies that mask in training mode instead of drawing one, and
    lets its input through for None. The layer's own `call` is back afterwards."""
    names = [layer.name for layer in keras_model.layers]
    missing = [name for name in masks if name not in names]
    if missing:
        raise ValueError(f"masks for {missing}, but Keras model '{keras_model.name}' has no "
                         f"layers of those names (its layers: {names})")
    patched = []
    try:
        for name, keep in masks.items():
            layer = keras_model.get_layer(name)
            if not hasattr(layer, "rate"):
                raise ValueError(f"masks given for layer '{name}' of Keras model "
                                 f"'{keras_model.name}', a {type(layer).__name__}, not a Dropout")
            # An instance attribute shadows the class's `call` (Keras looks up self.call).
            layer.call = _call_with_mask(keep, layer.rate)
            patched.append(layer)
        yield
    finally:
        for layer in patched:
            del layer.call


def _call_with_mask(keep: np.ndarray | None, rate: float):
    def call(inputs, training=False):
        if not training or keep is None:
            return inputs
        return dropout_with_mask(inputs, tf.constant(keep), rate)
    return call
