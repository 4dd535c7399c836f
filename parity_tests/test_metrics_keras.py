"""Metrics against Keras 3.15's metric objects, bit for bit.

The same sequence of update_state calls on a Keras metric and on scratchnn's gives the
same result() (a Python float of the float32, or float64, value) and the same `total`
and `count` bits after every call: every metric class, float32 and float64 floatx, with
and without sample weights of every rank, batches short and long enough that the order
of TensorFlow's sum shows in the last bit."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import scratchnn as snn

M = snn.metrics


def _bits(x) -> bytes:
    return np.asarray(x).tobytes()


def _compare(ours, theirs, calls, case=""):
    """Run `calls` ((args, kwargs) pairs) on both metrics; compare after each call."""
    assert ours.result() == float(theirs.result()) == 0.0
    for step, (args, kwargs) in enumerate(calls):
        i = (case, step)
        ours.update_state(*args, **kwargs)
        theirs.update_state(*args, **kwargs)
        assert np.asarray(ours.total).dtype == theirs.total.numpy().dtype, i
        assert _bits(ours.total) == _bits(theirs.total.numpy()), \
            (i, float(ours.total), float(theirs.total.numpy()))
        assert _bits(ours.count) == _bits(theirs.count.numpy()), \
            (i, float(ours.count), float(theirs.count.numpy()))
        result = ours.result()
        assert type(result) is float
        assert result == float(theirs.result()), (i, result, float(theirs.result()))
    ours.reset_state()
    theirs.reset_state()
    assert ours.result() == float(theirs.result()) == 0.0


# 32+ float32 values: Eigen sums in 4 packet accumulators; past 8192, in a tree of halves
BATCHES = [32, 32, 6, 1, 100, 1000]
LONG_BATCHES = [9000, 20000]


def _weights(rng, n, kind):
    return {"none": None,
            "vector": rng.uniform(0, 2, size=n).astype("float32"),
            "column": rng.uniform(0, 2, size=(n, 1)).astype("float32"),
            "integers": rng.integers(0, 3, size=n),
            "scalar": 0.7}[kind]


def _kw(rng, n, kind):
    w = _weights(rng, n, kind)
    return {} if w is None else {"sample_weight": w}


WEIGHTS = ["none", "vector", "column", "integers", "scalar"]


# -- Mean: fit's loss tracker and plain values ---------------------------------------------
def test_loss_tracker_after_batches_of_32_32_6_is_keras_float32_total():
    """fit updates its Mean 'loss' with the batch's loss and sample_weight = batch size:
    total <- fl32(total + fl32(loss * n)). After 0.7 x 32, 0.3 x 32, 0.1 x 6 Keras holds
    total 32.599998474121094, count 70 and result 0.4657142758369446."""
    ours, theirs = M.Mean(name="loss"), keras.metrics.Mean(name="loss")
    for loss, n in [(0.7, 32), (0.3, 32), (0.1, 6)]:
        ours.update_state(float(np.float32(loss)), sample_weight=n)
        theirs.update_state(tf.constant(loss, tf.float32), sample_weight=tf.constant(n))
    assert float(theirs.total.numpy()) == float(ours.total) == 32.599998474121094
    assert float(theirs.result()) == ours.result() == 0.4657142758369446


def test_loss_tracker_random_losses_and_batch_sizes_bit_for_bit(precision):
    rng = np.random.default_rng(1)
    dtype = np.dtype(precision).type
    ours, theirs = M.Mean(name="loss"), keras.metrics.Mean(name="loss")
    for _ in range(300):
        loss, n = float(dtype(rng.exponential())), int(rng.integers(1, 257))
        ours.update_state(loss, sample_weight=n)
        theirs.update_state(tf.constant(loss, precision), sample_weight=tf.constant(n))
        assert ours.result() == float(theirs.result())
    assert _bits(ours.total) == _bits(theirs.total.numpy())


def test_mean_values_of_any_rank(precision):
    """Keras's reduce_to_samplewise_values: values averaged to one per sample (or to
    the weights' rank: a scalar weight makes the whole batch one value)."""
    rng = np.random.default_rng(2)
    for shape in [(), (1,), (5,), (5, 1), (5, 3), (5, 2, 9)]:
        for weights in WEIGHTS:
            calls = []
            for n in [32, 6, 100]:
                values = rng.normal(size=(n,) + shape[1:]).astype(precision)
                kw = _kw(rng, n, weights) if shape and (weights != "column" or len(shape) > 1) \
                    else {}
                calls.append(((values if shape else values[0],), kw))   # a floatx scalar
            _compare(M.Mean(), keras.metrics.Mean(), calls, (shape, weights))


@pytest.mark.parametrize("weights", ["none", "vector"])
def test_long_batches_sum_in_tensorflow_tree_order(precision, weights):
    rng = np.random.default_rng(11)
    calls = [((rng.normal(size=n).astype(precision),), _kw(rng, n, weights))
             for n in LONG_BATCHES]
    _compare(M.Mean(), keras.metrics.Mean(), calls)
    _compare(M.BinaryAccuracy(), keras.metrics.BinaryAccuracy(),
             _binary_calls(rng, precision, weights, 3, LONG_BATCHES))


def test_a_python_float_is_a_value_of_the_metric_dtype_in_float32():
    """In float32 a Python float is rounded to float32, as Keras's tensor of it."""
    calls = [((0.1,), {}), ((1 / 3,), {"sample_weight": 32}), ((2 / 3,), {"sample_weight": 6})]
    _compare(M.Mean(), keras.metrics.Mean(), calls)


def test_mean_weights_of_the_values_shape_are_averaged_per_sample(precision):
    rng = np.random.default_rng(3)
    calls = [((rng.normal(size=(n, 3, 4)),), {"sample_weight": rng.uniform(size=(n, 3, 4))})
             for n in (7, 40)]
    _compare(M.Mean(), keras.metrics.Mean(), calls)


def test_mean_of_float64_values_in_a_float32_metric_casts_first():
    rng = np.random.default_rng(4)
    calls = [((rng.normal(size=n),), {}) for n in BATCHES]
    _compare(M.Mean(), keras.metrics.Mean(), calls)
    _compare(M.Mean(dtype="float64"), keras.metrics.Mean(dtype="float64"), calls)


def test_zero_weights_give_divide_no_nan_zero():
    calls = [((np.array([1.0, 2.0]),), {"sample_weight": np.zeros(2)})]
    _compare(M.Mean(), keras.metrics.Mean(), calls)


# -- every wrapper class on predictions ------------------------------------------------------
def _binary_calls(rng, precision, weights, width=1, batches=BATCHES):
    calls = []
    for n in batches:
        y = rng.integers(0, 2, size=(n, width)).astype(precision)
        p = rng.uniform(size=(n, width)).astype(precision)
        calls.append(((y, p), _kw(rng, n, weights)))
    return calls


def _class_calls(rng, precision, weights, sparse, classes=10):
    calls = []
    for n in BATCHES:
        labels = rng.integers(0, classes, size=n)
        y = labels if sparse else np.eye(classes, dtype=precision)[labels]
        p = rng.uniform(size=(n, classes)).astype(precision)
        calls.append(((y, p), _kw(rng, n, weights)))
    return calls


def test_binary_accuracy(precision):
    """width 3: per-sample means k/3 that round, so their sum's order matters."""
    rng = np.random.default_rng(12)
    for width in (1, 3):
        for threshold in (0.5, 0.3):
            for weights in WEIGHTS:
                _compare(M.BinaryAccuracy(threshold=threshold),
                         keras.metrics.BinaryAccuracy(threshold=threshold),
                         _binary_calls(rng, precision, weights, width),
                         (width, threshold, weights))


def test_binary_accuracy_threshold_is_a_float32_tensor_even_for_float64_predictions():
    """Keras converts threshold=0.3 to a float32 tensor: float64 predictions are compared
    with float32(0.3) = 0.30000001192..., so 0.3000000001 is NOT above it."""
    p = np.array([[0.3000000001], [float(np.float32(0.3))], [0.30000002]])
    y = np.array([[1], [1], [1]])
    for floatx in ("float32", "float64"):
        snn.config.set_floatx(floatx)
        keras.config.set_floatx(floatx)
        _compare(M.BinaryAccuracy(threshold=0.3), keras.metrics.BinaryAccuracy(threshold=0.3),
                 [((y, p), {})])
        ours = M.BinaryAccuracy(threshold=0.3)
        ours.update_state(y, p)
        assert ours.result() == float(np.float32(1 / 3) if floatx == "float32" else 1 / 3)


def test_categorical_accuracy(precision):
    rng = np.random.default_rng(5)
    for weights in WEIGHTS:
        _compare(M.CategoricalAccuracy(), keras.metrics.CategoricalAccuracy(),
                 _class_calls(rng, precision, weights, sparse=False), weights)


@pytest.mark.parametrize("column", [False, True])
def test_sparse_categorical_accuracy(precision, column):
    rng = np.random.default_rng(6)
    for weights in WEIGHTS:
        calls = _class_calls(rng, precision, weights, sparse=True)
        if column:                                           # labels (N, 1)
            calls = [((y[:, None], p), kw) for (y, p), kw in calls]
        _compare(M.SparseCategoricalAccuracy(), keras.metrics.SparseCategoricalAccuracy(),
                 calls, weights)


@pytest.mark.parametrize("kind", ["MeanAbsoluteError", "MeanSquaredError"])
def test_mae_and_mse(precision, kind):
    """Per-sample values in the predictions' dtype, then the metric's arithmetic.
    Widths of 1 and 3 values: there the per-sample mean over the last axis (computed by
    scratchnn's loss functions) adds left to right in both engines; from one SIMD packet
    on (8 float32 or 4 float64 values) TensorFlow adds in packets and NumPy does not."""
    rng = np.random.default_rng(7)
    for width in (1, 3):
        for weights in WEIGHTS:
            calls = []
            for n in BATCHES:
                y = rng.normal(size=(n, width)).astype(precision)
                p = rng.normal(size=(n, width)).astype(precision)
                calls.append(((y, p), _kw(rng, n, weights)))
            _compare(getattr(M, kind)(), getattr(keras.metrics, kind)(), calls,
                     (width, weights))


def test_mae_of_float64_predictions_in_a_float32_metric():
    """Keras computes |y - p| in float64 (the predictions' type), then casts to float32."""
    rng = np.random.default_rng(8)
    calls = [((rng.normal(size=(n, 2)), rng.normal(size=(n, 2))), {}) for n in (32, 300)]
    _compare(M.MeanAbsoluteError(), keras.metrics.MeanAbsoluteError(), calls)


def test_mean_metric_wrapper_of_a_function(precision):
    def gap(y_true, y_pred):
        return np.abs(np.asarray(y_true) - np.asarray(y_pred))[:, 0] ** 0.5

    rng = np.random.default_rng(9)
    for weights in WEIGHTS:
        _compare(M.MeanMetricWrapper(gap), keras.metrics.MeanMetricWrapper(gap),
                 _binary_calls(rng, precision, weights), weights)


def test_metric_dtype_float64_in_float32_floatx():
    """dtype='float64' keeps a float64 total although the accuracies come as floatx."""
    rng = np.random.default_rng(10)
    _compare(M.BinaryAccuracy(dtype="float64"), keras.metrics.BinaryAccuracy(dtype="float64"),
             _binary_calls(rng, "float32", "vector", 3))


# -- identifiers ----------------------------------------------------------------------------
def test_keras_metric_names_are_keras_metrics_get_names():
    """check_identifier tells 'a Keras metric scratchnn lacks' from 'unknown' with the
    names Keras 3.15's metrics.get knows (ALL_OBJECTS_DICT)."""
    from keras.src.metrics import ALL_OBJECTS_DICT

    assert M.KERAS_METRIC_NAMES == set(ALL_OBJECTS_DICT)


def test_every_supported_name_is_the_same_class_in_keras():
    """'MSE', 'mae', 'BinaryAccuracy', ...: compile(metrics=[name]) makes the same
    metric class in both engines, named `name` (Keras's compile_utils.get_metric)."""
    for name in M._BY_NAME:
        ours = M.resolve(name, np.zeros((4, 1)), np.zeros((4, 1)))
        theirs = keras.metrics.get(name)
        assert type(ours).__name__ == type(theirs).__name__ and ours.name == name, name
