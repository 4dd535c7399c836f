"""MonitorCallback: what "better" means for a monitored quantity (Keras's
`monitor_callback.py`), shared by EarlyStopping, ModelCheckpoint and ReduceLROnPlateau."""

from __future__ import annotations

import warnings

import numpy as np

from .base import Callback


def _tensor_dtype(value) -> np.dtype:
    """The dtype TensorFlow gives `value` when Keras's ops make it a tensor: a NumPy
    scalar keeps its own; a Python float becomes float32, a Python int int32."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.dtype
    if isinstance(value, bool):
        return np.dtype(bool)
    return np.dtype(np.int32) if isinstance(value, int) else np.dtype(np.float32)


def compare_as_keras(value, reference, higher_is_better: bool) -> bool:
    """`value > reference` (or `<`) decided as Keras's `ops.greater` / `ops.less` decide
    it: both operands become tensors (see _tensor_dtype), are cast to a common dtype (the
    widest float among them), then compared. So two Python floats, which is what fit's
    logs hold, are compared in FLOAT32: measured with Keras 3.15, 0.99999999 does not
    improve on 1.0 (both round to 1.0f), while np.float64 values compare in float64."""
    dtypes = [_tensor_dtype(value), _tensor_dtype(reference)]
    floats = [d for d in dtypes if d.kind == "f"]
    common = max(floats, key=lambda d: d.itemsize) if floats else np.result_type(*dtypes)
    # Beyond float32's range a Python float becomes inf here; TensorFlow refuses to
    # convert it ("value out of range"), so Keras's callback raises instead.
    with np.errstate(over="ignore"):
        a, b = np.asarray(value).astype(common), np.asarray(reference).astype(common)
    return bool(a > b) if higher_is_better else bool(a < b)


class MonitorCallback(Callback):
    """Watches `logs[monitor]` and decides whether a value improves on a reference.

    mode "min" or "max" says which way is better; "auto" reads it from the name:
    "loss" / "val_loss" go down, a compiled metric goes its own way (accuracy up,
    MAE down); anything else is an error asking for mode="min" or "max".
    An improvement is `value - min_delta > reference` going up, `value + min_delta <
    reference` going down (min_delta >= 0); any value improves on no reference (None).
    A NaN never improves on a number (every comparison with NaN is False), as in Keras.
    The comparison is made as Keras makes it (`compare_as_keras`: the Python floats of
    fit's logs in float32), so EarlyStopping stops on [1.0, 0.99999999] as Keras's does.
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto",
                 baseline: float | None = None, min_delta: float = 0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto "
                          "mode.", stacklevel=3)
            mode = "auto"
        self.monitor, self.mode = monitor, mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self._higher_is_better: bool | None = None     # decided on first use (see below)

    def _set_monitor_op(self) -> None:
        """Decide the direction. Called at the first comparison, not earlier: the model's
        metrics (and their directions) are only known once fit has seen a batch."""
        if self.mode != "auto":
            self._higher_is_better = self.mode == "max"
            return
        name = self.monitor.removeprefix("val_")
        if name == "loss":
            self._higher_is_better = False
            return
        metric = getattr(self.model, "metric_named", lambda _: None)(name)
        if metric is not None:
            self._higher_is_better = metric.direction == "up"
            return
        for metric in getattr(self.model, "compiled_metrics", []):   # stand-in models
            if metric.name == name:
                self._higher_is_better = metric.direction == "up"
                return
        raise ValueError(f"{type(self).__name__} callback received monitor={self.monitor}, but "
                         "scratchnn isn't able to automatically determine whether that metric "
                         "should be maximized or minimized. Pass `mode='max'` in order to "
                         "monitor based on the highest metric value, or pass `mode='min'` in "
                         "order to use the lowest value.")

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        if reference is None:
            return True
        if self._higher_is_better is None:
            self._set_monitor_op()
        # (Keras negates min_delta in min mode and computes value - min_delta: the same sum.)
        shifted = value - self.min_delta if self._higher_is_better else value + self.min_delta
        return compare_as_keras(shifted, reference, self._higher_is_better)
