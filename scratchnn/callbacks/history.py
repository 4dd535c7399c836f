"""History: the per-epoch logs fit returns (Keras's `history.py`)."""

from __future__ import annotations

from .base import Callback


class History(Callback):
    """Records the epoch logs: `history.history["loss"]` is one float per epoch, and
    `history.epoch` the epoch indices they belong to (they start past 0 when training
    resumes, e.g. with BackupAndRestore or initial_epoch)."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self
