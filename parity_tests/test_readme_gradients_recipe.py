"""The README's recipe for checking a model's gradients against TensorFlow works as
written, for a model with Dropout too.

In training mode (compute_gradients' default, and fit's) every Dropout draws a random
mask. The two engines draw different masks, so without help the recipe compares two
different functions: 40-120% differences on T4's CNN (measured). `keras_gradients(...,
masks_from=model)` makes the Keras twin apply the masks scratchnn drew. These tests run
the README's own code block, unchanged, so the README cannot drift from what works."""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import scratchnn as snn
from tf_reference import InjectedDropout, keras_gradients, to_keras

from .helpers import assert_grads_close, weight_names

L = snn.layers
README = Path(__file__).resolve().parents[1] / "README.md"


def readme_recipe() -> str:
    """The README's one ```python block that calls keras_gradients."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    recipes = [block for block in blocks if "keras_gradients(" in block]
    assert len(recipes) == 1, "README.md must show one python block calling keras_gradients"
    return recipes[0]


def run_readme_recipe(model, x, y) -> dict:
    """Execute the README's recipe with `model`, `x`, `y` defined; its variables."""
    namespace = {"model": model, "x": x, "y": y}
    exec(compile(readme_recipe(), "README.md (gradients recipe)", "exec"), namespace)
    return namespace


def t4_cnn() -> snn.Sequential:
    """T4's CNN, Dropout(0.5) before its classifier."""
    model = snn.Sequential([
        snn.Input((28, 28, 1)), L.Conv2D(32, 5, activation="relu"), L.MaxPooling2D(),
        L.Conv2D(32, 4, activation="relu", padding="same"), L.MaxPooling2D(),
        L.Conv2D(32, 3, activation="relu"), L.Flatten(), L.Dropout(0.5), L.Dense(10),
        L.Activation("softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def dense_with_two_dropouts() -> snn.Sequential:
    """Rates whose reciprocal is not a float32 number, and a noise_shape mask."""
    model = snn.Sequential([
        snn.Input((6,)), L.Dense(12, activation="tanh"), L.Dropout(0.3),
        L.Dense(8, activation="relu"), L.Dropout(0.25, noise_shape=(None, 1)),
        L.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def largest_relative_difference(ours: list, theirs: list) -> float:
    return max(float(np.abs(a - b).max() / np.abs(b).max()) for a, b in zip(ours, theirs))


def test_the_readme_recipe_gives_kerass_gradients_for_t4s_cnn_with_dropout():
    model = t4_cnn()
    rng = np.random.default_rng(0)
    # random images, not Fashion-MNIST's flat regions: there, pooled values equal in exact
    # arithmetic may pick different winners in the two engines (see test_gradients.py)
    x = rng.random((16, 28, 28, 1)).astype("float32")
    y = np.eye(10)[rng.integers(0, 10, 16)]
    result = run_readme_recipe(model, x, y)
    assert result["loss"] == pytest.approx(result["keras_loss"], rel=1e-5)
    assert_grads_close(result["grads"], result["keras_grads"], weight_names(model))


def test_the_readme_recipe_in_float64_agrees_to_rounding(float64):
    """Dropout(0.3): TensorFlow's dropout converts the Python float 1/(1 - rate) straight
    to float64 (not through float32), as scratchnn does; the masks broadcast as Keras's
    noise_shape does."""
    model = dense_with_two_dropouts()
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(20, 6)), rng.integers(0, 3, 20)
    result = run_readme_recipe(model, x, y)
    assert result["loss"] == pytest.approx(result["keras_loss"], rel=1e-12)
    assert_grads_close(result["grads"], result["keras_grads"], weight_names(model), "float64")


def test_without_masks_from_keras_draws_its_own_masks_and_says_so():
    """The trap the recipe avoids: Keras's Dropout draws other masks; O(1) differences."""
    model = t4_cnn()
    rng = np.random.default_rng(2)
    x = rng.random((16, 28, 28, 1)).astype("float32")
    y = np.eye(10)[rng.integers(0, 10, 16)]
    twin = to_keras(model)
    _, grads = model.compute_gradients(x, y)
    with pytest.warns(UserWarning, match=r"Dropout layer\(s\) \['dropout'\].*masks_from"):
        _, keras_grads = keras_gradients(twin, x, y)
    assert largest_relative_difference(grads, keras_grads) > 0.1


def test_in_inference_mode_no_mask_is_needed_and_nothing_warns(recwarn):
    model = t4_cnn()
    rng = np.random.default_rng(3)
    x = rng.random((8, 28, 28, 1)).astype("float32")
    y = np.eye(10)[rng.integers(0, 10, 8)]
    twin = to_keras(model)
    _, grads = model.compute_gradients(x, y, training=False)
    _, keras_grads = keras_gradients(twin, x, y, training=False)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]
    assert_grads_close(grads, keras_grads, weight_names(model))


def test_masks_from_leaves_the_twins_dropout_as_it_was():
    """The injected masks hold for that one call: afterwards Keras's Dropout draws again."""
    model = dense_with_two_dropouts()
    twin = to_keras(model)
    x, y = np.ones((4, 6), "float32"), np.zeros(4, int)
    model.compute_gradients(x, y)
    keras_gradients(twin, x, y, masks_from=model)
    assert "call" not in vars(twin.get_layer("dropout"))
    assert type(twin.get_layer("dropout")).call is keras.layers.Dropout.call


def test_kerass_dropout_and_injected_dropout_scale_by_the_float64_reciprocal(float64):
    """Keras 3.15 / TF 2.21 fact: a float64 Dropout(0.3) keeps survivors times
    float64(1/0.7) = 1.4285714285714286, not float32(1/0.7) = 1.4285714626312256."""
    ones = np.ones((200, 5))
    kept = keras.layers.Dropout(0.3)(tf.constant(ones), training=True).numpy()
    assert set(np.unique(kept)) == {0.0, 1 / 0.7}
    mask = np.random.default_rng(4).random((200, 5)) >= 0.3
    injected = InjectedDropout(0.3, [mask])
    injected.keep.assign(mask)
    np.testing.assert_array_equal(injected(tf.constant(ones), training=True).numpy(),
                                  np.where(mask, 1 / 0.7, 0.0))
