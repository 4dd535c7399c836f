"""Callbacks: hooks into fit, with Keras's protocol, names and behaviour.

    scratchnn.callbacks.Callback, History, LearningRateScheduler, EarlyStopping,
    ReduceLROnPlateau, ModelCheckpoint, BackupAndRestore, CSVLogger, TerminateOnNaN,
    LambdaCallback, ProgbarLogger

One module per callback, as in Keras's `keras/src/callbacks/`:
    base.py        the protocol (Callback), CallbackList, LambdaCallback
    history.py     History           progbar.py        Progbar, ProgbarLogger
    monitor.py     MonitorCallback: what "improved" means for a monitored quantity
    early_stopping.py, learning_rate.py, reduce_lr_on_plateau.py, model_checkpoint.py,
    backup_and_restore.py, csv_logger.py, terminate_on_nan.py
"""

from .backup_and_restore import BackupAndRestore
from .base import Callback, CallbackList, LambdaCallback
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .history import History
from .learning_rate import LearningRateScheduler
from .model_checkpoint import FilepathFormatError, ModelCheckpoint
from .monitor import MonitorCallback
from .progbar import Progbar, ProgbarLogger, steps_for
from .reduce_lr_on_plateau import ReduceLROnPlateau
from .terminate_on_nan import TerminateOnNaN

__all__ = ["Callback", "CallbackList", "LambdaCallback", "History", "Progbar", "ProgbarLogger",
           "MonitorCallback", "EarlyStopping", "LearningRateScheduler", "ModelCheckpoint",
           "FilepathFormatError", "BackupAndRestore", "TerminateOnNaN", "ReduceLROnPlateau",
           "CSVLogger", "steps_for"]
