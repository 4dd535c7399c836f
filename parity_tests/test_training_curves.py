"""Whole training runs: scratchnn's History against Keras's, epoch by epoch, for the
tutorials' models. Keras is fed exactly scratchnn's batches (shuffle=False, or the
recorded per-epoch permutations) and, for Dropout, scratchnn's masks.

float32 curves: small dense models 1e-4 over >= 5 epochs, conv models 1e-3. float64
curves of every model, the wide ones included, 1e-9: the same arithmetic. Why the wide
float32 runs are only compared in float64: see tolerances.py and the README."""

import keras
import numpy as np
import pytest

import scratchnn as snn
from tf_reference import train_both

from .helpers import assert_curves_close
from .tolerances import CURVE_CNN_B_F32, CURVE_CONV_F32, CURVE_DENSE_F32, CURVE_F64

L = snn.layers


def circles_model_7():
    return [L.Dense(4, activation="relu"), L.Dense(4, activation="relu"),
            L.Dense(1, activation="sigmoid")]


@pytest.fixture(scope="module")
def circles():
    return snn.datasets.circles.load_data()


# -- circles (T1, T5) -----------------------------------------------------------------------
def test_circles_model_7_shuffled_20_epochs(circles):
    (x, y), (xt, yt) = circles
    ours, theirs, _, _ = train_both(
        circles_model_7(), (2,), dict(optimizer=snn.optimizers.Adam(0.02),
                                      loss="binary_crossentropy", metrics=["accuracy"]),
        x, y, epochs=20, shuffle=True, validation_data=(xt, yt))
    assert_curves_close(ours, theirs, CURVE_DENSE_F32)


def test_circles_lr_finder_with_learning_rate_scheduler(circles):
    """T1 model 6: lr = 1e-4 * 10**(epoch/20) over 100 epochs. Past lr ~ 0.05 (epoch 54)
    training is unstable in both engines and float32 runs part ways; the curves are
    compared up to epoch 50 (lr 0.03), and the learning_rate log over all 100."""
    (x, y), _ = circles
    def schedule(epoch):
        return 1e-4 * 10 ** (epoch / 20)
    ours, theirs, _, _ = train_both(
        circles_model_7(), (2,), dict(optimizer="adam", loss="binary_crossentropy",
                                      metrics=["accuracy"]), x, y, epochs=100,
        snn_callbacks=[snn.callbacks.LearningRateScheduler(schedule)],
        keras_callbacks=[keras.callbacks.LearningRateScheduler(schedule)])
    assert_curves_close(ours, theirs, CURVE_DENSE_F32, epochs=50)
    assert_curves_close(ours, theirs, 0.0, keys=["learning_rate"])


def test_circles_validation_split(circles):
    (x, y), _ = circles
    ours, theirs, _, _ = train_both(
        circles_model_7(), (2,), dict(optimizer=snn.optimizers.Adam(0.01),
                                      loss="binary_crossentropy", metrics=["accuracy"]),
        x, y, epochs=10, validation_split=0.25)
    assert "val_loss" in ours
    assert_curves_close(ours, theirs, CURVE_DENSE_F32)


def test_early_stopping_with_restore_best_weights(circles):
    (x, y), (xt, yt) = circles
    def stopper(module):
        return module.callbacks.EarlyStopping(monitor="val_loss", patience=3,
                                              restore_best_weights=True)
    ours, theirs, model, twin = train_both(
        circles_model_7(), (2,), dict(optimizer=snn.optimizers.Adam(0.05),
                                      loss="binary_crossentropy", metrics=["accuracy"]),
        x, y, epochs=60, validation_data=(xt, yt),
        snn_callbacks=[stopper(snn)], keras_callbacks=[stopper(keras)])
    assert len(ours["loss"]) == len(theirs["loss"]) < 60          # both stopped, same epoch
    assert_curves_close(ours, theirs, CURVE_DENSE_F32)
    for a, b in zip(model.get_weights(), twin.get_weights()):     # the restored best weights
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_mae_regression_side_trip():
    """T1: Dense(100)-Dense(10)-Dense(1) fitting y = x + 100 with MAE, 100 epochs. Values
    are in the hundreds, so the tolerance is relative."""
    x, y = np.arange(0, 1000, 5.0), np.arange(100, 1100, 5.0)
    ours, theirs, _, _ = train_both(
        [L.Dense(100), L.Dense(10), L.Dense(1)], (1,),
        dict(optimizer="adam", loss="mae", metrics=["mae"]), x[:150, None], y[:150],
        epochs=100, validation_data=(x[150:, None], y[150:]))
    assert_curves_close(ours, theirs, CURVE_DENSE_F32, relative=True)


# -- Fashion-MNIST MLPs (T1, T2, T3) ------------------------------------------------------------
def fashion_4_4_10():
    return [L.Flatten(), L.Dense(4, activation="relu"), L.Dense(4, activation="relu"),
            L.Dense(10, activation="softmax")]


def test_fashion_4_4_10_lr_finder_10_epochs(fashion):
    (x, y), (xt, yt) = fashion
    def schedule(epoch):
        return 1e-3 * 10 ** (epoch / 20)
    ours, theirs, _, _ = train_both(
        fashion_4_4_10(), (28, 28), dict(optimizer="adam", loss="sparse_categorical_crossentropy",
                                         metrics=["accuracy"]),
        x[:10000], y[:10000], epochs=10, validation_data=(xt[:2000], yt[:2000]),
        snn_callbacks=[snn.callbacks.LearningRateScheduler(schedule)],
        keras_callbacks=[keras.callbacks.LearningRateScheduler(schedule)])
    assert_curves_close(ours, theirs, CURVE_DENSE_F32)


def test_fashion_4_4_10_on_all_60000_images(fashion):
    """T2's refit (Adam(0.005)) on the full training set, 5 epochs, test-set validation.

    Seed 1: from seed 0's initial weights (Keras's own, now that scratchnn draws Keras's
    numbers) a 4-unit ReLU input within rounding of 0 flips in one engine in epoch 5 and
    val_accuracy ends 6 samples apart (measured); seeds 1, 2, 3 hold 1.2e-6."""
    (x, y), (xt, yt) = fashion
    snn.utils.set_random_seed(1)
    ours, theirs, _, _ = train_both(
        fashion_4_4_10(), (28, 28), dict(optimizer=snn.optimizers.Adam(0.005),
                                         loss="sparse_categorical_crossentropy",
                                         metrics=["accuracy"]),
        x, y, epochs=5, validation_data=(xt, yt))
    assert len(ours["loss"]) == 5
    assert_curves_close(ours, theirs, CURVE_DENSE_F32)


def wide_mlp(name):
    """T1's 100-50-10 or T3's 350-10 on 28x28 images."""
    hidden = {"100_50_10": [L.Dense(100, activation="relu"), L.Dense(50, activation="relu")],
              "350_10": [L.Dense(350, activation="relu")]}[name]
    return [L.Flatten(), *hidden, L.Dense(10, activation="softmax")]


@pytest.mark.parametrize("name", ["100_50_10", "350_10"])
def test_wide_fashion_mlps_float64_five_epochs(name, fashion, float64):
    (x, y), (xt, yt) = fashion
    ours, theirs, _, _ = train_both(
        wide_mlp(name), (28, 28),
        dict(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"]),
        x[:3000], snn.utils.to_categorical(y[:3000]), epochs=5, shuffle=True,
        validation_data=(xt[:1000], snn.utils.to_categorical(yt[:1000])))
    assert_curves_close(ours, theirs, CURVE_F64)


@pytest.mark.parametrize("name", ["350_10"])
def test_wide_fashion_mlps_float32_first_epoch(name, fashion):
    """float32, T3's 350-10, one epoch. T1's 100-50-10 is compared in float64 only: in
    float32 a hidden ReLU input within rounding of 0 flips sign in one engine at step
    69 of the first epoch (measured), and val_loss ends that epoch 2.9e-4 apart."""
    (x, y), (xt, yt) = fashion
    ours, theirs, _, _ = train_both(
        wide_mlp(name), (28, 28),
        dict(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]),
        x[:3000], y[:3000], epochs=1, validation_data=(xt[:1000], yt[:1000]))
    assert_curves_close(ours, theirs, CURVE_DENSE_F32,
                        counts={"accuracy": 3000, "val_accuracy": 1000})


# -- CNNs (T3, T4) ----------------------------------------------------------------------------
def cnn_a():
    return [L.Conv2D(32, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)), L.Flatten(),
            L.Dense(100, activation="relu"), L.Dense(10, activation="softmax")]


def cnn_b():
    return [L.Conv2D(32, 5, activation="relu"), L.MaxPooling2D(),
            L.Conv2D(32, 4, activation="relu", padding="same"), L.MaxPooling2D(),
            L.Conv2D(32, 3, activation="relu"), L.Flatten(), L.Dropout(0.5), L.Dense(10),
            L.Activation("softmax")]


def test_cnn_a_float32_two_epochs(fashion):
    (x, y), (xt, yt) = fashion
    ours, theirs, _, _ = train_both(
        cnn_a(), (28, 28, 1), dict(optimizer="adam", loss="sparse_categorical_crossentropy",
                                   metrics=["accuracy"]),
        x[:2000, ..., None], y[:2000], epochs=2, validation_data=(xt[:500, ..., None], yt[:500]))
    assert_curves_close(ours, theirs, CURVE_CONV_F32)


def test_cnn_b_with_dropout_float32_stays_within_measured_drift(fashion):
    """T4's model, dropout masks replayed in Keras; pixels scaled to [0, 1].

    In float32 this model does NOT hold 1e-3 over two epochs: Fashion-MNIST has flat
    regions where pooled values are equal in exact arithmetic, TensorFlow's conv kernel
    rounds them differently from position to position, and the pooling winners (so the
    gradients) differ from the first step on. Measured over three runs: loss within
    3.5e-3, val_loss within 1.1e-2, accuracies within 1.2e-2. This test holds that
    measured bound (CURVE_CNN_B_F32); `test_cnns_float64` proves the arithmetic identical."""
    (x, y), (xt, yt) = fashion
    ours, theirs, _, _ = train_both(
        cnn_b(), (28, 28, 1), dict(optimizer="adam", loss="categorical_crossentropy",
                                   metrics=["accuracy"]),
        x[:1000, ..., None], snn.utils.to_categorical(y[:1000], 10), epochs=2,
        validation_data=(xt[:500, ..., None], snn.utils.to_categorical(yt[:500], 10)))
    assert_curves_close(ours, theirs, CURVE_CNN_B_F32)


@pytest.mark.parametrize("model", ["cnn_a", "cnn_b_raw_pixels"])
def test_cnns_float64(model, fashion, float64):
    """float64, including T4's raw 0-255 pixels (float32 runs on those are chaotic)."""
    (x, y), (xt, yt) = fashion
    scale = 255.0 if model == "cnn_b_raw_pixels" else 1.0
    layers = cnn_a() if model == "cnn_a" else cnn_b()
    ours, theirs, _, _ = train_both(
        layers, (28, 28, 1), dict(optimizer="adam", loss="categorical_crossentropy",
                                  metrics=["accuracy"]),
        x[:500, ..., None] * scale, snn.utils.to_categorical(y[:500], 10), epochs=2,
        shuffle=True,
        validation_data=(xt[:200, ..., None] * scale, snn.utils.to_categorical(yt[:200], 10)))
    assert_curves_close(ours, theirs, CURVE_F64)
