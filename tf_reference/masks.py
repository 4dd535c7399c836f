"""Identical dropout masks in both engines, without a common seed.

After the same `set_random_seed(s)`, scratchnn's Dropout draws Keras's masks itself
(`scratchnn.random`). Runs WITHOUT a seed (or comparisons that must not depend on the
generator) record the masks scratchnn draws and replay them in Keras:

    recorder = MaskRecorder(model)                 # before fit: records every mask drawn
    model.fit(...)
    twin = to_keras(model_before_fit, masks=recorder.masks)   # Dropout -> InjectedDropout
    keras_fit(twin, ...)                           # feeds one recorded mask per batch
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

import scratchnn as snn


class MaskRecorder:
    """Wraps every Dropout layer of a scratchnn model so the masks it draws are kept,
    per layer name, in drawing order."""

    def __init__(self, model: snn.Sequential) -> None:
        self.masks: dict[str, list[np.ndarray]] = {}
        for layer in model.layers:
            if isinstance(layer, snn.layers.Dropout):
                self.masks[layer.name] = []
                layer.draw_keep_mask = self._recording(layer, layer.draw_keep_mask)

    def _recording(self, layer, draw):
        def draw_and_keep(shape):
            mask = draw(shape)
            self.masks[layer.name].append(mask.copy())
            return mask
        return draw_and_keep


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
        scale = tf.cast(1.0 / (1.0 - self.rate), inputs.dtype)
        keep = tf.reshape(self.keep, tf.shape(inputs))      # gives `keep` the input's rank
        return tf.where(keep, inputs * scale, tf.zeros_like(inputs))

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
