"""Callbacks: EarlyStopping's exact stop epochs and restore rule, LearningRateScheduler,
History's batch-size-weighted epoch means (values measured with keras 3.15.1)."""

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import callbacks as C

LOSSES = [10, 9, 8, 9, 8.9, 8.8, 8.7, 8.6, 8.5, 8.4]


class _Fake:
    """Just enough of a model for a callback."""

    def __init__(self):
        self.stop_training = False
        self.weights = 0
        self.compiled_metrics = []

    def get_weights(self):
        return self.weights

    def set_weights(self, w):
        self.weights = w


def _drive(cb, values, key="val_loss"):
    model = _Fake()
    cb.set_model(model)
    cb.on_train_begin()
    for epoch, value in enumerate(values):
        model.weights = epoch
        cb.on_epoch_end(epoch, {key: value})
        if model.stop_training:
            break
    cb.on_train_end()
    return model


@pytest.mark.parametrize("patience, stop_epoch", [(0, 3), (1, 3), (2, 4), (3, 5)])
def test_early_stopping_stop_epochs_match_keras(patience, stop_epoch):
    cb = C.EarlyStopping(patience=patience)
    _drive(cb, LOSSES)
    assert cb.stopped_epoch == stop_epoch


def test_early_stopping_restores_the_best_weights_when_it_stops():
    cb = C.EarlyStopping(patience=2, restore_best_weights=True)
    model = _drive(cb, LOSSES)
    assert cb.stopped_epoch == 4 and model.weights == 2 and cb.best_epoch == 2


def test_early_stopping_restores_best_weights_even_without_stopping():
    cb = C.EarlyStopping(patience=50, restore_best_weights=True)
    model = _drive(cb, [3, 2, 1, 1.5, 1.6])
    assert cb.stopped_epoch == 0 and model.weights == 2


def test_early_stopping_min_delta_and_max_mode():
    cb = C.EarlyStopping(monitor="val_accuracy", mode="max", min_delta=0.05, patience=2)
    _drive(cb, [0.5, 0.52, 0.53, 0.9], key="val_accuracy")
    assert cb.stopped_epoch == 2


def test_early_stopping_auto_mode_reads_the_metric_direction():
    model = snn.Sequential([snn.Input((2,)), snn.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(20, 2))
    y = (x[:, 0] > 0).astype(float)
    cb = C.EarlyStopping(monitor="accuracy", patience=100)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    assert cb._higher_is_better is True


def test_learning_rate_scheduler_sets_the_rate_each_epoch_and_logs_it():
    model = snn.Sequential([snn.Input((2,)), snn.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x, y = np.ones((4, 2)), np.ones(4)
    sched = C.LearningRateScheduler(lambda epoch: 1e-4 * 10 ** (epoch / 20))
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[sched])
    expected = [float(np.float32(1e-4 * 10 ** (e / 20))) for e in range(3)]
    assert history.history["learning_rate"] == pytest.approx(expected, rel=1e-7)
    assert "lr" not in history.history


def test_learning_rate_scheduler_two_argument_schedule_and_float_check():
    model = snn.Sequential([snn.Input((2,)), snn.layers.Dense(1)])
    model.compile(optimizer=snn.optimizers.SGD(0.1), loss="mse")
    x, y = np.ones((4, 2)), np.ones(4)
    h = model.fit(x, y, epochs=2, verbose=0,
                  callbacks=[C.LearningRateScheduler(lambda epoch, lr: lr / 2)])
    assert h.history["learning_rate"] == pytest.approx([0.05, 0.025])
    with pytest.raises(ValueError, match="should be a float"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[C.LearningRateScheduler(lambda e: "x")])


def test_history_epoch_loss_is_weighted_by_batch_size_as_keras():
    # N=70, batch 32: batches of 32, 32, 6. Keras 3.15.1 reports these exact curves.
    model = snn.Sequential([snn.Input((3,)), snn.layers.Dense(1, activation="sigmoid")])
    model.set_weights([np.array([[0.5], [-0.3], [0.8]]), np.array([0.1])])
    model.compile(optimizer=snn.optimizers.SGD(0.5), loss="binary_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(5)
    x = rng.normal(size=(70, 3)).astype("float32")
    y = (rng.random(70) > 0.5).astype("float32")
    h = model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    assert list(h.history) == ["accuracy", "loss"]
    np.testing.assert_allclose(h.history["loss"], [0.7933149337768555, 0.7460539937019348],
                               rtol=1e-6)
    np.testing.assert_allclose(h.history["accuracy"], [0.5142857432365417, 0.4571428596973419],
                               rtol=1e-6)
    np.testing.assert_allclose(model.get_weights()[0].ravel(),
                               [0.3179565370082855, 0.003112480044364929, 0.2920929193496704],
                               atol=1e-6)


def test_a_callback_can_stop_training_mid_epoch():
    model = snn.Sequential([snn.Input((2,)), snn.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    seen = []

    class StopAfterTwo(C.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)
            if batch == 1:
                self.model.stop_training = True

    h = model.fit(np.ones((100, 2)), np.ones(100), batch_size=10, epochs=5, verbose=0,
                  callbacks=[StopAfterTwo()])
    assert seen == [0, 1] and len(h.history["loss"]) == 1


def test_callbacks_must_be_callback_instances():
    model = snn.Sequential([snn.Input((2,)), snn.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match="Callback instances"):
        model.fit(np.ones((4, 2)), np.ones(4), verbose=0, callbacks=[print])
