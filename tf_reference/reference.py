"""Reference numbers from TensorFlow: the gradients Keras fit applies, and training runs
of both engines, either from the same seed (each engine with its own random numbers) or
with Keras fed exactly the weights, batches and Dropout masks scratchnn used."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import tensorflow as tf

import scratchnn as snn

from .masks import InjectedDropout, MaskFeeder, last_masks, masks_injected


def keras_gradients(keras_model, x, y, sample_weight=None, training: bool = True,
                    masks_from: snn.Sequential | None = None) -> tuple[float, list[np.ndarray]]:
    """(loss, grads) exactly as Keras fit computes them for one batch.

    The step runs inside tf.function, as in fit: eager kernels differ from the graph
    ones by up to 7e-8, which Adam would grow into visible differences.

    Dropout: in training mode each Dropout draws a random mask, and the two engines'
    masks differ (unless both drew them from the same seed), so the gradients of any
    model with Dropout would differ by O(1) (measured: 40-120% of the largest gradient).
    `masks_from=model`, the scratchnn model whose `compute_gradients` ran just before,
    makes every Dropout of the twin apply the mask that the scratchnn Dropout of the same
    name drew in that pass (`masks.last_masks`); without it, this warns. With
    training=False Dropout is the identity in both engines and no mask is needed."""
    @tf.function
    def step(x, y, sample_weight):
        with tf.GradientTape() as tape:
            y_pred = keras_model(x, training=training)
            loss = keras_model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)
        return loss, tape.gradient(loss, keras_model.trainable_variables)

    masks = {}
    if training and masks_from is not None:
        masks = last_masks(masks_from)
    elif training:
        _warn_about_own_masks(keras_model)
    dtype = keras_model.trainable_variables[0].dtype
    with masks_injected(keras_model, masks):
        loss, grads = step(tf.convert_to_tensor(x, dtype=dtype), tf.convert_to_tensor(y),
                           None if sample_weight is None else tf.convert_to_tensor(sample_weight))
    return float(loss), [g.numpy() for g in grads]


def _warn_about_own_masks(keras_model) -> None:
    """Say so when a training-mode Keras pass is about to draw its own Dropout masks."""
    drawing = [layer.name for layer in keras_model.layers
               if isinstance(layer, keras.layers.Dropout) and layer.rate > 0]
    if drawing:
        warnings.warn(
            f"keras_gradients: in training mode the Dropout layer(s) {drawing} of "
            f"'{keras_model.name}' draw their own masks, not the ones scratchnn drew, so "
            "the gradients differ from scratchnn's by O(1); pass masks_from=<the scratchnn "
            "model whose compute_gradients ran just before>, or training=False",
            UserWarning, stacklevel=3)


class EpochOrderRecorder(snn.callbacks.Callback):
    """Records the sample order scratchnn used in each epoch (for shuffled parity)."""

    def __init__(self) -> None:
        super().__init__()
        self.orders: list[np.ndarray] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.orders.append(self.model.epoch_order.copy())


def keras_fit(keras_model, x, y, epochs: int, batch_size: int = 32, orders=None,
              initial_epoch: int = 0, **fit_kwargs) -> dict[str, list[float]]:
    """Train the Keras twin on the batches scratchnn saw; return its History dict.

    orders=None: one `fit(..., shuffle=False)` call. With the per-epoch permutations
    scratchnn used (see EpochOrderRecorder), each epoch e is
    `fit(x[perm], y[perm], epochs=e+1, initial_epoch=e, shuffle=False)`: the permutation
    is applied outside Keras, so any order (an unseeded run's included) can be replayed."""
    x, y = np.asarray(x), np.asarray(y)
    injected = [layer for layer in keras_model.layers if isinstance(layer, InjectedDropout)]
    if injected:     # replay scratchnn's dropout masks, one per training batch
        fit_kwargs["callbacks"] = list(fit_kwargs.get("callbacks") or []) + [MaskFeeder(injected)]
    if orders is None:
        return keras_model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False,
                               initial_epoch=initial_epoch, verbose=0, **fit_kwargs).history
    history: dict[str, list[float]] = {}
    for epoch, perm in zip(range(initial_epoch, epochs), orders):
        h = keras_model.fit(x[perm], y[perm], batch_size=batch_size, epochs=epoch + 1,
                            initial_epoch=epoch, shuffle=False, verbose=0, **fit_kwargs).history
        for key, values in h.items():
            history.setdefault(key, []).extend(values)
    return history


def train_both(layers, input_shape, compile_kwargs: dict, x, y, epochs: int,
               shuffle: bool = False, snn_callbacks=(), keras_callbacks=(),
               seed: int | None = None, **fit_kwargs):
    """Train a scratchnn model and its Keras twin on the same data; returns
    (ours, theirs, model, twin): both History dicts and both trained models.

    seed=None (injection): scratchnn trains first; the twin is given scratchnn's initial
    weights, the batch order of every epoch and every Dropout mask it drew, so the runs
    compare arithmetic alone. `layers` is a list of (unbuilt) scratchnn layers.

    seed=s (independent): nothing is transferred. `layers` is a function returning fresh
    scratchnn layers; it is called after `snn.utils.set_random_seed(s)`, and the Keras
    twin is built from the same configs, in model order, after
    `keras.utils.set_random_seed(s)`. Each engine draws its own initial weights, Dropout
    masks and sample order from its own generator; the initial weights are checked to be
    bit-identical before training (AssertionError otherwise)."""
    from .convert import to_keras
    from .masks import MaskRecorder

    if seed is not None:
        if not callable(layers):
            raise TypeError("train_both(seed=...) needs `layers` as a function returning "
                            "fresh scratchnn layers: layers built before the seed was set "
                            "have drawn their seeds already")
        snn.utils.set_random_seed(seed)
        model = snn.Sequential([snn.Input(input_shape), *layers()])
        model.compile(**compile_kwargs)
        keras.utils.set_random_seed(seed)
        twin = to_keras(model, copy_weights=False)
        for ours_w, theirs_w, name in zip(model.get_weights(), twin.get_weights(),
                                          [f"{layer.name}/{p}" for layer in model.layers
                                           for p in layer.named_weights]):
            assert np.array_equal(ours_w, theirs_w), \
                f"seed {seed}: initial {name} differs between the engines"
        ours = model.fit(x, y, epochs=epochs, shuffle=shuffle, verbose=0,
                         callbacks=list(snn_callbacks), **fit_kwargs).history
        theirs = twin.fit(np.asarray(x), np.asarray(y), epochs=epochs, shuffle=shuffle,
                          verbose=0, callbacks=list(keras_callbacks), **fit_kwargs).history
        return ours, theirs, model, twin

    model = snn.Sequential([snn.Input(input_shape), *layers])
    model.compile(**compile_kwargs)
    recorder = MaskRecorder(model)
    start_weights = model.get_weights()
    orders = EpochOrderRecorder()
    ours = model.fit(x, y, epochs=epochs, shuffle=shuffle, verbose=0,
                     callbacks=[orders, *snn_callbacks], **fit_kwargs).history
    trained = model.get_weights()
    model.set_weights(start_weights)
    model.compile(**compile_kwargs)                       # a fresh optimizer for the twin
    twin = to_keras(model, masks=recorder.masks or None)
    theirs = keras_fit(twin, x, y, epochs=epochs, orders=orders.orders if shuffle else None,
                       callbacks=list(keras_callbacks), **fit_kwargs)
    model.set_weights(trained)
    return ours, theirs, model, twin
