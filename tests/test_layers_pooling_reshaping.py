"""AveragePooling2D (against its loop twin), GlobalAveragePooling2D, GlobalMaxPooling2D,
ZeroPadding2D, Reshape and the ReLU/LeakyReLU/ELU layers: shapes, values, backward passes
against finite differences in float64, Keras's defaults and errors."""

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.gradcheck import check_layer
from scratchnn.layers.conv_naive import avg_pool2d_backward_naive, avg_pool2d_naive

L = snn.layers


def _x(shape, seed=3):
    return np.random.default_rng(seed).normal(size=shape)


POOLS = [((2, 2), None, "valid", 6, 6), ((2, 2), None, "valid", 7, 5), ((3, 3), (1, 1), "valid", 6, 7),
         ((3, 3), (2, 2), "same", 7, 6), ((2, 3), (1, 2), "same", 5, 5), ((4, 4), (3, 3), "same", 8, 8)]


@pytest.mark.parametrize("pool, strides, padding, h, w", POOLS)
def test_average_pool_forward_and_backward_equal_the_loop_twins(pool, strides, padding, h, w,
                                                                float64):
    x = _x((2, h, w, 3))
    layer = L.AveragePooling2D(pool, strides=strides, padding=padding)
    y = layer(x)
    np.testing.assert_allclose(y, avg_pool2d_naive(x, pool, strides, padding), rtol=1e-12)
    dy = _x(y.shape, 5)
    np.testing.assert_allclose(layer.backward(dy),
                               avg_pool2d_backward_naive(x, dy, pool, strides, padding),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("pool, strides, padding, h, w", POOLS)
def test_average_pool_gradients_match_finite_differences(pool, strides, padding, h, w, float64):
    layer = L.AveragePooling2D(pool, strides=strides, padding=padding)
    assert check_layer(layer, _x((2, h, w, 2)))["input"] < 1e-7


def test_average_pool_with_same_padding_divides_by_the_real_inputs_only():
    """TensorFlow leaves the padding out of the count: a 3x3 window at a corner of a
    'same'-padded image averages 4 values, not 9."""
    x = np.ones((1, 4, 4, 1), np.float32)
    y = L.AveragePooling2D(3, strides=1, padding="same")(x)
    np.testing.assert_array_equal(y, np.ones((1, 4, 4, 1)))


def test_average_pool_needs_a_pool_size_like_keras():
    with pytest.raises(TypeError, match="pool_size"):
        L.AveragePooling2D()
    assert L.AveragePooling2D(3).strides == (3, 3)


@pytest.mark.parametrize("kind", ["GlobalAveragePooling2D", "GlobalMaxPooling2D"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling_shapes_values_and_gradients(kind, keepdims, float64):
    x = _x((3, 4, 5, 2))
    layer = getattr(L, kind)(keepdims=keepdims)
    y = layer(x)
    reduce = np.mean if kind == "GlobalAveragePooling2D" else np.max
    np.testing.assert_allclose(y, reduce(x, axis=(1, 2), keepdims=keepdims), rtol=1e-13)
    assert layer.compute_output_shape((None, 4, 5, 2)) == ((None, 1, 1, 2) if keepdims
                                                           else (None, 2))
    assert check_layer(layer, x)["input"] < 1e-7


def test_global_max_shares_the_gradient_between_tied_maxima_as_tensorflow():
    """TensorFlow's reduce_max gradient: (x == max) / count * dy. MaxPooling2D instead
    gives all of a window's gradient to its first maximum."""
    x = np.zeros((1, 2, 2, 1))
    x[0, 0, 1, 0] = x[0, 1, 0, 0] = 5.0
    layer = L.GlobalMaxPooling2D()
    layer(x)
    np.testing.assert_array_equal(layer.backward(np.array([[4.0]]))[0, :, :, 0],
                                  [[0.0, 2.0], [2.0, 0.0]])


@pytest.mark.parametrize("padding, expected", [
    (1, ((1, 1), (1, 1))), ((2, 3), ((2, 2), (3, 3))), (((1, 2), (0, 3)), ((1, 2), (0, 3)))])
def test_zero_padding_takes_kerass_three_forms(padding, expected, float64):
    layer = L.ZeroPadding2D(padding)
    assert layer.padding == expected
    x = _x((2, 3, 4, 2))
    y = layer(x)
    (top, bottom), (left, right) = expected
    assert y.shape == (2, 3 + top + bottom, 4 + left + right, 2)
    np.testing.assert_array_equal(y[:, top: top + 3, left: left + 4], x)
    assert y.sum() == pytest.approx(x.sum())
    assert check_layer(layer, x)["input"] < 1e-7


@pytest.mark.parametrize("padding", [-1, (1, 2, 3), ((1, -1), (0, 0)), "same", ((1,), (2, 2))])
def test_zero_padding_refuses_bad_padding(padding):
    with pytest.raises(ValueError, match="ZeroPadding2D .*padding"):
        L.ZeroPadding2D(padding)


def test_reshape_infers_minus_one_and_reshapes_the_gradient_back(float64):
    layer = L.Reshape((-1, 4))
    x = _x((3, 2, 6))
    assert layer(x).shape == (3, 3, 4)
    assert layer.compute_output_shape((None, 2, 6)) == (None, 3, 4)
    assert check_layer(layer, x)["input"] < 1e-7
    assert L.Reshape((2, -1))(np.zeros((0, 6))).shape == (0, 2, 3)


@pytest.mark.parametrize("target, match", [((2, -1, -1), "at most one -1"), ((0, 3), "positive"),
                                           ("abc", "tuple of positive ints")])
def test_reshape_refuses_bad_target_shapes(target, match):
    with pytest.raises(ValueError, match=match):
        L.Reshape(target)


def test_reshape_refuses_sizes_that_do_not_divide():
    with pytest.raises(ValueError, match=r"cannot reshape inputs \(None, 7\)"):
        snn.Sequential([snn.Input((7,)), L.Reshape((2, -1))])


def test_leaky_relu_and_elu_layers_with_kerass_layer_defaults(float64):
    """keras.layers.LeakyReLU() has negative_slope 0.3; the activation function 0.2."""
    x = _x((4, 5))
    np.testing.assert_allclose(L.LeakyReLU()(x), np.where(x > 0, x, 0.3 * x))
    np.testing.assert_allclose(L.ELU(0.7)(x), np.where(x > 0, x, 0.7 * np.expm1(x)),
                               rtol=1e-12)
    for layer in (L.LeakyReLU(0.1), L.ELU(), L.ELU(2.0)):
        assert check_layer(layer, x)["input"] < 1e-7
    with pytest.raises(ValueError, match="negative_slope must be a number >= 0"):
        L.LeakyReLU(-0.1)
    with pytest.raises(ValueError, match="alpha must be a number"):
        L.ELU("1")


@pytest.mark.parametrize("make", [
    lambda: L.AveragePooling2D((2, 3), strides=1, padding="same", name="p"),
    lambda: L.GlobalMaxPooling2D(keepdims=True, name="g"),
    lambda: L.GlobalAveragePooling2D(name="g"),
    lambda: L.ZeroPadding2D(((1, 2), (3, 4)), name="z"),
    lambda: L.Reshape((3, -1), name="r"),
    lambda: L.LeakyReLU(0.25, name="l"),
    lambda: L.ELU(0.5, name="e"),
])
def test_get_config_round_trips(make):
    layer = make()
    again = type(layer)(**layer.get_config())
    assert again.get_config() == layer.get_config()


def test_a_cnn_with_every_new_layer_trains_and_its_gradients_check(float64):
    model = snn.Sequential([
        snn.Input((6, 6, 2)), L.ZeroPadding2D(1), L.Conv2D(3, 3, activation="gelu"),
        L.BatchNormalization(), L.LeakyReLU(), L.AveragePooling2D(2, padding="same"),
        L.ELU(), L.GlobalMaxPooling2D(keepdims=True), L.Reshape((3,)),
        L.Dense(4, activation="swish"), L.Dense(2, activation="softplus")])
    model.compile(optimizer="adam", loss="mse")
    x, y = _x((5, 6, 6, 2)), _x((5, 2), 4)
    errors = snn.gradcheck.check_model(model, x, y, training=True)
    assert max(errors.values()) < 1e-7, errors
    history = model.fit(x, y, epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


# -- ReLU (keras.layers.ReLU): max_value, negative_slope, threshold ----------------------------
RELU_OPTIONS = [dict(), dict(max_value=6.0), dict(max_value=2.5), dict(negative_slope=0.2),
                dict(threshold=0.4), dict(threshold=0.4, max_value=2.0, negative_slope=0.3),
                dict(max_value=6, negative_slope=0.1)]


def test_relu_layer_values_are_kerass_formula():
    """The example of Keras's docstring, and its formula piece by piece."""
    x = np.array([-10, -5, 0.0, 5, 10], "float32")
    np.testing.assert_array_equal(L.ReLU(max_value=10, negative_slope=0.5)(x),
                                  [-5, -2.5, 0, 5, 10])
    np.testing.assert_array_equal(L.ReLU()(x), [0, 0, 0, 5, 10])
    np.testing.assert_array_equal(L.ReLU(max_value=5.0)(x), [0, 0, 0, 5, 5])
    np.testing.assert_array_equal(L.ReLU(threshold=5.0)(x), [0, 0, 0, 0, 10])
    y = L.ReLU(max_value=4, negative_slope=0.5, threshold=1)(np.float32([-1, 0.5, 1, 3, 9]))
    np.testing.assert_allclose(y, [-1, -0.25, 0, 3, 4])       # slope (x - threshold) below


@pytest.mark.parametrize("options", RELU_OPTIONS, ids=str)
def test_relu_gradients_match_finite_differences(options, float64):
    x = _x((6, 3, 4)) * 3
    kinks = [0.0, options.get("threshold", 0.0), options.get("max_value") or 0.0, 6.0]
    x[np.min([np.abs(x - k) for k in kinks], axis=0) < 1e-3] += 0.01   # off the kinks
    layer = L.ReLU(**options)
    assert layer(x).shape == x.shape
    assert check_layer(layer, x)["input"] < 1e-7


def test_relu_gradients_at_the_kinks_are_tensorflows():
    """TensorFlow's subgradients, which Keras's gradients are: relu 0 at 0; relu6 (the
    max_value == 6 case) 0 at 6; clipping passes the gradient AT max_value otherwise (its
    minimum/maximum pass ties on); where(x > threshold) 0 at the threshold; with only a
    slope (leaky_relu) the slope at 0."""
    def grad(x, **options):
        layer = L.ReLU(**options)
        layer(np.float32([x]))
        return float(layer.backward(np.float32([1.0]))[0])

    assert grad(0.0) == 0.0 and grad(1e-30) == 1.0
    assert grad(6.0, max_value=6) == 0.0 and grad(5.999, max_value=6) == 1.0
    assert grad(5.0, max_value=5) == 1.0 and grad(5.001, max_value=5) == 0.0
    assert grad(0.5, threshold=0.5) == 0.0 and grad(0.5, threshold=0.5,
                                                    negative_slope=0.2) == 0.0
    assert grad(0.4, threshold=0.5, negative_slope=0.2) == np.float32(0.2)
    assert grad(0.0, negative_slope=0.2) == np.float32(0.2)
    assert grad(-3.0, max_value=6, negative_slope=0.1) == np.float32(0.1)


def test_relu_refuses_negative_options_like_keras():
    for kwargs in (dict(max_value=-1), dict(negative_slope=-0.5), dict(threshold=None),
                   dict(negative_slope="0.1")):
        with pytest.raises(ValueError, match=rf"ReLU 'r': {next(iter(kwargs))} of a ReLU "
                                             "layer cannot be"):
            L.ReLU(**kwargs, name="r")


def test_relu_config_round_trips_with_the_values_as_given():
    layer = L.ReLU(6, 0.1, 0.5, name="r")
    assert layer.get_config() == {"name": "r", "trainable": True, "max_value": 6,
                                  "negative_slope": 0.1, "threshold": 0.5}
    assert L.ReLU(**layer.get_config()).get_config() == layer.get_config()


def test_leaky_relu_takes_kerass_older_alpha_with_its_warning():
    with pytest.warns(UserWarning, match=r"Argument `alpha` is deprecated. Use "
                                         r"`negative_slope` instead."):
        layer = L.LeakyReLU(negative_slope=0.5, alpha=0.1)
    assert layer.negative_slope == 0.1 and layer.get_config()["negative_slope"] == 0.1
    assert "alpha" not in layer.get_config()
