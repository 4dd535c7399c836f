"""Metrics: stateful running means over batches, with Keras 3.15's arithmetic.

Every metric here is a weighted mean of per-sample values, accumulated by
`update_state` across batches, read by `result()`, cleared by `reset_state()`:

    total <- total + sum_n(w_n * value_n)        count <- count + sum_n(w_n)
    result = total / count                       (0 while count is 0: divide_no_nan)

As in Keras, `total` and `count` are scalars of the metric's dtype (floatx, float32 by
default), every addition rounds to that dtype, and `result()` divides in it. So
History, the progress bar and CSVLogger get float32 numbers made Python floats: fit's
loss after batches of 32, 32 and 6 with (float32) losses 0.7, 0.3, 0.1 is

    total = fl(fl(fl(0.7 * 32) + fl(0.3 * 32)) + fl(0.1 * 6)) = 32.6 (float32),
    result = fl(32.6 / 70) = 0.4657142758369446   (in float64 arithmetic: 0.46571428571...)

The sum of one batch's values is added in TensorFlow's CPU order (`tf_sum`) wherever the
order can change the bits; 0/1 accuracies add up exactly in any order, and fit's loss
tracker gets one value per batch, so those common paths skip it.

`resolve(identifier, y_true, y_pred)` is how `compile(metrics=["accuracy"])` picks binary,
sparse or categorical accuracy from the SHAPES, like Keras; `check_identifier` refuses,
up front, what `resolve` could not resolve.
"""

from __future__ import annotations

import math
import re
from typing import Callable

import numpy as np

from . import config, losses
from .optimizers.clipping import tf_sum

Array = np.ndarray


def _metric_dtype(dtype, who: str) -> np.dtype:
    """Keras's `dtype or floatx()`, fixed when the metric is made; float32/float64 only."""
    chosen = config.floatx() if dtype is None else dtype
    try:
        chosen = np.dtype(chosen)
    except TypeError:
        chosen = None
    if chosen not in (np.float32, np.float64):
        raise ValueError(f"{who}: dtype must be 'float32' or 'float64' (the only float types "
                         f"scratchnn computes in), got {dtype!r}")
    return chosen


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


# -- Keras's reduce_to_samplewise_values ------------------------------------------------------
def _sum(x: Array, exact: bool) -> np.floating:
    """sum(x) in x's dtype. `exact`: every partial sum is exact (0/1 values), so NumPy's
    order gives TensorFlow's bits; otherwise add in TensorFlow's order."""
    return x.sum(dtype=x.dtype) if exact else tf_sum(x)


def _mean_over_axes_from(x: Array, axis: int, exact: bool) -> Array:
    """ops.mean over axes axis, axis+1, ...: TensorFlow sums each row of the flattened
    trailing axes (in its order) and divides by the row's length. Shape x.shape[:axis]."""
    lead = x.shape[:axis]
    rows = x.reshape(math.prod(lead), math.prod(x.shape[axis:]))   # (rows, values per row)
    if exact:
        sums = rows.sum(axis=1, dtype=x.dtype)
    else:
        sums = np.array([tf_sum(row) for row in rows], x.dtype)
    return (sums / x.dtype.type(rows.shape[1])).reshape(lead)


def samplewise_values(values, sample_weight, dtype: np.dtype,
                      exact: bool = False) -> tuple[Array, Array | None]:
    """Keras's reduce_to_samplewise_values: (weighted values, weights), one per sample.

    values are cast to `dtype`. Without weights, values with more than one axis are
    averaged to one per sample. With weights: ranks aligned as the losses align them,
    values averaged down to the weights' rank (a scalar weight averages the whole
    batch into ONE value), multiplied by the broadcast weights; weights with more than
    one axis averaged to one per sample. `exact`: the values are 0 or 1."""
    values = np.asarray(values, dtype=dtype)
    weights = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=dtype)
        values, weights = losses.squeeze_or_expand_to_same_rank(values, weights)
        if values.ndim > weights.ndim:
            values = _mean_over_axes_from(values, weights.ndim, exact)
        try:
            weights = np.broadcast_to(weights, values.shape)
        except ValueError:
            raise ValueError(f"sample_weight of shape {np.shape(sample_weight)} does not fit "
                             f"the metric's values of shape {values.shape}") from None
        values = values * weights
        exact = False                                   # w * value can round
        if weights.ndim > 1:
            weights = _mean_over_axes_from(weights, 1, exact)
    if values.ndim > 1:
        if math.prod(values.shape[1:]) == 1:           # one value per sample: the mean
            values = values.reshape(len(values))       # of one number is that number
        else:
            values = _mean_over_axes_from(values, 1, exact)
    return values, weights


class Mean(Metric):
    """Weighted mean of values: update_state(values, sample_weight=None).

    Values with more than one axis are first averaged to one value per sample.
    dtype: the type of total, count and result (None: floatx when the metric is made)."""

    zero_one_values = False      # True where every value is 0 or 1 (accuracies): exact sums

    def __init__(self, name: str = "mean", dtype: str | None = None) -> None:
        self.dtype = _metric_dtype(dtype, f"{type(self).__name__} '{name}'")
        super().__init__(name)

    def reset_state(self) -> None:
        self.total = self.dtype.type(0)
        self.count = self.dtype.type(0)

    def update_state(self, values, sample_weight=None) -> None:
        scalar = self.dtype.type
        if isinstance(values, float) and isinstance(sample_weight, (int, float, type(None))):
            # One value (fit's loss, weighted by the batch size): Keras multiplies in the
            # dtype, total <- fl(total + fl(value * w)), count <- count + w. No sum to order.
            # A Python float is taken as a value of the metric's dtype, as fit's loss is
            # (Keras, handed a Python float itself, makes it a float32 tensor first: the
            # same in float32, one rounding more in a float64 metric).
            weight = scalar(1 if sample_weight is None else sample_weight)
            self.total = self.total + scalar(values) * weight
            self.count = self.count + weight
            return
        # 0/1 values sum exactly, unless weighted or averaged per sample first (k/3 rounds)
        exact = self.zero_one_values and sample_weight is None and (
            np.ndim(values) <= 1 or math.prod(np.shape(values)[1:]) == 1)   # (N,) or (N, 1)
        try:
            values, weights = samplewise_values(values, sample_weight, self.dtype,
                                                self.zero_one_values)
        except ValueError as err:
            raise ValueError(f"{type(self).__name__} '{self.name}': {err}") from None
        self.total = self.total + _sum(values, exact)
        if weights is not None:
            self.count = self.count + tf_sum(weights)
        else:
            self.count = self.count + scalar(values.shape[0] if values.ndim else 1)

    def result(self) -> float:
        """total / count in the dtype, as a Python float; 0.0 while count is 0."""
        if self.count == 0:
            return 0.0
        return float(self.total / self.count)


class MeanMetricWrapper(Mean):
    """The weighted mean of `fn(y_true, y_pred)`, one value per sample.

    direction: "down" (smaller is better) or "up", for EarlyStopping's mode="auto"."""

    def __init__(self, fn: Callable[[Array, Array], Array], name: str | None = None,
                 dtype: str | None = None, direction: str = "down") -> None:
        self.fn = fn
        self.direction = direction
        super().__init__(name or getattr(fn, "__name__", type(fn).__name__), dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        super().update_state(self.fn(y_true, y_pred), sample_weight)


# -- per-sample accuracy functions: 1.0 or 0.0 in floatx, as Keras --------------------------
def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> Array:
    """1 where (p > threshold) equals y (strictly greater, as Keras), per element.

    As Keras: y_true keeps its own type, and a Python float threshold is a float32
    tensor, so float64 predictions are compared with float32(0.3) for threshold=0.3."""
    y_pred = np.asarray(y_pred)
    y_true = np.asarray(y_true)
    y_true, y_pred = losses.squeeze_or_expand_to_same_rank(y_true, y_pred)
    if type(threshold) in (int, float):            # not a NumPy scalar: Keras keeps those
        threshold = np.float32(threshold)
    predicted = (y_pred > threshold).astype(y_true.dtype)
    return (y_true == predicted).astype(config.floatx())


def categorical_accuracy(y_true, y_pred) -> Array:
    """1 where argmax(y) == argmax(p) (ties go to the first index)."""
    same = np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)
    return same.astype(config.floatx())


def sparse_categorical_accuracy(y_true, y_pred) -> Array:
    """1 where the integer label equals argmax(p); labels (N,) or (N, 1). The labels are
    compared in p's dtype, as Keras casts them."""
    y_pred = np.asarray(y_pred)
    y_true = np.asarray(y_true, dtype=y_pred.dtype)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return (y_true == np.argmax(y_pred, axis=-1)).astype(config.floatx())


class BinaryAccuracy(MeanMetricWrapper):
    zero_one_values = True

    def __init__(self, name: str = "binary_accuracy", dtype: str | None = None,
                 threshold: float = 0.5) -> None:
        self.threshold = threshold
        super().__init__(lambda t, p: binary_accuracy(t, p, self.threshold), name, dtype, "up")


class CategoricalAccuracy(MeanMetricWrapper):
    zero_one_values = True

    def __init__(self, name: str = "categorical_accuracy", dtype: str | None = None) -> None:
        super().__init__(categorical_accuracy, name, dtype, "up")


class SparseCategoricalAccuracy(MeanMetricWrapper):
    zero_one_values = True

    def __init__(self, name: str = "sparse_categorical_accuracy",
                 dtype: str | None = None) -> None:
        super().__init__(sparse_categorical_accuracy, name, dtype, "up")


class MeanAbsoluteError(MeanMetricWrapper):
    """mean |y - p| over the last axis per sample, computed in p's dtype (then cast)."""

    def __init__(self, name: str = "mean_absolute_error", dtype: str | None = None) -> None:
        super().__init__(losses.mean_absolute_error, name, dtype)


class MeanSquaredError(MeanMetricWrapper):
    """mean (y - p)^2 over the last axis per sample, computed in p's dtype (then cast)."""

    def __init__(self, name: str = "mean_squared_error", dtype: str | None = None) -> None:
        super().__init__(losses.mean_squared_error, name, dtype)


# -- identifiers --------------------------------------------------------------------------
_BY_NAME: dict[str, type[Metric]] = {
    "binary_accuracy": BinaryAccuracy, "BinaryAccuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy, "CategoricalAccuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "SparseCategoricalAccuracy": SparseCategoricalAccuracy,
    "mean_absolute_error": MeanAbsoluteError, "MeanAbsoluteError": MeanAbsoluteError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mean_squared_error": MeanSquaredError, "MeanSquaredError": MeanSquaredError,
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
}

# The names Keras 3.15's metrics.get knows: its metric classes, each also in snake_case
# (Keras's to_snake_case: "AUC" -> "auc", "IoU" -> "io_u"), and short aliases.
_KERAS_CLASSES = (
    "AUC Accuracy BinaryAccuracy BinaryCrossentropy BinaryIoU CategoricalAccuracy "
    "CategoricalCrossentropy CategoricalHinge ConcordanceCorrelation CosineSimilarity F1Score "
    "FBetaScore FalseNegatives FalsePositives Hinge IoU KLDivergence LogCoshError Mean "
    "MeanAbsoluteError MeanAbsolutePercentageError MeanIoU MeanMetricWrapper MeanSquaredError "
    "MeanSquaredLogarithmicError Metric OneHotIoU OneHotMeanIoU PearsonCorrelation Poisson "
    "Precision PrecisionAtRecall R2Score Recall RecallAtPrecision RootMeanSquaredError "
    "SensitivityAtSpecificity SparseCategoricalAccuracy SparseCategoricalCrossentropy "
    "SparseTopKCategoricalAccuracy SpecificityAtSensitivity SquaredHinge Sum "
    "TopKCategoricalAccuracy TrueNegatives TruePositives").split()
_KERAS_ALIASES = "bce BCE mse MSE mae MAE mape MAPE msle MSLE".split()


def _snake_case(name: str) -> str:
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


KERAS_METRIC_NAMES = frozenset(_KERAS_CLASSES + [_snake_case(n) for n in _KERAS_CLASSES]
                               + _KERAS_ALIASES)


def _is_accuracy(identifier) -> bool:
    return isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc")


def _supported() -> str:
    return ("scratchnn supports 'accuracy' (or 'acc', any case), "
            + ", ".join(repr(n) for n in _BY_NAME)
            + ", a scratchnn Metric object or class, or a function fn(y_true, y_pred) "
              "returning one value per sample")


def check_identifier(identifier) -> None:
    """Raise a ValueError, naming `identifier`, unless `resolve` can resolve it: a name
    scratchnn knows, a scratchnn Metric (object or class), or another callable.

    The message says whether Keras has the metric (then scratchnn does not support it)
    or nobody does, and lists what scratchnn supports. `compile` calls this, so a bad
    metric is refused there rather than at the first batch of fit."""
    if isinstance(identifier, str):
        if _is_accuracy(identifier) or identifier in _BY_NAME:
            return
        if identifier in KERAS_METRIC_NAMES:
            raise ValueError(f"Metric {identifier!r} is a Keras metric not supported by "
                             f"scratchnn; {_supported()}")
        raise ValueError(f"Unknown metric {identifier!r}: neither Keras nor scratchnn has a "
                         f"metric of that name; {_supported()}")
    if isinstance(identifier, Metric) or (isinstance(identifier, type)
                                          and issubclass(identifier, Metric)):
        return
    module = getattr(type(identifier), "__module__", "") or ""
    if module.split(".")[0] in ("keras", "tf_keras", "tensorflow"):
        raise ValueError(f"Metric {identifier!r} is a Keras object, not supported by "
                         f"scratchnn (it computes its metrics itself); {_supported()}")
    if callable(identifier) and not isinstance(identifier, type):
        return
    raise ValueError(f"Unknown metric {identifier!r} (of type {type(identifier).__name__}); "
                     f"{_supported()}")


def resolve(identifier, y_true: Array, y_pred: Array) -> Metric:
    """A fresh metric for `compile(metrics=[identifier])`, named as Keras names it.

    "accuracy"/"acc" is decided from the shapes (Keras's compile_utils):
    y_pred last dim 1 -> binary; y_true of lower rank, or last dim 1 against
    y_pred last dim > 1 -> sparse categorical; else categorical. A Metric object is
    used as it is (its state shared with the caller), a Metric class is instantiated,
    any other callable is wrapped in a MeanMetricWrapper named after it.
    """
    check_identifier(identifier)
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type):
        return identifier()
    if _is_accuracy(identifier):
        if y_pred.shape[-1] == 1:
            return BinaryAccuracy(name=identifier)
        if y_true.ndim < y_pred.ndim or (y_true.shape[-1] == 1 and y_pred.shape[-1] > 1):
            return SparseCategoricalAccuracy(name=identifier)
        return CategoricalAccuracy(name=identifier)
    if isinstance(identifier, str):
        return _BY_NAME[identifier](name=identifier)
    return MeanMetricWrapper(identifier)
