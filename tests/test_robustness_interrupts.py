"""Ctrl-C inside fit: the model stays at the last COMPLETED step (never half an optimizer
update), model.history holds the completed epochs, and the KeyboardInterrupt goes on
to the caller, as in Keras."""

import contextlib
import signal
import threading

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import callbacks as C, interrupts

STEPS = 5                                       # 40 samples, batch 8


@pytest.fixture(autouse=True)
def _python_ctrl_c_handler():
    """Python's own Ctrl-C handler, as in a terminal. A process started as a background
    job (`cmd &` in a script, nohup) inherits SIGINT *ignored*, and Python then leaves it
    ignored: without this, these tests would depend on how the suite was launched."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3)).astype("float32")
    return x, (x[:, 0] + x[:, 2] > 0).astype("float32")


def _model(optimizer=None):
    snn.utils.set_random_seed(5)
    model = snn.Sequential([snn.Input((3,)), snn.layers.Dense(4, activation="tanh"),
                            snn.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizer or snn.optimizers.Adam(0.01), loss="binary_crossentropy")
    return model


def _weights_after_each_step(epochs, optimizer=None):
    """Reference run: the weights after every step of an uninterrupted fit."""
    model, snapshots = _model(optimizer), []
    model.fit(*_data(), batch_size=8, epochs=epochs, shuffle=False, verbose=0, callbacks=[
        C.LambdaCallback(on_train_batch_end=lambda b, logs: snapshots.append(model.get_weights()))])
    return snapshots, model.history


def _assert_weights(model, expected):
    for a, b in zip(model.get_weights(), expected):
        np.testing.assert_array_equal(a, b)


class _CtrlCAt(C.Callback):
    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


def test_keyboard_interrupt_keeps_the_last_completed_step_and_epochs():
    snapshots, reference = _weights_after_each_step(epochs=3)
    model = _model()
    with pytest.raises(KeyboardInterrupt):
        model.fit(*_data(), batch_size=8, epochs=3, shuffle=False, verbose=0,
                  callbacks=[_CtrlCAt(epoch=2, batch=3)])
    _assert_weights(model, snapshots[2 * STEPS + 2])       # batches 0..2 of epoch 2 done
    assert model.optimizer.iterations == 2 * STEPS + 3
    assert model.history.epoch == [0, 1]
    assert model.history.history["loss"] == reference.history["loss"][:2]


def test_interrupted_in_the_first_epoch_model_history_is_this_fit_s_empty_one():
    # Keras makes the new History model.history when fit starts, not at an epoch end.
    model = _model()
    previous = model.fit(*_data(), epochs=1, verbose=0)
    with pytest.raises(KeyboardInterrupt):
        model.fit(*_data(), batch_size=8, epochs=3, verbose=0, callbacks=[_CtrlCAt(0, 2)])
    assert model.history is not previous and model.history.history == {}


class _TwoHalvesSGD(snn.optimizers.SGD):
    """Plain SGD applied in two half steps, with a real SIGINT delivered between them at
    step `interrupt_at`: the moment Ctrl-C could cut an in-place update in two."""

    interrupt_at = -1

    def update_step(self, g, w, step, scratch, *slots):
        half = g * (step["lr"] / 2)
        w -= half
        if self.iterations == self.interrupt_at:
            signal.raise_signal(signal.SIGINT)         # Python handles it right here...
        w -= half


def test_a_real_sigint_during_the_update_waits_for_the_whole_step():
    snapshots, _ = _weights_after_each_step(epochs=2, optimizer=_TwoHalvesSGD(0.5))
    model = _model(_TwoHalvesSGD(0.5))
    model.optimizer.interrupt_at = 6                       # Ctrl-C halfway through step 7
    with pytest.raises(KeyboardInterrupt):
        model.fit(*_data(), batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert model.optimizer.iterations == 7                 # step 7 completed, then raised
    _assert_weights(model, snapshots[6])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # handler restored


def test_without_the_guard_the_same_sigint_leaves_half_a_step(monkeypatch):
    # The control experiment: what the guard prevents really happens without it.
    monkeypatch.setattr(interrupts, "uninterruptible", contextlib.nullcontext())
    model = _model(_TwoHalvesSGD(0.5))
    model.optimizer.interrupt_at = 0
    before = model.get_weights()
    with pytest.raises(KeyboardInterrupt):
        model.fit(*_data(), batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert model.optimizer.iterations == 0                 # the step never counted ...
    assert not np.array_equal(model.get_weights()[0], before[0])   # ... but half of it stuck


def test_train_on_batch_is_guarded_too():
    model = _model(_TwoHalvesSGD(0.5))
    model.optimizer.interrupt_at = 0
    x, y = _data()
    twin = _model(_TwoHalvesSGD(0.5))
    twin.train_on_batch(x[:8], y[:8])
    with pytest.raises(KeyboardInterrupt):
        model.train_on_batch(x[:8], y[:8])
    _assert_weights(model, twin.get_weights())


def test_ctrl_c_outside_the_update_is_raised_at_once():
    model = _model()
    reached = []

    def ctrl_c_then_continue(batch, logs):
        signal.raise_signal(signal.SIGINT)
        reached.append(batch)                          # never reached: raised right away

    with pytest.raises(KeyboardInterrupt):
        model.fit(*_data(), batch_size=8, epochs=1, verbose=0,
                  callbacks=[C.LambdaCallback(on_train_batch_end=ctrl_c_then_continue)])
    assert reached == [] and model.optimizer.iterations == 1


def test_fit_in_another_thread_installs_nothing_and_trains():
    model, errors = _model(), []

    def train():
        try:
            model.fit(*_data(), epochs=2, verbose=0)
        except Exception as err:                       # noqa: BLE001 (reported below)
            errors.append(err)

    thread = threading.Thread(target=train)
    thread.start()
    thread.join()
    assert errors == [] and len(model.history.epoch) == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
