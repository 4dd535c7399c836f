"""Training curves of graph models against Keras 3.15.1: a small residual CNN and a model
with two inputs and two outputs, on Fashion-MNIST. As in test_training_curves.py, Keras is
fed scratchnn's initial weights and the batches of every epoch (tf_reference.train_both),
and every History key of every epoch is compared, with the tolerances those tests use.
"""

import numpy as np
import pytest

import scratchnn as snn
from tf_reference import train_both

from .helpers import assert_curves_close
from .tolerances import CURVE_CONV_F32, CURVE_DENSE_F32, CURVE_F64

L = snn.layers


def residual_cnn(batch_norm: bool):
    """stem conv -> conv (-> BatchNormalization) added back to the stem -> relu -> pool ->
    softmax: a residual block as in ResNet, at Fashion-MNIST's size."""
    image = snn.Input((28, 28, 1), name="image")
    stem = L.Conv2D(6, 3, padding="same", activation="relu", name="stem")(image)
    if batch_norm:      # no bias before BatchNormalization (see the test's docstring)
        h = L.BatchNormalization(name="bn")(L.Conv2D(6, 3, padding="same", use_bias=False,
                                                     name="conv")(stem))
    else:
        h = L.Conv2D(6, 3, padding="same", name="conv")(stem)
    block = L.Activation("relu", name="relu")(L.Add(name="skip")([stem, h]))
    pooled = L.MaxPooling2D(name="pool")(block)
    out = L.Dense(10, activation="softmax", name="cls")(L.Flatten(name="flat")(pooled))
    return snn.Model(image, out, name="residual_cnn")


def test_residual_cnn_curve_float32(fashion):
    """500 images, 3 epochs of Adam, shuffled, test-set validation: within the conv curve
    tolerance (1e-3; measured 1.7e-6 at worst, val_loss)."""
    (x, y), (xt, yt) = fashion
    ours, theirs, _, _ = train_both(
        residual_cnn(batch_norm=False), None,
        dict(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]),
        x[:500, ..., None], y[:500], epochs=3, shuffle=True,
        validation_data=(xt[:200, ..., None], yt[:200]))
    assert len(ours["loss"]) == 3
    assert_curves_close(ours, theirs, CURVE_CONV_F32)


def test_residual_cnn_with_batch_normalization_curve_float64(fashion, float64):
    """The same with BatchNormalization after the second conv, in float64 (measured 1.1e-15
    at worst): the same arithmetic.

    Why not float32: BatchNormalization's batch mean and variance sum 32 * 28 * 28 = 25,088
    values per channel, and each engine's float32 sums round their own way. On the first
    batch the normalized outputs already differ from the float64 ones by 9.3e-5
    (scratchnn) and 1.9e-4 (Keras), the gradients from each other by 7e-5 of the largest
    entry (GRAD_F32 allows 2e-6), and over 3 epochs val_loss parted by 1.3e-3 (loss 2.2e-4,
    val_accuracy one image). Also measured: a conv bias before BatchNormalization has a zero
    gradient in exact arithmetic, so in float32 each engine's rounding noise is its
    gradient and Adam turns it into full steps (the bias ended 0.014 apart, val_loss 9e-3);
    the block therefore has no bias there, as ResNet's convs before BatchNormalization."""
    (x, y), (xt, yt) = fashion
    ours, theirs, _, _ = train_both(
        residual_cnn(batch_norm=True), None,
        dict(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]),
        x[:500, ..., None].astype("float64"), y[:500], epochs=3, shuffle=True,
        validation_data=(xt[:200, ..., None].astype("float64"), yt[:200]))
    assert_curves_close(ours, theirs, CURVE_F64)


def two_in_two_out():
    """The image and its 28 column means in; the class (softmax) and "is it footwear"
    (sigmoid) out, from one trunk."""
    image, columns = snn.Input((28, 28), name="image"), snn.Input((28,), name="columns")
    a = L.Dense(32, activation="relu", name="pixels")(L.Flatten(name="flat")(image))
    b = L.Dense(8, activation="relu", name="profile")(columns)
    trunk = L.Dense(32, activation="relu", name="trunk")(L.Concatenate(name="cat")([a, b]))
    kind = L.Dense(10, activation="softmax", name="kind")(trunk)
    footwear = L.Dense(1, activation="sigmoid", name="footwear")(trunk)
    return snn.Model([image, columns], [kind, footwear], name="two_in_two_out")


def _inputs_and_targets(x, y):
    footwear = np.isin(y, [5, 7, 9]).astype(x.dtype)[:, None]     # sandal, sneaker, boot
    return [x, x.mean(axis=1)], [y, footwear]


def test_two_inputs_two_outputs_curve(fashion):
    """2,048 images, 5 epochs of Adam, shuffled, validation on 512 test images,
    loss_weights [1, 0.5]: every key within the dense tolerance (1e-4; measured 1.2e-7 at
    worst, kind_loss and val_loss)."""
    (x, y), (xt, yt) = fashion
    ours, theirs, _, _ = train_both(
        two_in_two_out(), None,
        dict(optimizer="adam", loss=["sparse_categorical_crossentropy", "binary_crossentropy"],
             loss_weights=[1.0, 0.5], metrics=[["accuracy"], ["accuracy"]]),
        *_inputs_and_targets(x[:2048], y[:2048]), epochs=5, shuffle=True,
        validation_data=tuple(_inputs_and_targets(xt[:512], yt[:512])))
    assert sorted(ours) == [
        "footwear_accuracy", "footwear_loss", "kind_accuracy", "kind_loss", "loss",
        "val_footwear_accuracy", "val_footwear_loss", "val_kind_accuracy", "val_kind_loss",
        "val_loss"]
    assert_curves_close(ours, theirs, CURVE_DENSE_F32)
