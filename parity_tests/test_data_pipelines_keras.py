"""Data beyond one array and the callback protocol, against Keras 3.15: generators with
steps_per_epoch, PyDataset (its hooks, reads and shuffled order), class_weight,
validation_freq / validation_steps / validation_batch_size, and a callback written for Keras
printing the same lines on both engines."""

from __future__ import annotations

import random

import keras
import numpy as np
import pytest

import scratchnn as snn
import tf_reference

from .helpers import assert_curves_close

HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
         "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
         "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
         "on_predict_batch_begin", "on_predict_batch_end"]


def _printing(name):
    """The hook as a Keras user writes it: `def on_epoch_end(self, epoch, logs=None)`."""
    def show(logs):
        return f"{type(logs).__name__} {sorted(logs) if isinstance(logs, dict) else logs!r}"

    if name.endswith(("train_begin", "train_end", "test_begin", "test_end", "predict_begin",
                      "predict_end")):
        def hook(self, logs=None):
            print(name, show(logs))
    else:
        def hook(self, index, logs=None):
            print(name, index, show(logs))
    return hook


def printing_callback(base):
    """A callback as a Keras user writes it: every hook prints its arguments and log keys."""
    return type("Printer", (base,), {name: _printing(name) for name in HOOKS})()


def _data(n=40, seed=0):
    r = np.random.default_rng(seed)
    return r.random((n, 3)).astype("float32"), r.random((n, 2)).astype("float32")


def _twins(loss="mse", metrics=("mae",)):
    model = snn.Sequential([snn.layers.Dense(4, activation="relu", input_shape=(3,)),
                            snn.layers.Dense(2)])
    model.compile(optimizer=snn.optimizers.SGD(0.1), loss=loss, metrics=list(metrics))
    return model, tf_reference.to_keras(model)


def _forever(x, y, size=10):
    while True:
        for start in range(0, len(x), size):
            yield x[start:start + size], y[start:start + size]


def test_a_keras_callback_prints_the_same_lines_on_both_engines(capsys):
    x, y = _data(8)
    ours, theirs = _twins()
    out = {}
    for name, model, base in (("keras", theirs, keras.callbacks.Callback),
                              ("scratchnn", ours, snn.callbacks.Callback)):
        cb = printing_callback(base)
        model.fit(x, y, batch_size=4, epochs=2, verbose=0, validation_data=(x, y),
                  shuffle=False, callbacks=[cb])
        model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[cb])
        model.predict(x, batch_size=4, verbose=0, callbacks=[cb])
        out[name] = capsys.readouterr().out
    assert out["scratchnn"] == out["keras"]
    assert "on_train_begin dict []" in out["keras"]


def test_fit_on_a_generator_with_steps_per_epoch_matches_keras():
    x, y = _data()
    ours, theirs = _twins()
    h_keras = theirs.fit(_forever(x, y), steps_per_epoch=3, epochs=4, verbose=0).history
    h_ours = ours.fit(_forever(x, y), steps_per_epoch=3, epochs=4, verbose=0).history
    assert_curves_close(h_ours, h_keras, 1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


class Logged:
    """Mixed into each engine's PyDataset: logs hooks and reads, batch i = rows of i."""

    def __init__(self, x, y, size=10, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.size, self.log = x, y, size, []

    def __len__(self):
        return int(np.ceil(len(self.x) / self.size))

    def __getitem__(self, index):
        self.log.append(index)
        rows = slice(index * self.size, (index + 1) * self.size)
        return self.x[rows], self.y[rows]

    def on_epoch_begin(self):
        self.log.append("begin")

    def on_epoch_end(self):
        self.log.append("end")


@pytest.mark.parametrize("shuffle", [False, True])
def test_pydataset_hooks_reads_order_and_history_match_keras(shuffle):
    """Keras 3.15 reads batches 0 and 1 as fit starts, calls on_epoch_end once, then per
    epoch on_epoch_begin, every batch (shuffled with Python's random.shuffle), on_epoch_end."""
    x, y = _data()
    ours, theirs = _twins()
    logs, histories = {}, {}
    for name, model, base in (("keras", theirs, keras.utils.PyDataset),
                              ("scratchnn", ours, snn.utils.PyDataset)):
        data = type("Data", (Logged, base), {})(x, y)
        random.seed(7)
        histories[name] = model.fit(data, epochs=3, shuffle=shuffle, verbose=0).history
        logs[name] = data.log
    assert logs["scratchnn"] == logs["keras"]
    assert_curves_close(histories["scratchnn"], histories["keras"], 1e-6)


def test_class_weight_matches_keras():
    r = np.random.default_rng(3)
    x = r.random((30, 3)).astype("float32")
    y = keras.utils.to_categorical(r.integers(0, 2, 30), 2)
    ours, theirs = _twins("categorical_crossentropy", ("accuracy",))
    weights = {0: 3.0, 1: 0.25}
    h_keras = theirs.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                         class_weight=weights).history
    h_ours = ours.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                      class_weight=weights).history
    assert_curves_close(h_ours, h_keras, 1e-6)


def test_validation_freq_steps_and_batch_size_match_keras(capsys):
    x, y = _data()
    ours, theirs = _twins()
    runs = {}
    for name, model, base in (("keras", theirs, keras.callbacks.Callback),
                              ("scratchnn", ours, snn.callbacks.Callback)):
        h = model.fit(x, y, batch_size=20, epochs=4, verbose=0, shuffle=False,
                      validation_data=(x, y), validation_freq=2, validation_batch_size=8,
                      callbacks=[printing_callback(base)])
        h2 = model.fit(x, y, batch_size=20, epochs=2, verbose=0, shuffle=False,
                       validation_data=_forever(x, y), validation_steps=2,
                       validation_freq=[2])
        runs[name] = (h.history, h2.history, capsys.readouterr().out)
    assert runs["scratchnn"][2] == runs["keras"][2]
    assert_curves_close(runs["scratchnn"][0], runs["keras"][0], 1e-6)
    assert_curves_close(runs["scratchnn"][1], runs["keras"][1], 1e-6)
    assert len(runs["keras"][0]["val_loss"]) == 2


def test_the_progress_line_of_a_generator_without_steps_matches_keras(capfd):
    """Keras counts the batches of a generator's first epoch and ends on `4/4 ━━━...`."""
    x, y = _data()
    ours, theirs = _twins()

    def batches():
        for start in range(0, 40, 10):
            yield x[start:start + 10], y[start:start + 10]

    lines = {}
    for name, model in (("keras", theirs), ("scratchnn", ours)):
        with pytest.warns(UserWarning):
            model.fit(batches(), epochs=1, verbose=1)
        text = capfd.readouterr().out
        final = text.replace("\x08", "").split("\r")[-1]
        lines[name] = [_strip(final)]
    assert [line.split(" ")[:2] for line in lines["scratchnn"]] == \
        [line.split(" ")[:2] for line in lines["keras"]]
    assert lines["keras"][0].startswith("4/4 ━━━━━━━━━━━━━━━━━━━━")


def _strip(text: str) -> str:
    import re
    return re.sub(r"\x1b\[[0-9;]*m", "", text).strip()
