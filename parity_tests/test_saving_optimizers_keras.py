"""The new optimizers and options in files, both ways with Keras: a compiled
Input((4,)) -> Dense(3, relu) -> Dense(2) trained a few steps by one engine, saved as
.keras and .weights.h5, opened by the other, and trained on.

What "the same" means here (float32):
- compile settings: Keras rebuilds the optimizer with the same class and config
  (weight_decay, clipnorm, global_clipnorm, clipvalue included), and so does scratchnn;
- weights and optimizer state (iterations, learning rate, every slot, Nadam's u_product):
  EXACTLY equal, the same float32 numbers written and read back;
- the next step from the loaded state, given the same gradients: EXACTLY equal (the
  optimizers are bit-exact, test_optimizers.py);
- the next fit step of each engine (its own forward and backward pass): weights within
  OPTIMIZER_F32 (1e-6). The gradients differ by an ulp here and there (BLAS against
  Eigen sum in other orders, measured: 5.6e-9 on a bias), not the optimizers.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import scratchnn as snn
from tf_reference import to_keras

from .tolerances import OPTIMIZER_F32

O = snn.optimizers

CASES = {
    "adagrad": lambda: O.Adagrad(0.1),
    "adagrad_weight_decay": lambda: O.Adagrad(0.1, initial_accumulator_value=0.2,
                                              weight_decay=0.05),
    "adamax": lambda: O.Adamax(0.02),
    "nadam": lambda: O.Nadam(0.01),
    "nadam_clipnorm_weight_decay": lambda: O.Nadam(0.01, clipnorm=0.5, weight_decay=0.02),
    "adamw": lambda: O.AdamW(0.01),
    "adamw_amsgrad_clipvalue": lambda: O.AdamW(0.01, weight_decay=0.1, amsgrad=True,
                                               clipvalue=0.05),
    "sgd_momentum_clipnorm": lambda: O.SGD(0.05, momentum=0.9, clipnorm=0.3),
    "adam_global_clipnorm": lambda: O.Adam(0.01, global_clipnorm=0.2),
    "rmsprop_clipvalue_weight_decay": lambda: O.RMSprop(0.01, clipvalue=0.02, weight_decay=0.1),
}


def build(make):
    model = snn.Sequential([snn.Input((4,)), snn.layers.Dense(3, activation="relu"),
                            snn.layers.Dense(2)], name="small")
    model.compile(optimizer=make(), loss="mse")
    return model


def data(n=24):
    rng = np.random.default_rng(0)
    return rng.random((n, 4)).astype("float32"), rng.normal(size=(n, 2)).astype("float32")


def fit(model_or_keras, x, y):
    model_or_keras.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)


def assert_same(ours: list, theirs: list, what: str):
    assert len(ours) == len(theirs), f"{what}: {len(ours)} arrays against {len(theirs)}"
    for i, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=f"{what} {i}")


def assert_same_model(model, k):
    """Same weights, same optimizer class and config, same optimizer state: exactly."""
    assert type(k.optimizer).__name__ == type(model.optimizer).__name__
    theirs = k.optimizer.get_config()
    for key, value in model.optimizer.get_config().items():
        assert theirs[key] == (value if value is None or isinstance(value, (bool, str))
                               else pytest.approx(value, rel=1e-7)), key
    assert_same(model.get_weights(), k.get_weights(), "weight")
    assert_same(model.optimizer.variables, [v.numpy() for v in k.optimizer.variables],
                "optimizer variable")


def assert_close_after_fit(model, k):
    assert model.optimizer.iterations == int(k.optimizer.iterations)
    for a, b in zip(model.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, **OPTIMIZER_F32)


def same_gradient_step(model, k, x, y):
    """Keras's gradients of one batch, applied by both optimizers."""
    with tf.GradientTape() as tape:
        loss = keras.losses.mean_squared_error(y, k(x, training=True))
        loss = tf.reduce_mean(loss)
    grads = tape.gradient(loss, k.trainable_variables)
    k.optimizer.apply_gradients(zip(grads, k.trainable_variables))
    model.optimizer.apply([g.numpy() for g in grads], model.trainable_weights)


@pytest.mark.parametrize("name", list(CASES))
def test_scratchnn_files_resume_in_keras_bit_for_bit(name, tmp_path):
    x, y = data()
    model = build(CASES[name])
    fit(model, x, y)                                      # 3 steps: state to carry
    model.save(tmp_path / "ours.keras")
    model.save_weights(tmp_path / "ours.weights.h5")

    k = keras.models.load_model(tmp_path / "ours.keras")
    assert_same_model(model, k)
    twin = to_keras(build(CASES[name]))                   # the Keras twin, fresh
    twin.optimizer.build(twin.trainable_variables)
    twin.load_weights(tmp_path / "ours.weights.h5")
    assert_same_model(model, twin)

    same_gradient_step(model, k, x[:8], y[:8])
    assert_same_model(model, k)
    fit(model, x, y)
    fit(k, x, y)
    assert_close_after_fit(model, k)


@pytest.mark.parametrize("name", list(CASES))
def test_keras_files_resume_in_scratchnn_bit_for_bit(name, tmp_path):
    x, y = data()
    k = to_keras(build(CASES[name]))
    fit(k, x, y)
    k.save(tmp_path / "theirs.keras")
    k.save_weights(tmp_path / "theirs.weights.h5")

    loaded = snn.models.load_model(tmp_path / "theirs.keras")
    assert_same_model(loaded, k)
    fresh = build(CASES[name])
    fresh.load_weights(tmp_path / "theirs.weights.h5")
    assert_same_model(fresh, k)

    same_gradient_step(loaded, k, x[:8], y[:8])
    assert_same_model(loaded, k)
    fit(loaded, x, y)
    fit(k, x, y)
    assert_close_after_fit(loaded, k)
