"""TerminateOnNaN (Keras's `terminate_on_nan.py`)."""

from __future__ import annotations

import math

from .base import Callback


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite.

    The loss checked is the one in the batch logs: the running mean of the epoch so
    far, so it turns NaN (or inf) at the first bad batch and stays so. By default the
    stop is graceful, as in Keras: it prints `Batch 3: Invalid loss, terminating
    training` and sets `model.stop_training`; the epoch then ends as usual (its
    validation runs, History records the NaN loss, other callbacks' on_train_end run).
    With raise_error=True it raises RuntimeError at once instead, so no on_train_end
    runs (useful to keep a BackupAndRestore backup from before the divergence).
    """

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. "
                               f"Loss value: {loss}. Terminating training immediately.")
        print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True
