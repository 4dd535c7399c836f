"""Callbacks against Keras 3.15: ModelCheckpoint's file names, best-only decisions and
messages; TerminateOnNaN's stop batch, message and History; BackupAndRestore's resume
epoch and metadata, and a Keras model resuming from a scratchnn backup."""

import json
import os

import keras
import numpy as np
import pytest

import scratchnn as snn
import tf_reference

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")   # NaN/inf on purpose


class _Recorder:
    """Stands in for a model in both engines: records what a checkpoint saves."""

    def __init__(self):
        self.saved, self.compiled_metrics, self.stop_training = [], [], False

    def save(self, path, overwrite=True):
        self.saved.append(path)

    save_weights = save


def _drive(cb, values, key):
    model = _Recorder()
    cb.set_model(model)
    cb.on_train_begin()
    for epoch, value in enumerate(values):
        cb.on_epoch_begin(epoch)
        cb.on_epoch_end(epoch, {key: value})
    return model.saved


NAN = float("nan")


@pytest.mark.parametrize("kwargs, key, values", [
    ({}, "val_loss", [3.0, 2.0, 2.5, 1.0, NAN, 0.5, 0.5]),
    ({}, "val_loss", [NAN, 1.0, 0.5]),                     # a NaN first: nothing ever beats it
    ({"initial_value_threshold": 1.5}, "val_loss", [3.0, 2.0, 1.0, 1.2, 0.9]),
    ({"monitor": "acc", "mode": "max"}, "acc", [0.5, 0.7, 0.7, 0.6, 0.9]),
    ({"monitor": "loss", "mode": "min"}, "loss", [1.0, 1.0, 0.99999]),
    ({"save_best_only": False}, "val_loss", [3.0, 4.0]),
])
def test_checkpoint_decisions_and_messages_match_keras(kwargs, key, values, capsys):
    options = {"save_best_only": True, "verbose": 1, **kwargs}
    keras_saved = _drive(keras.callbacks.ModelCheckpoint("c-{epoch:02d}.keras", **options),
                         values, key)
    keras_out = capsys.readouterr().out
    ours = _drive(snn.callbacks.ModelCheckpoint("c-{epoch:02d}.keras", **options), values, key)
    assert ours == keras_saved
    assert capsys.readouterr().out == keras_out


@pytest.mark.parametrize("path, weights_only", [
    ("m.h5", False), ("m.keras", False), ("m.npz", False), ("m.weights.h5", True),
    ("m.keras", True),
])
def test_checkpoint_accepts_the_names_keras_accepts(path, weights_only):
    def accepts(module):
        try:
            module.callbacks.ModelCheckpoint(path, save_weights_only=weights_only)
            return True
        except ValueError:
            return False
    # scratchnn refuses Keras 2's legacy ".h5" whole-model format, which it cannot write.
    assert accepts(snn) == (accepts(keras) and path != "m.h5")


def _data():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 3)).astype("float32")
    return x, (x[:, 0] > 0).astype("float32")


def _pair(activation="relu"):
    model = snn.Sequential([snn.Input((3,)), snn.layers.Dense(4, activation=activation),
                            snn.layers.Dense(1)])
    model.compile(optimizer=snn.optimizers.SGD(0.05), loss="mse")
    return model, tf_reference.to_keras(model)


def test_checkpoint_save_freq_file_names_match_keras(tmp_path):
    x, y = _data()
    for engine, model in zip(("snn", "keras"), _pair()):
        module = snn if engine == "snn" else keras
        cb = module.callbacks.ModelCheckpoint(
            str(tmp_path / engine / "e{epoch}-b{batch}.weights.h5"), save_freq=3,
            save_weights_only=True)
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[cb])
    assert sorted(os.listdir(tmp_path / "snn")) == sorted(os.listdir(tmp_path / "keras"))


@pytest.mark.parametrize("where, row, value, activation", [
    ("y", 13, np.nan, "relu"),            # a NaN target: batch 1's loss is NaN
    ("x", 13, np.nan, None),              # a NaN input through linear layers
    ("x", 0, 1e30, "relu"),               # an input so large the squared error overflows
])
def test_terminate_on_nan_stops_where_keras_stops(where, row, value, activation, capsys):
    """Keras's stop batch, message and History. A NaN INPUT is not sent through relu here:
    TensorFlow turns on its oneDNN kernels by default on CPUs with AVX512_VNNI,
    AVX512_BF16, AVX_VNNI or AMX (it prints "oneDNN custom operations are on"), and the
    fused MatMul-BiasAdd-Relu kernel of its compiled step gives relu(NaN) = 0: the loss
    stays finite, TerminateOnNaN never fires, and the kernel silently turns NaN through
    its gradient (measured on TF 2.21 with an AMD EPYC 9004 with AVX-512). TensorFlow's
    eager relu and its kernels without oneDNN (TF_ENABLE_ONEDNN_OPTS=0, or a CPU without
    those features) give NaN, as scratchnn does, and stop at batch 1."""
    x, y = _data()
    bad = {"x": x.copy(), "y": y.copy()}
    bad[where][row] = value
    histories, outputs = [], []
    for model, module in zip(_pair(activation), (snn, keras)):
        h = model.fit(bad["x"], bad["y"], batch_size=8, epochs=3, shuffle=False, verbose=0,
                      validation_data=(x, y), callbacks=[module.callbacks.TerminateOnNaN()])
        histories.append(h)
        outputs.append(capsys.readouterr().out)
    ours, theirs = histories
    assert outputs[0] == outputs[1] == f"Batch {row // 8}: Invalid loss, terminating training\n"
    assert ours.epoch == theirs.epoch == [0]
    assert sorted(ours.history) == sorted(theirs.history)
    for key in ours.history:
        np.testing.assert_array_equal(np.isfinite(ours.history[key]),
                                      np.isfinite(theirs.history[key]))


def test_relu_of_nan_is_nan_as_in_tensorflows_own_relu():
    """scratchnn propagates NaN through relu, as tf.nn.relu does (and Keras's fit where
    oneDNN is off); see test_terminate_on_nan_stops_where_keras_stops for oneDNN's 0."""
    import tensorflow as tf
    z = np.array([np.nan, -1.0, 2.0], np.float32)
    np.testing.assert_array_equal(snn.activations.relu(z), tf.nn.relu(z).numpy())
    np.testing.assert_array_equal(snn.activations.relu(z), [np.nan, 0.0, 2.0])


def test_progress_header_only_when_several_epochs_as_keras(capsys):
    x, y = _data()
    for model in _pair():
        model.fit(x, y, epochs=1, verbose=2, shuffle=False)
        assert "Epoch 1/1" not in capsys.readouterr().out
        model.fit(x, y, epochs=2, verbose=2, shuffle=False)
        assert capsys.readouterr().out.startswith("Epoch 1/2\n")


class _FailAtEpoch:
    def __init__(self, module, epoch):
        class Fail(module.callbacks.Callback):
            def on_epoch_begin(self, e, logs=None):
                if e == epoch:
                    raise RuntimeError("Interrupting!")
        self.callback = Fail()


def test_backup_resume_epochs_and_metadata_match_keras(tmp_path):
    x, y = _data()
    results = {}
    for model, module, name in zip(_pair(), (snn, keras), ("snn", "keras")):
        backup = str(tmp_path / name)
        with pytest.raises(RuntimeError):
            model.fit(x, y, batch_size=8, epochs=6, shuffle=False, verbose=0, callbacks=[
                module.callbacks.BackupAndRestore(backup), _FailAtEpoch(module, 4).callback])
        with open(os.path.join(backup, "training_metadata.json")) as f:
            meta = json.load(f)
        history = model.fit(x, y, batch_size=8, epochs=6, shuffle=False, verbose=0,
                            callbacks=[module.callbacks.BackupAndRestore(backup)])
        results[name] = ({k: meta[k] for k in ("epoch", "batch")}, history.epoch,
                         os.path.exists(backup))
    assert results["snn"] == results["keras"] == ({"epoch": 4, "batch": 0}, [4, 5], False)


def test_keras_resumes_training_from_a_scratchnn_backup(tmp_path):
    # scratchnn's latest.weights.h5 is Keras's file, optimizer state included: a Keras
    # twin picks the run up where scratchnn was interrupted and ends where scratchnn ends.
    x, y = _data()

    def build():
        model = snn.Sequential([snn.Input((3,)), snn.layers.Dense(4, activation="tanh"),
                                snn.layers.Dense(1)])
        model.compile(optimizer=snn.optimizers.Adam(0.01), loss="mse")
        return model

    interrupted = build()
    uninterrupted = build()
    uninterrupted.set_weights(interrupted.get_weights())
    twin = tf_reference.to_keras(interrupted)
    fit = dict(batch_size=8, epochs=4, shuffle=False, verbose=0)
    with pytest.raises(RuntimeError):
        interrupted.fit(x, y, **fit, callbacks=[snn.callbacks.BackupAndRestore(tmp_path),
                                                _FailAtEpoch(snn, 2).callback])
    history = twin.fit(x, y, **fit, callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path))])
    assert history.epoch == [2, 3]
    uninterrupted.fit(x, y, **fit)
    for a, b in zip(twin.get_weights(), uninterrupted.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("values", [[1.0, 0.99999999, 0.9], [1.0, 1.0 - 2e-8, 1.0 - 1e-7, 0.5],
                                    [0.3, 0.30000001, 0.2999999]])
def test_early_stopping_compares_in_float32_as_keras(values):
    """Keras's ops.less makes fit's Python floats float32 tensors: 0.99999999 is no
    improvement on 1.0 there. Both engines stop at the same epoch, keep the same best."""
    stops = []
    for module in (snn, keras):
        cb = module.callbacks.EarlyStopping(monitor="loss", patience=0)
        model = _Recorder()
        cb.set_model(model)
        cb.on_train_begin()
        for epoch, value in enumerate(values):
            cb.on_epoch_end(epoch, {"loss": value})
            if model.stop_training:
                break
        stops.append((epoch, float(cb.best)))
    assert stops[0] == stops[1]
