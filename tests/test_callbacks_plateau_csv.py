"""ReduceLROnPlateau and CSVLogger: Keras 3.15's decisions, learning rates, messages and
file bytes (the values below were measured with keras 3.15.1; the parity tests in
parity_tests/test_callbacks_keras_more.py drive Keras itself through the same scripts)."""

import csv
import os
import warnings

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import callbacks as C

LOSSES = [10, 9, 8, 9, 8.9, 8.8, 8.7, 8.6, 8.5, 8.4]
# SGD(0.1)'s rate after k reductions by factor 0.1, as Keras gives it: float(lr) * 0.1 in
# Python, stored as float32, k times (not float32(0.1 ** k): 0.0009999999310821295, not 0.001f).
TENTHS = [0.10000000149011612, 0.009999999776482582, 0.0009999999310821295,
          9.99999901978299e-05, 9.99999883788405e-06]
NAN = float("nan")


class _Fake:
    """Just enough of a compiled model for ReduceLROnPlateau."""

    def __init__(self, lr=0.1):
        self.optimizer = snn.optimizers.SGD(lr)
        self.compiled_metrics, self.stop_training = [], False


def _drive(cb, values, key="val_loss", lr=0.1):
    """The learning rate after each epoch end, and the `learning_rate` each epoch logged."""
    model = _Fake(lr)
    cb.set_model(model)
    cb.on_train_begin()
    rates, logged = [], []
    for epoch, value in enumerate(values):
        logs = {key: value}
        cb.on_epoch_end(epoch, logs)
        rates.append(float(model.optimizer.learning_rate))
        logged.append(logs["learning_rate"])
    return rates, logged


def _reduced_at(rates, start=TENTHS[0]):
    """Epochs at whose end the rate went down."""
    before = [start] + rates[:-1]
    return [e for e, (a, b) in enumerate(zip(before, rates)) if b < a]


# -- ReduceLROnPlateau ---------------------------------------------------------------------
def test_plateau_defaults_are_keras():
    cb = C.ReduceLROnPlateau()
    assert (cb.monitor, cb.factor, cb.patience, cb.verbose, cb.mode, cb.min_delta, cb.cooldown,
            cb.min_lr) == ("val_loss", 0.1, 10, 0, "auto", 1e-4, 0, 0.0)


def test_plateau_reduces_after_patience_epochs_without_improvement():
    # best 8 at epoch 2; epochs 3, 4 do not improve -> reduce at 4; wait restarts: 6, 8.
    rates, _ = _drive(C.ReduceLROnPlateau(patience=2), LOSSES)
    assert _reduced_at(rates) == [4, 6, 8]
    assert rates[-1] == TENTHS[3]


def test_plateau_logs_the_rate_before_this_epochs_reduction():
    rates, logged = _drive(C.ReduceLROnPlateau(patience=2), LOSSES)
    assert logged == [TENTHS[0]] + rates[:-1]


def test_plateau_patience_zero_reduces_at_the_first_non_improvement():
    rates, _ = _drive(C.ReduceLROnPlateau(patience=0), LOSSES)
    assert _reduced_at(rates) == [3, 4, 5, 6, 7, 8, 9]


def test_plateau_cooldown_of_c_epochs_rests_c_minus_1_epochs():
    """Keras decrements the cooldown, THEN (same epoch) counts wait if it reached 0:
    with patience 1, cooldown=2 reduces every other epoch, cooldown=1 changes nothing."""
    rates, _ = _drive(C.ReduceLROnPlateau(patience=1, cooldown=2), LOSSES)
    assert _reduced_at(rates) == [3, 5, 7, 9]
    rates, _ = _drive(C.ReduceLROnPlateau(patience=1, cooldown=1, factor=0.5), LOSSES)
    assert _reduced_at(rates) == [3, 4, 5, 6, 7, 8, 9]


def test_plateau_cooldown_resets_wait():
    cb = C.ReduceLROnPlateau(patience=1, cooldown=3)
    _drive(cb, LOSSES[:5])                     # reduced at epoch 3, then one cooldown epoch
    assert (cb.cooldown_counter, cb.wait, cb.in_cooldown()) == (2, 0, True)


def test_plateau_never_goes_below_min_lr_and_prints_keras_message(capsys):
    rates, _ = _drive(C.ReduceLROnPlateau(patience=0, factor=0.5, min_lr=0.02, verbose=1),
                      LOSSES)
    assert _reduced_at(rates) == [3, 4, 5]
    assert rates[-1] == float(np.float32(0.02))
    assert capsys.readouterr().out == (
        "\nEpoch 4: ReduceLROnPlateau reducing learning rate to 0.05000000074505806.\n"
        "\nEpoch 5: ReduceLROnPlateau reducing learning rate to 0.02500000037252903.\n"
        "\nEpoch 6: ReduceLROnPlateau reducing learning rate to 0.02.\n")


def test_plateau_at_min_lr_wait_keeps_counting():
    cb = C.ReduceLROnPlateau(patience=0, factor=0.5, min_lr=0.02)
    _drive(cb, LOSSES)
    assert cb.wait == 4                        # epochs 6..9: no reduction, so no reset


def test_plateau_mode_max():
    rates, _ = _drive(C.ReduceLROnPlateau(monitor="acc", mode="max", patience=1, factor=0.5),
                      [0.5, 0.6, 0.6, 0.65, 0.7, 0.7, 0.7], key="acc")
    assert _reduced_at(rates) == [2, 5, 6]


def test_plateau_auto_mode_reads_accuracy_as_higher_is_better():
    model = snn.Sequential([snn.Input((2,)), snn.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(20, 2))
    cb = C.ReduceLROnPlateau(monitor="accuracy", patience=100)
    model.fit(x, (x[:, 0] > 0).astype(float), epochs=2, verbose=0, callbacks=[cb])
    assert cb._higher_is_better is True


def test_plateau_auto_mode_refuses_an_unknown_direction():
    with pytest.raises(ValueError, match="mode='max'"):
        _drive(C.ReduceLROnPlateau(monitor="my_score"), [1.0], key="my_score")


def test_plateau_unknown_mode_warns_and_falls_back_to_auto():
    with pytest.warns(UserWarning, match="mode 'up' is unknown, fallback to auto mode"):
        cb = C.ReduceLROnPlateau(mode="up")
    assert cb.mode == "auto"


def test_plateau_nan_never_improves():
    rates, _ = _drive(C.ReduceLROnPlateau(patience=0), [1.0, NAN, 0.5, NAN])
    assert _reduced_at(rates) == [1, 3]


def test_plateau_default_min_delta_ignores_tiny_improvements():
    rates, _ = _drive(C.ReduceLROnPlateau(patience=0), [1.0, 0.99995, 0.9998])
    assert _reduced_at(rates) == [1]           # 0.99995 is within 1e-4; 0.9998 is not


def test_plateau_compares_python_floats_in_float32_as_keras():
    """Keras's ops.less makes Python floats float32 tensors: 0.99999999 rounds to 1.0f and
    is no improvement; NumPy float64 values compare in float64."""
    rates, _ = _drive(C.ReduceLROnPlateau(patience=0, min_delta=0), [1.0, 0.99999999])
    assert _reduced_at(rates) == [1]
    rates, _ = _drive(C.ReduceLROnPlateau(patience=0, min_delta=0),
                      [np.float64(1.0), np.float64(0.99999999)])
    assert _reduced_at(rates) == []


def test_plateau_state_restarts_at_each_fit():
    cb = C.ReduceLROnPlateau(patience=1, cooldown=5)
    _drive(cb, LOSSES)
    _drive(cb, [5.0])                          # a new fit: best, wait, cooldown reset
    assert (cb.best, cb.wait, cb.cooldown_counter) == (5.0, 0, 0)


def test_plateau_warns_when_the_monitor_is_missing_and_logs_the_rate_anyway():
    cb = C.ReduceLROnPlateau(patience=0)
    cb.set_model(_Fake())
    cb.on_train_begin()
    logs = {"loss": 1.0}
    with pytest.warns(UserWarning) as record:
        cb.on_epoch_end(0, logs)
    assert str(record[0].message) == ("Learning rate reduction is conditioned on metric "
                                      "`val_loss` which is not available. Available metrics "
                                      "are: loss,learning_rate.")
    assert logs["learning_rate"] == TENTHS[0] and cb.best is None


@pytest.mark.parametrize("kwargs, message", [
    ({"factor": 1.0}, "ReduceLROnPlateau does not support a factor >= 1.0. Received factor=1.0"),
    ({"factor": 2}, "does not support a factor >= 1.0"),
    ({"factor": -0.1}, "factor must be a number >= 0.0 and < 1.0"),
    ({"factor": NAN}, "factor must be"),
    ({"factor": "0.5"}, "factor must be"),
    ({"patience": -1}, "patience must be an int >= 0"),
    ({"patience": 2.5}, "patience must be an int >= 0"),
    ({"cooldown": -2}, "cooldown must be an int >= 0"),
    ({"cooldown": True}, "cooldown must be an int >= 0"),
    ({"min_lr": -1e-3}, "min_lr must be a number >= 0.0"),
    ({"min_lr": NAN}, "min_lr must be"),
    ({"min_delta": NAN}, "min_delta must be a number"),
    ({"min_delta": None}, "min_delta must be a number"),
    ({"verbose": "yes"}, "verbose must be an int"),
    ({"monitor": 3}, "monitor must be the name of a logged quantity"),
])
def test_plateau_refuses_bad_options_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        C.ReduceLROnPlateau(**kwargs)


def test_plateau_refuses_unknown_keywords_keras_would_ignore():
    with pytest.raises(TypeError, match="minlr"):
        C.ReduceLROnPlateau(minlr=0.01)


def test_plateau_factor_zero_drops_straight_to_min_lr():
    rates, _ = _drive(C.ReduceLROnPlateau(patience=0, factor=0.0, min_lr=1e-3), [1.0, 2.0])
    assert rates[-1] == float(np.float32(1e-3))     # max(0.0, min_lr), stored f32


def _tiny_model(lr=0.1):
    model = snn.Sequential([snn.Input((3,)), snn.layers.Dense(1)])
    model.compile(optimizer=snn.optimizers.SGD(lr), loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    return model, x, x.sum(axis=1)


def test_plateau_in_fit_puts_learning_rate_in_history_and_reduces_the_optimizer():
    model, x, y = _tiny_model()
    cb = C.ReduceLROnPlateau(monitor="loss", patience=1, min_delta=100.0)   # never improves
    h = model.fit(x, y, epochs=4, verbose=0, callbacks=[cb])
    assert list(h.history) == ["loss", "learning_rate"]
    assert h.history["learning_rate"] == [TENTHS[0], TENTHS[0], TENTHS[1], TENTHS[2]]
    assert float(model.optimizer.learning_rate) == TENTHS[3]


# -- CSVLogger -----------------------------------------------------------------------------
def _log(cb, rows, begin=True, end=True):
    if begin:
        cb.on_train_begin()
    for epoch, logs in enumerate(rows):
        cb.on_epoch_end(epoch, logs)
    if end:
        cb.on_train_end()


def _bytes(path):
    with open(path, "rb") as f:
        return f.read()


def test_csv_header_is_epoch_then_sorted_keys_with_crlf_and_float_repr(tmp_path):
    path = tmp_path / "log.csv"
    _log(C.CSVLogger(path), [{"val_loss": 0.25, "loss": 0.5, "accuracy": 0.8999999761581421},
                             {"val_loss": 0.2, "loss": 0.4, "accuracy": 1.0}])
    assert _bytes(path) == (b"epoch,accuracy,loss,val_loss\r\n"
                            b"0,0.8999999761581421,0.5,0.25\r\n"
                            b"1,1.0,0.4,0.2\r\n")


def test_csv_without_validation_keys_gets_val_columns_of_na(tmp_path):
    """Keras's rule: no key starts with 'val_' at the first epoch -> a val_<key> column for
    every key, appended after the sorted keys (so learning_rate gives val_learning_rate)."""
    path = tmp_path / "log.csv"
    _log(C.CSVLogger(path), [{"loss": 0.5, "learning_rate": 0.01}])
    assert _bytes(path) == (b"epoch,learning_rate,loss,val_learning_rate,val_loss\r\n"
                            b"0,0.01,0.5,NA,NA\r\n")


def test_csv_columns_are_fixed_at_the_first_epoch(tmp_path):
    path = tmp_path / "log.csv"
    _log(C.CSVLogger(path), [{"loss": 1.0, "val_loss": 2.0},
                             {"loss": 0.5, "extra": 7.0},          # extra: dropped
                             {}])                                  # all missing: NA
    assert _bytes(path) == b"epoch,loss,val_loss\r\n0,1.0,2.0\r\n1,0.5,NA\r\n2,NA,NA\r\n"


def test_csv_writes_nan_and_inf_as_python_does(tmp_path):
    path = tmp_path / "log.csv"
    _log(C.CSVLogger(path), [{"loss": NAN, "val_loss": float("inf")},
                             {"loss": -float("inf"), "val_loss": 1e-20}])
    assert _bytes(path) == b"epoch,loss,val_loss\r\n0,nan,inf\r\n1,-inf,1e-20\r\n"


def test_csv_strings_lists_and_arrays_as_keras_writes_them(tmp_path):
    path = tmp_path / "log.csv"
    _log(C.CSVLogger(path), [{"note": "a,b", "vec": [1, 2.5], "arr": np.array([3, 4]),
                              "zero_d": np.array(0.5), "f32": np.float32(0.1),
                              "val_x": 1}])
    assert _bytes(path) == (b'epoch,arr,f32,note,val_x,vec,zero_d\r\n'
                            b'0,"""[3, 4]""",0.1,"a,b",1,"""[1, 2.5]""",0.5\r\n')


@pytest.mark.parametrize("separator", [";", "\t", " "])
def test_csv_separator(tmp_path, separator):
    path = tmp_path / "log.csv"
    _log(C.CSVLogger(path, separator=separator), [{"loss": 0.5, "val_loss": 0.25}])
    s = separator.encode()
    assert _bytes(path) == b"epoch" + s + b"loss" + s + b"val_loss\r\n0" + s + b"0.5" + s + \
        b"0.25\r\n"


def test_csv_without_append_truncates_when_training_begins(tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes(b"old content\r\n")
    cb = C.CSVLogger(path)
    cb.on_train_begin()
    assert _bytes(path) == b""                 # even if no epoch ever completes
    _log(cb, [{"loss": 1.0, "val_loss": 1.0}], begin=False)
    _log(cb, [{"loss": 2.0, "val_loss": 2.0}])        # a second fit rewrites the file
    assert _bytes(path) == b"epoch,loss,val_loss\r\n0,2.0,2.0\r\n"


def test_csv_append_writes_the_header_only_into_an_empty_file(tmp_path):
    path = tmp_path / "log.csv"
    cb = C.CSVLogger(path, append=True)
    _log(cb, [{"loss": 1.0, "val_loss": 1.5}])                   # file missing: header
    _log(cb, [{"loss": 0.5, "val_loss": 0.75}])                  # file has lines: none
    _log(C.CSVLogger(path, append=True), [{"loss": 0.25, "val_loss": 0.3}])
    assert _bytes(path) == (b"epoch,loss,val_loss\r\n0,1.0,1.5\r\n0,0.5,0.75\r\n"
                            b"0,0.25,0.3\r\n")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    _log(C.CSVLogger(empty, append=True), [{"loss": 1.0, "val_loss": 1.5}])
    assert _bytes(empty).startswith(b"epoch,loss,val_loss\r\n")


def test_csv_each_epoch_is_one_write_then_a_flush(tmp_path):
    """A crash between epochs leaves whole lines only: the header and first line go in
    one write, each later line in one write, each followed by a flush."""
    calls = []

    class Recorder:
        closed = False

        def write(self, text):
            calls.append(("write", text))

        def flush(self):
            calls.append(("flush",))

        def close(self):
            self.closed = True

    cb = C.CSVLogger(tmp_path / "log.csv")
    cb.on_train_begin()
    cb.csv_file.close()
    cb.csv_file = Recorder()
    _log(cb, [{"loss": 1.0, "val_loss": 2.0}, {"loss": 0.5, "val_loss": 1.0}], begin=False)
    assert calls == [("write", "epoch,loss,val_loss\r\n0,1.0,2.0\r\n"), ("flush",),
                     ("write", "1,0.5,1.0\r\n"), ("flush",)]
    assert cb.csv_file.closed


def test_csv_lines_are_on_disk_after_each_epoch_and_the_file_closes_at_train_end(tmp_path):
    path = tmp_path / "log.csv"
    cb = C.CSVLogger(path)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 1.0, "val_loss": 2.0})
    assert _bytes(path) == b"epoch,loss,val_loss\r\n0,1.0,2.0\r\n"
    cb.on_train_end()
    assert cb.csv_file.closed


def test_csv_in_fit_after_plateau_records_learning_rate(tmp_path):
    model, x, y = _tiny_model()
    path = tmp_path / "log.csv"
    model.fit(x, y, epochs=2, verbose=0, validation_data=(x, y),
              callbacks=[C.ReduceLROnPlateau(), C.CSVLogger(path)])
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "learning_rate", "loss", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1"] and rows[1][1] == repr(TENTHS[0])
    # Placed first, the logger sees the logs before learning_rate is added (as Keras).
    model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y),
              callbacks=[C.CSVLogger(path), C.ReduceLROnPlateau()])
    with open(path, newline="") as f:
        assert next(csv.reader(f)) == ["epoch", "loss", "val_loss"]


def test_csv_a_crash_in_a_later_epoch_keeps_the_completed_lines(tmp_path):
    model, x, y = _tiny_model()
    path = tmp_path / "log.csv"

    class Crash(C.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        model.fit(x, y, epochs=5, verbose=0, callbacks=[C.CSVLogger(path), Crash()])
    content = _bytes(path)
    assert content.startswith(b"epoch,loss,val_loss\r\n0,") and content.endswith(b",NA\r\n")
    assert content.count(b"\r\n") == 3


@pytest.mark.parametrize("kwargs, message", [
    ({"separator": ""}, "separator must be one character"),
    ({"separator": ",,"}, "separator must be one character"),
    ({"separator": '"'}, "separator must be one character other than a quote"),
    ({"separator": "\n"}, "separator must be one character"),
    ({"separator": 44}, "separator must be one character"),
    ({"append": "yes"}, "append must be True or False"),
])
def test_csv_refuses_bad_options_by_name(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        C.CSVLogger(tmp_path / "log.csv", **kwargs)


@pytest.mark.parametrize("filename", [None, "", 3])
def test_csv_refuses_a_filename_that_is_not_a_path(filename):
    with pytest.raises(ValueError, match="filename must be a file path"):
        C.CSVLogger(filename)


def test_csv_epoch_end_before_train_begin_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="opened when training begins"):
        C.CSVLogger(tmp_path / "log.csv").on_epoch_end(0, {"loss": 1.0})


def test_csv_missing_folder_fails_when_training_begins(tmp_path):
    cb = C.CSVLogger(tmp_path / "no" / "log.csv")     # Keras does not create folders either
    with pytest.raises(FileNotFoundError):
        cb.on_train_begin()


def test_both_are_exported_and_constructing_touches_no_file(tmp_path):
    assert snn.callbacks.ReduceLROnPlateau is C.reduce_lr_on_plateau.ReduceLROnPlateau
    assert snn.callbacks.CSVLogger is C.csv_logger.CSVLogger
    assert {"ReduceLROnPlateau", "CSVLogger"} <= set(C.__all__)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        C.ReduceLROnPlateau(), C.CSVLogger(tmp_path / "x.csv")
    assert not os.path.exists(tmp_path / "x.csv")


def test_plateau_value_beyond_float32_range_compares_as_inf_without_warning():
    """(Keras's TensorFlow refuses to convert such a Python float and raises.)"""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rates, _ = _drive(C.ReduceLROnPlateau(patience=0), [1e300, 1e301, 2.0])
    assert _reduced_at(rates) == [1]
