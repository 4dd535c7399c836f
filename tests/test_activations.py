"""Activations: Keras's values, and derivatives against finite differences (float64)."""

import math

import numpy as np
import pytest

from scratchnn import activations as A
from scratchnn.gradcheck import numerical_gradient, relative_error

NAMES = ["relu", "sigmoid", "tanh", "softmax", "linear", "leaky_relu", "elu", "gelu",
         "softplus", "silu"]


def test_softmax_subtracts_the_max_so_extreme_logits_do_not_overflow():
    np.testing.assert_array_equal(A.softmax(np.array([[1000.0, 0.0, -1000.0]])), [[1, 0, 0]])


def test_sigmoid_is_stable_for_large_inputs():
    x = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0], dtype=np.float32)
    y = A.sigmoid(x)
    assert y.dtype == np.float32 and np.all(np.isfinite(y))
    with np.errstate(over="ignore"):
        expected = 1 / (1 + np.exp(-x.astype(np.float64)))
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-30)


def test_relu_gradient_at_zero_is_zero_as_in_tensorflow():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(A.relu_backward(np.ones(3), x, A.relu(x)), [0, 0, 1])


def test_get_resolves_names_functions_and_none():
    assert A.get("relu") is A.relu and A.get(A.tanh) is A.tanh and A.get(None) is A.linear
    with pytest.raises(ValueError, match="Unknown activation 'swishy'"):
        A.get("swishy")
    with pytest.raises(ValueError, match="no derivative"):
        A.get(lambda x: x)


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_finite_differences(name, float64):
    f = A.get(name)
    x = np.random.default_rng(0).normal(size=(4, 5))
    x[np.abs(x) < 1e-3] = 0.5                      # keep away from relu's kink
    r = np.random.default_rng(1).normal(size=(4, 5))
    analytic = A.backward_of(f)(r, x, f(x))
    numeric = numerical_gradient(lambda: float(np.sum(r * f(x))), x)
    assert relative_error(analytic, numeric) < 1e-7


@pytest.mark.parametrize("name", NAMES)
def test_activations_keep_float32(name):
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    assert A.get(name)(x).dtype == np.float32


def test_relu_in_place_and_its_backward_from_the_output_alone():
    x = np.array([-2.0, -0.0, 0.0, 0.5, 3.0], dtype=np.float32)
    big = np.linspace(-1, 1, 5000, dtype=np.float32)     # the zeros-buffer path
    for values in (x, big):
        expected_y, expected_dx = A.relu(values), values > 0
        z = values.copy()
        y = A.relu(z, out=z)
        assert y is z
        np.testing.assert_array_equal(y, expected_y)
        # Dense/Conv2D keep no pre-activation for relu: the mask comes from y alone.
        np.testing.assert_array_equal(A.relu_backward(np.ones_like(y), None, y), expected_dx)


# -- the smooth and leaky ReLUs -----------------------------------------------------------------
def test_new_activations_give_their_textbook_values():
    x = np.array([-2.0, -0.5, 0.5, 3.0])
    np.testing.assert_allclose(A.leaky_relu(x), [-0.4, -0.1, 0.5, 3.0])        # slope 0.2
    np.testing.assert_allclose(A.elu(x), [np.expm1(-2), np.expm1(-0.5), 0.5, 3.0])
    np.testing.assert_allclose(A.elu(x, alpha=0.5), [0.5 * np.expm1(-2), 0.5 * np.expm1(-0.5),
                                                     0.5, 3.0])
    phi = np.array([0.022750131948179195, 0.3085375387259869, 0.6914624612740131,
                    0.9986501019683699])                                       # normal CDF
    # TensorFlow's 1/sqrt(2) is a float32 constant even in float64: x Phi(x) to 1e-7 ...
    np.testing.assert_allclose(A.gelu(x), x * phi, rtol=1e-7)
    c = float(np.float32(1 / np.sqrt(2)))                   # ... and exactly its own form
    np.testing.assert_allclose(A.gelu(x), [0.5 * v * math.erfc(-c * v) for v in x],
                               rtol=1e-15)
    np.testing.assert_allclose(A.softplus(x), np.log1p(np.exp(x)), rtol=1e-15)
    np.testing.assert_allclose(A.silu(x), x / (1 + np.exp(-x)), rtol=1e-15)


def test_swish_is_keras_other_name_for_silu_and_saves_as_silu():
    assert A.get("swish") is A.silu and A.serialize(A.get("swish")) == "silu"


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_both_forms_against_finite_differences(approximate, float64):
    x = np.linspace(-4, 4, 41)
    r = np.random.default_rng(2).normal(size=x.shape)
    analytic = A.gelu_backward(r, x, None, approximate=approximate)
    numeric = numerical_gradient(lambda: float(np.sum(r * A.gelu(x, approximate))), x)
    assert relative_error(analytic, numeric) < 1e-7
    k3 = float(np.float32(0.044715))                       # a float32 constant in TF
    tanh_form = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + k3 * x ** 3)))
    np.testing.assert_allclose(A.gelu(x, approximate=True), tanh_form, rtol=1e-14)


def test_softplus_switches_to_x_and_to_exp_where_tensorflow_does():
    """t = log(eps) + 2: x above -t, e^x below t, log1p(e^x) between; no overflow."""
    x = np.array([-100.0, -20.0, 0.0, 20.0, 100.0, 1e4], dtype=np.float32)
    t = np.log(np.finfo(np.float32).eps) + 2
    y = A.softplus(x)
    assert y.dtype == np.float32 and np.all(np.isfinite(y))
    np.testing.assert_array_equal(y[x > -t], x[x > -t])
    np.testing.assert_array_equal(y[x < t], np.exp(x[x < t]))


def test_elu_uses_exp_minus_one_as_tensorflow_and_never_overflows():
    x = np.array([-1e-8, -30.0, 1e4], dtype=np.float32)
    y = A.elu(x)
    assert np.all(np.isfinite(y))
    np.testing.assert_array_equal(y[:2], np.exp(x[:2]) - np.float32(1))


def test_leaky_and_elu_gradients_at_zero_follow_tensorflow():
    """LeakyReluGrad passes dy only where x > 0; EluGrad (alpha 1) passes dy at x = 0."""
    zero, dy = np.zeros(1), np.ones(1)
    assert A.leaky_relu_backward(dy, zero, None)[0] == np.float32(0.2)   # a float32 attr in TF
    assert A.elu_backward(dy, zero, None)[0] == 1.0
    assert A.elu_backward(dy, zero, None, alpha=0.5)[0] == 0.5
