"""snn.gradcheck: finite differences tell a right backward pass from a wrong one in
float64 only, and say so when asked to work in float32.

The learner's trap: check_layer(Dense(3), x) in the default float32 returns relative
errors of 3e-3 to 3e-2 for a CORRECT layer (a step h = 1e-6 is a few float32 ulps), so
a right backward pass looks broken. check_layer and check_model therefore warn unless
the layer or model computes in float64 (floatx "float64" when it was built)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.gradcheck import check_layer, check_model

L = snn.layers
NEEDS_FLOAT64 = r'finite differences need float64.*snn\.config\.set_floatx\("float64"\) before'


def _x(shape=(6, 4), seed=1):
    return np.random.default_rng(seed).normal(size=shape)


def _model():
    model = snn.Sequential([snn.Input((4,)), L.Dense(5, activation="relu"),
                            L.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


_Y = np.array([0, 1, 2, 0, 1, 2])


@pytest.fixture
def no_warnings():
    """Any warning inside the test is an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_check_layer_in_float64_finds_a_right_backward_pass_below_1e_7(float64, no_warnings):
    errors = check_layer(L.Dense(3, activation="tanh"), _x())
    assert max(errors.values()) < 1e-7, errors


def test_check_layer_in_float64_catches_a_wrong_backward_pass(float64):
    """The oracle can fail: dL/dW off by a factor 2 gives a relative error of 1/3."""
    layer = L.Dense(3, activation="tanh")
    right = layer.backward_z

    def wrong(dz):
        dx = right(dz)
        layer.grads["kernel"] *= 2
        return dx
    layer.backward_z = wrong
    errors = check_layer(layer, _x())
    assert errors["kernel"] == pytest.approx(1 / 3, rel=1e-6)
    assert errors["input"] < 1e-7 and errors["bias"] < 1e-7


def test_check_layer_in_float32_warns_that_finite_differences_need_float64():
    layer = L.Dense(3, activation="tanh")
    with pytest.warns(UserWarning, match=NEEDS_FLOAT64) as caught:
        errors = check_layer(layer, _x())
    assert "Dense 'dense" in str(caught[0].message) and "floatx is 'float32'" in str(
        caught[0].message)
    assert caught[0].filename == __file__                 # points at the caller's line
    assert max(errors.values()) > 1e-4, errors            # what the warning is about


def test_check_layer_warns_for_a_layer_built_in_float32_even_in_floatx_float64():
    """Casting x to float64 is not enough: the weights keep the dtype they were built in,
    and finite differences of float32 weights are as noisy as before (measured 4e-3)."""
    layer = L.Dense(3, activation="tanh")
    layer.build((None, 4))
    snn.config.set_floatx("float64")
    with pytest.warns(UserWarning, match="weights were built in float32"):
        errors = check_layer(layer, _x())
    assert errors["kernel"] > 1e-4, errors


def test_check_model_in_float64_is_silent_and_below_1e_7(float64, no_warnings):
    errors = check_model(_model(), _x(), _Y)
    assert max(errors.values()) < 1e-7, errors


def test_an_unbuilt_model_checked_in_float64_is_silent(float64, no_warnings):
    model = snn.Sequential([L.Dense(5, activation="tanh"), L.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert max(check_model(model, _x(), _Y).values()) < 1e-7


def test_check_model_in_float32_warns_naming_the_model():
    model = _model()
    with pytest.warns(UserWarning, match=NEEDS_FLOAT64) as caught:
        errors = check_model(model, _x(), _Y)
    assert f"Sequential '{model.name}'" in str(caught[0].message)
    assert max(errors.values()) > 1e-4, errors


def test_check_model_warns_for_a_model_built_in_float32_even_in_floatx_float64():
    model = _model()
    snn.config.set_floatx("float64")
    with pytest.warns(UserWarning, match="weights were built in float32"):
        check_model(model, _x(), _Y)
