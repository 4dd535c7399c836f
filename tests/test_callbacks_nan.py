"""TerminateOnNaN, as Keras 3.15's, and a NaN or inf loss made visible: in the progress
line (verbose 1 and 2) and in History."""

import re

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import callbacks as C

# NumPy warns about the overflows these tests provoke on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _regression(bad_row=13, value=np.nan):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    x_bad = x.copy()
    x_bad[bad_row] = value
    model = snn.Sequential([snn.Input((3,)), snn.layers.Dense(1)])
    model.compile(optimizer=snn.optimizers.SGD(0.1), loss="mse")
    return model, x, x_bad, y


FIT = dict(batch_size=8, epochs=3, shuffle=False)


def test_terminate_on_nan_stops_at_the_first_nan_batch_and_the_epoch_still_ends(capsys):
    # Row 13 is in batch 1 (rows 8..15). Keras 3.15 prints the message, stops, then ends
    # the epoch normally: validation runs and History holds the NaN epoch.
    model, x, x_bad, y = _regression()
    seen = []
    h = model.fit(x_bad, y, **FIT, verbose=0, validation_data=(x, y), callbacks=[
        C.TerminateOnNaN(), C.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))])
    assert capsys.readouterr().out == "Batch 1: Invalid loss, terminating training\n"
    assert seen == [0, 1] and h.epoch == [0]
    assert np.isnan(h.history["loss"][0]) and np.isnan(h.history["val_loss"][0])


def test_terminate_on_nan_also_stops_on_an_infinite_loss(capsys):
    model, _, x_inf, y = _regression(bad_row=0, value=1e30)     # (1e30 w)^2 overflows
    h = model.fit(x_inf, y, **FIT, verbose=0, callbacks=[C.TerminateOnNaN()])
    assert capsys.readouterr().out == "Batch 0: Invalid loss, terminating training\n"
    assert h.history["loss"] == [np.inf]


def test_terminate_on_nan_with_raise_error_raises_before_any_train_end():
    model, _, x_bad, y = _regression()
    ended = []
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 1"):
        model.fit(x_bad, y, **FIT, verbose=0, callbacks=[
            C.TerminateOnNaN(raise_error=True),
            C.LambdaCallback(on_train_end=lambda logs: ended.append(True))])
    assert ended == []


def test_without_terminate_on_nan_history_records_nan_every_epoch():
    model, _, x_bad, y = _regression()
    h = model.fit(x_bad, y, **FIT, verbose=0)
    assert len(h.history["loss"]) == 3 and np.isnan(h.history["loss"]).all()


@pytest.mark.parametrize("verbose, line", [
    (1, r"5/5 ━{20} \S+ \S+/step - loss: nan - val_loss: nan\n"),
    (2, r"5/5 - \S+ - \S+/step - loss: nan - val_loss: nan\n"),
])
def test_a_nan_loss_shows_in_the_progress_line(capsys, verbose, line):
    model, x, x_bad, y = _regression()
    model.fit(x_bad, y, **FIT, verbose=verbose, validation_data=(x, y),
              callbacks=[C.TerminateOnNaN()])
    out = capsys.readouterr().out
    assert out.startswith("Epoch 1/3\n")
    assert "Batch 1: Invalid loss, terminating training\n" in out
    assert re.search(line, out), out


def test_an_infinite_loss_shows_in_the_progress_line(capsys):
    model, _, x_inf, y = _regression(bad_row=0, value=1e30)
    model.fit(x_inf, y, batch_size=8, epochs=1, verbose=2, shuffle=False,
              callbacks=[C.TerminateOnNaN()])
    assert capsys.readouterr().out.endswith("/step - loss: inf\n")
