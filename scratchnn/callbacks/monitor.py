"""MonitorCallback: what "better" means for a monitored quantity (Keras's
`monitor_callback.py`), shared by EarlyStopping and ModelCheckpoint."""

from __future__ import annotations

import warnings

from .base import Callback


class MonitorCallback(Callback):
    """Watches `logs[monitor]` and decides whether a value improves on a reference.

    mode "min" or "max" says which way is better; "auto" reads it from the name:
    "loss" / "val_loss" go down, a compiled metric goes its own way (accuracy up,
    MAE down); anything else is an error asking for mode="min" or "max".
    An improvement is `value - min_delta > reference` going up, `value + min_delta <
    reference` going down (min_delta >= 0); any value improves on no reference (None).
    A NaN never improves on a number (every comparison with NaN is False), as in Keras.
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
        for metric in getattr(self.model, "compiled_metrics", []):
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
        if self._higher_is_better:
            return value - self.min_delta > reference
        return value + self.min_delta < reference
