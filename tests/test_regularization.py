"""kernel_regularizer / bias_regularizer wired into training: the penalty joins the loss
that fit, train_on_batch and evaluate report (as Keras's compute_loss adds model.losses),
its gradient joins the weights' gradients (finite differences in float64)."""

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.gradcheck import check_model

L, R = snn.layers, snn.regularizers


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(12, 4)), rng.normal(size=(12, 2))


def _model(**dense_kwargs):
    model = snn.Sequential([snn.Input((4,)), L.Dense(3, activation="tanh", **dense_kwargs),
                            L.Dense(2)])
    model.compile(optimizer=snn.optimizers.SGD(0.1), loss="mse")
    return model


def test_the_reported_loss_is_the_compiled_loss_plus_the_penalty(float64):
    x, y = _data()
    model = _model(kernel_regularizer=R.L2(0.1), bias_regularizer=R.L1(0.05))
    model.layers[0].params["bias"][...] = [0.5, -1.0, 0.25]
    kernel, bias = (w.copy() for w in model.layers[0].trainable_weights)
    mse = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
    # Keras's factors pass through float32 even in float64 (regularizers.py)
    penalty = (float(np.float32(0.1)) * np.sum(kernel ** 2)
               + float(np.float32(0.05)) * np.sum(np.abs(bias)))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(mse + penalty, rel=1e-12)
    assert model.train_on_batch(x, y) == pytest.approx(mse + penalty, rel=1e-12)


@pytest.mark.parametrize("kernel, bias", [(R.L2(0.3), None), (R.L1(0.2), R.L2(0.5)),
                                          (R.L1L2(0.1, 0.2), R.L1L2(l2=0.4))])
def test_penalty_gradients_match_finite_differences(kernel, bias, float64):
    x, y = _data(1)
    model = _model(kernel_regularizer=kernel, bias_regularizer=bias)
    model.layers[0].params["bias"][...] = [0.3, -0.2, 0.7]          # L1 away from its kink
    errors = check_model(model, x, y)
    assert max(errors.values()) < 1e-7, errors


def test_without_regularizers_nothing_is_added():
    x, y = _data()
    model = _model()
    assert model.regularized_layers == [] and model.penalty() == 0


def test_conv_and_batch_normalization_take_regularizers_too(float64):
    model = snn.Sequential([snn.Input((5, 5, 2)),
                            L.Conv2D(2, 3, kernel_regularizer="l2", bias_regularizer="l1"),
                            L.BatchNormalization(gamma_regularizer=R.L2(0.2),
                                                 beta_regularizer=R.L1(0.1)),
                            L.Flatten(), L.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.layers[0].params["bias"][...] = [0.4, -0.6]
    model.layers[1].params["beta"][...] = [0.3, -0.2]
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(4, 5, 5, 2)), rng.normal(size=(4, 1))
    assert len(model.regularized_layers) == 2
    assert max(check_model(model, x, y, training=True).values()) < 1e-7


def test_names_and_configs_resolve_as_in_keras_and_round_trip():
    layer = L.Dense(3, kernel_regularizer="l2", bias_regularizer={
        "module": "keras.regularizers", "class_name": "L1", "config": {"l1": 0.5},
        "registered_name": None})
    assert isinstance(layer.kernel_regularizer, R.L2) and layer.kernel_regularizer.l2 == 0.01
    cfg = layer.get_config()
    assert cfg["kernel_regularizer"] == {"module": "keras.regularizers", "class_name": "L2",
                                         "config": {"l2": 0.01}, "registered_name": None}
    again = L.Dense(**cfg)
    assert again.get_config() == cfg


def test_a_regularizer_without_a_gradient_is_refused_naming_the_argument():
    with pytest.raises(ValueError, match=r"Dense 'd': kernel_regularizer must be a scratchnn "
                                         r"regularizer"):
        L.Dense(3, kernel_regularizer=lambda w: np.sum(w), name="d")
    with pytest.raises(ValueError, match=r"Conv2D 'c': bias_regularizer: Could not interpret"):
        L.Conv2D(3, 3, bias_regularizer="l3", name="c")
