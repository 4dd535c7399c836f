"""Files both ways with Keras: scratchnn writes, Keras reads and trains on; Keras writes,
scratchnn reads and trains on. For every seed model and a few other architectures.

What "the same" means here:
- predictions after loading: float32, rtol 1e-6 (atol 1e-7 for values near 0);
- weights and optimizer state (iterations, learning rate, every slot): EXACTLY equal,
  they are the same float32 numbers written and read back;
- one more training step in each engine from the loaded state: weights within
  OPTIMIZER_F32 (1e-6) of each other. A step from a fresh optimizer instead (state not
  restored) lands about 3e-3 away on T4's CNN: these checks see a lost state.
Dropout layers are set to rate 0 for the training steps (masks are another test's subject).
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

import scratchnn as snn
from tf_reference import to_keras

from .tolerances import OPTIMIZER_F32

L = snn.layers
PREDICT = dict(rtol=1e-6, atol=1e-7)


# -- the models -------------------------------------------------------------------------------
def seed_models():
    """name -> (input shape, layers, compile kwargs, label kind)."""
    adam = dict(optimizer="adam", metrics=["accuracy"])
    return {
        "circles_4_4_1": ((2,), [L.Dense(4, activation="relu"), L.Dense(4, activation="relu"),
                                 L.Dense(1, activation="sigmoid")],
                          dict(optimizer=snn.optimizers.Adam(0.02), loss="binary_crossentropy",
                               metrics=["accuracy"]), "binary"),
        "fashion_4_4_10": ((28, 28), [L.Flatten(), L.Dense(4, activation="relu"),
                                      L.Dense(4, activation="relu"),
                                      L.Dense(10, activation="softmax")],
                           dict(adam, loss="sparse_categorical_crossentropy"), "sparse"),
        "fashion_350_10": ((28, 28), [L.Flatten(), L.Dense(350, activation="relu"),
                                      L.Dense(10, activation="softmax")],
                           dict(adam, loss="categorical_crossentropy"), "onehot"),
        "fashion_100_50_10": ((28, 28), [L.Flatten(), L.Dense(100, activation="relu"),
                                         L.Dense(50, activation="relu"),
                                         L.Dense(10, activation="softmax")],
                              dict(adam, loss="categorical_crossentropy"), "onehot"),
        "cnn_a": ((28, 28, 1), [L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(),
                                L.Flatten(), L.Dense(100, activation="relu"),
                                L.Dense(10, activation="softmax")],
                  dict(adam, loss="sparse_categorical_crossentropy"), "sparse"),
        "cnn_b_t4": ((28, 28, 1), [L.Conv2D(32, 5, activation="relu"), L.MaxPooling2D(),
                                   L.Conv2D(32, 4, activation="relu", padding="same"),
                                   L.MaxPooling2D(), L.Conv2D(32, 3, activation="relu"),
                                   L.Flatten(), L.Dropout(0.5), L.Dense(10),
                                   L.Activation("softmax")],
                     dict(adam, loss="categorical_crossentropy"), "onehot"),
        # other architectures and optimizers
        "strided_same_tanh_sgd_nesterov": (
            (9, 9, 2), [L.Conv2D(4, 3, strides=2, padding="same", activation="tanh"),
                        L.MaxPooling2D(3, strides=2, padding="same"), L.Flatten(),
                        L.Dense(6, activation="tanh", use_bias=False),
                        L.Dense(3, activation="softmax")],
            dict(optimizer=snn.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                 loss=snn.losses.CategoricalCrossentropy(label_smoothing=0.1),
                 metrics=[snn.metrics.CategoricalAccuracy(name="acc")]), "onehot3"),
        "dilated_rmsprop_centered_mse": (
            (10, 10, 1), [L.Conv2D(3, (3, 2), dilation_rate=2, activation="relu"), L.Flatten(),
                          L.Dense(2)],
            dict(optimizer=snn.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
                 loss="mse", metrics=["mae"]), "regression"),
        "amsgrad_bce_logits": (
            (5,), [L.Dense(3, activation="relu"), L.Dense(1)],
            dict(optimizer=snn.optimizers.Adam(0.01, amsgrad=True),
                 loss=snn.losses.BinaryCrossentropy(from_logits=True),
                 metrics=[snn.metrics.BinaryAccuracy(threshold=0.0)]), "binary"),
    }


def data(shape, labels, n=16):
    rng = np.random.default_rng(0)
    x = rng.random((n, *shape)).astype("float32")
    y = {"binary": (rng.random(n) > 0.5).astype("float32"), "sparse": np.arange(n) % 10,
         "onehot": snn.utils.to_categorical(np.arange(n) % 10, 10),
         "onehot3": snn.utils.to_categorical(np.arange(n) % 3, 3),
         "regression": rng.normal(size=(n, 2)).astype("float32")}[labels]
    return x, y


def build(name):
    shape, layer_list, compile_kwargs, labels = seed_models()[name]
    model = snn.Sequential([snn.Input(shape), *layer_list], name=name)
    model.compile(**compile_kwargs)
    return model, data(shape, labels)


def no_dropout(model):
    for layer in model.layers:
        if type(layer).__name__ == "Dropout":
            layer.rate = 0.0
    return model


# -- comparisons ------------------------------------------------------------------------------
def keras_optimizer_state(k):
    return [np.asarray(v) for v in k.optimizer.variables]


def assert_exactly_equal(ours: list, theirs: list, what: str):
    assert len(ours) == len(theirs), f"{what}: {len(ours)} arrays against {len(theirs)}"
    for i, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=f"{what} {i}")


def assert_same_compile(model, k):
    """Keras compiled the loaded model as scratchnn's was compiled."""
    ours = model.optimizer.get_config()
    theirs = k.optimizer.get_config()
    assert type(k.optimizer).__name__ == {"SGD": "SGD", "Adam": "Adam",
                                          "RMSprop": "RMSprop"}[type(model.optimizer).__name__]
    for key, value in ours.items():
        if key != "name":      # None: an option that is off (weight_decay, clipnorm, ...)
            assert theirs[key] == (None if value is None else pytest.approx(value, rel=1e-7)), key
    loss = k.loss if isinstance(k.loss, str) else k.loss.get_config()
    if isinstance(loss, str):
        assert loss == model.loss.name
    else:
        for key, value in model.loss.get_config().items():
            assert loss[key] == value, key
    metrics = k.get_compile_config()["metrics"] or []
    assert len(metrics) == len(model.compiled_metric_ids)


def step(model_or_keras, x, y):
    model_or_keras.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)


# -- both directions, every model -------------------------------------------------------------
@pytest.mark.parametrize("name", list(seed_models()))
def test_files_round_trip_with_keras_both_ways(name, tmp_path):
    model, (x, y) = build(name)
    no_dropout(model)
    step(model, x, y)                                    # optimizer state exists: 1 step

    # scratchnn writes .keras -> Keras loads: predictions, compile settings, state.
    model.save(tmp_path / "ours.keras")
    k = no_dropout(keras.models.load_model(tmp_path / "ours.keras"))
    np.testing.assert_allclose(k(x, training=False), model.predict(x, verbose=0), **PREDICT)
    assert_same_compile(model, k)
    assert_exactly_equal(model.get_weights(), k.get_weights(), "weight")
    assert_exactly_equal(model.optimizer.variables, keras_optimizer_state(k), "optimizer var")

    # scratchnn writes .weights.h5 -> Keras's load_weights (into a Keras twin).
    model.save_weights(tmp_path / "ours.weights.h5")
    twin, _ = build(name)
    twin = to_keras(twin)
    twin.optimizer.build(twin.trainable_variables)
    twin.load_weights(tmp_path / "ours.weights.h5")
    assert_exactly_equal(model.get_weights(), twin.get_weights(), "weight")
    assert_exactly_equal(model.optimizer.variables, keras_optimizer_state(twin), "optimizer var")

    # Both continue: the same next step.
    step(k, x, y)
    step(model, x, y)
    assert int(k.optimizer.iterations) == model.optimizer.iterations == 2
    for a, b in zip(model.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, **OPTIMIZER_F32)

    # Keras writes .keras and .weights.h5 -> scratchnn loads them exactly.
    k.save(tmp_path / "theirs.keras")
    k.save_weights(tmp_path / "theirs.weights.h5")
    loaded = no_dropout(snn.models.load_model(tmp_path / "theirs.keras"))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), k(x, training=False), **PREDICT)
    assert_same_compile(loaded, k)
    assert_exactly_equal(loaded.get_weights(), k.get_weights(), "weight")
    assert_exactly_equal(loaded.optimizer.variables, keras_optimizer_state(k), "optimizer var")
    fresh, _ = build(name)
    fresh.load_weights(tmp_path / "theirs.weights.h5")
    assert_exactly_equal(fresh.get_weights(), k.get_weights(), "weight")
    assert_exactly_equal(fresh.optimizer.variables, keras_optimizer_state(k), "optimizer var")

    # ... and scratchnn continues from Keras's state as Keras does.
    step(k, x, y)
    step(loaded, x, y)
    for a, b in zip(loaded.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, **OPTIMIZER_F32)


def test_a_never_trained_model_loads_in_keras_with_fresh_optimizer_state(tmp_path):
    model, (x, _) = build("circles_4_4_1")
    model.save(tmp_path / "m.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # Keras: "Skipping variable loading for optimizer"
        k = keras.models.load_model(tmp_path / "m.keras")
    assert int(k.optimizer.iterations) == 0
    assert_exactly_equal(model.get_weights(), k.get_weights(), "weight")


def test_a_keras_model_compiled_but_never_trained_loads_here(tmp_path):
    k = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="tanh")])
    k.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse", metrics=["mae"])
    k.save(tmp_path / "m.keras")
    model = snn.models.load_model(tmp_path / "m.keras")
    assert model.optimizer.iterations == 0 and model.optimizer.momentum == pytest.approx(0.9)
    assert_exactly_equal(model.get_weights(), k.get_weights(), "weight")


# -- what scratchnn refuses, in files Keras wrote ---------------------------------------------
def _keras(*layer_list, shape=(6, 6, 2)):
    return keras.Sequential([keras.Input(shape), *layer_list])


@pytest.mark.parametrize("make, says", [
    (lambda: _keras(keras.layers.LayerNormalization(name="ln")),
     r"layer 1 'ln' \(LayerNormalization\): scratchnn has no LayerNormalization layer"),
    (lambda: _keras(keras.layers.Flatten(), keras.layers.Dense(
        2, activity_regularizer=keras.regularizers.L2(0.01), name="reg")),
     r"'reg' \(Dense\): option activity_regularizer="),
    (lambda: _keras(keras.layers.Flatten(), keras.layers.Dense(
        2, kernel_regularizer=keras.regularizers.OrthogonalRegularizer(), name="orth")),
     r"'orth' \(Dense\): kernel_regularizer=.*OrthogonalRegularizer.* is not supported"),
    (lambda: _keras(keras.layers.BatchNormalization(synchronized=True, name="sync")),
     r"'sync' \(BatchNormalization\): option synchronized=True"),
    (lambda: _keras(keras.layers.Conv2D(2, 3, data_format="channels_first", name="cf"),
                    shape=(2, 6, 6)),
     r"'cf' \(Conv2D\): option data_format='channels_first'"),
    (lambda: _keras(keras.layers.Conv2D(2, 3, groups=2, name="g")),
     r"'g' \(Conv2D\): option groups=2"),
    (lambda: _keras(keras.layers.Flatten(), keras.layers.Dense(2, activation="selu", name="act")),
     r"'act' \(Dense\): activation 'selu' is not supported"),
    (lambda: _keras(keras.Sequential([keras.layers.Dense(2)], name="inner"), shape=(3,)),
     r"layer 1 'inner' \(Sequential\) is a model \(Sequential\) used as a layer; nested "
     "models are not supported"),
])
def test_keras_files_scratchnn_cannot_run_are_refused_naming_what(make, says, tmp_path):
    make().save(tmp_path / "k.keras")
    with pytest.raises(ValueError, match=says):
        snn.models.load_model(tmp_path / "k.keras")
