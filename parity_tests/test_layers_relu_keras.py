"""keras.layers.ReLU (max_value, negative_slope, threshold) and LeakyReLU(alpha=...)
against Keras 3.15.

ReLU is pinned BIT FOR BIT, forward and backward, in float32 and float64, at and around
every kink (0, the threshold, max_value, 6): Keras builds it from TensorFlow ops
(relu / relu6 / where, clip_by_value's minimum and maximum, leaky_relu when only the
slope is set) and scratchnn follows the same ops with the same constants
(activations.relu_general)."""

from __future__ import annotations

import json
import warnings
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

import scratchnn as snn
from tf_reference import from_keras, to_keras, train_both

from .tolerances import CURVE_DENSE_F32

L = snn.layers

OPTIONS = [dict(), dict(max_value=6), dict(max_value=6.0), dict(max_value=5),
           dict(max_value=0.1), dict(max_value=0.0), dict(negative_slope=0.1),
           dict(negative_slope=0.3, max_value=6), dict(threshold=0.1), dict(threshold=0.5,
                                                                             max_value=5),
           dict(threshold=0.1, negative_slope=0.2), dict(threshold=0.5, max_value=6),
           dict(threshold=0.3, negative_slope=0.7, max_value=6),
           dict(threshold=5.0, max_value=5.0), dict(negative_slope=0.1, max_value=0.1)]


def _inputs(dtype):
    kinks = [-10, -5, -1, -0.5, -0.1, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5, 6, 6.0001, 7]
    x = np.array(kinks, dtype)
    # the neighbours of the kinks, the float32 roundings of 0.1, 0.3 and 0.5 (which differ
    # from the float64 numbers: the thresholds' casts matter), and numbers very near 0
    # (not subnormal ones, nor ones a slope makes subnormal: TensorFlow's CPU kernels
    # flush those to zero, NumPy does not, and scratchnn does not try to)
    tiny = 1e-30
    near = np.concatenate([np.nextafter(x, np.inf), np.nextafter(x, -np.inf),
                           np.float32([0.1, 0.3, 0.5]).astype(dtype),
                           np.array([0.0, -0.0, tiny, -tiny], dtype)])
    rng = np.random.default_rng(0)
    return np.concatenate([x, near, (rng.normal(size=200) * 4).astype(dtype)])


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(
    f"{k}={v}" for k, v in o.items()) or "default")
def test_relu_forward_and_backward_are_kerass_bit_for_bit(options, precision):
    x = _inputs(precision)
    dy = np.random.default_rng(1).normal(size=x.shape).astype(precision)
    theirs = keras.layers.ReLU(**options)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        yt = theirs(xt)
    dxt = tape.gradient(yt, xt, output_gradients=tf.constant(dy))
    ours = L.ReLU(**options)
    y = ours(x)
    dx = ours.backward(dy)
    assert y.dtype == dx.dtype == np.dtype(precision)
    np.testing.assert_array_equal(y, yt.numpy())
    np.testing.assert_array_equal(dx, dxt.numpy())


def test_relu_activation_function_with_options_is_kerass(precision):
    x = _inputs(precision)
    for options in OPTIONS:
        np.testing.assert_array_equal(snn.activations.relu_general(x, **options),
                                      keras.activations.relu(x, **options).numpy(),
                                      err_msg=str(options))


def test_relu_refuses_what_keras_refuses():
    for kwargs in (dict(max_value=-1), dict(negative_slope=-0.1), dict(threshold=-1),
                   dict(negative_slope=None), dict(threshold=None)):
        with pytest.raises(ValueError):
            keras.layers.ReLU(**kwargs)
        key = next(iter(kwargs))
        with pytest.raises(ValueError, match=rf"ReLU 're': {key} of a ReLU layer cannot be"):
            L.ReLU(**kwargs, name="re")


def test_leaky_relu_alpha_keras_3_still_takes_it():
    """Keras 3.15: alpha= sets negative_slope (and beats it when both are given), with
    a UserWarning; the config says only negative_slope."""
    for make in (keras.layers.LeakyReLU, L.LeakyReLU):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            layer = make(alpha=0.1, name="lr")
            both = make(negative_slope=0.2, alpha=0.05)
        assert [str(w.message) for w in caught] == \
            ["Argument `alpha` is deprecated. Use `negative_slope` instead."] * 2
        assert all(w.category is UserWarning for w in caught)
        assert layer.negative_slope == 0.1 and both.negative_slope == 0.05
        assert "alpha" not in layer.get_config()
        assert layer.get_config()["negative_slope"] == 0.1
    x = _inputs("float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(L.LeakyReLU(alpha=0.1)(x),
                                      keras.layers.LeakyReLU(alpha=0.1)(x).numpy())


def _relu_model():
    return [L.Dense(8), L.ReLU(max_value=1.5, threshold=0.05, negative_slope=0.1),
            L.Dense(6), L.ReLU(6.0), L.Dense(3, activation="softmax")]


def test_relu_layers_train_like_keras():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 5)).astype("float32")
    y = rng.integers(0, 3, size=120)
    ours, theirs, _, _ = train_both(_relu_model(), (5,),
                                    dict(optimizer="adam", loss="sparse_categorical_crossentropy",
                                         metrics=["accuracy"]), x, y, epochs=5)
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(ours[key], theirs[key], atol=CURVE_DENSE_F32)


def test_relu_files_and_twins_both_ways(tmp_path):
    """The .keras config entry of a ReLU is Keras's, key for key (no build_config); each
    engine loads the other's file; tf_reference's twins carry the options."""
    model = snn.Sequential([snn.Input((5,)), *_relu_model()])
    twin = to_keras(model, compile=False)
    model.save(tmp_path / "ours.keras")
    twin.save(tmp_path / "theirs.keras")

    def relu_entries(path):
        # Keras marks an object it writes more than once (the dtype policy) with a
        # "shared_object_id", a memory address: left out of the comparison
        text = zipfile.ZipFile(path).read("config.json")
        layers = json.loads(text, object_hook=lambda d: {
            k: v for k, v in d.items() if k != "shared_object_id"})["config"]["layers"]
        return [e for e in layers if e["class_name"] == "ReLU"]

    assert relu_entries(tmp_path / "ours.keras") == relu_entries(tmp_path / "theirs.keras")
    x = np.random.default_rng(4).normal(size=(10, 5)).astype("float32")
    expected = model(x)
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "ours.keras")(x).numpy(),
                               expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(snn.models.load_model(tmp_path / "theirs.keras")(x), expected,
                               rtol=1e-6, atol=1e-7)
    back = from_keras(twin)
    assert [(layer.max_value, layer.negative_slope, layer.threshold)
            for layer in back.layers if isinstance(layer, L.ReLU)] == [(1.5, 0.1, 0.05),
                                                                        (6.0, 0.0, 0.0)]
