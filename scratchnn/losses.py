"""Losses with their gradients, exactly as Keras 3 computes them.

A loss turns (y_true, y_pred) into one number per sample, then reduces them
(default "sum_over_batch_size": sum of w_n * l_n divided by the NUMBER of l_n).
Every loss here also returns the gradient of that reduced value, so the model's
backward pass can start from it:

    value, grad = loss.value_and_grad(y_true, y_pred, sample_weight)   # grad = dL/d(y_pred)

THE LOGITS PATH. When the model's output is a softmax or sigmoid, Keras remembers
its input z (the logits, `_keras_logits`) and every crossentropy loss is computed
from z, never from the clipped probabilities. scratchnn does the same:
`value_and_grad(..., logits=z)` returns dL/dz, and the gradients collapse to

    softmax + categorical crossentropy:  l = logsumexp(z) - z_y,  dl/dz = softmax(z) - y
    sigmoid + binary crossentropy:       l = max(z,0) - z y + log(1 + e^-|z|),  dl/dz = sigmoid(z) - y

(per element; the reduction then divides by N, and by d for the mean over the last
axis). Keras applies this rule to any crossentropy whose y_pred carries logits,
even softmax + BinaryCrossentropy (sigmoid crossentropy of the softmax's logits);
scratchnn reproduces that too. See docs/backprop.md for the derivations.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from . import config

Array = np.ndarray
_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


# -- shape rules --------------------------------------------------------------------
def squeeze_or_expand_to_same_rank(x1: Array, x2: Array) -> tuple[Array, Array]:
    """Keras's rule: when ranks differ by one and the larger has last dim 1, make them
    agree (expanding a rank-1 array, else squeezing). So y (N,) meets p (N, 1) as (N, 1):
    per sample, NOT the N x N matrix that NumPy broadcasting would build."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1:
            x2 = x2[:, None]
        else:
            x1 = x1[..., 0]
    elif x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1:
            x1 = x1[:, None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def _require_same_shape(name: str, y_true: Array, y_pred: Array) -> None:
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{name} expects y_true and y_pred of the same shape, got y_true "
                         f"{y_true.shape} and y_pred {y_pred.shape}")


def _clip(p: Array) -> tuple[Array, Array]:
    """Clip probabilities to [eps, 1 - eps] (bounds in p's dtype: 0.99999988 in float32).

    Returns the clipped values and where the gradient flows (inside the bounds)."""
    eps = config.epsilon()
    lo, hi = np.asarray(eps, p.dtype), np.asarray(1 - eps, p.dtype)
    return np.clip(p, lo, hi), (p >= lo) & (p <= hi)


def _log_softmax(z: Array) -> Array:
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


# -- per-sample losses and their gradients --------------------------------------------
# Each returns (l, dl): l has one value per sample (N,), dl = dl_n/d(input)_n (N, ..., d).

def _bce_probs(y: Array, p: Array) -> tuple[Array, Array]:
    # l = mean_k -(y log p + (1-y) log(1-p)),   dl/dp = (-(y/p) + (1-y)/(1-p)) / d
    pc, inside = _clip(p)
    elementwise = -(y * np.log(pc) + (1 - y) * np.log(1 - pc))
    dl = (-(y / pc) + (1 - y) / (1 - pc)) * inside / p.shape[-1]
    return elementwise.sum(axis=-1) / p.shape[-1], dl


def _bce_logits(y: Array, z: Array) -> tuple[Array, Array]:
    # -(y log s(z) + (1-y) log(1-s(z))) rewritten so exp never overflows;
    # its derivative is s(z) - y (the fused gradient), divided by d for the mean.
    e = np.exp(-np.abs(z))                                   # in (0, 1]
    elementwise = np.maximum(z, 0) - z * y + np.log1p(e)
    s = np.where(z >= 0, 1, e) / (1 + e)                     # sigmoid(z), from the same e
    d = z.shape[-1]
    return elementwise.sum(axis=-1) / d, (s - y) / d


def _cce_probs(y: Array, p: Array) -> tuple[Array, Array]:
    # Keras normalises first: q = p / s with s = sum_k p_k, then clips, then l = -sum y log q.
    # dl/dq = -y/q;  dq_j/dp_k = (delta_jk - q_j)/s  =>  dl/dp = (dl/dq - sum_j dl/dq_j q_j) / s
    s = p.sum(axis=-1, keepdims=True)
    q = p / s
    qc, inside = _clip(q)
    dq = -(y / qc) * inside
    dl = (dq - np.sum(dq * q, axis=-1, keepdims=True)) / s
    return -np.sum(y * np.log(qc), axis=-1), dl


def _cce_logits(y: Array, z: Array) -> tuple[Array, Array]:
    # l = -sum y log softmax(z),  dl/dz = softmax(z) sum(y) - y   (= p - y for one-hot y)
    log_p = _log_softmax(z)
    dl = np.exp(log_p) * y.sum(axis=-1, keepdims=True) - y
    return -np.sum(y * log_p, axis=-1), dl


def _one_hot_like(labels: Array, z: Array) -> Array:
    one_hot = np.zeros_like(z)
    np.put_along_axis(one_hot, labels[..., None], 1, axis=-1)
    return one_hot


def _scce_logits(labels: Array, z: Array) -> tuple[Array, Array]:
    # l = logsumexp(z) - z_y,  dl/dz = softmax(z) - onehot(y)
    log_p = _log_softmax(z)
    if z.ndim != 2:                                          # (N, ..., C): the general form
        loss = -np.take_along_axis(log_p, labels[..., None], axis=-1)[..., 0]
        return loss, np.exp(log_p) - _one_hot_like(labels, z)
    rows = np.arange(len(labels))
    dl = np.exp(log_p)                                       # softmax(z)   (N, C)
    dl[rows, labels] -= 1                                    # - onehot(y), in place
    return -log_p[rows, labels], dl


def _scce_probs(labels: Array, p: Array) -> tuple[Array, Array]:
    # Keras clips p, takes log, then applies the logits formula to log p:
    # l = log(sum_k pc_k) - log pc_y;  chain rule through log: dl/dp = dl/d(log pc) / pc
    pc, inside = _clip(p)
    loss, dlog = _scce_logits(labels, np.log(pc))
    return loss, dlog / pc * inside


def _mse(y: Array, p: Array) -> tuple[Array, Array]:
    # l = mean (y - p)^2,  dl/dp = 2 (p - y) / d
    diff = y - p
    return np.square(diff).sum(axis=-1) / p.shape[-1], -2 * diff / p.shape[-1]


def _mae(y: Array, p: Array) -> tuple[Array, Array]:
    # l = mean |y - p|,  dl/dp = sign(p - y) / d   (0 where p == y, as TensorFlow)
    diff = y - p
    return np.abs(diff).sum(axis=-1) / p.shape[-1], -np.sign(diff) / p.shape[-1]


# -- the Loss classes ------------------------------------------------------------------
class Loss:
    """Base class: Keras's `Loss(reduction=..., name=...)`, callable as
    `loss(y_true, y_pred, sample_weight=None)`, plus `value_and_grad` for backprop."""

    accepts_logits = False       # crossentropies: computed from carried logits when given

    def __init__(self, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None) -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}, "
                             f"got {reduction!r}")
        self.reduction = reduction
        self.name = name or _default_name(type(self))

    def __call__(self, y_true, y_pred, sample_weight=None) -> float | Array:
        value, _ = self.value_and_grad(y_true, y_pred, sample_weight, need_grad=False)
        return value

    def call(self, y_true, y_pred) -> Array:
        """Unreduced per-sample losses, as Keras's `Loss.call`."""
        y_true, y_pred = self._prepare(y_true, y_pred)
        return self._per_sample(y_true, y_pred, False)[0]

    def value_and_grad(self, y_true, y_pred, sample_weight=None, logits: Array | None = None,
                       need_grad: bool = True) -> tuple[float | Array, Array | None]:
        """The reduced loss and its gradient.

        The gradient is dL/d(y_pred), or dL/d(logits) when `logits` (the input of a
        softmax/sigmoid output) is given and this loss computes from logits.
        """
        y_pred = np.asarray(y_pred)
        if y_pred.dtype.kind != "f":
            y_pred = y_pred.astype(config.floatx())
        carried = logits is not None and self.accepts_logits
        source = np.asarray(logits) if carried else y_pred  # what the gradient is taken at
        y_true, aligned = self._prepare(y_true, source)
        per_sample, dl = self._per_sample(y_true, aligned, carried)
        if sample_weight is None and self.reduction == "sum_over_batch_size":
            # fit's case, spelled out: L = sum(l_n) / n_losses, dL/d(input)_n = dl_n / n_losses
            n = per_sample.size
            value = float(per_sample.sum() / np.asarray(n, per_sample.dtype)) if n else 0.0
            if not need_grad:
                return value, None
            return value, (dl * np.asarray(1.0 / max(n, 1), dl.dtype)).reshape(source.shape)
        weights = self._sample_weights(sample_weight, per_sample)
        weighted = per_sample if weights is None else per_sample * weights
        if self.reduction in (None, "none"):
            value, scale = weighted, 1.0
        else:
            total = weighted.sum()
            if self.reduction == "sum":
                divisor = 1.0
            elif self.reduction == "mean_with_sample_weight" and weights is not None:
                divisor = float(np.broadcast_to(weights, per_sample.shape).sum())
            else:
                divisor = per_sample.size
            scale = 0.0 if divisor == 0 else 1.0 / divisor
            value = float(total / np.asarray(divisor, total.dtype)) if divisor else 0.0
        if not need_grad:
            return value, None
        # dL/d(input)_n = (w_n / divisor) * dl_n/d(input)_n, one factor per sample.
        coeff = np.asarray(scale, dl.dtype) * (1 if weights is None else weights)
        grad = dl * np.asarray(coeff, dl.dtype)[..., None] if np.ndim(coeff) else dl * coeff
        return value, grad.astype(dl.dtype, copy=False).reshape(source.shape)

    # -- pieces subclasses fill in --
    def _prepare(self, y_true, y_pred: Array) -> tuple[Array, Array]:
        """Cast and align y_true with y_pred; validate shapes."""
        y_pred = np.asarray(y_pred)
        y_true = np.asarray(y_true, dtype=y_pred.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        _require_same_shape(type(self).__name__, y_true, y_pred)
        return y_true, y_pred

    def _per_sample(self, y_true: Array, y_in: Array, carried: bool) -> tuple[Array, Array]:
        """(per-sample losses, their gradient w.r.t. y_in); y_in holds carried logits
        when `carried` is True, else the model's output."""
        raise NotImplementedError

    def _sample_weights(self, sample_weight, per_sample: Array) -> Array | None:
        if sample_weight is None:
            return None
        w = np.asarray(sample_weight, dtype=per_sample.dtype)
        if w.ndim == per_sample.ndim + 1 and w.shape[-1] == 1:
            w = w[..., 0]                                    # (N, 1) -> (N,)
        if w.ndim != 0 and w.shape != per_sample.shape:
            raise ValueError(f"{type(self).__name__}: sample_weight must be a scalar or have "
                             f"shape {per_sample.shape}, got {np.shape(sample_weight)}")
        return w

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}


class _Crossentropy(Loss):
    accepts_logits = True

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 reduction: str | None = "sum_over_batch_size", name: str | None = None) -> None:
        super().__init__(reduction=reduction, name=name)
        if not 0 <= label_smoothing <= 1:
            raise ValueError(f"{type(self).__name__}: label_smoothing must be in [0, 1], "
                             f"got {label_smoothing!r}")
        self.from_logits = from_logits
        self.label_smoothing = float(label_smoothing)

    def _use_logits(self, carried: bool) -> bool:
        if carried and self.from_logits:
            warnings.warn(f"{type(self).__name__} has from_logits=True but the model's output is "
                          "a softmax/sigmoid; like Keras, the loss uses that layer's logits.",
                          stacklevel=4)
        return carried or self.from_logits

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class BinaryCrossentropy(_Crossentropy):
    """-(y log p + (1 - y) log(1 - p)), averaged over the last axis.

    Label smoothing: y <- y (1 - ls) + 0.5 ls."""

    def _per_sample(self, y_true, y_pred, carried):
        if self.label_smoothing:
            y_true = y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        return (_bce_logits if self._use_logits(carried) else _bce_probs)(y_true, y_pred)


class CategoricalCrossentropy(_Crossentropy):
    """-sum_k y_k log p_k over the last axis, for one-hot (or soft) labels.

    Label smoothing: y <- y (1 - ls) + ls / C."""

    def _per_sample(self, y_true, y_pred, carried):
        if self.label_smoothing:
            n_classes = y_true.shape[-1]
            y_true = y_true * (1.0 - self.label_smoothing) + self.label_smoothing / n_classes
        return (_cce_logits if self._use_logits(carried) else _cce_probs)(y_true, y_pred)


class SparseCategoricalCrossentropy(_Crossentropy):
    """Categorical crossentropy with integer labels y of shape (N,) or (N, 1)."""

    def __init__(self, from_logits: bool = False, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None) -> None:
        super().__init__(from_logits=from_logits, reduction=reduction, name=name)

    def _prepare(self, y_true, y_pred):
        y_pred = np.asarray(y_pred)
        # Keras converts labels to floatx, then to int64 (float labels are truncated);
        # integer labels come out the same without the round trip.
        y_true = np.asarray(y_true)
        if y_true.dtype.kind not in "iu":
            y_true = y_true.astype(y_pred.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = y_true[..., 0]
        if y_true.shape != y_pred.shape[:-1]:
            raise ValueError(f"SparseCategoricalCrossentropy expects integer labels of shape "
                             f"{y_pred.shape[:-1]} (or with a trailing 1) for y_pred "
                             f"{y_pred.shape}, got {np.shape(y_true)}")
        labels = y_true.astype(np.int64)
        n_classes = y_pred.shape[-1]
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            raise ValueError(f"SparseCategoricalCrossentropy: labels must be in [0, {n_classes}),"
                             f" got values from {labels.min()} to {labels.max()}")
        return labels, y_pred

    def _per_sample(self, y_true, y_pred, carried):
        return (_scce_logits if self._use_logits(carried) else _scce_probs)(y_true, y_pred)

    def get_config(self) -> dict:
        config_ = super().get_config()
        config_.pop("label_smoothing")
        return config_


class MeanSquaredError(Loss):
    """mean((y - p)^2) over the last axis."""

    def _per_sample(self, y_true, y_pred, carried):
        return _mse(y_true, y_pred)


class MeanAbsoluteError(Loss):
    """mean(|y - p|) over the last axis."""

    def _per_sample(self, y_true, y_pred, carried):
        return _mae(y_true, y_pred)


# -- function forms (per-sample losses, as keras.losses.<name>) --------------------------
def binary_crossentropy(y_true, y_pred, from_logits: bool = False,
                        label_smoothing: float = 0.0) -> Array:
    return BinaryCrossentropy(from_logits, label_smoothing).call(y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False,
                             label_smoothing: float = 0.0) -> Array:
    return CategoricalCrossentropy(from_logits, label_smoothing).call(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False) -> Array:
    return SparseCategoricalCrossentropy(from_logits).call(y_true, y_pred)


def mean_squared_error(y_true, y_pred) -> Array:
    return MeanSquaredError().call(y_true, y_pred)


def mean_absolute_error(y_true, y_pred) -> Array:
    return MeanAbsoluteError().call(y_true, y_pred)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error

_BY_NAME: dict[str, type[Loss]] = {
    "binary_crossentropy": BinaryCrossentropy, "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
}
_BY_FUNCTION: dict[Callable, type[Loss]] = {
    binary_crossentropy: BinaryCrossentropy, categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
}


def _default_name(cls: type) -> str:
    for name, klass in _BY_NAME.items():
        if klass is cls:
            return name
    return cls.__name__


def get(identifier: str | Loss | Callable) -> Loss:
    """A Loss from a Keras name ("binary_crossentropy", "mae", "MeanSquaredError", ...),
    a scratchnn loss function, or a Loss instance."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        by_class = {cls.__name__: cls for cls in _BY_NAME.values()}
        cls = _BY_NAME.get(identifier) or by_class.get(identifier)
        if cls is None:
            raise ValueError(f"Unknown loss {identifier!r}; expected one of "
                             f"{sorted(_BY_NAME)} or a scratchnn.losses.Loss")
        return cls()
    if identifier in _BY_FUNCTION:
        return _BY_FUNCTION[identifier]()
    raise ValueError(f"Unknown loss {identifier!r}; expected a name, a scratchnn loss function "
                     "or a scratchnn.losses.Loss instance")
