"""Metrics: stateful running means over batches, as Keras's.

Every metric here is a weighted mean of per-sample values:
result = sum(w * value) / sum(w), accumulated by `update_state` across batches,
read by `result()`, cleared by `reset_state()`. Totals are kept in float64.

`resolve(identifier, y_true, y_pred)` is how `compile(metrics=["accuracy"])`
picks binary, sparse or categorical accuracy from the SHAPES, like Keras.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import losses

Array = np.ndarray


class Metric:
    """The protocol: update_state(y_true, y_pred, sample_weight=None), result(), reset_state()."""

    direction = "down"           # "up" when larger is better (EarlyStopping's mode="auto")

    def __init__(self, name: str) -> None:
        self.name = name
        self.reset_state()

    def reset_state(self) -> None:
        raise NotImplementedError

    def update_state(self, *args, **kwargs) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class Mean(Metric):
    """Weighted mean of values: update_state(values, sample_weight=None).

    Values with more than one axis are first averaged to one value per sample."""

    def __init__(self, name: str = "mean") -> None:
        super().__init__(name)

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None) -> None:
        if isinstance(values, float) and isinstance(sample_weight, (int, float, type(None))):
            weight = 1.0 if sample_weight is None else float(sample_weight)
            self.total += values * weight                      # one value (fit's loss)
            self.count += weight
            return
        values = np.asarray(values, dtype=np.float64)
        if values.ndim > 1:
            values = values.reshape(values.shape[0], -1).mean(axis=1)   # one per sample
        if sample_weight is None:
            self.total += float(values.sum())
            self.count += float(values.size)
            return
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.ndim == values.ndim + 1 and w.shape[-1] == 1:
            w = w[..., 0]
        w = np.broadcast_to(w, values.shape)
        self.total += float((values * w).sum())
        self.count += float(w.sum())

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


class MeanMetricWrapper(Mean):
    """The weighted mean of `fn(y_true, y_pred)`, one value per sample."""

    def __init__(self, fn: Callable[[Array, Array], Array], name: str | None = None,
                 direction: str = "down") -> None:
        self.fn = fn
        self.direction = direction
        super().__init__(name or fn.__name__)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        super().update_state(self.fn(y_true, y_pred), sample_weight)


# -- per-sample accuracy functions ---------------------------------------------------------
def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> Array:
    """1 where (p > threshold) equals y (strictly greater, as Keras), per element."""
    y_pred = np.asarray(y_pred)
    y_true = np.asarray(y_true, dtype=y_pred.dtype)
    y_true, y_pred = losses.squeeze_or_expand_to_same_rank(y_true, y_pred)
    predicted = (y_pred > np.asarray(threshold, y_pred.dtype)).astype(y_true.dtype)
    return (y_true == predicted).astype(np.float64)


def categorical_accuracy(y_true, y_pred) -> Array:
    """1 where argmax(y) == argmax(p) (ties go to the first index)."""
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred) -> Array:
    """1 where the integer label equals argmax(p); labels (N,) or (N, 1)."""
    y_pred = np.asarray(y_pred)
    y_true = np.asarray(y_true, dtype=y_pred.dtype)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return (y_true == np.argmax(y_pred, axis=-1)).astype(np.float64)


class BinaryAccuracy(MeanMetricWrapper):
    def __init__(self, name: str = "binary_accuracy", threshold: float = 0.5) -> None:
        self.threshold = threshold
        super().__init__(lambda t, p: binary_accuracy(t, p, self.threshold), name, "up")


class CategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name: str = "categorical_accuracy") -> None:
        super().__init__(categorical_accuracy, name, "up")


class SparseCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name: str = "sparse_categorical_accuracy") -> None:
        super().__init__(sparse_categorical_accuracy, name, "up")


class MeanAbsoluteError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_absolute_error") -> None:
        super().__init__(losses.mean_absolute_error, name)


class MeanSquaredError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_squared_error") -> None:
        super().__init__(losses.mean_squared_error, name)


_BY_NAME: dict[str, Callable[[], Metric]] = {
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
}


def resolve(identifier, y_true: Array, y_pred: Array) -> Metric:
    """A fresh metric for `compile(metrics=[identifier])`, named as Keras names it.

    "accuracy"/"acc" is decided from the shapes (Keras's compile_utils):
    y_pred last dim 1 -> binary; y_true of lower rank, or last dim 1 against
    y_pred last dim > 1 -> sparse categorical; else categorical.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        if y_pred.shape[-1] == 1:
            return BinaryAccuracy(name=identifier)
        if y_true.ndim < y_pred.ndim or (y_true.shape[-1] == 1 and y_pred.shape[-1] > 1):
            return SparseCategoricalAccuracy(name=identifier)
        return CategoricalAccuracy(name=identifier)
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"Unknown metric {identifier!r}; expected 'accuracy' or one of "
                             f"{sorted(_BY_NAME)}")
        metric = _BY_NAME[identifier]()
        metric.name = identifier
        return metric
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ValueError(f"Unknown metric {identifier!r}")
