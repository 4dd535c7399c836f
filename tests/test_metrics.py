"""Metrics: Keras's "accuracy" resolution from shapes, weighted running means kept in the
metric's dtype (float32 totals by default, as Keras 3.15), identifiers checked up front."""

import re

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import metrics as M
from scratchnn.optimizers.clipping import tf_sum

f32 = np.float32


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
    assert M.resolve("Accuracy", np.zeros(y_shape), np.zeros(p_shape)).name == "Accuracy"


def test_binary_accuracy_threshold_is_strict():
    m = M.BinaryAccuracy()
    m.update_state(np.array([1, 0, 1]), np.array([[0.5], [0.5], [0.51]]))
    assert m.result() == float(f32(2) / f32(3))     # 0.5 is predicted 0


def test_categorical_accuracy_ties_go_to_the_first_index():
    m = M.CategoricalAccuracy()
    m.update_state(np.array([[1, 0], [0, 1]]), np.array([[0.5, 0.5], [0.5, 0.5]]))
    assert m.result() == 0.5


def test_results_are_weighted_means_accumulated_across_batches():
    m = M.SparseCategoricalAccuracy()
    m.update_state(np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]]), sample_weight=[1, 3])
    assert m.result() == 0.25
    m.update_state(np.array([[1]]), np.array([[0.1, 0.9]]))
    assert m.result() == float(f32(2) / f32(5))
    m.reset_state()
    assert m.result() == 0


# -- float32 totals (Keras's metric variables) ----------------------------------------------
def test_loss_tracker_after_batches_of_32_32_6_keeps_a_float32_total():
    """fit's loss: Mean.update_state(loss, sample_weight=batch size). Keras multiplies and
    adds in float32: total = fl(fl(fl(0.7*32) + fl(0.3*32)) + fl(0.1*6)) = 32.6 (float32),
    result = fl(total / 70) = 0.4657142758369446, not the float64 mean 0.46571428571428575."""
    m = M.Mean(name="loss")
    for loss, n in [(0.7, 32), (0.3, 32), (0.1, 6)]:
        m.update_state(float(f32(loss)), sample_weight=n)
    total = (f32(0.7) * f32(32) + f32(0.3) * f32(32)) + f32(0.1) * f32(6)
    assert m.total.dtype == np.float32 and m.total == total and float(total) == 32.599998474121094
    assert m.count == 70
    assert m.result() == float(total / f32(70)) == 0.4657142758369446
    assert m.result() != (0.7 * 32 + 0.3 * 32 + 0.1 * 6) / 70


def test_result_is_a_python_float_of_the_float32_value():
    m = M.BinaryAccuracy()
    m.update_state(np.array([1, 0, 0]), np.array([[0.9], [0.9], [0.9]]))
    result = m.result()
    assert type(result) is float and result == 0.3333333432674408 == float(f32(1) / f32(3))


def test_float64_floatx_gives_float64_totals(float64):
    m = M.BinaryAccuracy()
    m.update_state(np.array([1, 0, 0]), np.array([[0.9], [0.9], [0.9]]))
    assert m.total.dtype == np.float64 and m.result() == 1 / 3
    tracker = M.Mean()
    tracker.update_state(0.1, sample_weight=3)          # a float64 loss stays float64
    assert tracker.result() == 0.1 * 3 / 3


def test_dtype_is_fixed_when_the_metric_is_made_and_may_be_given():
    m = M.Mean()
    snn.config.set_floatx("float64")
    assert m.dtype == np.float32 and M.Mean().dtype == np.float64
    assert M.BinaryAccuracy(dtype="float32").dtype == np.float32
    snn.config.set_floatx("float32")
    assert M.MeanSquaredError(dtype="float64").dtype == np.float64


@pytest.mark.parametrize("dtype", ["float16", "int32", "bfloat16", "mixed_float16"])
def test_unsupported_dtype_is_refused_by_name(dtype):
    with pytest.raises(ValueError, match=f"BinaryAccuracy 'binary_accuracy': dtype must be "
                                         f"'float32' or 'float64'.*got '{dtype}'"):
        M.BinaryAccuracy(dtype=dtype)


def test_a_batch_sum_is_added_in_tensorflows_order():
    """100 float32 values whose sum has one bit more or less in NumPy's pairwise order
    than in TensorFlow's (Eigen's packets): the metric keeps TensorFlow's."""
    x = np.random.default_rng(2).uniform(size=100).astype(f32)
    assert tf_sum(x) != x.sum()                          # the order shows in this batch
    m = M.Mean()
    m.update_state(x)
    assert m.total == tf_sum(x) and m.count == 100
    assert m.result() == float(tf_sum(x) / f32(100))


@pytest.mark.parametrize("n", [1, 7, 32, 100, 1000, 9000, 20000])
def test_zero_one_values_take_numpys_sum_which_equals_tensorflows_order(n):
    """The cheap path for accuracies: 0/1 values have exact partial sums (below 2**24),
    so NumPy's sum is tf_sum's, per batch and per sample (the loop twin)."""
    x = np.random.default_rng(n).integers(0, 2, size=n).astype(f32)
    assert M._sum(x, exact=True) == tf_sum(x) == M._sum(x, exact=False)
    rows = x[: n // 7 * 7].reshape(-1, 7)
    assert np.array_equal(M._mean_over_axes_from(rows, 1, exact=True),
                          M._mean_over_axes_from(rows, 1, exact=False))


def test_weighted_values_and_weights_are_summed_in_tensorflows_order():
    rng = np.random.default_rng(3)
    x, w = rng.uniform(size=100).astype(f32), rng.uniform(size=100).astype(f32)
    m = M.Mean()
    m.update_state(x, sample_weight=w)
    assert m.total == tf_sum(x * w) and m.count == tf_sum(w)


def test_accuracies_of_several_values_per_sample_average_each_sample_first():
    """Binary accuracy of (N, 3) predictions: per sample k/3 in float32, then summed in
    TensorFlow's order (those k/3 round, so order matters)."""
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, size=(100, 3))
    p = rng.uniform(size=(100, 3)).astype(f32)
    per_sample = ((p > f32(0.5)) == y).sum(axis=1).astype(f32) / f32(3)
    m = M.BinaryAccuracy()
    m.update_state(y, p)
    assert m.total == tf_sum(per_sample) and m.count == 100


def test_a_scalar_weight_makes_the_batch_one_weighted_value():
    """Keras reduces the values to the weights' rank: with a scalar w the batch's mean
    counts once, with weight w (not each value with weight w)."""
    m = M.Mean()
    m.update_state(np.array([1.0, 2.0, 3.0, 6.0]), sample_weight=2.0)
    assert (m.total, m.count) == (6.0, 2.0)
    m.update_state(np.array([0.0]))
    assert m.result() == 2.0                             # (6 + 0) / (2 + 1)


def test_weights_shaped_like_the_values_are_averaged_per_sample():
    m = M.Mean()
    m.update_state(np.array([[1.0, 3.0], [2.0, 2.0]]), sample_weight=[[1.0, 0.0], [1.0, 1.0]])
    # per sample: mean(v * w) = [0.5, 2.0], mean(w) = [0.5, 1.0]
    assert (m.total, m.count) == (2.5, 1.5)


def test_weights_of_the_wrong_shape_are_refused_naming_the_metric():
    with pytest.raises(ValueError, match=r"Mean 'mean': sample_weight of shape \(3,\)"):
        M.Mean().update_state(np.array([[1.0, 2.0]]), sample_weight=[1.0, 2.0, 3.0])


def test_zero_total_weight_gives_zero_as_divide_no_nan():
    m = M.Mean()
    m.update_state(np.array([1.0, 2.0]), sample_weight=np.zeros(2))
    assert m.result() == 0.0


def test_mean_weights_values():
    m = M.Mean()
    m.update_state(2.0, sample_weight=32)
    m.update_state(1.0, sample_weight=6)
    assert m.result() == float(f32(70) / f32(38))


def test_mae_metric_name_follows_the_string_given():
    metric = M.resolve("mae", np.zeros((4, 1)), np.zeros((4, 1)))
    assert isinstance(metric, M.MeanAbsoluteError) and metric.name == "mae"
    metric.update_state(np.array([1.0, 2.0]), np.array([[1.5], [1.0]]))
    assert metric.result() == 0.75


def test_binary_threshold_is_float32_like_keras_tensor():
    """threshold=0.3 becomes float32(0.3) = 0.30000001192...: a float64 prediction of
    0.3000000001 is NOT above it."""
    m = M.BinaryAccuracy(threshold=0.3)
    m.update_state(np.array([[1], [1]]), np.array([[0.3000000001], [0.30000002]]))
    assert m.result() == 0.5


def test_history_of_a_real_fit_holds_float32_means():
    """Epoch loss = the float32 Mean of the batches' losses weighted by batch size
    (70 samples: batches of 32, 32, 6); with a zero learning rate the batches' losses
    are those of the fixed weights."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(70, 3)).astype(f32), rng.normal(size=(70, 1)).astype(f32)
    model = snn.Sequential([snn.Input((3,)), snn.layers.Dense(1)])
    model.compile(optimizer=snn.optimizers.SGD(0.0), loss="mse", metrics=["mae"])
    losses = [model.compute_gradients(x[s:s + 32], y[s:s + 32])[0] for s in (0, 32, 64)]
    total = f32(0)
    for loss, n in zip(losses, (32, 32, 6)):
        total = total + f32(loss) * f32(n)
    history = model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0).history
    assert history["loss"] == [float(total / f32(70))] * 2


# -- identifiers ----------------------------------------------------------------------------
SUPPORTED = ["accuracy", "acc", "ACC", "binary_accuracy", "BinaryAccuracy",
             "categorical_accuracy", "CategoricalAccuracy", "sparse_categorical_accuracy",
             "SparseCategoricalAccuracy", "mae", "MAE", "mean_absolute_error",
             "MeanAbsoluteError", "mse", "MSE", "mean_squared_error", "MeanSquaredError",
             M.BinaryAccuracy(threshold=0.2), M.MeanSquaredError, lambda t, p: abs(t - p)]


@pytest.mark.parametrize("identifier", SUPPORTED)
def test_check_identifier_accepts_what_resolve_resolves(identifier):
    M.check_identifier(identifier)
    metric = M.resolve(identifier, np.zeros((4, 1)), np.zeros((4, 1)))
    assert isinstance(metric, M.Metric)
    if isinstance(identifier, str):
        assert metric.name == identifier                  # the History key, as Keras


def test_resolve_class_names_to_keras_classes():
    assert type(M.resolve("BinaryAccuracy", np.zeros(2), np.zeros(2))) is M.BinaryAccuracy
    assert type(M.resolve("MSE", np.zeros(2), np.zeros(2))) is M.MeanSquaredError
    made = M.resolve(M.CategoricalAccuracy, np.zeros(2), np.zeros(2))
    assert type(made) is M.CategoricalAccuracy and made.name == "categorical_accuracy"


@pytest.mark.parametrize("name", ["AUC", "auc", "Precision", "recall", "f1_score", "r2_score",
                                  "io_u", "MeanIoU", "top_k_categorical_accuracy", "mape",
                                  "BCE", "mean", "Sum", "root_mean_squared_error"])
def test_a_keras_metric_scratchnn_lacks_is_refused_saying_keras_has_it(name):
    for check in (M.check_identifier,
                  lambda n: M.resolve(n, np.zeros((2, 1)), np.zeros((2, 1)))):
        with pytest.raises(ValueError, match=rf"Metric '{name}' is a Keras metric not "
                                             r"supported by scratchnn; scratchnn supports "
                                             r"'accuracy'.*'mae'"):
            check(name)


@pytest.mark.parametrize("name", ["f1ish", "Auc", "accuracy_score", ""])
def test_an_unknown_metric_name_is_refused_as_unknown(name):
    with pytest.raises(ValueError, match=rf"Unknown metric '{name}': neither Keras nor "
                                         r"scratchnn.*'binary_accuracy'"):
        M.check_identifier(name)


@pytest.mark.parametrize("identifier", [None, 3, 0.5, {"class_name": "AUC"}, int])
def test_other_identifiers_are_refused_naming_them(identifier):
    with pytest.raises(ValueError, match=re.escape(f"Unknown metric {identifier!r} (of type")):
        M.check_identifier(identifier)


def test_a_keras_metric_object_is_refused():
    KerasAUC = type("AUC", (), {"__call__": lambda self, t, p: 0.0,
                                "__module__": "keras.src.metrics.confusion_metrics"})
    with pytest.raises(ValueError, match="is a Keras object, not supported by scratchnn"):
        M.check_identifier(KerasAUC())


def test_keras_metric_names_come_from_its_classes_in_snake_case():
    """Keras 3.15's metrics.get: each class name, its to_snake_case form, and aliases."""
    for name in ("AUC", "auc", "IoU", "io_u", "OneHotMeanIoU", "one_hot_mean_io_u",
                 "FBetaScore", "f_beta_score", "KLDivergence", "kl_divergence", "msle"):
        assert name in M.KERAS_METRIC_NAMES
    assert len(M.KERAS_METRIC_NAMES) == 102
