"""ReduceLROnPlateau, CSVLogger and the L1/L2 regularizers against Keras 3.15.

The callbacks are driven through the same scripted epoch logs in both engines (their
decisions, learning rates, printed messages, warnings and CSV bytes must be identical),
then used in the same fit of a small model and its Keras twin. The regularizers are
compared with keras.regularizers on random arrays, with their TensorFlow gradients, and
through serialize/get."""

import contextlib
import csv
import io
import math
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import scratchnn as snn
import tf_reference

from .helpers import assert_curves_close
from .tolerances import CURVE_DENSE_F32

NAN, INF = float("nan"), float("inf")
LOSSES = [10, 9, 8, 9, 8.9, 8.8, 8.7, 8.6, 8.5, 8.4]


# -- ReduceLROnPlateau over scripted logs --------------------------------------------------
class _Model:
    """Stands in for a compiled model in both engines: an optimizer, no metrics."""

    def __init__(self, optimizer):
        self.optimizer, self.stop_training = optimizer, False
        self.metrics, self.compiled_metrics = [], []


def _drive_plateau(module, kwargs, key, values, lr=0.1):
    """Per epoch: the rate after the epoch end, the learning_rate logged, wait, cooldown
    counter and best; then everything printed and every warning the callback gave."""
    model = _Model(module.optimizers.SGD(lr))
    cb = module.callbacks.ReduceLROnPlateau(**kwargs)
    cb.set_model(model)
    cb.on_train_begin()
    trace, out = [], io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        for epoch, value in enumerate(values):
            logs = {key: value}
            cb.on_epoch_end(epoch, logs)
            trace.append((float(model.optimizer.learning_rate), logs["learning_rate"],
                          cb.wait, cb.cooldown_counter, cb.best))
    messages = [str(w.message) for w in caught if "Learning rate reduction" in str(w.message)]
    return repr(trace), out.getvalue(), messages       # repr: NaN best compares equal


@pytest.mark.parametrize("kwargs, key, values, lr", [
    ({"patience": 2}, "val_loss", LOSSES, 0.1),
    ({"patience": 0, "verbose": 1}, "val_loss", LOSSES, 0.1),
    ({"patience": 1, "cooldown": 2, "verbose": 1}, "val_loss", LOSSES, 0.1),
    ({"patience": 1, "cooldown": 1, "factor": 0.5}, "val_loss", LOSSES, 0.1),
    ({"patience": 0, "factor": 0.5, "min_lr": 0.02, "verbose": 1}, "val_loss", LOSSES, 0.1),
    ({"patience": 0, "factor": 0.0, "min_lr": 1e-3, "verbose": 1}, "val_loss", [1, 2, 3], 0.1),
    ({"patience": 3, "min_lr": 0.1, "verbose": 1}, "val_loss", [1.0] * 6, 0.1),   # at min_lr
    ({"patience": 0, "verbose": 1}, "val_loss", [2.0] + [3.0] * 8, 0.001),    # e-notation
    ({"monitor": "acc", "mode": "max", "patience": 1, "factor": 0.5, "verbose": 1}, "acc",
     [0.5, 0.6, 0.6, 0.65, 0.7, 0.7, 0.7], 0.1),
    ({"monitor": "loss", "mode": "min", "min_delta": 0.05, "patience": 1}, "loss",
     [1.0, 0.96, 0.94, 0.9, 0.88, 0.87, 0.8], 0.1),
    ({"min_delta": -0.05, "patience": 1}, "val_loss", [1.0, 0.96, 0.94, 0.9, 0.88], 0.1),
    ({"patience": 0}, "val_loss", [1.0, NAN, 0.5, NAN, 0.4], 0.1),
    ({"patience": 0}, "val_loss", [NAN, 1.0, 0.5], 0.1),                 # NaN first: stuck
    ({"patience": 0}, "val_loss", [INF, 1.0, -INF, 0.0], 0.1),
    # Python floats compare in float32 in Keras; NumPy scalars in their own type:
    ({"patience": 0, "min_delta": 0}, "val_loss", [1.0, 0.99999999, 0.9999999], 0.1),
    ({"patience": 0, "min_delta": 0}, "val_loss",
     [np.float64(1.0), np.float64(0.99999999)], 0.1),
    ({"patience": 0, "min_delta": 0}, "val_loss", [np.float32(1.0), np.float32(0.99999994)], 0.1),
    # value +- min_delta within float32 rounding of best: float64 says improved, Keras not
    ({"patience": 0}, "val_loss", [0.5, 0.49989999, 0.4998], 0.1),
    ({"patience": 0}, "val_loss", [np.float32(0.5), np.float32(0.4999)], 0.1),
    ({"patience": 0, "mode": "max", "min_delta": 0.1}, "val_loss", [0.5, 0.60000001, 0.7], 0.1),
    ({"patience": 0}, "val_loss", [3, 2, 2, 1], 0.1),                   # Python ints
])
def test_plateau_decisions_rates_and_messages_match_keras(kwargs, key, values, lr):
    ours = _drive_plateau(snn, kwargs, key, values, lr)
    theirs = _drive_plateau(keras, kwargs, key, values, lr)
    assert ours == theirs


def test_plateau_missing_monitor_warns_as_keras():
    ours = _drive_plateau(snn, {"patience": 0}, "loss", [1.0, 0.5])
    theirs = _drive_plateau(keras, {"patience": 0}, "loss", [1.0, 0.5])
    assert ours == theirs and len(ours[2]) == 2


def test_plateau_refuses_factor_one_with_keras_message():
    messages = []
    for module in (snn, keras):
        with pytest.raises(ValueError) as err:
            module.callbacks.ReduceLROnPlateau(factor=1.0)
        messages.append(str(err.value))
    assert messages[0] == messages[1]


def test_plateau_unknown_mode_warning_and_auto_mode_error_as_keras():
    for module in (snn, keras):
        with pytest.warns(UserWarning, match="ReduceLROnPlateau mode 'up' is unknown, "
                                             "fallback to auto mode."):
            module.callbacks.ReduceLROnPlateau(mode="up")
        with pytest.raises(ValueError, match="isn't able to automatically determine"):
            _drive_plateau(module, {"monitor": "score"}, "score", [1.0])


# -- CSVLogger over scripted logs ----------------------------------------------------------
def _write_csv(module, path, fits, existing=None, **kwargs):
    """The bytes of the file after `fits` (lists of epoch logs) through one CSVLogger."""
    if existing is not None:
        with open(path, "wb") as f:
            f.write(existing)
    cb = module.callbacks.CSVLogger(str(path), **kwargs)
    for rows in fits:
        cb.on_train_begin()
        for epoch, logs in enumerate(rows):
            cb.on_epoch_end(epoch, dict(logs))
        cb.on_train_end()
    with open(path, "rb") as f:
        return f.read()


ODD_VALUES = {"a_str": 'say "hi", twice', "b_line": "two\nlines", "c_int": 3, "d_bool": True,
              "e_none": None, "f_f32": np.float32(0.1), "g_f64": np.float64(0.1),
              "h_i64": np.int64(7), "i_list": [1, 2.5], "j_tuple": (0.5,),
              "k_arr": np.array([1.5, 2.0]), "l_0d": np.array(0.25), "m_2d": np.eye(2),
              "n_dict": {"x": 1}, "o_neg0": -0.0, "p_tiny": 5e-324, "q_big": 1.5e300,
              "val_loss": 0.1 + 0.2}


@pytest.mark.parametrize("fits, existing, kwargs", [
    ([[{"loss": 0.5, "val_loss": 0.25, "accuracy": 0.8999999761581421}] * 3], None, {}),
    ([[{"loss": 0.5, "learning_rate": 0.009999999776482582}] * 2], None, {}),   # NA columns
    ([[{"loss": 1.0, "val_loss": 2.0}, {"loss": 0.5, "extra": 7.0}, {}]], None, {}),
    ([[{}, {"loss": 1.0}]], None, {}),                                  # no keys at first
    ([[{"loss": NAN, "val_loss": INF}, {"loss": -INF, "val_loss": 1e-20}]], None, {}),
    ([[ODD_VALUES, {"a_str": "x;y"}]], None, {}),
    ([[ODD_VALUES]], None, {"separator": ";"}),
    ([[{"loss": 0.5, "val_loss": 0.25}]], None, {"separator": "\t"}),
    ([[{"loss": 1.0, "val_loss": 1.5}], [{"loss": 0.5, "val_loss": 0.7}]], None,
     {"append": True}),
    ([[{"loss": 1.0, "val_loss": 1.5}], [{"loss": 0.5, "val_loss": 0.7}]], None, {}),
    ([[{"loss": 1.0, "val_loss": 1.5}]], b"epoch,loss,val_loss\r\n0,2.0,3.0\r\n",
     {"append": True}),
    ([[{"loss": 1.0, "val_loss": 1.5}]], b"", {"append": True}),
    ([[{"loss": 1.0, "val_loss": 1.5}]], b"\n", {"append": True}),        # a blank first line
    ([[{"loss": 1.0}], [{"accuracy": 0.5, "val_accuracy": 0.25}]], None, {"append": True}),
    ([[]], b"old", {}),                                                  # truncated, no epoch
])
def test_csv_bytes_match_keras(tmp_path, fits, existing, kwargs):
    ours = _write_csv(snn, tmp_path / "ours.csv", fits, existing, **kwargs)
    theirs = _write_csv(keras, tmp_path / "keras.csv", fits, existing, **kwargs)
    assert ours == theirs


# -- both callbacks in fit -----------------------------------------------------------------
def _data():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 3)).astype("float32")
    return x, (x[:, 0] > 0).astype("float32")


def _pair():
    model = snn.Sequential([snn.Input((3,)), snn.layers.Dense(4, activation="relu"),
                            snn.layers.Dense(1)])
    model.compile(optimizer=snn.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    return model, tf_reference.to_keras(model)


def _fit_both(callbacks_for, capsys, **fit):
    x, y = _data()
    histories, printed, rates = [], [], []
    for model, module in zip(_pair(), (snn, keras)):
        h = model.fit(x, y, batch_size=8, shuffle=False, verbose=0,
                      callbacks=callbacks_for(module), **fit)
        histories.append(h.history)
        printed.append(capsys.readouterr().out)
        rates.append(float(model.optimizer.learning_rate))
    return histories, printed, rates


def test_plateau_in_fit_matches_keras_history_rates_and_messages(capsys):
    """The loss falls each epoch, so mode "max" never sees an improvement: reductions
    follow patience and cooldown, whatever float32 rounding does to the losses."""
    def callbacks(module):
        return [module.callbacks.ReduceLROnPlateau(monitor="val_loss", mode="max", patience=1,
                                                   cooldown=2, factor=0.5, verbose=1)]

    (ours, theirs), (out, keras_out), (lr, keras_lr) = _fit_both(
        callbacks, capsys, epochs=7, validation_data=_data())
    assert list(ours) == list(theirs)                   # learning_rate last, as Keras
    assert ours["learning_rate"] == theirs["learning_rate"]
    assert len(set(ours["learning_rate"])) == 4         # reduced at epochs 2, 4 and 6
    assert_curves_close(ours, theirs, CURVE_DENSE_F32)
    assert out == keras_out and out.count("ReduceLROnPlateau reducing") == 3
    assert lr == keras_lr


def _read(path):
    with open(path, "rb") as f:
        raw = f.read()
    return raw, list(csv.reader(io.StringIO(raw.decode(), newline="")))


@pytest.mark.parametrize("validation", [True, False])
def test_csv_in_fit_has_keras_structure_and_values(tmp_path, capsys, validation):
    paths = {"snn": tmp_path / "snn.csv", "keras": tmp_path / "keras.csv"}

    def callbacks(module):
        name = "snn" if module is snn else "keras"
        return [module.callbacks.ReduceLROnPlateau(monitor="loss", patience=0, mode="max"),
                module.callbacks.CSVLogger(str(paths[name]))]

    fit = {"validation_data": _data()} if validation else {}
    _fit_both(callbacks, capsys, epochs=3, **fit)
    (raw, ours), (keras_raw, theirs) = _read(paths["snn"]), _read(paths["keras"])
    assert raw.count(b"\r\n") == keras_raw.count(b"\r\n") == 4 and raw.endswith(b"\r\n")
    assert ours[0] == theirs[0]
    expected = ["epoch", "learning_rate", "loss", "mae"]
    expected += ["val_loss", "val_mae"] if validation else \
        ["val_learning_rate", "val_loss", "val_mae"]            # Keras's NA columns
    assert ours[0] == expected
    for row, keras_row in zip(ours[1:], theirs[1:]):
        for column, a, b in zip(ours[0], row, keras_row):
            if column in ("epoch", "learning_rate") or "NA" in (a, b):
                assert a == b, column                  # exact: same text
            else:
                assert abs(float(a) - float(b)) <= CURVE_DENSE_F32, (column, a, b)


# -- regularizers --------------------------------------------------------------------------
CASES = [("L1", {"l1": 0.01}), ("L2", {"l2": 0.003}), ("L1L2", {"l1": 0.01, "l2": 0.02}),
         ("L1L2", {"l2": 0.5}), ("L1L2", {}), ("L1", {"l1": 0.3}), ("L2", {"l2": 1e-4})]
# TensorFlow's reduce_sum adds in SIMD packets (8 float32 or 4 float64 lanes in its
# build), NumPy pairwise: the same sum in another order. Below one packet both add left to
# right (bit for bit, asserted); above, measured over 20 seeds and shapes up to 100,000
# entries: 2.1e-7 (1.8 float32 ulp) and 4.7e-16 (2.1 float64 ulp) relative. Allowed: 8 ulp.
PACKET = {"float32": 8, "float64": 4}
RTOL = {"float32": 8 * float(np.finfo(np.float32).eps), "float64": 8 * np.finfo(float).eps}


def _both(name, config):
    return getattr(snn.regularizers, name)(**config), getattr(keras.regularizers, name)(**config)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(1,), (3,), (7,), (5, 7), (350, 10), (3, 3, 32, 64),
                                   (100000,)])
@pytest.mark.parametrize("name, config", CASES)
def test_regularizer_values_match_keras(name, config, shape, dtype):
    rng = np.random.default_rng(sum(shape))
    x = (rng.normal(size=shape) * rng.uniform(0.01, 3)).astype(dtype)
    ours, theirs = _both(name, config)
    a, b = ours(x), theirs(x).numpy()
    assert a.dtype == b.dtype == np.dtype(dtype)
    if x.size < PACKET[dtype]:
        assert a == b
    else:
        np.testing.assert_allclose(a, b, rtol=RTOL[dtype], atol=0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, config", [c for c in CASES if any(c[1].values())])
def test_regularizer_gradients_are_tensorflows_bit_for_bit(name, config, dtype):
    x = np.random.default_rng(3).normal(size=(6, 5)).astype(dtype)
    x[0, :3] = 0.0                                     # L1's kink: sign(0) = 0 in both
    ours, theirs = _both(name, config)
    var = tf.Variable(x)
    with tf.GradientTape() as tape:
        penalty = theirs(var)
    np.testing.assert_array_equal(ours.gradient(x), tape.gradient(penalty, var).numpy())
    assert ours.gradient(x).dtype == np.dtype(dtype)


@pytest.mark.parametrize("name, config", CASES + [("L1", {}), ("L2", {})])
def test_serialize_equals_keras_and_each_reads_the_others(name, config):
    ours, theirs = _both(name, config)
    assert snn.regularizers.serialize(ours) == keras.regularizers.serialize(theirs)
    assert ours.get_config() == theirs.get_config()
    from_keras = snn.regularizers.deserialize(keras.regularizers.serialize(theirs))
    from_ours = keras.regularizers.deserialize(snn.regularizers.serialize(ours))
    assert from_keras.get_config() == from_ours.get_config() == theirs.get_config()


@pytest.mark.parametrize("identifier", ["l1", "l2", "L1", "L2", "L1L2", "l1l2", "l1_l2",
                                        "l3", "Regularizer", "regularizer", None, 5])
def test_get_accepts_the_names_keras_accepts(identifier):
    def resolve(module):
        try:
            reg = module.regularizers.get(identifier)
        except ValueError:
            return "refused"
        if reg is None:
            return None
        config = {} if type(reg).__name__ == "Regularizer" else reg.get_config()
        return type(reg).__name__, config
    assert resolve(snn) == resolve(keras)


def test_get_resolves_config_dicts_as_keras():
    config = {"class_name": "L1L2", "config": {"l1": 0.2}}
    ours, theirs = snn.regularizers.get(config), keras.regularizers.get(config)
    assert type(ours).__name__ == type(theirs).__name__ and \
        ours.get_config() == theirs.get_config()


@pytest.mark.parametrize("name", ["L1", "L2", "L1L2"])
@pytest.mark.parametrize("bad", [-1, -0.5, NAN, INF, "0.1"])
def test_both_refuse_the_same_bad_factors(name, bad):
    argument = "l2" if name == "L2" else "l1"
    for module in (snn, keras):
        with pytest.raises(ValueError, match=f"Invalid value for argument {argument}"):
            getattr(module.regularizers, name)(bad)


def test_documented_differences_in_factor_validation():
    """Keras takes True as 1.0 and refuses NumPy scalars; scratchnn the other way round."""
    assert keras.regularizers.L2(True).get_config() == {"l2": 1.0}
    with pytest.raises(ValueError):
        snn.regularizers.L2(True)
    with pytest.raises(ValueError):
        keras.regularizers.L2(np.float32(0.5))
    assert snn.regularizers.L2(np.float32(0.5)).get_config() == {"l2": 0.5}
    assert math.isclose(snn.regularizers.L2(np.float32(0.5))(np.ones(2)),
                        keras.regularizers.L2(0.5)(np.ones(2)).numpy())
