"""Conv2D and MaxPooling2D: TensorFlow's geometry, the fast kernels against their loop
twins, and backward passes against finite differences in float64 (< 1e-7)."""

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.gradcheck import check_layer, numerical_gradient_at, relative_error
from scratchnn.layers import convolution as conv

layers = snn.layers

CONV_CONFIGS = [   # (kernel_size, strides, padding, dilation, input H, W, C, filters)
    (3, 1, "valid", 1, 7, 7, 2, 3),
    (3, 1, "same", 1, 6, 5, 1, 2),
    (4, 1, "same", 1, 7, 6, 2, 2),          # even kernel: pads 1 before, 2 after
    (4, 2, "same", 1, 11, 9, 2, 3),         # H=11, k=4, s=2: pads 1 then 2
    (2, 2, "valid", 1, 7, 8, 3, 2),         # remainder rows dropped
    (3, 3, "same", 1, 8, 7, 2, 2),
    (3, 3, "valid", 1, 10, 10, 1, 2),
    ((3, 2), (2, 1), "valid", 1, 9, 6, 2, 3),   # rectangular kernel and strides
    ((2, 5), (1, 2), "same", 1, 6, 9, 2, 2),
    (3, 1, "same", 2, 8, 8, 2, 2),          # dilated
    (5, 1, "valid", 1, 9, 9, 4, 5),         # several channels (WindowRows from C = 4)
    (4, 1, "same", 1, 7, 6, 5, 3),          # T4's even 'same' kernel, by window rows
    ((2, 3), 1, "same", 1, 5, 7, 4, 2),     # rectangular, by window rows
    (1, 1, "valid", 1, 4, 3, 6, 2),         # 1x1 kernel, by window rows
    (3, 1, "same", 2, 6, 6, 4, 2),          # dilated with C >= 4: im2col again
]
IDS = [f"k{c[0]}-s{c[1]}-{c[2]}-d{c[3]}-{c[4]}x{c[5]}x{c[6]}-f{c[7]}" for c in CONV_CONFIGS]


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


@pytest.mark.parametrize("k, s, padding, d, h, w, c, f", CONV_CONFIGS, ids=IDS)
def test_conv_forward_equals_the_loop_twin(k, s, padding, d, h, w, c, f, float64):
    layer = layers.Conv2D(f, k, strides=s, padding=padding, dilation_rate=d)
    x = _x((2, h, w, c))
    out = layer(x)
    expected = conv.conv2d_naive(x, layer.kernel, layer.bias, layer.strides, padding,
                                 layer.dilation_rate)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k, s, padding, d, h, w, c, f", CONV_CONFIGS, ids=IDS)
def test_conv_backward_equals_the_loop_twin(k, s, padding, d, h, w, c, f, float64):
    layer = layers.Conv2D(f, k, strides=s, padding=padding, dilation_rate=d)
    x = _x((2, h, w, c))
    dout = _x(layer(x).shape, seed=1)
    dx = layer.backward(dout)
    dx_ref, dw_ref, db_ref = conv.conv2d_backward_naive(x, layer.kernel, dout, layer.strides,
                                                        padding, layer.dilation_rate)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["kernel"], dw_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["bias"], db_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k, s, padding, d, h, w, c, f", CONV_CONFIGS, ids=IDS)
def test_conv_gradients_match_finite_differences(k, s, padding, d, h, w, c, f, float64):
    layer = layers.Conv2D(f, k, strides=s, padding=padding, dilation_rate=d, activation="tanh")
    errors = check_layer(layer, _x((2, h, w, c)))
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("size, k, s, expected", [
    (4, 4, 1, (1, 2)), (11, 4, 2, (1, 2)), (5, 3, 1, (1, 1)), (28, 5, 1, (2, 2)),
    (7, 2, 2, (0, 1)), (6, 1, 1, (0, 0)),
])
def test_same_padding_puts_the_extra_pixel_last_like_tensorflow(size, k, s, expected):
    assert conv.same_padding(size, k, s) == expected


@pytest.mark.parametrize("kwargs, shape, expected", [
    (dict(kernel_size=3), (28, 28, 1), (26, 26)),
    (dict(kernel_size=5), (28, 28, 1), (24, 24)),
    (dict(kernel_size=4, padding="same"), (12, 12, 32), (12, 12)),
    (dict(kernel_size=3, strides=2), (28, 28, 1), (13, 13)),
    (dict(kernel_size=4, strides=3, padding="same"), (10, 11, 1), (4, 4)),
    (dict(kernel_size=3, dilation_rate=2), (10, 10, 1), (6, 6)),
])
def test_conv_output_shapes_follow_keras(kwargs, shape, expected):
    layer = layers.Conv2D(4, **kwargs)
    assert layer(np.zeros((1, *shape))).shape == (1, *expected, 4)


POOL_CONFIGS = [   # (pool, strides, padding, H, W)
    (2, None, "valid", 6, 6), (2, None, "valid", 7, 7),     # 7x7 -> 3x3 (floor)
    (3, 2, "valid", 7, 8),                                   # overlapping windows
    (2, None, "same", 7, 5), (3, 2, "same", 8, 7),
    ((2, 3), 1, "valid", 5, 6), ((3, 2), (2, 1), "same", 6, 5),
]
POOL_IDS = [f"p{c[0]}-s{c[1]}-{c[2]}-{c[3]}x{c[4]}" for c in POOL_CONFIGS]


@pytest.mark.parametrize("pool, strides, padding, h, w", POOL_CONFIGS, ids=POOL_IDS)
def test_pool_forward_and_backward_equal_the_loop_twins(pool, strides, padding, h, w, float64):
    layer = layers.MaxPooling2D(pool, strides, padding)
    x = np.round(_x((2, h, w, 3)), 1)                          # rounding creates ties
    out = layer(x)
    np.testing.assert_array_equal(
        out, conv.max_pool2d_naive(x, layer.pool_size, layer.strides, padding))
    dout = _x(out.shape, seed=1)
    np.testing.assert_allclose(
        layer.backward(dout),
        conv.max_pool2d_backward_naive(x, dout, layer.pool_size, layer.strides, padding),
        rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("pool, strides, padding, h, w", POOL_CONFIGS, ids=POOL_IDS)
def test_pool_gradients_match_finite_differences(pool, strides, padding, h, w, float64):
    # distinct values spaced well apart, so no perturbation changes a window's winner
    x = np.random.default_rng(0).permutation(2 * h * w * 2).reshape(2, h, w, 2) * 0.01
    assert check_layer(layers.MaxPooling2D(pool, strides, padding), x)["input"] < 1e-7


def test_pool_gradient_goes_to_the_first_maximum_of_a_tie():
    x = np.array([[1.0, 1.0], [1.0, 0.0]]).reshape(1, 2, 2, 1)
    layer = layers.MaxPooling2D(2)
    layer(x)
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 1, 1)))[0, :, :, 0],
                                  [[1, 0], [0, 0]])


def test_overlapping_windows_accumulate_gradient():
    x = np.zeros((1, 3, 3, 1))
    x[0, 1, 1, 0] = 5.0                                       # centre wins all four windows
    layer = layers.MaxPooling2D(2, strides=1)
    layer(x)
    assert layer.backward(np.ones((1, 2, 2, 1)))[0, 1, 1, 0] == 4.0


def test_pool_defaults_follow_keras():
    layer = layers.MaxPooling2D()
    assert layer.pool_size == (2, 2) and layer.strides == (2, 2) and layer.padding == "valid"
    assert layer(np.zeros((1, 7, 7, 1))).shape == (1, 3, 3, 1)


def test_conv_kernel_is_hwio_with_keras_fans():
    layer = layers.Conv2D(32, (3, 3))
    layer.build((None, 28, 28, 1))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 3, 1, 32) and bias.shape == (32,)
    assert np.abs(kernel).max() <= np.sqrt(6 / (9 * 1 + 9 * 32))


@pytest.mark.parametrize("make, x_shape, match", [
    (lambda: layers.Conv2D(4, 3, input_shape=(28, 28, 1)), (2, 28, 28),
     r"Conv2D 'conv2d' expects inputs \(N, H, W, 1\), got \(2, 28, 28\)"),
    (lambda: layers.Conv2D(4, 5), (2, 3, 3, 1), "does not fit"),
    (lambda: layers.MaxPooling2D(2), (2, 8, 8), "expects inputs"),
])
def test_bad_conv_inputs_get_clear_errors(make, x_shape, match):
    layer = make()
    with pytest.raises(ValueError, match=match):
        layer(np.zeros(x_shape))


def test_conv_argument_validation():
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        layers.Conv2D(2, 3, padding="full")
    with pytest.raises(ValueError, match="kernel_size must be a positive int"):
        layers.Conv2D(2, (3, 0))
    with pytest.raises(ValueError, match="not supported with dilation_rate > 1"):
        layers.Conv2D(2, 3, strides=2, dilation_rate=2)


def _cnn_a():
    return snn.Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D((2, 2)), layers.Flatten(), layers.Dense(100, activation="relu"),
        layers.Dense(10, activation="softmax")])


def _cnn_b():
    return snn.Sequential([
        layers.Conv2D(32, 5, activation="relu", input_shape=(28, 28, 1)), layers.MaxPooling2D(),
        layers.Conv2D(32, 4, activation="relu", padding="same"), layers.MaxPooling2D(),
        layers.Conv2D(32, 3, activation="relu"), layers.Flatten(), layers.Dropout(0.5),
        layers.Dense(10), layers.Activation("softmax")])


def test_seed_cnn_a_has_keras_counts_and_shapes():
    model = _cnn_a()
    assert model.count_params() == 542_230
    assert [layer.output_shape[1:] for layer in model.layers] == [
        (26, 26, 32), (13, 13, 32), (5408,), (100,), (10,)]


def test_seed_cnn_b_has_keras_counts_and_shapes():
    model = _cnn_b()
    assert model.count_params() == 31_626
    assert [layer.output_shape[1:] for layer in model.layers] == [
        (24, 24, 32), (12, 12, 32), (12, 12, 32), (6, 6, 32), (4, 4, 32), (512,), (512,),
        (10,), (10,)]


@pytest.mark.parametrize("make", [_cnn_a, _cnn_b], ids=["cnn_a", "cnn_b"])
def test_seed_cnn_gradients_match_finite_differences_on_a_small_batch(make, float64):
    model = make()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    r = np.random.default_rng(0)
    x, y = r.random((2, 28, 28, 1)), np.eye(10)[[3, 7]]
    _, grads = model.compute_gradients(x, y, training=False)

    def loss():
        return model.evaluate(x, y, verbose=0)

    # eight random entries of every weight (all of them would take minutes)
    for w, g in zip(model.weights, grads):
        idx = r.choice(w.size, size=min(w.size, 8), replace=False)
        numeric = numerical_gradient_at(loss, w, idx)
        assert relative_error(g.reshape(-1)[idx], numeric) < 1e-7


def test_dropout_inside_a_cnn_is_active_only_in_training():
    model = _cnn_b()
    x = np.random.default_rng(0).random((4, 28, 28, 1))
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
    assert not np.allclose(model(x, training=True), model(x, training=True))


def test_float64_runs_through_the_conv_stack(float64):
    model = _cnn_b()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    r = np.random.default_rng(0)
    model.fit(r.random((8, 28, 28, 1)), np.eye(10)[r.integers(0, 10, 8)], epochs=1, verbose=0)
    assert all(w.dtype == np.float64 for w in model.get_weights())
    assert model.predict(r.random((2, 28, 28, 1)), verbose=0).dtype == np.float64


def test_seed_cnn_a_reaches_87_percent_in_two_epochs_on_20000_images(fashion):
    """T3's CNN learns: 0.881 on the 10,000 test images after 2 epochs on the first 20,000
    training images from seed 0 (0.891 on all 60,000, which `make demo` trains: this test
    keeps the suite short)."""
    (x_train, y_train), (x_test, y_test) = fashion
    snn.utils.set_random_seed(0)
    model = _cnn_a()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train[:20000, ..., None] / 255.0, y_train[:20000], epochs=2, verbose=0)
    _, accuracy = model.evaluate(x_test[..., None] / 255.0, y_test, verbose=0)
    assert accuracy >= 0.87


@pytest.mark.parametrize("k, padding, n, h, w, c, f", [
    ((4, 4), "same", 3, 12, 12, 8, 5), ((3, 2), "valid", 2, 6, 9, 4, 3), ((1, 3), "same", 1, 2, 5, 4, 2)])
def test_window_rows_products_equal_im2col_reference(k, padding, n, h, w, c, f, float64):
    # WindowRows finds the im2col rows inside a kh-times copy of the input (overlapping
    # strided views): the same products as the plain im2col matrix, and the same dL/dW.
    from scratchnn.layers.im2col import WindowRows, im2col_reference, pad, pads_for
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, h, w, c))
    kernel = rng.normal(size=(*k, c, f))
    pads = pads_for((h, w), k, (1, 1), padding)
    xp = pad(x, pads)
    out_hw = (xp.shape[1] - k[0] + 1, xp.shape[2] - k[1] + 1)
    cols = im2col_reference(xp, k, (1, 1), (1, 1), out_hw)           # (M, kh*kw*C)
    rows = WindowRows()
    z = rows.conv(xp, kernel, out_hw)
    np.testing.assert_allclose(z, (cols @ kernel.reshape(-1, f)).reshape(n, *out_hw, f),
                               rtol=1e-12, atol=1e-12)
    dz = rng.normal(size=z.shape)
    np.testing.assert_allclose(rows.kernel_grad(dz, *k, c, xp.shape[2]),
                               (cols.T @ dz.reshape(-1, f)).reshape(kernel.shape),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("c", [1, 4], ids=["im2col", "window-rows"])
def test_inference_in_chunks_gives_the_same_outputs_and_backward_rebuilds(c, float64,
                                                                           monkeypatch):
    # A large batch in inference runs a few samples at a time (INFERENCE_CHUNK_BYTES) so
    # its windows never take more than a few MB; a backward pass after it rebuilds them.
    layer = layers.Conv2D(3, 3, padding="same", activation="relu")
    x = _x((9, 6, 5, c))
    whole = layer(x)
    monkeypatch.setattr(conv, "INFERENCE_CHUNK_BYTES", 200)          # a sample or two each
    np.testing.assert_allclose(layer(x), whole, rtol=1e-12, atol=1e-12)
    dout = _x(whole.shape, seed=1)
    dx = layer.backward(dout)
    dz = dout * (whole > 0)
    dx_ref, dw_ref, db_ref = conv.conv2d_backward_naive(x, layer.kernel, dz, layer.strides,
                                                        "same", layer.dilation_rate)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["kernel"], dw_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["bias"], db_ref, rtol=1e-12, atol=1e-12)
