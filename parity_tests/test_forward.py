"""Forward passes and loss values: scratchnn vs Keras, float32 (rtol 1e-5) and float64
(rtol 1e-10), for every layer type, activation and loss mode."""

import keras
import numpy as np
import pytest

import scratchnn as snn
from tf_reference import from_keras, to_keras

from .helpers import forward_tol

L = snn.layers

LAYER_CASES = {
    "dense_linear": ((6,), lambda: [L.Dense(5)]),
    "dense_relu": ((6,), lambda: [L.Dense(5, activation="relu")]),
    "dense_sigmoid": ((6,), lambda: [L.Dense(5, activation="sigmoid")]),
    "dense_tanh": ((6,), lambda: [L.Dense(5, activation="tanh")]),
    "dense_softmax": ((6,), lambda: [L.Dense(5, activation="softmax")]),
    "dense_no_bias": ((6,), lambda: [L.Dense(5, use_bias=False)]),
    "flatten_dense": ((4, 3), lambda: [L.Flatten(), L.Dense(3)]),
    "activation_layers": ((6,), lambda: [L.Dense(4), L.Activation("tanh"), L.Activation("softmax")]),
    "dropout_inference": ((6,), lambda: [L.Dense(4), L.Dropout(0.5)]),
    "conv_valid": ((9, 9, 2), lambda: [L.Conv2D(3, 3)]),
    "conv_same_even": ((9, 8, 2), lambda: [L.Conv2D(3, 4, padding="same", activation="relu")]),
    "conv_strided_same": ((11, 11, 1), lambda: [L.Conv2D(2, 4, strides=2, padding="same")]),
    "conv_rect": ((10, 7, 3), lambda: [L.Conv2D(4, (3, 2), strides=(3, 1))]),
    "conv_dilated": ((10, 10, 2), lambda: [L.Conv2D(2, 3, dilation_rate=2, padding="same")]),
    "pool_default": ((7, 7, 2), lambda: [L.MaxPooling2D()]),
    "pool_overlap_same": ((7, 8, 2), lambda: [L.MaxPooling2D(3, strides=2, padding="same")]),
    "pool_rect": ((9, 7, 1), lambda: [L.MaxPooling2D((2, 3), strides=(1, 2))]),
}


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_layer_forward_matches_keras(case, precision):
    shape, make = LAYER_CASES[case]
    model = snn.Sequential([snn.Input(shape), *make()])
    twin = to_keras(model)
    x = np.random.default_rng(1).normal(size=(5, *shape)).astype(precision)
    np.testing.assert_allclose(model.predict(x, verbose=0), twin.predict(x, verbose=0),
                               **forward_tol(precision))


def test_from_keras_reproduces_a_keras_models_predictions():
    km = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                           keras.layers.MaxPooling2D(), keras.layers.Flatten(),
                           keras.layers.Dropout(0.2), keras.layers.Dense(10),
                           keras.layers.Activation("softmax")])
    model = from_keras(km)
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), km.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)
    assert [layer.name for layer in model.layers] == [layer.name for layer in km.layers]


def _loss_inputs(kind, precision, rng):
    n = 6
    if kind == "binary":
        return (rng.random((n, 1)) > 0.5).astype(precision), rng.uniform(0.01, 0.99, (n, 1))
    if kind == "binary_rank1_labels":
        return (rng.random(n) > 0.5).astype(precision), rng.uniform(0.01, 0.99, (n, 1))
    if kind == "multi_label":
        return (rng.random((n, 3)) > 0.5).astype(precision), rng.uniform(0.01, 0.99, (n, 3))
    if kind == "onehot":
        return np.eye(4)[rng.integers(0, 4, n)], rng.dirichlet(np.ones(4), n)
    if kind == "sparse":
        return rng.integers(0, 4, n), rng.dirichlet(np.ones(4), n)
    if kind == "sparse_n1":
        return rng.integers(0, 4, (n, 1)), rng.dirichlet(np.ones(4), n)
    if kind == "logits_onehot":
        return np.eye(4)[rng.integers(0, 4, n)], rng.normal(size=(n, 4)) * 3
    if kind == "logits_sparse":
        return rng.integers(0, 4, n), rng.normal(size=(n, 4)) * 3
    if kind == "logits_binary":
        return (rng.random((n, 2)) > 0.5) * 1.0, rng.normal(size=(n, 2)) * 3
    if kind == "saturated":
        return np.eye(4)[rng.integers(0, 4, n)], np.eye(4)[rng.integers(0, 4, n)]
    return rng.normal(size=(n, 2)), rng.normal(size=(n, 2))     # regression


LOSS_CASES = [
    ("BinaryCrossentropy", {}, "binary"), ("BinaryCrossentropy", {}, "binary_rank1_labels"),
    ("BinaryCrossentropy", {}, "multi_label"),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, "multi_label"),
    ("BinaryCrossentropy", {"from_logits": True}, "logits_binary"),
    ("CategoricalCrossentropy", {}, "onehot"), ("CategoricalCrossentropy", {}, "saturated"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2}, "onehot"),
    ("CategoricalCrossentropy", {"from_logits": True}, "logits_onehot"),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "logits_onehot"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("SparseCategoricalCrossentropy", {}, "sparse_n1"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "logits_sparse"),
    ("MeanSquaredError", {}, "regression"), ("MeanAbsoluteError", {}, "regression"),
]


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", None])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("cls, kwargs, kind", LOSS_CASES,
                         ids=[f"{c}-{k}-{'-'.join(kw)}" for c, kw, k in LOSS_CASES])
def test_loss_values_match_keras(cls, kwargs, kind, weighted, reduction, precision):
    rng = np.random.default_rng(4)
    y, p = _loss_inputs(kind, precision, rng)
    p = p.astype(precision)
    w = rng.uniform(0.1, 2, len(p)).astype(precision) if weighted else None
    ours = getattr(snn.losses, cls)(reduction=reduction, **kwargs)(y, p, sample_weight=w)
    theirs = getattr(keras.losses, cls)(reduction=reduction, **kwargs)(y, p, sample_weight=w)
    np.testing.assert_allclose(ours, np.asarray(theirs), **forward_tol(precision))


@pytest.mark.parametrize("output, loss, labels", [
    ("softmax", "categorical_crossentropy", "onehot"),
    ("softmax", "sparse_categorical_crossentropy", "sparse"),
    ("sigmoid", "binary_crossentropy", "binary"),
    ("softmax", "binary_crossentropy", "onehot"),          # Keras's carried-logits quirk
])
def test_evaluate_uses_the_logits_path_like_keras(output, loss, labels, precision):
    n_out = 1 if labels == "binary" else 4
    model = snn.Sequential([snn.Input((3,)), L.Dense(n_out, activation=output)])
    model.compile(optimizer="sgd", loss=loss)
    model.set_weights([w * 40 for w in model.get_weights()])   # saturate the outputs
    twin = to_keras(model)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype(precision)
    y = {"onehot": np.eye(4)[rng.integers(0, 4, 16)], "sparse": rng.integers(0, 4, 16),
         "binary": rng.integers(0, 2, 16).astype(float)}[labels]
    ours, theirs = model.evaluate(x, y, verbose=0), twin.evaluate(x, y, verbose=0)
    assert ours == pytest.approx(theirs, rel=forward_tol(precision)["rtol"])
