"""ModelCheckpoint (Keras's `model_checkpoint.py`): save the model, or its weights,
every epoch or every `save_freq` batches, optionally only when `monitor` improves."""

from __future__ import annotations

import importlib.util
import os
import warnings

from .base import SaveFrequency
from .monitor import MonitorCallback

MODEL_SUFFIXES = (".keras",)                         # model.save(path)
WEIGHTS_SUFFIXES = (".weights.h5", ".weights.npz")   # model.save_weights(path)


class FilepathFormatError(KeyError, ValueError):
    """`filepath` names a key the logs do not have (or a format that does not fit its
    value). Keras raises KeyError here; it is also a ValueError, scratchnn's kind of
    error for a bad argument."""

    def __str__(self) -> str:                        # KeyError would quote the message
        return str(self.args[0])


class ModelCheckpoint(MonitorCallback):
    """Save the model (`.keras`) or its weights (`.weights.h5`, or scratchnn's
    `.weights.npz`, with save_weights_only=True) while training, as Keras does.

    filepath may hold `{epoch}` (1-based), `{batch}` (1-based, batch-level saves) and
    any key of the logs, with a format: "ckpt/{epoch:02d}-{val_loss:.2f}.keras".

    save_best_only: save only when `monitor` improves on the best so far (and on
        `initial_value_threshold`, when given); mode as in EarlyStopping ("auto" reads
        the direction from the name). If `monitor` is missing from the logs it warns
        and saves anyway (Keras's choice).
    save_freq: "epoch" (at each epoch end) or an int N: after every N batches, counting
        across epochs; `monitor` is then the running value of the epoch so far.
    verbose=1 prints Keras's messages ("Epoch 3: val_loss improved from 0.41234 to
        0.39817, saving model to ...").

    Files are written atomically (scratchnn.saving): an interrupted save never leaves
    a half-written checkpoint behind. The directory is created when missing.
    """

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: str | int = "epoch",
                 initial_value_threshold: float | None = None) -> None:
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches = SaveFrequency(save_freq)
        self._current_epoch = 0
        if save_freq != "epoch" and (isinstance(save_freq, bool)
                                     or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are "
                             "'epoch' or integer values (a positive number of batches)")
        if save_weights_only:
            if not self.filepath.endswith(WEIGHTS_SUFFIXES):
                raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the "
                                 "filepath provided must end in `.weights.h5` (Keras weights "
                                 "format) or `.weights.npz` (scratchnn's NumPy format). "
                                 f"Received: filepath={self.filepath}")
        elif not self.filepath.endswith(MODEL_SUFFIXES):
            hint = (" (for weights only, pass save_weights_only=True)"
                    if self.filepath.endswith(WEIGHTS_SUFFIXES) else "")
            raise ValueError("The filepath provided must end in `.keras` (Keras model format)"
                             f"{hint}. Received: filepath={self.filepath}")
        if self.filepath.endswith((".keras", ".weights.h5")) \
                and importlib.util.find_spec("h5py") is None:
            # Say so now, not after the first epoch of training.
            raise ImportError(f"ModelCheckpoint: writing '{self.filepath}' needs h5py, which "
                              "is not installed (pip install 'scratchnn[h5]'); or save weights "
                              "only, with save_weights_only=True and a `.weights.npz` name")
        if save_freq != "epoch":
            # Only a batch-level checkpoint listens to batches: fit then computes the
            # batch logs for it. (An instance attribute, so an epoch-level checkpoint
            # leaves fit's per-batch path untouched; see CallbackList.hooked.)
            self.on_train_batch_end = self._on_train_batch_end

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def _on_train_batch_end(self, batch, logs=None):
        if self._batches.due(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_model(self, epoch: int, logs: dict, filepath: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=3)
            return True
        if self._higher_is_better is None:
            self._set_monitor_op()               # now: the model's metrics are known
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                      f"{current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save_model(self, epoch: int, batch: int | None, logs: dict | None) -> None:
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IsADirectoryError("Please specify a non-directory filepath for "
                                    "ModelCheckpoint. Filepath used is an existing "
                                    f"directory: {filepath}")
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath)
        else:
            self.model.save(filepath)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _get_file_path(self, epoch: int, batch: int | None, logs: dict) -> str:
        """`filepath` with {epoch} (1-based), {batch} (1-based) and the log keys filled in."""
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except (KeyError, IndexError, ValueError) as err:
            available = ", ".join(["epoch"] + ([] if batch is None else ["batch"]) + list(logs))
            raise FilepathFormatError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: '
                f"{err!r}. The keys available here are: {available}") from None
