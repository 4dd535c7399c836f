"""Metrics: Keras's "accuracy" resolution from shapes, weighted running means."""

import numpy as np
import pytest

from scratchnn import metrics as M


@pytest.mark.parametrize("y_shape, p_shape, expected", [
    ((8,), (8, 1), M.BinaryAccuracy),                 # last dim 1 -> binary
    ((8, 1), (8, 1), M.BinaryAccuracy),
    ((8,), (8, 10), M.SparseCategoricalAccuracy),     # labels of lower rank -> sparse
    ((8, 1), (8, 10), M.SparseCategoricalAccuracy),   # last dim 1 vs > 1 -> sparse
    ((8, 10), (8, 10), M.CategoricalAccuracy),        # else categorical
])
def test_accuracy_is_resolved_from_shapes(y_shape, p_shape, expected):
    metric = M.resolve("accuracy", np.zeros(y_shape), np.zeros(p_shape))
    assert type(metric) is expected and metric.name == "accuracy"
    assert M.resolve("acc", np.zeros(y_shape), np.zeros(p_shape)).name == "acc"


def test_binary_accuracy_threshold_is_strict():
    m = M.BinaryAccuracy()
    m.update_state(np.array([1, 0, 1]), np.array([[0.5], [0.5], [0.51]]))
    assert m.result() == pytest.approx(2 / 3)     # 0.5 is predicted 0


def test_categorical_accuracy_ties_go_to_the_first_index():
    m = M.CategoricalAccuracy()
    m.update_state(np.array([[1, 0], [0, 1]]), np.array([[0.5, 0.5], [0.5, 0.5]]))
    assert m.result() == 0.5


def test_results_are_weighted_means_accumulated_across_batches():
    m = M.SparseCategoricalAccuracy()
    m.update_state(np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]]), sample_weight=[1, 3])
    assert m.result() == pytest.approx(0.25)
    m.update_state(np.array([[1]]), np.array([[0.1, 0.9]]))
    assert m.result() == pytest.approx(2 / 5)
    m.reset_state()
    assert m.result() == 0


def test_mean_weights_values():
    m = M.Mean()
    m.update_state(2.0, sample_weight=32)
    m.update_state(1.0, sample_weight=6)
    assert m.result() == pytest.approx((64 + 6) / 38)


def test_mae_metric_name_follows_the_string_given():
    metric = M.resolve("mae", np.zeros((4, 1)), np.zeros((4, 1)))
    assert isinstance(metric, M.MeanAbsoluteError) and metric.name == "mae"
    metric.update_state(np.array([1.0, 2.0]), np.array([[1.5], [1.0]]))
    assert metric.result() == pytest.approx(0.75)


def test_unknown_metric_is_refused():
    with pytest.raises(ValueError, match="Unknown metric 'f1ish'"):
        M.resolve("f1ish", np.zeros(2), np.zeros(2))
