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


def _structure(data, leaf):
    """`data` (one array, a list/tuple of arrays, or a dict of them) with leaf() applied to
    each array, in the same structure (a tuple becomes a list)."""
    if isinstance(data, dict):
        return {key: leaf(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [leaf(value) for value in data]
    return leaf(data)


def keras_gradients(keras_model, x, y, sample_weight=None, training: bool = True,
                    masks_from: snn.Model | None = None) -> tuple[float, list[np.ndarray]]:
    """(loss, grads) exactly as Keras fit computes them for one batch.

    x, y and sample_weight are arrays, or, for a model with several inputs or outputs,
    lists (in the model's input/output order) or dicts of arrays, as fit takes them; the
    loss is then the weighted total of the per-output losses (compile's loss_weights).

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
    variables = keras_model.trainable_variables
    dtype = variables[0].dtype if variables else keras.config.floatx()
    x = _structure(x, lambda a: tf.convert_to_tensor(a, dtype=dtype))
    y = _structure(y, tf.convert_to_tensor)
    if sample_weight is not None:
        sample_weight = _structure(sample_weight, tf.convert_to_tensor)
    with masks_injected(keras_model, masks):
        loss, grads = step(x, y, sample_weight)
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
    is applied outside Keras, so any order (an unseeded run's included) can be replayed.

    x, y (and a sample_weight in fit_kwargs) may be lists or dicts of arrays, for a model
    with several inputs or outputs; a permutation reorders every array alike."""
    x, y = _structure(x, np.asarray), _structure(y, np.asarray)
    injected = [layer for layer in keras_model.layers if isinstance(layer, InjectedDropout)]
    if injected:     # replay scratchnn's dropout masks, one per training batch
        fit_kwargs["callbacks"] = list(fit_kwargs.get("callbacks") or []) + [MaskFeeder(injected)]
    if orders is None:
        return keras_model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False,
                               initial_epoch=initial_epoch, verbose=0, **fit_kwargs).history
    history: dict[str, list[float]] = {}
    sample_weight = fit_kwargs.pop("sample_weight", None)
    for epoch, perm in zip(range(initial_epoch, epochs), orders):
        def take(a):
            return np.asarray(a)[perm]
        if sample_weight is not None:
            fit_kwargs["sample_weight"] = _structure(sample_weight, take)
        h = keras_model.fit(_structure(x, take), _structure(y, take), batch_size=batch_size,
                            epochs=epoch + 1, initial_epoch=epoch, shuffle=False, verbose=0,
                            **fit_kwargs).history
        for key, values in h.items():
            history.setdefault(key, []).extend(values)
    return history


def train_both(layers, input_shape, compile_kwargs: dict, x, y, epochs: int,
               shuffle: bool = False, snn_callbacks=(), keras_callbacks=(),
               seed: int | None = None, **fit_kwargs):
    """Train a scratchnn model and its Keras twin on the same data; returns
    (ours, theirs, model, twin): both History dicts and both trained models.

    The model: `layers`, a list of (unbuilt) scratchnn layers stacked on
    Input(input_shape) into a Sequential, or a scratchnn model itself (a graph model,
    snn.Model(inputs, outputs), or a Sequential; input_shape None). x and y as the
    model's fit takes them (lists or dicts of arrays for several inputs or outputs).

    seed=None (injection): scratchnn trains first; the twin is given scratchnn's initial
    weights, the batch order of every epoch and every Dropout mask it drew, so the runs
    compare arithmetic alone.

    seed=s (independent): nothing is transferred. `layers` is a function returning fresh
    scratchnn layers (or a fresh model, its layers created in `model.layers` order); it is
    called after `snn.utils.set_random_seed(s)`, and the Keras twin is built from the same
    configs, in that order, after `keras.utils.set_random_seed(s)`. Each engine draws its
    own initial weights, Dropout masks and sample order from its own generator; the
    initial weights are checked to be bit-identical before training (AssertionError
    otherwise)."""
    from .convert import to_keras
    from .masks import MaskRecorder

    if seed is not None:
        if not callable(layers):
            raise TypeError("train_both(seed=...) needs `layers` as a function returning "
                            "fresh scratchnn layers: layers built before the seed was set "
                            "have drawn their seeds already")
        snn.utils.set_random_seed(seed)
        model = _model(layers(), input_shape)
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
        theirs = twin.fit(_structure(x, np.asarray), _structure(y, np.asarray), epochs=epochs,
                          shuffle=shuffle, verbose=0, callbacks=list(keras_callbacks),
                          **fit_kwargs).history
        return ours, theirs, model, twin

    model = _model(layers, input_shape)
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


def _model(layers, input_shape) -> snn.Model:
    """A Sequential of `layers` on Input(input_shape), or `layers` when it is a model."""
    if isinstance(layers, snn.Model):
        if input_shape is not None:
            raise TypeError(f"train_both: given the model '{layers.name}', input_shape must "
                            f"be None (got {input_shape!r}): the model has its inputs")
        return layers
    return snn.Sequential([snn.Input(input_shape), *layers])
