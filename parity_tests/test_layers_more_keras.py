"""The layers, activations and regularizers beyond the tutorials against Keras 3.15:
BatchNormalization, AveragePooling2D, GlobalAverage/GlobalMaxPooling2D, ZeroPadding2D,
Reshape, LeakyReLU/ELU (layers and activations), gelu/softplus/silu, kernel and bias
regularizers. Forward passes (inference and training), gradients and the moving statistics
in float32 and float64; one training curve per family; same-seed initial weights; files
both ways; summary() text."""

import io
import random
from contextlib import redirect_stdout

import keras
import numpy as np
import pytest

import scratchnn as snn
from tf_reference import from_keras, keras_gradients, to_keras, train_both

from .helpers import assert_curves_close, assert_grads_close, forward_tol, weight_names
from .tolerances import CURVE_CONV_F32, CURVE_DENSE_F32, CURVE_F64

L, R = snn.layers, snn.regularizers

# Layers without weights come after a Conv2D or Dense, so their backward passes show in the
# gradients; a Dense or Conv2D feeding BatchNormalization has no bias (its gradient would
# be 0 up to rounding, which no relative tolerance can compare).
CASES = {
    "batch_norm_dense": ((6,), lambda: [L.Dense(5, use_bias=False),
                                        L.BatchNormalization(momentum=0.9)]),
    "batch_norm_image": ((5, 5, 3), lambda: [L.Conv2D(4, 3, padding="same", use_bias=False),
                                             L.BatchNormalization(epsilon=1e-2)]),
    "batch_norm_axis_1": ((4, 6), lambda: [L.BatchNormalization(axis=1, center=False)]),
    "batch_norm_no_scale": ((6,), lambda: [L.Dense(4, use_bias=False),
                                           L.BatchNormalization(scale=False)]),
    "avg_pool_valid": ((7, 7, 2), lambda: [L.Conv2D(3, 2), L.AveragePooling2D(2)]),
    "avg_pool_same_overlap": ((7, 8, 2), lambda: [
        L.Conv2D(3, 2), L.AveragePooling2D(3, strides=2, padding="same")]),
    "global_avg": ((5, 6, 3), lambda: [L.Conv2D(2, 2), L.GlobalAveragePooling2D()]),
    "global_max_keepdims": ((5, 6, 3), lambda: [L.Conv2D(2, 2),
                                                L.GlobalMaxPooling2D(keepdims=True)]),
    "zero_padding": ((4, 5, 2), lambda: [L.ZeroPadding2D(((1, 2), (0, 3))), L.Conv2D(2, 3)]),
    "reshape": ((12,), lambda: [L.Reshape((3, -1)), L.Dense(2)]),
    "leaky_relu_layer": ((6,), lambda: [L.Dense(5), L.LeakyReLU(0.1)]),
    "elu_layer": ((6,), lambda: [L.Dense(5), L.ELU(0.6)]),
    "activation_functions": ((6,), lambda: [
        L.Dense(5, activation="leaky_relu"), L.Dense(5, activation="elu"),
        L.Dense(5, activation="gelu"), L.Dense(5, activation="softplus"),
        L.Dense(4, activation="swish")]),
    "regularized": ((6,), lambda: [L.Dense(5, kernel_regularizer=R.L2(0.05),
                                           bias_regularizer=R.L1(0.01)),
                                   L.Dense(3, kernel_regularizer=R.L1L2(0.01, 0.02))]),
}


def _pair(case, precision):
    shape, make = CASES[case]
    model = snn.Sequential([snn.Input(shape), *make()])
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(3)
    for layer in model.layers:              # batch norm away from its initial 1 and 0
        for name in ("gamma", "beta"):
            if name in layer.params:
                layer.params[name][...] = rng.normal(size=layer.params[name].shape)
        if layer.state:
            layer.state["moving_mean"][...] = rng.normal(size=layer.state["moving_mean"].shape)
            layer.state["moving_variance"][...] = rng.random(
                layer.state["moving_variance"].shape) + 0.5
    x = (rng.normal(size=(8, *shape)) * 1.5).astype(precision)
    return model, to_keras(model), x


@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_matches_keras_in_inference_and_training(case, precision):
    model, twin, x = _pair(case, precision)
    for training in (False, True):
        np.testing.assert_allclose(model(x, training=training),
                                   twin(x, training=training).numpy(), **forward_tol(precision),
                                   err_msg=f"training={training}")
    # a training-mode call moved the moving statistics in both engines alike
    for ours, theirs in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(ours, theirs, **forward_tol(precision))


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradients_match_keras(case, precision):
    model, twin, x = _pair(case, precision)
    y = np.random.default_rng(4).normal(size=model.predict(x, verbose=0).shape)
    ours_loss, ours = model.compute_gradients(x, y)
    theirs_loss, theirs = keras_gradients(twin, x, y)
    assert ours_loss == pytest.approx(theirs_loss, rel=1e-5 if precision == "float32" else 1e-10)
    assert_grads_close(ours, theirs, weight_names(model), precision)


def test_regularized_loss_in_evaluate_is_kerass():
    model, twin, x = _pair("regularized", "float32")
    y = np.zeros((8, 3), "float32")
    assert model.evaluate(x, y, verbose=0) == pytest.approx(twin.evaluate(x, y, verbose=0),
                                                            rel=1e-6)


# -- one training curve per family ----------------------------------------------------------
def _fashion(fashion, n, images=True):
    (x, y), (xt, yt) = fashion
    shape = (-1, 28, 28, 1) if images else (-1, 28, 28)
    return (x[:n].reshape(shape), y[:n]), (xt[:300].reshape(shape), yt[:300])


def test_curve_batch_normalization_cnn(fashion):
    (x, y), val = _fashion(fashion, 1000)
    ours, theirs, model, twin = train_both(
        [L.Conv2D(8, 3, use_bias=False), L.BatchNormalization(), L.Activation("relu"),
         L.MaxPooling2D(), L.Flatten(), L.Dense(10, activation="softmax")], (28, 28, 1),
        dict(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]),
        x, y, epochs=2, shuffle=True, validation_data=val)
    assert_curves_close(ours, theirs, CURVE_CONV_F32, counts={"accuracy": 1000,
                                                              "val_accuracy": 300})
    bn = model.layers[1]
    np.testing.assert_allclose(bn.state["moving_variance"],
                               twin.layers[1].moving_variance.numpy(), rtol=1e-4)


def test_curve_pooling_family(fashion):
    (x, y), val = _fashion(fashion, 800)
    ours, theirs, _, _ = train_both(
        [L.Conv2D(6, 3, activation="relu", padding="same"), L.AveragePooling2D(2),
         L.Conv2D(8, 3, activation="relu"), L.GlobalMaxPooling2D(),
         L.Dense(10, activation="softmax")], (28, 28, 1),
        dict(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]),
        x, y, epochs=2, validation_data=val)
    assert_curves_close(ours, theirs, CURVE_CONV_F32, counts={"accuracy": 800,
                                                              "val_accuracy": 300})


def test_curve_reshaping_activations_and_regularizers(fashion):
    (x, y), val = _fashion(fashion, 1200, images=False)
    ours, theirs, _, _ = train_both(
        [L.Reshape((-1,)), L.Dense(32, activation="gelu", kernel_regularizer=R.L2(1e-3)),
         L.LeakyReLU(), L.Dense(16, activation="swish", bias_regularizer=R.L1(1e-3)), L.ELU(),
         L.Dense(10, activation="softmax")], (28, 28),
        dict(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]),
        x, y, epochs=5, validation_data=val)
    assert_curves_close(ours, theirs, CURVE_DENSE_F32, counts={"accuracy": 1200,
                                                               "val_accuracy": 300})


def test_curve_every_new_layer_float64(fashion, float64):
    """float64: the same computation in both engines, held to CURVE_F64."""
    (x, y), val = _fashion(fashion, 300)
    ours, theirs, _, _ = train_both(
        [L.ZeroPadding2D(1), L.Conv2D(4, 3, activation="elu", kernel_regularizer="l2"),
         L.BatchNormalization(), L.LeakyReLU(), L.AveragePooling2D(3, strides=2, padding="same"),
         L.ELU(), L.GlobalAveragePooling2D(), L.Reshape((2, 2)), L.Flatten(),
         L.Dense(10, activation="softmax", bias_regularizer=R.L1L2(1e-3, 1e-3))],
        (28, 28, 1), dict(optimizer="adam", loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"]),
        x.astype("float64"), y, epochs=2, validation_data=(val[0].astype("float64"), val[1]))
    assert_curves_close(ours, theirs, CURVE_F64)


# -- same seed, files, summary --------------------------------------------------------------
def _all_layers(m):
    La = m.layers
    return m.Sequential([
        m.Input((10, 10, 2)), La.ZeroPadding2D(1),
        La.Conv2D(4, 3, kernel_initializer="he_normal", kernel_regularizer="l2"),
        La.BatchNormalization(), La.LeakyReLU(), La.AveragePooling2D(2), La.ELU(),
        La.Conv2D(3, 2, activation="gelu"), La.GlobalMaxPooling2D(keepdims=True),
        La.Reshape((3,)), La.Dense(5, activation="swish", kernel_initializer="glorot_normal"),
        La.Dense(4, activation="softplus"), La.Dense(2, activation="leaky_relu")])


def test_same_seed_gives_kerass_initial_weights():
    snn.utils.set_random_seed(11)
    ours = _all_layers(snn).get_weights()
    keras.utils.set_random_seed(11)
    theirs = [np.asarray(w) for w in _all_layers(keras).get_weights()]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_summary_prints_kerass_table():
    def text(model):
        buffer = io.StringIO()
        with redirect_stdout(buffer):
            model.summary()
        return buffer.getvalue()
    random.seed(0)
    ours = _all_layers(snn)
    assert text(ours) == text(to_keras(ours))


def test_files_both_ways(tmp_path):
    x = np.random.default_rng(0).normal(size=(6, 10, 10, 2)).astype("float32")
    y = np.random.default_rng(1).normal(size=(6, 2)).astype("float32")
    model = _all_layers(snn)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "ours.keras")
    model.save_weights(tmp_path / "ours.weights.h5")
    theirs = keras.models.load_model(tmp_path / "ours.keras")
    np.testing.assert_allclose(theirs.predict(x, verbose=0), model.predict(x, verbose=0),
                               **forward_tol("float32"))
    for a, b in zip(theirs.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)                      # moving statistics too
    # the next step is the same step in both engines (optimizer state came along)
    ours_next = model.train_on_batch(x, y)
    theirs_next = theirs.train_on_batch(x, y)
    assert ours_next == pytest.approx(float(theirs_next), rel=1e-5)
    theirs.fit(x, y, epochs=1, verbose=0)
    theirs.save(tmp_path / "theirs.keras")
    back = snn.models.load_model(tmp_path / "theirs.keras")
    assert [type(a).__name__ for a in back.layers] == [type(b).__name__ for b in theirs.layers]
    for a, b in zip(back.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(back.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               **forward_tol("float32"))
    assert back.layers[1].kernel_regularizer.get_config() == {"l2": 0.01}
    twin = from_keras(theirs)
    np.testing.assert_allclose(twin.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               **forward_tol("float32"))
    keras_model = keras.models.load_model(tmp_path / "theirs.keras")
    keras_model.load_weights(tmp_path / "ours.weights.h5")      # Keras reads ours


def test_keras_batch_normalization_options_scratchnn_lacks_are_refused_by_name(tmp_path):
    km = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization(renorm=True)])
    km.save(tmp_path / "renorm.keras")
    with pytest.raises(ValueError, match=r"option renorm=True is not supported by scratchnn"):
        snn.models.load_model(tmp_path / "renorm.keras")
