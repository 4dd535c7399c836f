"""A real fit gives Keras's History bit for bit when the batches' numbers agree bit for bit.

Keras keeps every metric's `total` and `count` (fit's loss too) in float32 and logs
`float(total / count)` computed in float32. When both engines see the same per-batch
losses, predictions and weights, their History dicts must then be EQUAL (==), and so
must CSVLogger's files, byte for byte.

The run is designed so that every number in it is exact in float32, whatever order the
engines add in: inputs one-hot over two groups, alternating (every batch holds as many
of each), targets 0 or 1, `Dense(1, use_bias=False)` from weights 0.5, mean squared
error, SGD. For group k the gradient is (2 N_k / N)(w_k - m_k) = w_k - m_k, with m_k the
group's mean target in the batch, so a learning rate of 1 sets w_k = m_k (a multiple of
1/16) and 0.5 goes half way (one more bit a step). 72 samples make batches of 32, 32, 8;
validation 40, batches 32, 8. The same run in exact rational arithmetic (Fraction)
proves that no value of it was rounded, and gives the History Keras's float32 rule must
produce, which differs from what float64 totals give.
"""

from fractions import Fraction

import keras
import numpy as np
import pytest

import scratchnn as snn
from tf_reference import train_both

f32 = np.float32
EPOCHS = 4
BATCH = 32


def _schedule(epoch, lr=None):
    return 1.0 if epoch % 2 == 0 else 0.5


def _data(n, seed):
    """x one-hot of group n % 2; y = 1 with probability 0.75 in group 0, 0.25 in group 1."""
    rng = np.random.default_rng(seed)
    group = np.arange(n) % 2
    x = np.eye(2, dtype="float32")[group]
    y = (rng.uniform(size=n) < np.where(group == 0, 0.75, 0.25)).astype("float32")[:, None]
    return x, y


TRAIN, VALIDATION = _data(72, 0), _data(40, 1)


def _fit_both(folder):
    """Both engines' History, final weights and CSVLogger bytes for the same fit."""
    paths = {module: folder / f"{module.__name__}.csv" for module in (snn, keras)}

    def callbacks(module):
        return [module.callbacks.LearningRateScheduler(_schedule),
                module.callbacks.CSVLogger(str(paths[module]))]

    ours, theirs, model, twin = train_both(
        [snn.layers.Dense(1, use_bias=False, kernel_initializer=snn.initializers.Constant(0.5))],
        (2,), dict(optimizer=snn.optimizers.SGD(1.0), loss="mse", metrics=["mae", "accuracy"]),
        *TRAIN, epochs=EPOCHS, batch_size=BATCH, validation_data=VALIDATION,
        snn_callbacks=callbacks(snn), keras_callbacks=callbacks(keras))
    files = {module: path.read_bytes() for module, path in paths.items()}
    return ours, theirs, model.get_weights(), twin.get_weights(), files


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return _fit_both(tmp_path_factory.mktemp("history_bits"))


# -- the same run in exact arithmetic -------------------------------------------------------
def _batch_numbers(w, x, y):
    """(loss, sum |e|, correct predictions, n) of one batch, exactly, at weights w."""
    p = [w[0] if row[0] else w[1] for row in x]
    e = [pi - Fraction(float(yi[0])) for pi, yi in zip(p, y)]
    correct = sum((pi > Fraction(1, 2)) == bool(yi[0]) for pi, yi in zip(p, y))
    return sum(ei * ei for ei in e) / len(e), sum(abs(ei) for ei in e), correct, len(e)


def _exact_run():
    """Per epoch: the training batches' numbers (before each update) and the validation
    batches' (after the epoch), in Fractions; and the final weights."""
    w = [Fraction(1, 2), Fraction(1, 2)]
    x, y = TRAIN
    epochs = []
    for epoch in range(EPOCHS):
        lr = Fraction(_schedule(epoch))
        train = []
        for start in range(0, len(x), BATCH):
            xb, yb = x[start:start + BATCH], y[start:start + BATCH]
            train.append(_batch_numbers(w, xb, yb))
            for k in (0, 1):                             # dL/dw_k = (2/n) sum_{group k} e
                e = [w[k] - Fraction(float(yi[0])) for xi, yi in zip(xb, yb) if xi[k]]
                w[k] -= lr * 2 * sum(e) / len(xb)
        xv, yv = VALIDATION
        validation = [_batch_numbers(w, xv[s:s + BATCH], yv[s:s + BATCH])
                      for s in range(0, len(xv), BATCH)]
        epochs.append((train, validation))
    return epochs, w


def _keras_means(batches) -> dict[str, float]:
    """Keras's float32 metric arithmetic over exact batch numbers: loss tracker
    total <- fl(total + fl(loss * n)); mae and accuracy totals <- fl(total + batch sum)."""
    loss = mae = accuracy = count = f32(0)
    for batch_loss, abs_sum, correct, n in batches:
        loss = loss + f32(batch_loss) * f32(n)
        mae, accuracy, count = mae + f32(abs_sum), accuracy + f32(correct), count + f32(n)
    return {"loss": float(loss / count), "mae": float(mae / count),
            "accuracy": float(accuracy / count)}


def _float64_means(batches) -> dict[str, float]:
    """What float64 totals would log (the exact means, rounded once to float64)."""
    count = sum(n for *_, n in batches)
    return {"loss": float(sum(b[0] * b[3] for b in batches) / count),
            "mae": float(sum(b[1] for b in batches) / count),
            "accuracy": float(Fraction(sum(b[2] for b in batches), count))}


def _history(means) -> dict[str, list[float]]:
    epochs, _ = _exact_run()
    history: dict[str, list[float]] = {}
    for epoch, (train, validation) in enumerate(epochs):
        logs = means(train)
        logs.update({f"val_{key}": value for key, value in means(validation).items()})
        logs["learning_rate"] = _schedule(epoch)
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
    return history


def test_every_number_of_the_run_is_exact_in_float32(run):
    """No rounding anywhere: each batch's loss, |e| sum and the weights are float32
    numbers as computed in exact rational arithmetic, and both engines end there."""
    epochs, w = _exact_run()
    for train, validation in epochs:
        for batch_loss, abs_sum, _, n in train + validation:
            assert Fraction(float(f32(batch_loss))) == batch_loss
            assert Fraction(float(f32(batch_loss * n))) == batch_loss * n
            assert Fraction(float(f32(abs_sum))) == abs_sum
    _, _, ours_w, theirs_w, _ = run
    exact = np.array([[float(w[0])], [float(w[1])]], f32)
    assert np.array_equal(ours_w[0], exact) and np.array_equal(theirs_w[0], exact)
    assert [Fraction(float(v)) for v in exact.ravel()] == w


def test_history_dicts_are_equal(run):
    ours, theirs, *_ = run
    assert ours == theirs
    assert ours == _history(_keras_means)


def test_in_float64_history_holds_float64_means(float64, tmp_path):
    """floatx float64: the metrics' totals are float64 in both engines, and History
    holds the exact means rounded once to float64."""
    ours, theirs, _, _, files = _fit_both(tmp_path)
    assert ours == theirs == _history(_float64_means)
    assert files[snn] == files[keras]


def test_float64_totals_would_not_give_keras_history(run):
    """The test can fail: the same exact batches averaged in float64 log other numbers
    (e.g. epoch 1's loss: 0.2087673544883728 in float32, 0.2087673611111111 in float64)."""
    ours, *_ = run
    float64_history = _history(_float64_means)
    assert ours["loss"][0] == 0.2087673544883728
    assert float64_history["loss"][0] == 0.2087673611111111
    differing = [key for key in ours if ours[key] != float64_history[key]]
    assert sorted(differing) == ["accuracy", "loss", "mae", "val_accuracy", "val_loss",
                                 "val_mae"]


def test_csv_logger_files_are_byte_identical(run):
    *_, files = run
    assert files[snn] == files[keras]
    lines = files[snn].decode().split("\r\n")
    assert lines[0] == ("epoch,accuracy,learning_rate,loss,mae,val_accuracy,val_loss,val_mae")
    assert lines[1].startswith("0,0.6527777910232544,1.0,0.2087673544883728,")
    assert len(lines) == EPOCHS + 2 and lines[-1] == ""


def test_csv_logger_without_validation_is_byte_identical(tmp_path):
    """No validation data: Keras adds a val_<key> column of NA for each key."""
    paths = {module: tmp_path / f"{module.__name__}.csv" for module in (snn, keras)}
    ours, theirs, _, _ = train_both(
        [snn.layers.Dense(1, use_bias=False, kernel_initializer=snn.initializers.Constant(0.5))],
        (2,), dict(optimizer=snn.optimizers.SGD(1.0), loss="mse", metrics=["mae"]),
        *TRAIN, epochs=2, batch_size=BATCH,
        snn_callbacks=[snn.callbacks.CSVLogger(str(paths[snn]))],
        keras_callbacks=[keras.callbacks.CSVLogger(str(paths[keras]))])
    assert ours == theirs
    assert paths[snn].read_bytes() == paths[keras].read_bytes()
    assert paths[snn].read_bytes().startswith(b"epoch,loss,mae,val_loss,val_mae\r\n0,")
    assert paths[snn].read_bytes().endswith(b",NA,NA\r\n")
