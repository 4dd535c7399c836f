"""CSVLogger (Keras's `csv_logger.py`): one line of the epoch logs per epoch, in a CSV
file, written as the epoch ends.

    model.fit(x, y, epochs=10, validation_split=0.2, callbacks=[CSVLogger("run.csv")])

gives, byte for byte as Keras 3.15 writes it (`\\r\\n` line ends, Python's float repr):

    epoch,accuracy,loss,val_accuracy,val_loss
    0,0.8666666746139526,0.3547215759754181,1.0,0.2990107834339142
    1,...

In fit the values are the epoch logs, Keras's float32 metric results made Python floats
(scratchnn.metrics keeps Keras's float32 totals), so both engines write the same bytes
whenever their batches' losses and predictions agree bit for bit
(parity_tests/test_history_bits.py runs such a fit).
"""

from __future__ import annotations

import collections.abc
import csv
import io
import os

import numpy as np

from .. import interrupts
from .base import Callback


def _csv_value(value):
    """Keras's `handle_value`: a string as it is; any other iterable except a 0-d array
    (a list, a 1-D array) as the text '"[a, b]"', quotes included (csv then quotes those
    quotes once more); anything else (numbers) left to the csv module, which writes a
    Python float's repr (0.1, nan, inf) and str() of other objects (np.float32(0.1) as 0.1)."""
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) \
            and not (isinstance(value, np.ndarray) and value.ndim == 0):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class CSVLogger(Callback):
    """Stream the epoch logs to a CSV file (Keras 3.15's file, byte for byte).

    The columns are fixed at the first epoch end of each fit: 'epoch' (0-based), then
    the keys of that epoch's logs, sorted. When none of them starts with 'val_', Keras
    adds a 'val_<key>' column for each key (filled with NA when there is no validation),
    so a fit without validation data still gets e.g. `epoch,loss,val_loss`. A key
    missing from a later epoch's logs is written NA; a key that first appears later is
    not written (the header cannot change). Keys are read when this callback's
    on_epoch_end runs: a `learning_rate` that ReduceLROnPlateau adds appears only if
    that callback comes BEFORE this one in the callbacks list.

    filename: the file (str or os.PathLike); its folder must exist.
    separator: the one-character delimiter (not a quote or a line break).
    append: False truncates the file when training begins; True appends, and writes
        the header only if the file is missing or empty.

    When: the file is opened when training begins (so append=False empties it even if
    no epoch completes), each epoch's line (with the header, the first time) is written
    in one write and flushed as the epoch ends, and the file is closed when training
    ends. A crash or Ctrl-C leaves only whole lines: Ctrl-C is held back while a line is
    written and flushed (scratchnn.interrupts).

    Differences from Keras: bad arguments are refused here, each by its name (Keras
    fails at the first epoch end, or writes an unreadable file for a '"' separator);
    the file is opened with newline="" as the csv module requires (Keras's plain open()
    gives the same bytes on Linux and macOS, '\\r\\r\\n' line ends on Windows), and in
    UTF-8 (Keras: the locale's encoding).
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",",
                 append: bool = False) -> None:
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)) or not os.fspath(filename):
            raise ValueError(f"CSVLogger: filename must be a file path (a non-empty str or "
                             f"os.PathLike), got {filename!r}")
        if not isinstance(separator, str) or len(separator) != 1 or separator in '"\r\n':
            raise ValueError(f"CSVLogger: separator must be one character other than a "
                             f"quote or a line break (e.g. ',', ';', '\\t'), got {separator!r}")
        if not isinstance(append, (bool, np.bool_)):
            raise ValueError(f"CSVLogger: append must be True or False, got {append!r}")
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = bool(append)
        self.keys: list[str] | None = None       # the columns after 'epoch', once known
        self.append_header = True                 # whether this fit writes the header
        self.csv_file = None
        self._header_pending = False

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, "rb") as f:          # empty: no first line
                    self.append_header = not f.readline()
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, encoding="utf-8", newline="")
        self.keys = None
        self._header_pending = self.append_header

    def on_epoch_end(self, epoch, logs=None):
        if self.csv_file is None or self.csv_file.closed:
            raise RuntimeError("CSVLogger: on_epoch_end came without on_train_begin (the file "
                               f"{self.filename} is opened when training begins)")
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys += [f"val_{key}" for key in self.keys]
        text = io.StringIO()
        writer = csv.writer(text, dialect="excel", delimiter=self.sep)   # '\r\n' line ends
        if self._header_pending:
            writer.writerow(["epoch"] + self.keys)
            self._header_pending = False
        writer.writerow([epoch] + [_csv_value(logs.get(key, "NA")) for key in self.keys])
        with interrupts.uninterruptible:          # the whole line reaches the file, or none
            self.csv_file.write(text.getvalue())
            self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
