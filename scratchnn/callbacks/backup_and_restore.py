"""BackupAndRestore (Keras's `backup_and_restore.py`): a long fit that is interrupted
(Ctrl-C, a crash, a killed job) resumes where it stopped when run again.

    backup = BackupAndRestore("backup/")
    model.fit(x, y, epochs=100, callbacks=[backup])   # Ctrl-C during "Epoch 38/100"
    model.fit(x, y, epochs=100, callbacks=[backup])   # restores the end of epoch 37,
                                                      # trains epochs 38 to 100

At every epoch end it writes, in backup_dir, `latest.weights.h5` (weights AND optimizer
state: slots, iterations, learning rate; `latest.weights.npz` where h5py is missing)
and `training_metadata.json` ({"epoch": number of epochs completed, ...}). At the start
of fit, if they exist, it loads them and fit starts at that epoch (`model._initial_epoch`,
Keras's protocol). With the same data and shuffle=False (or a seeded shuffle), the
resumed run ends with exactly the weights of an uninterrupted one. After a fit that
ends normally (EarlyStopping and TerminateOnNaN stops included), the backup is deleted.
"""

from __future__ import annotations

import importlib.util
import os

from .. import interrupts
from .base import Callback, SaveFrequency


def _weights_file_name() -> str:
    """Keras's `latest.weights.h5`; where h5py (an optional extra) is not installed, the
    same content in scratchnn's NumPy format, `latest.weights.npz`."""
    return "latest.weights.h5" if importlib.util.find_spec("h5py") else "latest.weights.npz"


def _sha256(path: str) -> str:
    import hashlib

    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class BackupAndRestore(Callback):
    """Back up the training state at each epoch end (or every `save_freq` batches) and
    restore it at the start of the next fit.

    backup_dir: a folder for this run's backup only (created when missing).
    save_freq: "epoch", or an int N to back up every N batches as well. As in Keras
        3.15, a restore from a mid-epoch backup restarts that epoch from its first
        batch, on the weights saved mid-epoch (those batches are seen twice): only
        epoch backups give a resumed run identical to an uninterrupted one.
    double_checkpoint: keep the previous backup too (`*.bkp`), used when the latest
        cannot be read.
    delete_checkpoint: delete the backup when fit ends normally.

    Differences from Keras, for safety: the metadata is written atomically, both files
    of a backup are written with Ctrl-C held back, and the metadata records the
    SHA-256 of its weights file, so a backup half-replaced by a hard kill is detected
    instead of resuming from the wrong epoch; at the end only the backup's own files
    are deleted (Keras deletes the whole backup_dir), and the folder if left empty.
    """

    def __init__(self, backup_dir: str | os.PathLike, save_freq: str | int = "epoch",
                 double_checkpoint: bool = False, delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and (isinstance(save_freq, bool)
                                     or not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError("Invalid value for argument `save_freq`. Received: "
                             f"save_freq={save_freq}. Expected either 'epoch' or an integer "
                             "value (a positive number of batches).")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._weights_path = os.path.join(self.backup_dir, _weights_file_name())
        self._training_metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._prev_weights_path = self._weights_path + ".bkp"
        self._prev_training_metadata_path = self._training_metadata_path + ".bkp"
        self._batches = SaveFrequency(save_freq)
        self._current_epoch = 0
        if save_freq != "epoch":      # listen to batches only when asked (see ModelCheckpoint)
            self.on_train_batch_end = self._on_train_batch_end

    # -- restore ---------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        import shutil

        try:
            self._load_model()
        except (OSError, ValueError):
            # The latest backup cannot be used: fall back on the previous one, if kept.
            if not os.path.exists(self._prev_weights_path):
                raise
            shutil.copyfile(self._prev_weights_path, self._weights_path)
            if os.path.exists(self._prev_training_metadata_path):
                shutil.copyfile(self._prev_training_metadata_path, self._training_metadata_path)
            elif os.path.exists(self._training_metadata_path):
                os.remove(self._training_metadata_path)
            self._load_model()

    def _load_model(self) -> None:
        """Load the backed-up weights (and optimizer state); set the epoch to resume at."""
        import json

        metadata = None
        if os.path.exists(self._training_metadata_path):
            try:
                with open(self._training_metadata_path, encoding="utf-8") as f:
                    metadata = json.load(f)
                epoch = metadata["epoch"]
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(f"BackupAndRestore: {self._training_metadata_path} is not a "
                                 f"readable backup record ({err}); delete {self.backup_dir} to "
                                 "start training from the beginning") from None
            if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
                raise ValueError(f"BackupAndRestore: {self._training_metadata_path} holds epoch "
                                 f"{epoch!r}, not a number of epochs")
        if os.path.exists(self._weights_path):
            expected = (metadata or {}).get("weights_sha256")
            if expected is not None and _sha256(self._weights_path) != expected:
                raise ValueError(f"BackupAndRestore: {self._weights_path} is not the file "
                                 f"{self._training_metadata_path} was written for (the backup "
                                 "was interrupted between its two files); delete "
                                 f"{self.backup_dir} to start training from the beginning")
            self.model.load_weights(self._weights_path)
        if metadata is not None:
            self.model._initial_epoch = metadata["epoch"]
            self._current_epoch = metadata["epoch"]

    # -- back up ---------------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        # (Keras sets this only at epoch ends, so a mid-epoch backup made before the
        # first epoch end of a resumed fit records epoch 0; here it records the right one.)
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._batches.last_batch = None
        if self.save_freq == "epoch":
            self._save_model()

    def _on_train_batch_end(self, batch, logs=None):
        if self._batches.due(batch):
            self._save_model()

    def _save_model(self) -> None:
        import json
        import shutil

        from ..saving.atomic import atomic_write

        os.makedirs(self.backup_dir, exist_ok=True)
        # Ctrl-C waits until both files are written: the pair always matches.
        with interrupts.uninterruptible:
            if self.double_checkpoint:
                for path, prev in ((self._weights_path, self._prev_weights_path),
                                   (self._training_metadata_path,
                                    self._prev_training_metadata_path)):
                    if os.path.exists(path):
                        with open(path, "rb") as src, atomic_write(prev) as dst:
                            shutil.copyfileobj(src, dst)
            self.model.save_weights(self._weights_path)
            metadata = {"epoch": self._current_epoch, "batch": self._batches.last_batch or 0,
                        "weights_sha256": _sha256(self._weights_path)}
            with atomic_write(self._training_metadata_path) as f:
                f.write(json.dumps(metadata).encode("utf-8"))

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint:
            return
        for path in (self._weights_path, self._training_metadata_path,
                     self._prev_weights_path, self._prev_training_metadata_path):
            if os.path.exists(path):
                os.remove(path)
        if os.path.isdir(self.backup_dir) and not os.listdir(self.backup_dir):
            os.rmdir(self.backup_dir)
