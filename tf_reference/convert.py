"""Translate models between scratchnn and Keras, weights and compile settings included.

    twin = to_keras(model)        # a Sequential's twin is a keras.Sequential, a graph
                                  # model's (snn.Model(inputs, outputs)) a keras.Model
    model = from_keras(twin)      # and back: Sequential from Sequential, graph from graph

Layers are translated one by one (layers.py); a graph's calls are replayed (graphs.py).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import scratchnn as snn  # noqa: E402

from .graphs import graph_from_keras, graph_to_keras  # noqa: E402
from .layers import keras_layer, snn_layer  # noqa: E402
from .masks import InjectedDropout  # noqa: E402
from .optimizers import keras_optimizer  # noqa: E402


def _keras_loss(loss: snn.losses.Loss):
    cfg = loss.get_config()
    reduction = cfg["reduction"]
    kinds = {
        snn.losses.BinaryCrossentropy: lambda: keras.losses.BinaryCrossentropy(
            from_logits=cfg["from_logits"], label_smoothing=cfg["label_smoothing"],
            reduction=reduction),
        snn.losses.CategoricalCrossentropy: lambda: keras.losses.CategoricalCrossentropy(
            from_logits=cfg["from_logits"], label_smoothing=cfg["label_smoothing"],
            reduction=reduction),
        snn.losses.SparseCategoricalCrossentropy: lambda: keras.losses.SparseCategoricalCrossentropy(
            from_logits=cfg["from_logits"], reduction=reduction),
        snn.losses.MeanSquaredError: lambda: keras.losses.MeanSquaredError(reduction=reduction),
        snn.losses.MeanAbsoluteError: lambda: keras.losses.MeanAbsoluteError(reduction=reduction),
    }
    if type(loss) not in kinds:
        raise TypeError(f"to_keras: no Keras twin for loss {type(loss).__name__} "
                        f"'{getattr(loss, 'name', loss)}'")
    return kinds[type(loss)]()


# scratchnn metric class -> the Keras class of the same name (same arguments, same key).
_METRIC_CLASSES = {snn.metrics.BinaryAccuracy: keras.metrics.BinaryAccuracy,
                   snn.metrics.CategoricalAccuracy: keras.metrics.CategoricalAccuracy,
                   snn.metrics.SparseCategoricalAccuracy: keras.metrics.SparseCategoricalAccuracy,
                   snn.metrics.MeanAbsoluteError: keras.metrics.MeanAbsoluteError,
                   snn.metrics.MeanSquaredError: keras.metrics.MeanSquaredError}

# scratchnn per-sample function -> Keras's function of the same name and formula.
_METRIC_FUNCTIONS = {snn.metrics.binary_accuracy: keras.metrics.binary_accuracy,
                     snn.metrics.categorical_accuracy: keras.metrics.categorical_accuracy,
                     snn.metrics.sparse_categorical_accuracy:
                         keras.metrics.sparse_categorical_accuracy,
                     snn.losses.mean_absolute_error: keras.metrics.mean_absolute_error,
                     snn.losses.mean_squared_error: keras.metrics.mean_squared_error,
                     snn.losses.binary_crossentropy: keras.metrics.binary_crossentropy,
                     snn.losses.categorical_crossentropy: keras.metrics.categorical_crossentropy,
                     snn.losses.sparse_categorical_crossentropy:
                         keras.metrics.sparse_categorical_crossentropy}


def _keras_metric(metric):
    """The Keras twin of one compile() metric, with the same log key: a name stays a name, a
    scratchnn Metric class becomes Keras's class, a Metric object Keras's object of the same
    class, name, dtype (and threshold), a MeanMetricWrapper or a plain function Keras's
    MeanMetricWrapper of the same name over Keras's function of the same name; a user's
    NumPy function runs inside Keras's graph through tf.numpy_function."""
    if isinstance(metric, str):
        return metric
    if isinstance(metric, type):
        if metric not in _METRIC_CLASSES:
            raise TypeError(f"to_keras: no Keras twin for metric class {metric.__name__}")
        return _METRIC_CLASSES[metric]
    if type(metric) in _METRIC_CLASSES:
        extra = {"threshold": metric.threshold} if hasattr(metric, "threshold") else {}
        return _METRIC_CLASSES[type(metric)](name=metric.name, dtype=metric.dtype.name, **extra)
    if type(metric) is snn.metrics.MeanMetricWrapper:
        return keras.metrics.MeanMetricWrapper(_keras_metric_function(metric.fn),
                                               name=metric.name, dtype=metric.dtype.name)
    if isinstance(metric, snn.metrics.Metric):
        raise TypeError(f"to_keras: no Keras twin for metric {type(metric).__name__} "
                        f"'{metric.name}'")
    if callable(metric):             # scratchnn wraps a function in a MeanMetricWrapper too
        name = getattr(metric, "__name__", type(metric).__name__)
        return keras.metrics.MeanMetricWrapper(_keras_metric_function(metric), name=name)
    raise TypeError(f"to_keras: no Keras twin for metric {metric!r}")


def _keras_metric_function(fn):
    """Keras's function of the same name, or `fn` itself run on NumPy arrays inside the graph
    (its values reshaped to one row per sample: Keras's Mean then averages each row, as
    scratchnn's does)."""
    if fn in _METRIC_FUNCTIONS:
        return _METRIC_FUNCTIONS[fn]

    def on_numpy(y_true, y_pred):
        values = tf.numpy_function(lambda t, p: np.asarray(fn(t, p), p.dtype),
                                   [y_true, y_pred], y_pred.dtype, stateful=False)
        return tf.reshape(values, [tf.shape(y_pred)[0], -1])
    on_numpy.__name__ = getattr(fn, "__name__", "numpy_metric")
    return on_numpy


def _keras_metrics(given):
    """compile()'s `metrics` (or `weighted_metrics`) with every entry replaced by its twin,
    in the same structure (a list, a list of lists per output, a dict per output)."""
    if given is None:
        return None
    if isinstance(given, dict):
        return {key: _keras_metrics(value) for key, value in given.items()}
    if isinstance(given, (list, tuple)):
        return [_keras_metrics(value) for value in given]
    return _keras_metric(given)


def _compile_arguments(model) -> dict:
    """keras.Model.compile's arguments for the twin of a compiled scratchnn model: the
    same optimizer (fresh state), loss per output (None where an output has none),
    loss_weights, metrics and weighted_metrics, in the structure compile() was given."""
    arguments = dict(optimizer=keras_optimizer(model.optimizer))
    if getattr(model, "is_multi_output", False):
        losses = [None if loss is None else _keras_loss(loss) for loss in model.compiled_losses]
        weights = model.compiled_loss_weights
        weights = None if all(w is None for w in weights) else weights
        if isinstance(model.output, dict):      # keyed by the dict's keys, in both engines
            losses = dict(zip(model.loss_names, losses))
            weights = None if weights is None else dict(zip(model.loss_names, weights))
        arguments.update(loss=losses, loss_weights=weights)
    else:
        arguments.update(loss=_keras_loss(model.loss))
    user = (model.compiled_metric_ids or None, model.compiled_weighted_metric_ids or None)
    arguments.update(metrics=_keras_metrics(user[0]), weighted_metrics=_keras_metrics(user[1]))
    return arguments


def to_keras(model, compile: bool = True, masks: dict[str, list] | None = None,
             copy_weights: bool = True) -> keras.Model:
    """The Keras twin of a scratchnn model: the same layers (names, classes, configs),
    trainable flags and weights, and, when `model` is compiled, the same losses,
    loss_weights, optimizer hyper-parameters and metrics. A Sequential gives a
    keras.Sequential; a graph model (snn.Model(inputs, outputs)) a keras.Model making the
    same calls (shared layers shared, merge layers on the same lists), inputs and outputs
    in the same structure (graphs.py).

    masks: {dropout layer name: [mask per training batch]} (see masks.MaskRecorder)
    replaces those Dropout layers by InjectedDropout; `keras_fit` then feeds them.
    copy_weights=False keeps the weights Keras's own initializers drew: after
    `keras.utils.set_random_seed(s)`, those of a scratchnn model built after
    `snn.utils.set_random_seed(s)` with its layers created in `model.layers` order."""
    if not model.built:
        raise ValueError(f"to_keras: model '{model.name}' must be built first (give it an "
                         "input shape or call it on data)")
    if isinstance(model, snn.models.Functional):
        twin = graph_to_keras(model, masks)
    else:
        layers = []
        for layer in model.layers:
            if masks is not None and layer.name in masks:
                layers.append(InjectedDropout(layer.rate, masks[layer.name], name=layer.name))
            else:
                layers.append(keras_layer(layer))
        twin = keras.Sequential([keras.Input(model.input_shape[1:])] + layers, name=model.name)
    _copy_trainable_flags(model, twin)
    if copy_weights:
        twin.set_weights(model.get_weights())
    if compile and model.compiled:
        twin.compile(**_compile_arguments(model))
    return twin


def _copy_trainable_flags(source, target) -> None:
    """target's trainable flags (the model's, then each layer's) set to source's. The
    model's first: setting it sets every layer's, in both engines."""
    if not source.trainable:
        target.trainable = False
    for mine, theirs in zip(source.layers, target.layers):
        theirs.trainable = mine.trainable


def from_keras(keras_model):
    """The scratchnn twin of a built Keras model, with the same layers, trainable flags and
    weights (activation functions must be ones scratchnn knows): a Sequential for a
    keras.Sequential, a graph model replaying the calls of a Functional one (graphs.py).
    The twin is not compiled."""
    if isinstance(keras_model, keras.Sequential):
        input_shape = tuple(keras_model.inputs[0].shape[1:])
        model = snn.Sequential([snn.Input(input_shape)]
                               + [snn_layer(layer) for layer in keras_model.layers],
                               name=keras_model.name)
    elif hasattr(keras_model, "_nodes_by_depth"):
        model = graph_from_keras(keras_model)
    else:
        raise TypeError(f"from_keras: '{keras_model.name}' is a subclassed "
                        f"{type(keras_model).__name__} (no graph of calls to replay); only "
                        "Sequential and Functional models are supported by scratchnn")
    _copy_trainable_flags(keras_model, model)
    model.set_weights([np.asarray(w) for w in keras_model.get_weights()])
    return model
