"""Max pooling with overlapping windows: the gradient of an input that wins several windows
is added window by window, in row-major order, as TensorFlow adds it, so the result is
TensorFlow's bit for bit (an offset-by-offset sum was 1 ulp off in about 0.2% of entries)."""

import numpy as np
import pytest
import tensorflow as tf

import scratchnn as snn


@pytest.mark.parametrize("pool, strides, padding", [(3, 2, "same"), (3, 1, "valid"),
                                                    ((3, 2), (1, 2), "same")])
def test_overlapping_max_pool_gradient_is_tensorflows_bit_for_bit(pool, strides, padding):
    r = np.random.default_rng(0)
    # Few distinct values: inputs often win several windows, ties are common.
    x = r.integers(0, 4, (4, 9, 9, 3)).astype("float32")
    layer = snn.layers.MaxPooling2D(pool, strides, padding)
    y = layer(x, training=True)
    dy = r.standard_normal(y.shape).astype("float32")
    layer.forward(x, training=True)
    dx = layer.backward(dy)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        yt = tf.keras.layers.MaxPooling2D(pool, strides, padding)(xt)
    np.testing.assert_array_equal(y, yt.numpy())
    np.testing.assert_array_equal(dx, tape.gradient(yt, xt, output_gradients=tf.constant(dy)).numpy())
