"""Nothing lost, everything explained: atomic writes, damaged files, wrong models,
and what scratchnn refuses to load (by name)."""

from __future__ import annotations

import json
import os
import shutil
import zipfile

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import layers
from scratchnn.saving import npz as npz_module

WEIGHT_FILES = ["w.weights.h5", "w.weights.npz", "w.keras"]


def mlp(units=4, optimizer="adam"):
    model = snn.Sequential([snn.Input((3,)), layers.Dense(units, activation="relu", name="hidden"),
                            layers.Dropout(0.2), layers.Dense(1, activation="sigmoid", name="out")])
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    return model


def trained(units=4):
    model = mlp(units)
    x = np.random.default_rng(0).normal(size=(16, 3))
    model.fit(x, (x[:, 0] > 0).astype(float), epochs=1, batch_size=8, verbose=0)
    return model


def save(model, path):
    (model.save if str(path).endswith(".keras") else model.save_weights)(path)


def snapshot(model):
    optimizer_state = model.optimizer.variables if model.optimizer.built else []
    return [w.copy() for w in model.get_weights()] + [np.array(v, copy=True)
                                                      for v in optimizer_state]


def assert_unchanged(model, before):
    after = snapshot(model)
    assert len(after) == len(before)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


# -- atomic writes ----------------------------------------------------------------------------
def _fail_midway(*args, **kwargs):
    raise KeyboardInterrupt          # as if Ctrl-C arrived while the file was being written


def _savez_half_then_fail(monkeypatch):
    def savez(f, **arrays):
        f.write(b"PK\x03\x04 half an archive")
        _fail_midway()
    monkeypatch.setattr(npz_module.np, "savez", savez)


def _zip_fails_after_config(monkeypatch):
    original = zipfile.ZipFile.writestr

    def writestr(self, member, data, *args, **kwargs):
        original(self, member, data, *args, **kwargs)
        if member == "config.json":           # two members written, the weights never come
            _fail_midway()
    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)


def _fails_after_the_last_byte(monkeypatch):
    import scratchnn.saving.atomic as atomic
    real_fsync = os.fsync
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (real_fsync(fd), _fail_midway()))


@pytest.mark.parametrize("name, inject", [
    ("w.weights.npz", _savez_half_then_fail), ("m.keras", _zip_fails_after_config),
    ("w.weights.h5", _fails_after_the_last_byte), ("m.keras", _fails_after_the_last_byte)])
def test_an_interrupted_save_leaves_the_previous_file_and_no_temporary_file(tmp_path, name,
                                                                             inject, monkeypatch):
    path = tmp_path / name
    save(trained(), path)
    before = path.read_bytes()
    inject(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        save(mlp(units=6), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_failed_first_save_leaves_no_file_at_all(tmp_path, monkeypatch):
    monkeypatch.setattr(npz_module.np, "savez", lambda f, **arrays: _fail_midway())
    with pytest.raises(KeyboardInterrupt):
        mlp().save_weights(tmp_path / "w.weights.npz")
    assert list(tmp_path.iterdir()) == []


def test_saving_into_a_missing_folder_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mlp().save_weights(tmp_path / "nowhere" / "w.weights.h5")


def test_saved_files_get_ordinary_permissions_not_private_ones(tmp_path):
    mlp().save_weights(tmp_path / "w.weights.npz")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "w.weights.npz").stat().st_mode & 0o777 == 0o666 & ~umask


# -- missing, damaged and wrong-kind files ----------------------------------------------------
@pytest.mark.parametrize("name", WEIGHT_FILES)
def test_a_missing_file_raises_file_not_found_naming_it(tmp_path, name):
    with pytest.raises(FileNotFoundError, match=name):
        mlp().load_weights(tmp_path / name)


def test_a_folder_is_not_a_model(tmp_path):
    (tmp_path / "m.keras").mkdir()
    with pytest.raises(IsADirectoryError, match="m.keras"):
        snn.models.load_model(tmp_path / "m.keras")


@pytest.mark.parametrize("name", WEIGHT_FILES)
@pytest.mark.parametrize("cut", [0, 0.5, 0.97])
def test_a_truncated_file_is_refused_and_the_model_is_unchanged(tmp_path, name, cut):
    path = tmp_path / name
    save(trained(), path)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * cut)])
    model = trained(units=4)
    model.layers[0].kernel[...] = 3.0
    before = snapshot(model)
    with pytest.raises(ValueError, match=name):
        model.load_weights(path)
    assert_unchanged(model, before)


@pytest.mark.parametrize("source, target, says", [
    ("w.weights.npz", "x.weights.h5", "zip archive .*, not an HDF5 file"),
    ("w.weights.h5", "x.weights.npz", "HDF5 file .*, not a zip archive"),
    ("w.weights.h5", "x.keras", "HDF5 file .*, not a zip archive"),
    ("w.weights.npz", "x.keras", "zip archive but not a Keras model: it has no config.json"),
])
def test_a_file_of_the_wrong_kind_says_what_it_is(tmp_path, source, target, says):
    save(trained(), tmp_path / source)
    shutil.copy(tmp_path / source, tmp_path / target)
    with pytest.raises(ValueError, match=f"x.*{says}"):
        mlp().load_weights(tmp_path / target)


@pytest.mark.parametrize("name", WEIGHT_FILES)
def test_random_bytes_are_refused_naming_the_file(tmp_path, name):
    (tmp_path / name).write_bytes(np.random.default_rng(0).bytes(500))
    with pytest.raises(ValueError, match=f"{name}.*neither an HDF5 file nor a zip archive"):
        mlp().load_weights(tmp_path / name)


def test_a_npz_with_pickled_objects_is_refused_without_unpickling(tmp_path):
    model = trained()
    model.save_weights(tmp_path / "w.npz")
    with np.load(tmp_path / "w.npz") as data:
        arrays = {name: data[name] for name in data.files}
    arrays["layers/dense/vars/0"] = np.array([{"evil": 1}] * 12, dtype=object).reshape(3, 4)
    np.savez(tmp_path / "w.npz", **arrays)
    with pytest.raises(ValueError, match="pickled"):
        mlp().load_weights(tmp_path / "w.npz")


def test_a_keras_archive_with_broken_json_names_the_member(tmp_path):
    with zipfile.ZipFile(tmp_path / "m.keras", "w") as zf:
        zf.writestr("config.json", "{not json")
        zf.writestr("model.weights.h5", b"")
    with pytest.raises(ValueError, match="m.keras': config.json is not valid JSON"):
        snn.models.load_model(tmp_path / "m.keras")


# -- a file for another model -----------------------------------------------------------------
@pytest.mark.parametrize("name", WEIGHT_FILES)
def test_a_file_for_wider_layers_names_layer_weight_and_both_shapes(tmp_path, name):
    save(trained(units=4), tmp_path / name)
    wider = mlp(units=5)
    before = snapshot(wider)
    with pytest.raises(ValueError, match=r"layer 'hidden' \(layers/dense.*weight 'kernel' has "
                                         r"shape \(3, 5\), got \(3, 4\) from the file"):
        wider.load_weights(tmp_path / name)
    assert_unchanged(wider, before)


@pytest.mark.parametrize("name", WEIGHT_FILES)
def test_a_file_with_other_layers_lists_both_sides(tmp_path, name):
    save(trained(), tmp_path / name)
    other = snn.Sequential([snn.Input((3,)), layers.Dense(1, name="only")])
    other.compile("sgd", "mse")
    before = snapshot(other)
    with pytest.raises(ValueError, match=r"not in the model: \['dense_1', 'dropout'\]"):
        other.load_weights(tmp_path / name)
    assert_unchanged(other, before)


def test_all_or_nothing_a_matching_first_layer_is_not_loaded_when_a_later_one_fails(tmp_path):
    source = trained()
    source.save_weights(tmp_path / "w.weights.h5")
    model = snn.Sequential([snn.Input((3,)), layers.Dense(4, activation="relu"),
                            layers.Dropout(0.2), layers.Dense(2)])        # last layer differs
    model.compile("adam", "mse")
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"shape \(4, 2\), got \(4, 1\) from the file"):
        model.load_weights(tmp_path / "w.weights.h5")
    assert_unchanged(model, before)


# -- what load_model refuses, by name ---------------------------------------------------------
def keras_file(tmp_path, edit):
    """A scratchnn-written .keras archive whose config.json `edit` then changes."""
    path = tmp_path / "m.keras"
    model = snn.Sequential([snn.Input((6, 6, 1)), layers.Conv2D(2, 3, activation="relu"),
                            layers.Flatten(), layers.Dense(3, activation="softmax")])
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    cfg = json.loads(members["config.json"])
    edit(cfg, cfg["config"]["layers"])
    members["config.json"] = json.dumps(cfg).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return path


def _set(index, key, value):
    def edit(cfg, layer_list):
        layer_list[index]["config"][key] = value
    return edit


def _compile(key, value):
    def edit(cfg, layer_list):
        cfg["compile_config"][key] = value
    return edit


def _optimizer(key, value):
    def edit(cfg, layer_list):
        cfg["compile_config"]["optimizer"]["config"][key] = value
    return edit


L2 = {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01},
      "registered_name": None}


@pytest.mark.parametrize("edit, says", [
    (_set(1, "data_format", "channels_first"),
     r"layer 1 'conv2d' \(Conv2D\): option data_format='channels_first' is not supported"),
    (_set(1, "groups", 2), r"layer 1 'conv2d' \(Conv2D\): option groups=2 is not supported"),
    (_set(3, "activity_regularizer", L2),
     r"layer 3 'dense' \(Dense\): option activity_regularizer="),
    (_set(3, "kernel_regularizer", {**L2, "class_name": "OrthogonalRegularizer"}),
     r"layer 3 'dense' \(Dense\): kernel_regularizer=.* is not supported"),
    (_set(3, "activation", "selu"), r"layer 3 'dense' \(Dense\): activation 'selu' is not supp"),
    (_set(3, "kernel_constraint", {"module": "keras.constraints", "class_name": "NonNeg",
                                   "config": {}, "registered_name": None}),
     r"'dense' \(Dense\): option kernel_constraint=.* is not supported"),
    (_set(3, "trainable", "no"), r"'dense' \(Dense\): option trainable='no' should be of kind"),
    (_set(3, "dtype", "mixed_float16"), r"dtype policy 'mixed_float16'"),
    (_set(2, "data_format", "channels_first"), r"'flatten' \(Flatten\): option data_format="),
    (_set(0, "sparse", True), r"InputLayer: option sparse=True is not supported"),
    (lambda cfg, ls: ls[3].update(class_name="LayerNormalization"),
     r"layer 3 'dense' \(LayerNormalization\): scratchnn has no LayerNormalization layer"),
    (lambda cfg, ls: ls[3].update(registered_name="my_package>MyDense"),
     r"custom class 'my_package>MyDense'"),
    (lambda cfg, ls: cfg.update(class_name="Functional"),
     "the Functional model: its config has no 'input_layers'"),
    (_compile("loss", "hinge"), "loss 'hinge' is not supported"),
    (_compile("metrics", ["auc"]), "metric 'auc' is not supported"),
    (_compile("loss_weights", [0.5]),
     "loss_weights is not supported by scratchnn for a single-output model"),
    (_optimizer("clipnorm", -1.0), r"optimizer Adam: Adam: clipnorm must be > 0, got -1.0"),
    (_optimizer("use_ema", True), "optimizer Adam: option use_ema=True is not supported"),
    (_optimizer("gradient_accumulation_steps", 4),
     "option gradient_accumulation_steps=4 is not supported"),
    (_optimizer("learning_rate", {"module": "my_package", "class_name": "WarmupThenDecay",
                                  "config": {}, "registered_name": "my_package>WarmupThenDecay"}),
     r"optimizer Adam: the learning-rate schedule is a custom class "
     r"'my_package>WarmupThenDecay'"),
    (lambda cfg, ls: cfg["compile_config"]["optimizer"].update(class_name="Lion"),
     "optimizer Lion is not supported"),
])
def test_load_model_refuses_what_scratchnn_cannot_do_by_name(tmp_path, edit, says):
    path = keras_file(tmp_path, edit)
    with pytest.raises(ValueError, match=says) as info:
        snn.models.load_model(path)
    assert "m.keras" in str(info.value)


def test_a_float64_model_asks_for_float64_first(tmp_path):
    path = keras_file(tmp_path, lambda cfg, ls: [layer["config"].update(dtype="float64")
                                                 for layer in ls])
    with pytest.raises(ValueError, match=r"set_floatx\('float64'\) before loading"):
        snn.models.load_model(path)


def test_a_config_asking_for_more_weights_than_the_file_holds_is_refused_unbuilt(tmp_path):
    """units=10**9 would allocate (and initialise) 4 GB before any shape check."""
    path = keras_file(tmp_path, _set(3, "units", 10**9))
    with pytest.raises(ValueError, match=r"describes .* weights .* but the weights file holds "
                                         r"only .* bytes"):
        snn.models.load_model(path)
