"""Training on shards (scratchnn/parallel.py) against Keras: the batch split over threads
still gives Keras's curves.

The shard count is forced (`parallel.force_shards`), so the comparison runs on any
machine. With `train_both(seed=s)` nothing passes between the engines: each draws its own
initial weights, sample order and Dropout masks from the same seed. Keras draws one mask
per Dropout call for the WHOLE batch; a sharded scratchnn step must use the rows of that
very mask (drawing one per shard would give other units dropped from the first step on,
and the curves would part at once)."""

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import parallel
from tf_reference import train_both

from .helpers import assert_curves_close
from .tolerances import CURVE_CONV_F32, CURVE_DENSE_F32, CURVE_F64

L = snn.layers


def _mlp_with_dropout():
    return [L.Flatten(), L.Dense(64, activation="relu"), L.Dropout(0.3),
            L.Dense(32, activation="relu"), L.Dropout(0.2), L.Dense(10, activation="softmax")]


def _t4():
    return [L.Conv2D(32, 5, activation="relu"), L.MaxPooling2D(),
            L.Conv2D(32, 4, activation="relu", padding="same"), L.MaxPooling2D(),
            L.Conv2D(32, 3, activation="relu"), L.Flatten(), L.Dropout(0.5), L.Dense(10),
            L.Activation("softmax")]


def _conv32():
    return [L.Conv2D(32, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)), L.Flatten(),
            L.Dense(100, activation="relu"), L.Dense(10, activation="softmax")]


@pytest.fixture(autouse=True)
def _count_choices():
    parallel.choices.clear()
    yield


def test_same_seed_mlp_with_dropout_on_three_shards_matches_keras_float32(fashion):
    """Same seed, no transfer: Keras's masks (drawn for the whole batch) are the ones the
    three shards cut into rows; 6 epochs within the dense float32 curve tolerance."""
    (x, y), (xt, yt) = fashion
    with parallel.force_shards(3):
        ours, theirs, _, _ = train_both(
            _mlp_with_dropout, (28, 28), dict(optimizer=snn.optimizers.Adam(0.002),
                                              loss="sparse_categorical_crossentropy",
                                              metrics=["accuracy"]),
            x[:1200], y[:1200], epochs=6, shuffle=True, seed=7,
            validation_data=(xt[:300], yt[:300]))
    assert parallel.choices["train", 3] == 6 * -(-1200 // 32)
    assert_curves_close(ours, theirs, CURVE_DENSE_F32, counts={"accuracy": 1200,
                                                               "val_accuracy": 300})


def test_same_seed_t4_with_dropout_on_two_shards_matches_keras_float64(fashion, float64):
    """T4's CNN (raw 0-255 pixels, Dropout 0.5) in float64: the same arithmetic as Keras
    but for the order of the shards' sums, so the curves agree to CURVE_F64."""
    (x, y), (xt, yt) = fashion
    with parallel.force_shards(2):
        ours, theirs, _, _ = train_both(
            _t4, (28, 28, 1), dict(optimizer="adam", loss="categorical_crossentropy",
                                   metrics=["accuracy"]),
            x[:256, ..., None] * 255.0, snn.utils.to_categorical(y[:256], 10), epochs=2,
            shuffle=True, seed=11,
            validation_data=(xt[:128, ..., None] * 255.0, snn.utils.to_categorical(yt[:128], 10)))
    assert parallel.choices["train", 2] == 2 * 256 // 32
    assert_curves_close(ours, theirs, CURVE_F64)


def test_conv32_on_two_shards_matches_keras_float32(fashion):
    """The conv32 CNN of the benchmark, trained on two shards: Keras's float32 curve."""
    (x, y), (xt, yt) = fashion
    with parallel.force_shards(2):
        ours, theirs, _, _ = train_both(
            _conv32(), (28, 28, 1), dict(optimizer="adam",
                                         loss="sparse_categorical_crossentropy",
                                         metrics=["accuracy"]),
            x[:1000, ..., None], y[:1000], epochs=2,
            validation_data=(xt[:300, ..., None], yt[:300]))
    assert parallel.choices["train", 2] == 2 * -(-1000 // 32)
    assert_curves_close(ours, theirs, CURVE_CONV_F32)
    assert np.isfinite(ours["loss"]).all()
