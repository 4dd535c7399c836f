"""Dense, Flatten, Activation, Dropout: shapes, errors, and backward passes against
finite differences in float64 (relative error < 1e-7)."""

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.gradcheck import check_layer

layers = snn.layers


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


@pytest.mark.parametrize("activation", ["linear", "relu", "sigmoid", "tanh", "softmax"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_gradients(activation, use_bias, float64):
    layer = layers.Dense(5, activation=activation, use_bias=use_bias)
    errors = check_layer(layer, _x((6, 4)))
    assert set(errors) == {"input", "kernel"} | ({"bias"} if use_bias else set())
    assert max(errors.values()) < 1e-7, errors


def test_dense_on_rank3_inputs_acts_on_the_last_axis(float64):
    layer = layers.Dense(3, activation="tanh")
    assert layer(_x((2, 5, 4))).shape == (2, 5, 3)
    assert max(check_layer(layer, _x((2, 5, 4))).values()) < 1e-7


def test_dense_weights_use_keras_layouts_and_glorot_uniform_limits():
    layer = layers.Dense(350)
    layer.build((None, 784))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (784, 350) and bias.shape == (350,) and kernel.dtype == np.float32
    limit = np.sqrt(6 / (784 + 350))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.99 * limit
    assert np.all(bias == 0)


def test_dense_rejects_inputs_of_the_wrong_width_naming_the_layer():
    layer = layers.Dense(10, name="dense_1")
    layer.build((None, 784))
    with pytest.raises(ValueError, match=r"Dense 'dense_1' expects inputs with last dimension "
                                         r"784, got \(32, 28, 28\)"):
        layer(np.zeros((32, 28, 28)))


def test_dense_rejects_bad_units():
    with pytest.raises(ValueError, match="units must be a positive int"):
        layers.Dense(0)


def test_flatten_is_a_c_order_reshape_and_its_gradient_reshapes_back(float64):
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    layer = layers.Flatten()
    np.testing.assert_array_equal(layer(x), x.reshape(2, 12))
    assert layer.backward(np.ones((2, 12))).shape == (2, 3, 2, 2)
    assert max(check_layer(layer, _x((2, 3, 2, 2))).values()) < 1e-7


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "softmax", "linear"])
def test_activation_layer_gradients(activation, float64):
    assert max(check_layer(layers.Activation(activation), _x((4, 6))).values()) < 1e-7


def test_dropout_is_the_identity_at_inference():
    x = _x((8, 5)).astype(np.float32)
    layer = layers.Dropout(0.5)
    assert layer(x, training=False) is not None
    np.testing.assert_array_equal(layer(x, training=False), x)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), np.ones_like(x))


def test_dropout_training_zeroes_at_the_rate_and_scales_survivors_by_the_reciprocal():
    x = np.ones((200, 100), np.float32)
    y = layers.Dropout(0.3, seed=0)(x, training=True)
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_array_equal(y[kept], np.float32(1 / 0.7))


def test_dropout_gradient_with_a_fixed_mask(float64):
    layer = layers.Dropout(0.4)
    mask = np.random.default_rng(0).random((5, 6)) >= 0.4
    layer.draw_keep_mask = lambda shape: mask
    errors = check_layer(layer, _x((5, 6)), training=True)
    assert errors["input"] < 1e-7


def test_dropout_same_seed_same_mask():
    x = np.ones((10, 10), np.float32)
    a = layers.Dropout(0.5, seed=7)(x, training=True)
    b = layers.Dropout(0.5, seed=7)(x, training=True)
    np.testing.assert_array_equal(a, b)


def test_dropout_rejects_rates_outside_0_1():
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\), got 1.5"):
        layers.Dropout(1.5)


def test_set_weights_checks_shapes_and_copies_in_place():
    layer = layers.Dense(3)
    layer.build((None, 2))
    kernel = layer.params["kernel"]
    layer.set_weights([np.ones((2, 3)), np.zeros(3)])
    assert layer.params["kernel"] is kernel and np.all(kernel == 1)
    with pytest.raises(ValueError, match=r"weight 'kernel' has shape \(2, 3\), got \(3, 2\)"):
        layer.set_weights([np.ones((3, 2)), np.zeros(3)])


def test_layers_get_keras_style_unique_names():
    names = [layers.Dense(1).name, layers.Dense(1).name, layers.Flatten().name,
             layers.Activation("relu").name]
    assert names == ["dense", "dense_1", "flatten", "activation"]


def test_dense_backward_is_the_activations_part_then_the_layers_own():
    """Dense.backward(dy) = backward_z(dL/dz), dL/dz = f'(z) * dy from activations.py."""
    layer = layers.Dense(4, activation="tanh")
    x, dy = _x((5, 3)).astype("float32"), _x((5, 4), 1).astype("float32")
    y = layer(x)
    dz = dy * (1 - y * y)                                   # tanh' = 1 - y^2
    np.testing.assert_array_equal(layer.activation_backward(dy), dz)
    dx = layer.backward(dy)
    np.testing.assert_array_equal(layer.grads["kernel"], x.T @ dz)
    np.testing.assert_array_equal(layer.grads["bias"], dz.sum(axis=0))
    np.testing.assert_array_equal(dx, dz @ layer.kernel.T)


def test_dense_writes_its_gradients_into_the_arrays_the_model_owns():
    """grads["kernel"] and grads["bias"] are views of the model's flat gradient buffer:
    backward fills them in place (out=), so the same arrays hold every step's gradients."""
    model = snn.Sequential([snn.Input((3,)), layers.Dense(4), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    dense = model.layers[1]
    kernel_grad = dense.grads["kernel"]
    assert np.shares_memory(kernel_grad, model.flat_grads)
    x, y = _x((8, 3)), _x((8, 2), 1)
    _, grads = model.compute_gradients(x, y)
    assert dense.grads["kernel"] is kernel_grad
    np.testing.assert_array_equal(kernel_grad, grads[2])


def test_a_frozen_dense_passes_the_input_gradient_on_and_fills_no_weight_gradient():
    layer = layers.Dense(4, activation="relu", trainable=False)
    x, dy = _x((5, 3)).astype("float32"), _x((5, 4), 1).astype("float32")
    layer(x)
    layer.grads["kernel"][...] = -1.0
    dx = layer.backward(dy)
    assert np.all(layer.grads["kernel"] == -1.0)
    np.testing.assert_array_equal(dx, (dy * (layer.y > 0)) @ layer.kernel.T)
