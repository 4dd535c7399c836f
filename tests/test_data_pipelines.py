"""Data beyond one array: generators, PyDataset, steps, validation options, class weights,
and the callback protocol around them (Keras 3.15's rules; the Keras side of each is
compared in parity_tests/test_data_pipelines_keras.py)."""

from __future__ import annotations

import io
import random
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.data_adapters import DataRanDry

from conftest import rng


def _model(loss: str = "mse", units: int = 1) -> snn.Sequential:
    model = snn.Sequential([snn.layers.Dense(4, activation="relu", input_shape=(3,)),
                            snn.layers.Dense(units)])
    model.compile(optimizer="sgd", loss=loss, metrics=["mae"] if loss == "mse" else None)
    return model


def _data(n: int = 40):
    r = rng(0)
    return r.random((n, 3)), r.random((n, 1))


def _batches(x, y, size: int = 10):
    for start in range(0, len(x), size):
        yield x[start:start + size], y[start:start + size]


def _forever(x, y, size: int = 10):
    while True:
        yield from _batches(x, y, size)


HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
         "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
         "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
         "on_predict_batch_begin", "on_predict_batch_end"]


def _recording(name):
    def hook(self, *args, **kwargs):
        positional = "batch" not in name             # Keras passes logs positionally there
        logs = args[-1] if positional else kwargs["logs"]
        args = args[:-1] if positional else args
        self.lines.append(f"{name}{tuple(args)} "
                          f"{sorted(logs) if isinstance(logs, dict) else logs!r}")
    return hook


class Recorder(snn.callbacks.Callback):
    """Writes every hook it receives, with the keys of its logs, as a line (as a callback
    written for Keras would print them)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    locals().update({name: _recording(name) for name in HOOKS})


def test_fit_on_a_generator_with_steps_per_epoch_equals_fit_on_the_arrays():
    x, y = _data()
    a, b = _model(), _model()
    b.set_weights(a.get_weights())
    h1 = a.fit(x, y, batch_size=10, epochs=3, shuffle=False, verbose=0)
    with pytest.warns(UserWarning, match="provided as a generator"):   # fit's shuffle=True
        h2 = b.fit(_forever(x, y), steps_per_epoch=4, epochs=3, verbose=0)
    assert h1.history == h2.history
    for w1, w2 in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(w1, w2)


def test_a_generator_without_steps_per_epoch_ends_its_first_epoch_when_it_stops():
    x, y = _data()
    model = _model()
    history = model.fit(_batches(x, y), epochs=1, shuffle=False, verbose=0)
    reference = _model()
    reference.set_weights(model.get_weights())
    assert len(history.history["loss"]) == 1


def test_a_finite_generator_cannot_start_a_second_epoch_and_the_error_names_the_batch():
    """Keras 3.15 warns and replays the two batches it peeked at; scratchnn refuses, and the
    model keeps the weights of its last completed step, History its completed epochs."""
    x, y = _data()
    model = _model()
    seen = []
    cb = snn.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(
        [w.copy() for w in model.get_weights()]))
    with pytest.raises(DataRanDry, match=r"epoch 2, batch 1 .*yielded 4 batch"):
        model.fit(_batches(x, y), epochs=2, shuffle=False, verbose=0, callbacks=[cb])
    assert len(seen) == 4 and len(model.history.history["loss"]) == 1
    for w, s in zip(model.get_weights(), seen[-1]):
        np.testing.assert_array_equal(w, s)


def test_a_generator_that_runs_dry_within_steps_per_epoch_is_an_error():
    x, y = _data()
    model = _model()
    with pytest.raises(DataRanDry, match=r"epoch 2, batch 1 \(steps=4 per epoch"):
        model.fit(_batches(x, y), steps_per_epoch=4, epochs=2, shuffle=False, verbose=0)


def test_a_bad_batch_from_a_generator_is_named():
    x, y = _data()

    def bad():
        yield x[:10], y[:10]
        yield x[:10, :2], y[:10]

    with pytest.raises(ValueError, match=r"batch 2 of epoch 1.*\(10, 2\)"):
        _model().fit(bad(), epochs=1, shuffle=False, verbose=0)

    def mismatched():
        yield x[:10], y[:9]

    with pytest.raises(ValueError, match=r"batch 1 of epoch 1.*same number of samples"):
        _model().fit(mismatched(), epochs=1, shuffle=False, verbose=0)

    def no_targets():
        yield (x[:10],)

    with pytest.raises(ValueError, match="batch 1 of epoch 1: the batch holds no targets"):
        _model().fit(no_targets(), epochs=1, shuffle=False, verbose=0)


def test_generator_input_refuses_y_sample_weight_batch_size_and_class_weight():
    x, y = _data()
    model = _model()
    with pytest.raises(ValueError, match="`y` should not be passed"):
        model.fit(_batches(x, y), y, verbose=0)
    with pytest.raises(ValueError, match="batch_size=8 cannot be used"):
        model.fit(_batches(x, y), batch_size=8, verbose=0)
    with pytest.raises(ValueError, match="class_weight` is not supported for Python generator"):
        model.fit(_batches(x, y), class_weight={0: 1.0}, shuffle=False, verbose=0)
    with pytest.raises(ValueError, match="validation_split` is only supported"):
        model.fit(_batches(x, y), validation_split=0.2, verbose=0)


class Doubled(snn.utils.PyDataset):
    """A PyDataset that logs its hooks and batch reads."""

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


def test_pydataset_hooks_and_reads_in_keras_order():
    """Keras 3.15: two batches read as fit starts, on_epoch_end once before the first epoch,
    then per epoch on_epoch_begin, the batches, on_epoch_end."""
    x, y = _data()
    data = Doubled(x, y)
    _model().fit(data, epochs=2, shuffle=False, verbose=0)
    assert data.log == [0, 1, "end", "begin", 0, 1, 2, 3, "end", "begin", 0, 1, 2, 3, "end"]


def test_pydataset_shuffles_its_batch_order_with_pythons_random():
    """shuffle=True: each epoch visits the batches in `random.shuffle(list(range(n)))` order,
    Python's generator, as Keras 3.15's PyDatasetAdapter."""
    x, y = _data()
    data = Doubled(x, y)
    model = _model()
    random.seed(3)
    model.fit(data, epochs=2, shuffle=True, verbose=0)
    random.seed(3)
    expected = []
    for _ in range(2):
        order = list(range(4))
        random.shuffle(order)
        expected += ["begin", *order, "end"]
    assert data.log == [0, 1, "end", *expected]


def test_pydataset_trains_as_the_arrays_do():
    x, y = _data()
    a, b = _model(), _model()
    b.set_weights(a.get_weights())
    h1 = a.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0)
    h2 = b.fit(Doubled(x, y), epochs=2, shuffle=False, verbose=0)
    assert h1.history == h2.history


def test_pydataset_refuses_parallel_workers():
    with pytest.raises(ValueError, match="workers=2.*not supported by scratchnn"):
        Doubled(*_data(), workers=2)


def test_validation_from_a_generator_with_validation_steps_continues_across_epochs():
    x, y = _data()
    model = _model()
    history = model.fit(x, y, batch_size=10, epochs=3, shuffle=False, verbose=0,
                        validation_data=_forever(x, y), validation_steps=2)
    assert len(history.history["val_loss"]) == 3


def test_validation_freq_validates_every_nth_epoch_or_the_listed_ones():
    x, y = _data()
    model = _model()
    h = model.fit(x, y, epochs=4, verbose=0, validation_data=(x, y), validation_freq=2)
    assert len(h.history["loss"]) == 4 and len(h.history["val_loss"]) == 2
    h = model.fit(x, y, epochs=4, verbose=0, validation_data=(x, y), validation_freq=[1, 4])
    assert len(h.history["val_loss"]) == 2
    with pytest.raises(ValueError, match="validation_freq"):
        model.fit(x, y, validation_data=(x, y), validation_freq=0, verbose=0)


def test_validation_batch_size_is_used_for_validation():
    x, y = _data()
    model = _model()
    rec = Recorder()
    model.fit(x, y, batch_size=40, epochs=1, verbose=0, validation_data=(x, y),
              validation_batch_size=10, callbacks=[rec])
    assert sum(line.startswith("on_test_batch_end") for line in rec.lines) == 4
    assert sum(line.startswith("on_train_batch_end") for line in rec.lines) == 1


def test_class_weight_is_keras_sample_weight_per_class():
    """class_weight={c: w} weighs each sample by its class (argmax of one-hot rows, else the
    rounded label); classes missing from the dict weigh 1. Equal to the sample weights."""
    r = rng(1)
    x = r.random((30, 3))
    labels = r.integers(0, 3, 30)
    a = _model("sparse_categorical_crossentropy", 3)
    b = _model("sparse_categorical_crossentropy", 3)
    b.set_weights(a.get_weights())
    weights = {0: 2.0, 2: 0.5}
    h1 = a.fit(x, labels, class_weight=weights, epochs=2, shuffle=False, verbose=0)
    sw = np.array([weights.get(int(c), 1.0) for c in labels], dtype="float32")
    h2 = b.fit(x, labels, sample_weight=sw, epochs=2, shuffle=False, verbose=0)
    assert h1.history == h2.history
    onehot = snn.utils.to_categorical(labels, 3)
    np.testing.assert_array_equal(
        snn.data_adapters.class_weights_for(onehot, weights, "test"), sw)
    with pytest.raises(ValueError, match="cannot `class_weight` and `sample_weight`"):
        a.fit(x, labels, class_weight=weights, sample_weight=sw, verbose=0)


def test_every_hook_receives_a_dict_never_none_in_keras_order():
    x, y = _data(8)
    model = _model()
    rec = Recorder()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, validation_data=(x, y), callbacks=[rec])
    assert rec.lines == [
        "on_train_begin() []", "on_epoch_begin(0,) []",
        "on_train_batch_begin(0,) []", "on_train_batch_end(0,) ['loss', 'mae']",
        "on_train_batch_begin(1,) []", "on_train_batch_end(1,) ['loss', 'mae']",
        "on_test_begin() []",
        "on_test_batch_begin(0,) []", "on_test_batch_end(0,) ['loss', 'mae']",
        "on_test_batch_begin(1,) []", "on_test_batch_end(1,) ['loss', 'mae']",
        "on_test_end() ['loss', 'mae']",
        "on_epoch_end(0,) ['loss', 'mae', 'val_loss', 'val_mae']",
        "on_train_end() ['loss', 'mae', 'val_loss', 'val_mae']"]


def test_evaluate_and_predict_call_their_hooks():
    x, y = _data(8)
    model = _model()
    rec = Recorder()
    model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[rec])
    model.predict(x, batch_size=4, verbose=0, callbacks=[rec])
    assert rec.lines == [
        "on_test_begin() []",
        "on_test_batch_begin(0,) []", "on_test_batch_end(0,) ['loss', 'mae']",
        "on_test_batch_begin(1,) []", "on_test_batch_end(1,) ['loss', 'mae']",
        "on_test_end() ['loss', 'mae']",
        "on_predict_begin() []",
        "on_predict_batch_begin(0,) []", "on_predict_batch_end(0,) ['outputs']",
        "on_predict_batch_begin(1,) []", "on_predict_batch_end(1,) ['outputs']",
        "on_predict_end() []"]


def test_the_last_epoch_of_an_exhausted_generator_shows_a_batch_begun_and_never_ended():
    """Keras calls on_train_batch_begin before it asks the data for the batch."""
    x, y = _data()
    rec = Recorder()
    _model().fit(_batches(x, y), epochs=1, shuffle=False, verbose=0, callbacks=[rec])
    begins = [line for line in rec.lines if line.startswith("on_train_batch_begin")]
    ends = [line for line in rec.lines if line.startswith("on_train_batch_end")]
    assert len(begins) == 5 and len(ends) == 4


def test_progress_bar_of_an_unknown_number_of_steps_ends_with_the_count():
    x, y = _data()
    out = io.StringIO()
    with redirect_stdout(out):
        _model().fit(_batches(x, y), epochs=1, shuffle=False, verbose=1)
    assert out.getvalue().startswith("4/4 ━━━━━━━━━━━━━━━━━━━━ ")
    bar = snn.callbacks.Progbar(None, verbose=1, stream=io.StringIO())
    bar.interactive = True
    bar.update(3, {"loss": 0.5})
    assert bar.stream.getvalue().startswith("\r      3/Unknown 0s ")


def test_predict_and_evaluate_take_generators_and_steps():
    x, y = _data()
    model = _model()
    expected = model.predict(x, batch_size=10, verbose=0)
    np.testing.assert_array_equal(model.predict(_batches(x, y), verbose=0), expected)
    np.testing.assert_array_equal(model.predict(_forever(x, y), steps=4, verbose=0), expected)
    assert model.evaluate(_batches(x, y), verbose=0) == model.evaluate(x, y, batch_size=10,
                                                                        verbose=0)
    with pytest.raises(DataRanDry):
        model.evaluate(_batches(x, y), steps=5, verbose=0)


def test_steps_per_epoch_on_arrays_follows_keras_passes():
    """steps_per_epoch smaller than a pass: the next epoch goes on where the last stopped;
    larger: the epoch ends with the pass, with Keras's warning."""
    x, y = _data()
    rec = Recorder()
    model = _model()
    model.fit(x, y, batch_size=10, steps_per_epoch=3, epochs=2, shuffle=False, verbose=0,
              callbacks=[rec])
    ends = [line for line in rec.lines if line.startswith("on_train_batch_end")]
    assert len(ends) == 4            # 3 in the first epoch, the pass's last one in the second
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, batch_size=10, steps_per_epoch=6, epochs=1, shuffle=False, verbose=0)
    assert any("ran out of data" in str(w.message) for w in caught)
