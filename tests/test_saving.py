"""Saving and loading: Keras 3's file layouts, exact round trips, exact resumption.

The Keras facts pinned here were read off files written by keras 3.15.1 (see
scratchnn/saving/state.py); parity_tests/test_saving_keras.py opens the same files
with Keras itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
import zipfile

import h5py
import numpy as np
import pytest

import scratchnn as snn
from scratchnn import layers

FORMATS = ["w.weights.h5", "w.weights.npz", "w.npz"]


def mlp(optimizer="adam", compile=True, units=4):
    model = snn.Sequential([snn.Input((3,), name="inputs"),
                            layers.Dense(units, activation="relu", name="hidden"),
                            layers.Dropout(0.25),
                            layers.Dense(1, activation="sigmoid", name="out")], name="circles")
    if compile:
        model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    return model


def small_cnn():
    model = snn.Sequential([snn.Input((8, 8, 2)), layers.Conv2D(3, 3, activation="relu"),
                            layers.MaxPooling2D(), layers.Conv2D(2, 2, padding="same",
                                                                 strides=2, activation="tanh"),
                            layers.Flatten(), layers.Dense(5), layers.Activation("softmax")])
    model.compile(optimizer=snn.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    return x, (x[:, 0] * x[:, 1] > 0).astype("float32")


def assert_same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x, y)
        assert x.dtype == y.dtype


def assert_same_optimizer_state(a, b):
    va, vb = a.optimizer.variables, b.optimizer.variables
    assert len(va) == len(vb)
    for x, y in zip(va, vb):
        np.testing.assert_array_equal(x, y)


# -- round trips ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FORMATS)
def test_weights_and_optimizer_state_round_trip_exactly(tmp_path, name):
    x, y = data()
    model = mlp()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save_weights(tmp_path / name)
    other = mlp()
    other.load_weights(tmp_path / name)
    assert_same_weights(model, other)
    assert other.optimizer.iterations == model.optimizer.iterations == 6
    assert_same_optimizer_state(model, other)


def test_keras_archive_round_trips_model_compile_settings_and_state(tmp_path):
    x, y = np.random.default_rng(1).normal(size=(10, 8, 8, 2)), np.arange(10) % 5
    model = small_cnn()
    model.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False)
    model.save(tmp_path / "m.keras")
    loaded = snn.models.load_model(tmp_path / "m.keras")
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert loaded.name == model.name and loaded.input_shape == model.input_shape
    conv = loaded.layers[2]
    assert (conv.strides, conv.padding, conv.filters) == ((2, 2), "same", 2)
    assert_same_weights(model, loaded)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert type(loaded.loss) is snn.losses.SparseCategoricalCrossentropy
    assert type(loaded.optimizer) is snn.optimizers.RMSprop
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.compiled_metric_ids == ["accuracy"]
    assert_same_optimizer_state(model, loaded)


def test_saving_loading_alias_functions_are_the_same():
    assert snn.models.load_model is snn.saving.load_model
    assert snn.models.save_model is snn.saving.save_model


def test_load_model_compile_false_gives_an_uncompiled_model(tmp_path):
    model = mlp()
    model.save(tmp_path / "m.keras")
    assert snn.models.load_model(tmp_path / "m.keras", compile=False).loss is None


def test_loss_metric_and_optimizer_objects_keep_their_settings(tmp_path):
    model = mlp(compile=False)
    model.compile(optimizer=snn.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                  loss=snn.losses.BinaryCrossentropy(label_smoothing=0.1, from_logits=False),
                  metrics=[snn.metrics.BinaryAccuracy(threshold=0.3), "mae"])
    model.save(tmp_path / "m.keras")
    loaded = snn.models.load_model(tmp_path / "m.keras")
    assert loaded.loss.get_config() == model.loss.get_config()
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    metric, name = loaded.compiled_metric_ids
    assert isinstance(metric, snn.metrics.BinaryAccuracy) and metric.threshold == 0.3
    assert name == "mae"


def test_load_weights_reads_the_weights_of_a_keras_archive(tmp_path):
    model = mlp()
    model.fit(*data(), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    other = mlp()
    other.load_weights(tmp_path / "m.keras")
    assert_same_weights(model, other)
    assert_same_optimizer_state(model, other)


def test_float64_models_round_trip_in_float64(tmp_path, float64):
    model = mlp()
    model.fit(*data(), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = snn.models.load_model(tmp_path / "m.keras")
    assert loaded.get_weights()[0].dtype == np.float64
    assert_same_weights(model, loaded)


def test_scratchnn_first_npz_format_still_loads(tmp_path):
    """Files from before the Keras layout: w0, w1, ... with '<layer>/<weight>' names."""
    model = mlp()
    names = np.array(["hidden/kernel", "hidden/bias", "out/kernel", "out/bias"])
    np.savez(tmp_path / "old.npz", __names__=names,
             **{f"w{i}": w + 1 for i, w in enumerate(model.get_weights())})
    expected = [w + 1 for w in model.get_weights()]
    model.load_weights(tmp_path / "old.npz")
    for a, b in zip(model.get_weights(), expected):
        np.testing.assert_array_equal(a, b)


# -- exact resumption -------------------------------------------------------------------------
OPTIMIZERS = {"adam": lambda: snn.optimizers.Adam(0.02),
              "amsgrad": lambda: snn.optimizers.Adam(0.01, amsgrad=True),
              "sgd_nesterov": lambda: snn.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
              "rmsprop_centered": lambda: snn.optimizers.RMSprop(0.01, momentum=0.5,
                                                                 centered=True)}


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("name", ["m.keras", "w.weights.h5", "w.weights.npz"])
def test_resuming_from_a_file_gives_the_uninterrupted_run_bit_for_bit(tmp_path, name, optimizer):
    """N steps, save, load into a fresh model, M steps == N + M steps without a break."""
    x, y = data(n=40)

    def fresh():
        snn.utils.set_random_seed(7)
        model = mlp(OPTIMIZERS[optimizer]())
        model.layers[1].rate = 0.0        # Dropout's mask is the randomness helper's subject
        return model

    whole = fresh()
    whole.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    first = fresh()
    first.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    path = tmp_path / name
    if name.endswith(".keras"):
        first.save(path)
        second = snn.models.load_model(path)
        second.layers[1].rate = 0.0
    else:
        first.save_weights(path)
        second = fresh()
        snn.utils.set_random_seed(99)     # other initial weights: all must come from the file
        second.load_weights(path)
    second.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    assert second.optimizer.iterations == whole.optimizer.iterations == 15
    assert_same_weights(whole, second)
    assert_same_optimizer_state(whole, second)


# -- Keras's layouts --------------------------------------------------------------------------
def test_weights_h5_has_keras_groups_named_by_class_with_the_layer_name_as_attribute(tmp_path):
    model = mlp()
    model.fit(*data(), epochs=1, verbose=0)
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5") as f:
        assert sorted(f) == ["layers", "optimizer", "vars"]
        assert f["vars"].attrs["name"] == "circles" and len(f["vars"]) == 0
        assert sorted(f["layers"]) == ["dense", "dense_1", "dropout"]   # class, then counter
        assert f["layers/dense/vars"].attrs["name"] == "hidden"
        assert f["layers/dense_1/vars"].attrs["name"] == "out"
        assert len(f["layers/dropout/vars"]) == 0     # Keras saves no seed-generator state
        np.testing.assert_array_equal(f["layers/dense/vars/0"][()], model.layers[0].kernel)
        np.testing.assert_array_equal(f["layers/dense_1/vars/1"][()], model.layers[2].bias)
        opt = f["optimizer/vars"]
        assert opt.attrs["name"] == "adam" and len(opt) == 2 + 2 * 4
        assert opt["0"].dtype == np.int64 and opt["0"][()] == 1
        for i, value in enumerate(model.optimizer.variables):
            np.testing.assert_array_equal(opt[str(i)][()], value)


def test_uncompiled_models_save_no_optimizer_group(tmp_path):
    mlp(compile=False).save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5") as f:
        assert "optimizer" not in f


def test_keras_archive_members_and_config_mirror_keras(tmp_path):
    model = mlp()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        assert zf.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        assert all(info.compress_type == zipfile.ZIP_STORED for info in zf.infolist())
        metadata = json.loads(zf.read("metadata.json"))
        cfg = json.loads(zf.read("config.json"))
    assert metadata["keras_version"] == "3.15.1" and "@" in metadata["date_saved"]
    assert (cfg["module"], cfg["class_name"]) == ("keras", "Sequential")
    assert cfg["build_config"] == {"input_shape": [None, 3]}
    first, dense = cfg["config"]["layers"][:2]
    assert first["class_name"] == "InputLayer"
    assert first["config"] == {"batch_shape": [None, 3], "dtype": "float32", "sparse": False,
                               "ragged": False, "name": "inputs", "optional": False}
    assert dense["module"] == "keras.layers" and dense["build_config"] == {"input_shape": [None, 3]}
    assert dense["config"]["dtype"]["class_name"] == "DTypePolicy"
    assert dense["config"]["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert dense["config"]["activation"] == "relu" and dense["config"]["units"] == 4
    assert "build_config" not in cfg["config"]["layers"][2]          # Dropout: none, as Keras
    compiled = cfg["compile_config"]
    assert compiled["loss"] == "binary_crossentropy" and compiled["metrics"] == ["accuracy"]
    assert compiled["optimizer"]["class_name"] == "Adam"
    assert compiled["optimizer"]["config"]["learning_rate"] == float(np.float32(0.001))


def test_a_users_own_metric_is_left_out_with_a_warning(tmp_path):
    model = mlp(compile=False)
    model.compile(optimizer="adam", loss="binary_crossentropy",
                  metrics=["accuracy", lambda y, p: np.abs(y - p).mean(axis=-1)])
    with pytest.warns(UserWarning, match="metric .* has no Keras equivalent"):
        model.save(tmp_path / "m.keras")
    assert snn.models.load_model(tmp_path / "m.keras").compiled_metric_ids == ["accuracy"]


# -- optimizer state edge cases ---------------------------------------------------------------
def test_a_never_trained_optimizer_is_saved_as_iterations_and_learning_rate_only(tmp_path):
    """Keras writes [iterations, learning_rate] for an optimizer without slots yet; loading
    that into a trained optimizer restarts its slots from zero."""
    mlp().save_weights(tmp_path / "w.weights.h5")
    trained = mlp()
    trained.fit(*data(), epochs=1, verbose=0)
    trained.load_weights(tmp_path / "w.weights.h5")
    assert trained.optimizer.iterations == 0
    assert all(not np.any(slot) for slot in trained.optimizer.variables[2:])


def test_a_mismatched_optimizer_state_is_skipped_with_a_warning_as_keras_does(tmp_path):
    adam = mlp()
    adam.fit(*data(), epochs=1, verbose=0)
    adam.save_weights(tmp_path / "w.weights.h5")
    sgd = mlp(snn.optimizers.SGD(momentum=0.9))
    sgd.fit(*data(), epochs=1, verbose=0)
    before = [v.copy() for v in sgd.optimizer.variables]
    with pytest.warns(UserWarning, match="optimizer state was NOT loaded"):
        sgd.load_weights(tmp_path / "w.weights.h5")
    assert_same_weights(adam, sgd)
    for a, b in zip(before, sgd.optimizer.variables):
        np.testing.assert_array_equal(a, b)


def test_set_variables_builds_slots_and_checks_everything_first():
    model = mlp()
    source = mlp()
    source.fit(*data(), epochs=1, verbose=0)
    opt = model.optimizer
    with pytest.raises(ValueError, match=r"keeps 10 variables .* got 9"):
        opt.set_variables(source.optimizer.variables[:-1], model.weights)
    assert not opt.built and opt.iterations == 0
    opt.set_variables(source.optimizer.variables, model.weights)
    assert_same_optimizer_state(source, model)


# -- file names and the optional h5py ---------------------------------------------------------
@pytest.mark.parametrize("name", ["w.h5", "w.hdf5", "w.pt", "weights", "w.weights.json"])
def test_unknown_weight_suffixes_are_refused_with_the_known_ones(tmp_path, name):
    model = mlp()
    with pytest.raises(ValueError, match=r"'\.weights\.h5', '\.weights\.npz', '\.npz'"):
        model.save_weights(tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_plain_h5_names_are_explained_as_keras_2_legacy_format(tmp_path):
    with pytest.raises(ValueError, match="Keras 2's legacy HDF5 format"):
        mlp().save_weights(tmp_path / "w.h5")


@pytest.mark.parametrize("name", ["m.h5", "m.weights.h5", "m.zip"])
def test_save_accepts_only_keras_archives(tmp_path, name):
    with pytest.raises(ValueError, match=r"\['\.keras'\]"):
        mlp().save(tmp_path / name)


def test_overwrite_false_refuses_an_existing_file(tmp_path):
    mlp().save_weights(tmp_path / "w.weights.npz")
    with pytest.raises(FileExistsError, match="w.weights.npz"):
        mlp().save_weights(tmp_path / "w.weights.npz", overwrite=False)


def test_save_weights_needs_a_built_model(tmp_path):
    model = snn.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="not built yet"):
        model.save_weights(tmp_path / "w.weights.h5")


def test_an_unbuilt_model_saves_its_layers_with_a_warning_as_keras_does(tmp_path):
    model = snn.Sequential([layers.Dense(2, activation="tanh")])
    with pytest.warns(UserWarning, match="before it is built"):
        model.save(tmp_path / "m.keras")
    loaded = snn.models.load_model(tmp_path / "m.keras")
    assert not loaded.built and loaded.layers[0].units == 2


def test_importing_scratchnn_does_not_import_h5py_or_zipfile():
    code = "import sys, scratchnn; print('h5py' in sys.modules, 'zipfile' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_without_h5py_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)          # import h5py now fails
    with pytest.raises(ImportError, match=r"pip install 'scratchnn\[h5\]'"):
        mlp().save_weights(tmp_path / "w.weights.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mlp().save_weights(tmp_path / "w.weights.npz")       # NumPy's format still works
