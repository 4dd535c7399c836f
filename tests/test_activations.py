"""Activations: Keras's values, and derivatives against finite differences (float64)."""

import numpy as np
import pytest

from scratchnn import activations as A
from scratchnn.gradcheck import numerical_gradient, relative_error

NAMES = ["relu", "sigmoid", "tanh", "softmax", "linear"]


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
