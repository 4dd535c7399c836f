"""Losses: values Keras 3.15.1 reports (measured, hard-coded here), Keras's shape and
reduction rules, the logits path, and every gradient against finite differences."""

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import losses as L
from scratchnn.gradcheck import numerical_gradient, relative_error

F32 = np.float32
Y4 = np.array([0.0, 1.0, 1.0, 0.0])
P4 = np.array([[0.6], [0.3], [0.9], [0.2]], F32)
YT = np.array([[1, 0, 0], [0, 1, 0]], F32)
PP = np.array([[0.2, 0.2, 0.1], [0.1, 0.8, 0.1]], F32)     # first row does not sum to 1
ZZ = np.array([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]], F32)


# -- values measured with keras 3.15.1 ------------------------------------------------
@pytest.mark.parametrize("loss, args, expected", [
    (L.BinaryCrossentropy(), (Y4, P4), 0.612191915512085),
    (L.BinaryCrossentropy(label_smoothing=0.2), (Y4, P4), 0.6704608201980591),
    (L.CategoricalCrossentropy(), (YT, PP), 0.5697171092033386),
    (L.CategoricalCrossentropy(label_smoothing=0.1), (YT, PP), 0.6505842804908752),
    (L.CategoricalCrossentropy(from_logits=True), (YT, ZZ), 0.14814826846122742),
    (L.SparseCategoricalCrossentropy(), (np.array([0, 1]), PP), 0.5697171688079834),
    (L.SparseCategoricalCrossentropy(from_logits=True, reduction="sum"), (np.array([0, 1]), ZZ),
     0.29629653692245483),
    (L.MeanSquaredError(), (np.array([1.0, 2.0, 3.0]), np.array([[1.5], [2.0], [2.0]], F32)),
     0.4166666567325592),
], ids=["bce", "bce_smoothing", "cce_normalises_first", "cce_smoothing", "cce_logits", "scce",
        "scce_logits_sum", "mse_rank_rule"])
def test_values_match_keras(loss, args, expected):
    assert loss(*args) == pytest.approx(expected, rel=1e-6)


def test_bce_of_labels_n_against_predictions_n1_is_per_sample_not_an_n_by_n_matrix():
    # NumPy broadcasting of (4,) against (4, 1) would average a 4x4 matrix instead.
    assert L.BinaryCrossentropy()(Y4, P4) == pytest.approx(0.612191915512085, rel=1e-6)
    broadcast = -(Y4 * np.log(P4) + (1 - Y4) * np.log(1 - P4)).mean()
    assert broadcast != pytest.approx(0.612191915512085, rel=1e-3)


def test_sample_weight_divides_by_the_number_of_samples_not_the_weight_sum():
    w = np.array([1.0, 2.0, 0.0, 0.5])
    assert L.BinaryCrossentropy()(Y4, P4, sample_weight=w) == pytest.approx(0.8589520454406738,
                                                                           rel=1e-6)
    y, p, w2 = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.5, 2.0], [2.0, 5.0]], F32), [2., 1.]
    assert L.MeanAbsoluteError()(y, p, sample_weight=w2) == pytest.approx(0.75)
    assert L.MeanAbsoluteError(reduction="mean_with_sample_weight")(y, p, sample_weight=w2) == \
        pytest.approx(0.5)


def test_probabilities_are_clipped_to_epsilon_in_float32():
    # p = 0 for a positive label costs -log(1e-7) = 16.118, not infinity (Keras: 16.030 for
    # BCE, where the mean also takes -log(1 - 0.99999988) for the other sample).
    assert L.BinaryCrossentropy()(np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]], F32)) == \
        pytest.approx(16.03023910522461, rel=1e-6)
    assert L.SparseCategoricalCrossentropy()(np.array([2]), np.array([[0.5, 0.5, 0.0]], F32)) == \
        pytest.approx(16.11809539794922, rel=1e-6)


def test_reduction_none_returns_the_per_sample_vector():
    out = L.SparseCategoricalCrossentropy(reduction=None)(np.array([[0], [1]]), PP)
    np.testing.assert_allclose(out, [0.91629076, 0.22314355], rtol=1e-6)


def test_saturated_softmax_costs_its_true_value_through_the_logits_path():
    # Keras reports 50.0 for logits [0, 50] with label 0; clipped probabilities give 16.118.
    model = snn.Sequential([snn.Input((1,)), snn.layers.Dense(2, activation="softmax")])
    model.set_weights([np.zeros((1, 2)), np.array([0.0, 50.0])])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert model.evaluate(np.ones((4, 1)), np.zeros(4), verbose=0) == pytest.approx(50.0)
    assert L.SparseCategoricalCrossentropy()(np.zeros(4), model.predict(np.ones((4, 1)), verbose=0)) \
        == pytest.approx(16.118095, rel=1e-6)
    _, grads = model.compute_gradients(np.ones((4, 1)), np.zeros(4))
    np.testing.assert_allclose(grads[1], [-1.0, 1.0], atol=1e-6)   # p - y, not zero


def test_softmax_output_with_binary_crossentropy_uses_sigmoid_crossentropy_of_the_logits():
    # A Keras quirk reproduced on purpose: any crossentropy takes the carried logits.
    model = snn.Sequential([snn.Input((3,)), snn.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    x = np.random.default_rng(0).random((4, 3))
    y = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], F32)
    z = x.astype(F32) @ model.weights[0] + model.weights[1]
    expected = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-6)


def test_mismatched_shapes_raise_instead_of_broadcasting():
    with pytest.raises(ValueError, match=r"BinaryCrossentropy expects .* y_true \(4, 3\)"):
        L.BinaryCrossentropy()(np.zeros((4, 3)), np.zeros((4, 1), F32))
    with pytest.raises(ValueError, match="labels must be in"):
        L.SparseCategoricalCrossentropy()(np.array([0, 3]), PP)
    with pytest.raises(ValueError, match="sample_weight"):
        L.MeanSquaredError()(np.zeros((4, 1)), np.zeros((4, 1), F32), sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="reduction"):
        L.MeanSquaredError(reduction="average")


def test_get_resolves_keras_names_and_functions():
    assert isinstance(L.get("binary_crossentropy"), L.BinaryCrossentropy)
    assert isinstance(L.get("mae"), L.MeanAbsoluteError)
    assert isinstance(L.get("CategoricalCrossentropy"), L.CategoricalCrossentropy)
    assert isinstance(L.get(L.sparse_categorical_crossentropy), L.SparseCategoricalCrossentropy)
    with pytest.raises(ValueError, match="Unknown loss"):
        L.get("hinge_of_doom")


# -- gradients against finite differences, float64 ------------------------------------
def _cases():
    r = np.random.default_rng(3)
    p_bin = r.uniform(0.05, 0.95, size=(5, 3))
    y_bin = (r.random((5, 3)) > 0.5).astype(float)
    p_cat = r.uniform(0.05, 1.0, size=(5, 4))                   # not normalised on purpose
    y_cat = np.eye(4)[r.integers(0, 4, 5)]
    labels = r.integers(0, 4, 5)
    z = r.normal(size=(5, 4))
    y_reg = r.normal(size=(5, 2))
    p_reg = y_reg + r.uniform(0.1, 1.0, size=(5, 2)) * r.choice([-1, 1], size=(5, 2))
    w = r.uniform(0.1, 2.0, size=5)
    return [
        ("bce_probs", L.BinaryCrossentropy(), y_bin, p_bin, None),
        ("bce_logits", L.BinaryCrossentropy(from_logits=True), y_bin, z[:, :3], None),
        ("bce_smoothing_weighted", L.BinaryCrossentropy(label_smoothing=0.1), y_bin, p_bin, w),
        ("cce_probs", L.CategoricalCrossentropy(), y_cat, p_cat, None),
        ("cce_logits", L.CategoricalCrossentropy(from_logits=True), y_cat, z, w),
        ("cce_smoothing", L.CategoricalCrossentropy(label_smoothing=0.2), y_cat, p_cat, None),
        ("cce_logits_smoothing", L.CategoricalCrossentropy(True, 0.2), y_cat, z, None),
        ("scce_probs", L.SparseCategoricalCrossentropy(), labels, p_cat, w),
        ("scce_logits", L.SparseCategoricalCrossentropy(from_logits=True), labels, z, None),
        ("mse", L.MeanSquaredError(), y_reg, p_reg, w),
        ("mae", L.MeanAbsoluteError(), y_reg, p_reg, None),
        ("mse_sum", L.MeanSquaredError(reduction="sum"), y_reg, p_reg, w),
        ("mae_mean_with_sample_weight", L.MeanAbsoluteError(reduction="mean_with_sample_weight"),
         y_reg, p_reg, w),
        ("bce_none", L.BinaryCrossentropy(reduction=None), y_bin, p_bin, w),
    ]


@pytest.mark.parametrize("name, loss, y, p, w", _cases(), ids=[c[0] for c in _cases()])
def test_gradient_matches_finite_differences(name, loss, y, p, w, float64):
    p = p.copy()
    _, analytic = loss.value_and_grad(y, p, sample_weight=w)
    numeric = numerical_gradient(lambda: float(np.sum(loss(y, p, sample_weight=w))), p)
    assert relative_error(analytic, numeric) < 1e-7


@pytest.mark.parametrize("loss_cls, activation, y", [
    (L.CategoricalCrossentropy, snn.activations.softmax, np.eye(4)[[0, 2, 1, 3, 3]]),
    (L.SparseCategoricalCrossentropy, snn.activations.softmax, np.array([0, 2, 1, 3, 3])),
    (L.BinaryCrossentropy, snn.activations.sigmoid, (np.arange(20).reshape(5, 4) % 3 == 0) * 1.0),
])
def test_fused_logits_gradient_equals_the_chain_rule_through_the_activation(
        loss_cls, activation, y, float64):
    z = np.random.default_rng(0).normal(size=(5, 4))
    loss = loss_cls()
    _, fused = loss.value_and_grad(y, activation(z), logits=z)
    numeric = numerical_gradient(lambda: loss.value_and_grad(
        y, activation(z), logits=z, need_grad=False)[0], z)
    assert relative_error(fused, numeric) < 1e-7
    # ... and p - y itself, for the one-hot softmax case
    if loss_cls is L.CategoricalCrossentropy:
        np.testing.assert_allclose(fused, (activation(z) - y) / len(z), atol=1e-15)
