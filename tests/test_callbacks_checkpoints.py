"""ModelCheckpoint and BackupAndRestore: Keras 3.15's file names, best-only decisions
and messages; a run interrupted by Ctrl-C or a crash resumes from its last completed
epoch and ends with exactly the weights of an uninterrupted run."""

import json
import os

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import callbacks as C

L = snn.layers


def _data(n=40):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, 3)).astype("float32")
    return x, (x[:, 0] - x[:, 1] > 0).astype("float32")


def _model(optimizer="adam"):
    snn.utils.set_random_seed(7)
    model = snn.Sequential([snn.Input((3,)), L.Dense(4, activation="relu"),
                            L.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    return model


class _Recorder:
    """Just enough of a model for ModelCheckpoint: records what it is asked to save."""

    def __init__(self):
        self.saved, self.compiled_metrics, self.stop_training = [], [], False

    def save(self, path):
        self.saved.append(path)

    save_weights = save


def _drive(cb, values, key="val_loss"):
    model = _Recorder()
    cb.set_model(model)
    cb.on_train_begin()
    for epoch, value in enumerate(values):
        cb.on_epoch_begin(epoch)
        cb.on_epoch_end(epoch, {key: value})
    return model.saved


# -- ModelCheckpoint -------------------------------------------------------------------
def test_checkpoint_file_names_fill_epoch_and_log_keys(tmp_path):
    x, y = _data()
    pattern = str(tmp_path / "m-{epoch:02d}-{val_loss:.3f}.keras")
    h = _model().fit(x, y, validation_split=0.25, epochs=3, verbose=0,
                     callbacks=[C.ModelCheckpoint(pattern)])
    expected = [f"m-{e + 1:02d}-{v:.3f}.keras" for e, v in enumerate(h.history["val_loss"])]
    assert sorted(os.listdir(tmp_path)) == expected


def test_checkpoint_best_only_saves_improvements_nan_never_improves():
    # Keras's rule: save when value < best (min mode); NaN compares False, so it never
    # improves, and the best stays the last real improvement.
    saved = _drive(C.ModelCheckpoint("b-{epoch}.keras", save_best_only=True),
                   [3.0, 2.0, 2.5, 1.0, float("nan"), 0.5, 0.5])
    assert saved == ["b-1.keras", "b-2.keras", "b-4.keras", "b-6.keras"]


def test_checkpoint_initial_value_threshold_must_be_beaten_first():
    saved = _drive(C.ModelCheckpoint("t-{epoch}.keras", save_best_only=True,
                                     initial_value_threshold=1.5), [3.0, 2.0, 1.0, 1.2])
    assert saved == ["t-3.keras"]


def test_checkpoint_auto_mode_maximises_accuracy(tmp_path):
    x, y = _data()
    cb = C.ModelCheckpoint(str(tmp_path / "a.keras"), monitor="val_accuracy",
                           save_best_only=True)
    _model().fit(x, y, validation_split=0.25, epochs=1, verbose=0, callbacks=[cb])
    assert cb._higher_is_better is True
    assert _drive(C.ModelCheckpoint("m.keras", monitor="mae", mode="max", save_best_only=True),
                  [0.1, 0.3, 0.2], key="mae") == ["m.keras", "m.keras"]


def test_checkpoint_unknown_monitor_in_auto_mode_asks_for_a_mode():
    cb = C.ModelCheckpoint("x.keras", monitor="foo", save_best_only=True)
    with pytest.raises(ValueError, match="Pass `mode='max'`"):
        _drive(cb, [1.0, 2.0], key="foo")


def test_checkpoint_missing_monitor_warns_and_saves_anyway():
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available"):
        saved = _drive(C.ModelCheckpoint("w.keras", save_best_only=True), [1.0], key="loss")
    assert saved == ["w.keras"]


def test_checkpoint_verbose_messages_are_keras_s(capsys):
    _drive(C.ModelCheckpoint("v.keras", save_best_only=True, verbose=1), [2.0, 3.0, 1.0])
    assert capsys.readouterr().out.split("\n") == [
        "", "Epoch 1: val_loss improved from None to 2.00000, saving model to v.keras",
        "", "Epoch 1: finished saving model to v.keras",
        "", "Epoch 2: val_loss did not improve from 2.00000",
        "", "Epoch 3: val_loss improved from 2.00000 to 1.00000, saving model to v.keras",
        "", "Epoch 3: finished saving model to v.keras", ""]
    _drive(C.ModelCheckpoint("e.keras", verbose=1), [2.0])
    assert "\nEpoch 1: saving model to e.keras\n" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, match", [
    ({"filepath": "m.h5"}, r"must end in `\.keras`"),
    ({"filepath": "m.weights.h5"}, "pass save_weights_only=True"),
    ({"filepath": "m.keras", "save_weights_only": True}, r"must end in `\.weights\.h5`"),
    ({"filepath": "m.npz", "save_weights_only": True}, r"or `\.weights\.npz`"),
    ({"filepath": "m.keras", "save_freq": "batch"}, "Unrecognized save_freq: batch"),
    ({"filepath": "m.keras", "save_freq": 0}, "Unrecognized save_freq: 0"),
])
def test_checkpoint_refuses_names_and_frequencies_it_cannot_honour(kwargs, match):
    with pytest.raises(ValueError, match=match):
        C.ModelCheckpoint(**kwargs)


def test_checkpoint_without_h5py_says_so_at_once_and_npz_still_works(monkeypatch):
    from scratchnn.callbacks import model_checkpoint
    monkeypatch.setattr(model_checkpoint.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match="needs h5py"):
        C.ModelCheckpoint("m.keras")
    C.ModelCheckpoint("w.weights.npz", save_weights_only=True)


def test_checkpoint_save_freq_counts_batches_across_epochs(tmp_path):
    # 40 samples, batch 8: 5 batches per epoch; every 3rd batch -> after batch 3 of
    # epoch 1, batch 1 and batch 4 of epoch 2 (the names Keras 3.15 writes).
    x, y = _data()
    cb = C.ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}.weights.h5"), save_freq=3,
                           save_weights_only=True)
    _model().fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[cb])
    assert sorted(os.listdir(tmp_path)) == ["e1-b3.weights.h5", "e2-b1.weights.h5",
                                            "e2-b4.weights.h5"]


def test_checkpoint_a_missing_key_raises_keras_s_keyerror_which_is_also_a_valueerror(tmp_path):
    cb = C.ModelCheckpoint(str(tmp_path / "{val_loss:.2f}.keras"))
    x, y = _data()
    with pytest.raises(KeyError) as err:
        _model().fit(x, y, epochs=1, verbose=0, callbacks=[cb])
    assert isinstance(err.value, ValueError)
    assert "Failed to format this callback filepath" in str(err.value)
    assert "available here are: epoch, accuracy, loss" in str(err.value)


def test_checkpoint_into_an_existing_directory_is_refused(tmp_path):
    (tmp_path / "d.keras").mkdir()
    with pytest.raises(IsADirectoryError, match="non-directory filepath"):
        _drive(C.ModelCheckpoint(str(tmp_path / "d.keras")), [1.0])


def test_checkpoint_files_load_back_and_predict_the_same(tmp_path):
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[
        C.ModelCheckpoint(str(tmp_path / "sub" / "m.keras")),
        C.ModelCheckpoint(str(tmp_path / "w.weights.npz"), save_weights_only=True)])
    restored = snn.models.load_model(tmp_path / "sub" / "m.keras")
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    twin = _model()
    twin.load_weights(tmp_path / "w.weights.npz")
    for a, b in zip(twin.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


# -- BackupAndRestore ------------------------------------------------------------------
class _FailAt(C.Callback):
    """Raises `error` at the start of (epoch, batch): Ctrl-C or a crash, mid-run."""

    def __init__(self, epoch, batch=0, error=KeyboardInterrupt):
        super().__init__()
        self.at, self.error = (epoch, batch), error

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise self.error()


FIT = dict(batch_size=8, epochs=6, shuffle=False, verbose=0)


def _assert_same_weights(a, b):
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)                      # bit for bit


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_backup_resume_ends_with_exactly_the_uninterrupted_weights(tmp_path, error):
    x, y = _data()
    reference = _model()
    ref_history = reference.fit(x, y, validation_split=0.2, **FIT)

    first = _model()
    with pytest.raises(error):
        first.fit(x, y, validation_split=0.2, **FIT,
                  callbacks=[C.BackupAndRestore(tmp_path), _FailAt(3, batch=2, error=error)])
    assert first.history.epoch == [0, 1, 2]                # History: completed epochs only
    meta = json.loads((tmp_path / "training_metadata.json").read_text())
    assert meta["epoch"] == 3 and meta["batch"] == 0

    resumed = _model(optimizer=snn.optimizers.Adam())
    resumed.set_weights([w + 1 for w in resumed.get_weights()])   # all restored from the backup
    history = resumed.fit(x, y, validation_split=0.2, **FIT,
                          callbacks=[C.BackupAndRestore(tmp_path)])
    assert history.epoch == [3, 4, 5]
    assert history.history["val_loss"] == ref_history.history["val_loss"][3:]
    _assert_same_weights(resumed, reference)
    assert resumed.optimizer.iterations == reference.optimizer.iterations == 6 * 4
    assert not tmp_path.exists()                           # deleted at a normal end


def test_backup_resume_with_the_seeded_shuffle_is_exact_too(tmp_path):
    # After set_random_seed (inside _model), fit's shuffle gives the same order in a
    # resumed run as in the uninterrupted one, so the weights agree bit for bit.
    x, y = _data()
    shuffled = dict(FIT, shuffle=True)
    reference = _model()
    reference.fit(x, y, **shuffled)
    with pytest.raises(KeyboardInterrupt):
        _model().fit(x, y, **shuffled, callbacks=[C.BackupAndRestore(tmp_path), _FailAt(4)])
    resumed = _model()
    resumed.fit(x, y, **shuffled, callbacks=[C.BackupAndRestore(tmp_path)])
    _assert_same_weights(resumed, reference)


def test_backup_writes_keras_s_two_files_each_epoch_and_deletes_only_them(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    x, y = _data()
    seen = []
    probe = C.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(sorted(os.listdir(tmp_path))))
    _model().fit(x, y, **FIT, callbacks=[C.BackupAndRestore(tmp_path), probe])
    assert seen[0] == ["latest.weights.h5", "notes.txt", "training_metadata.json"]
    assert os.listdir(tmp_path) == ["notes.txt"]          # Keras would delete the folder


def test_backup_kept_when_delete_checkpoint_is_false(tmp_path):
    x, y = _data()
    _model().fit(x, y, **FIT, callbacks=[C.BackupAndRestore(tmp_path, delete_checkpoint=False)])
    assert json.loads((tmp_path / "training_metadata.json").read_text())["epoch"] == 6


def test_backup_without_h5py_writes_the_same_content_as_weights_npz(tmp_path, monkeypatch):
    from scratchnn.callbacks import backup_and_restore as bar
    monkeypatch.setattr(bar.importlib.util, "find_spec", lambda name: None)
    x, y = _data()
    reference = _model()
    reference.fit(x, y, **FIT)
    with pytest.raises(KeyboardInterrupt):
        _model().fit(x, y, **FIT, callbacks=[bar.BackupAndRestore(tmp_path), _FailAt(4)])
    assert sorted(os.listdir(tmp_path)) == ["latest.weights.npz", "training_metadata.json"]
    resumed = _model()
    resumed.fit(x, y, **FIT, callbacks=[bar.BackupAndRestore(tmp_path)])
    _assert_same_weights(resumed, reference)


def test_backup_every_n_batches_restarts_the_epoch_in_progress_as_keras(tmp_path):
    # Keras 3.15 records {"epoch", "batch"} but resumes at the START of that epoch.
    x, y = _data()
    with pytest.raises(KeyboardInterrupt):
        _model().fit(x, y, **FIT, callbacks=[C.BackupAndRestore(tmp_path, save_freq=3),
                                            _FailAt(2, batch=4)])
    meta = json.loads((tmp_path / "training_metadata.json").read_text())
    assert (meta["epoch"], meta["batch"]) == (2, 1)       # every 3rd of 5 batches an epoch
    history = _model().fit(x, y, **FIT, callbacks=[C.BackupAndRestore(tmp_path)])
    assert history.epoch == [2, 3, 4, 5]


def test_backup_falls_back_on_the_previous_one_when_the_latest_is_damaged(tmp_path):
    x, y = _data()
    with pytest.raises(KeyboardInterrupt):
        _model().fit(x, y, **FIT, callbacks=[
            C.BackupAndRestore(tmp_path, double_checkpoint=True), _FailAt(3)])
    (tmp_path / "latest.weights.h5").write_bytes(b"garbage")
    history = _model().fit(x, y, **FIT, callbacks=[C.BackupAndRestore(tmp_path)])
    assert history.epoch == [2, 3, 4, 5]                  # the .bkp pair: end of epoch 2


def test_backup_damaged_without_a_previous_one_names_the_file(tmp_path):
    x, y = _data()
    with pytest.raises(KeyboardInterrupt):
        _model().fit(x, y, **FIT, callbacks=[C.BackupAndRestore(tmp_path), _FailAt(2)])
    (tmp_path / "latest.weights.h5").write_bytes(b"garbage")
    model = _model()
    before = model.get_weights()
    with pytest.raises((OSError, ValueError), match="latest.weights.h5"):
        model.fit(x, y, **FIT, callbacks=[C.BackupAndRestore(tmp_path)])
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_backup_whose_two_files_do_not_belong_together_is_refused(tmp_path):
    # A hard kill between writing the weights and the metadata leaves a pair that does
    # not match; the recorded SHA-256 shows it instead of resuming at the wrong epoch.
    x, y = _data()
    with pytest.raises(KeyboardInterrupt):
        _model().fit(x, y, **FIT, callbacks=[C.BackupAndRestore(tmp_path), _FailAt(3)])
    stale = (tmp_path / "training_metadata.json").read_text()
    with pytest.raises(KeyboardInterrupt):
        _model().fit(x, y, **FIT, callbacks=[C.BackupAndRestore(tmp_path), _FailAt(5)])
    (tmp_path / "training_metadata.json").write_text(stale)
    with pytest.raises(ValueError, match="is not the file .*training_metadata.json was written"):
        _model().fit(x, y, **FIT, callbacks=[C.BackupAndRestore(tmp_path)])


@pytest.mark.parametrize("kwargs, match", [
    ({"backup_dir": ""}, "Empty `backup_dir`"),
    ({"backup_dir": "b", "save_freq": "batch"}, "Invalid value for argument `save_freq`"),
])
def test_backup_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        C.BackupAndRestore(**kwargs)
