"""Optimizer steps, scratchnn vs Keras: every optimizer and every base option (weight_decay,
clipnorm, global_clipnorm, clipvalue) over 100 steps of random gradients on several shapes,
float32 and float64. They agree BIT FOR BIT (assert_array_equal, no tolerance): the same
operations in the same order and dtype, with Keras's casts of the hyper-parameters, and
the norms summed in TensorFlow's order (scratchnn.optimizers.clipping.tf_sum)."""

import keras
import numpy as np
import pytest

import scratchnn as snn

O, K = snn.optimizers, keras.optimizers


def pair(name, *args, **kwargs):
    """(scratchnn maker, Keras maker) with the same class name and arguments."""
    return (lambda: getattr(O, name)(*args, **kwargs), lambda: getattr(K, name)(*args, **kwargs))


CONFIGS = {
    "sgd": pair("SGD", 0.05),
    "sgd_momentum": pair("SGD", 0.05, momentum=0.9),
    "sgd_nesterov": pair("SGD", 0.05, momentum=0.8, nesterov=True),
    "adam": pair("Adam", 0.01),
    "adam_custom": pair("Adam", 0.003, beta_1=0.8, beta_2=0.99, epsilon=1e-5),
    "adam_amsgrad": pair("Adam", 0.01, amsgrad=True),
    "rmsprop": pair("RMSprop", 0.01),
    "rmsprop_centered_momentum": pair("RMSprop", 0.01, rho=0.8, momentum=0.5, centered=True),
    "adagrad": pair("Adagrad", 0.05),
    "adagrad_custom": pair("Adagrad", 0.1, initial_accumulator_value=0.0, epsilon=1e-4),
    "adamax": pair("Adamax", 0.01),
    "adamax_custom": pair("Adamax", 0.02, beta_1=0.7, beta_2=0.95, epsilon=1e-5),
    "nadam": pair("Nadam", 0.01),
    "nadam_custom": pair("Nadam", 0.004, beta_1=0.85, beta_2=0.98, epsilon=1e-6),
    "adamw": pair("AdamW", 0.01),
    "adamw_amsgrad_custom": pair("AdamW", 0.02, weight_decay=0.1, amsgrad=True, beta_1=0.8),
    # the base options, on several update rules
    "sgd_weight_decay": pair("SGD", 0.05, momentum=0.9, weight_decay=0.01),
    "rmsprop_weight_decay": pair("RMSprop", 0.01, weight_decay=0.05),
    "adagrad_weight_decay": pair("Adagrad", 0.05, weight_decay=0.3),
    "nadam_weight_decay": pair("Nadam", 0.01, weight_decay=0.02),
    "sgd_clipnorm": pair("SGD", 0.05, clipnorm=1.0),
    "adam_clipnorm": pair("Adam", 0.01, clipnorm=0.3),
    "adamax_clipnorm": pair("Adamax", 0.01, clipnorm=0.7),
    "nadam_clipnorm_weight_decay": pair("Nadam", 0.01, clipnorm=0.5, weight_decay=0.01),
    "sgd_global_clipnorm": pair("SGD", 0.05, momentum=0.5, global_clipnorm=1.0),
    "adam_global_clipnorm": pair("Adam", 0.01, global_clipnorm=3.0),
    "adagrad_global_clipnorm": pair("Adagrad", 0.05, global_clipnorm=0.3),
    "rmsprop_clipvalue": pair("RMSprop", 0.01, clipvalue=0.1),
    "adamw_clipvalue": pair("AdamW", 0.01, clipvalue=0.05),
    "adamax_clipvalue_weight_decay": pair("Adamax", 0.01, clipvalue=0.2, weight_decay=0.1),
}

SHAPES = [(7, 5), (5,), (3, 3, 2, 4), (1,)]
# 300 * 400 = 120,000 values: TensorFlow sums a norm this long with Eigen's tree, across
# threads where it has more than one; the clipped runs check that order too.
LONG_SHAPES = [(300, 400), (400,), (2, 3)]


def run_both(ours, theirs, shapes, precision, steps=100, seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=s).astype(precision) for s in shapes]
    variables = [keras.Variable(p.copy(), dtype=precision) for p in params]
    for step in range(steps):
        # entries spanning many magnitudes (tiny ones where epsilon matters), and a scale per
        # step so that norms fall on both sides of the clipping thresholds
        scale = 10.0 ** rng.uniform(-2, 1)
        grads = [(rng.normal(size=s) * scale * 10.0 ** rng.integers(-9, 1, size=s))
                 .astype(precision) for s in shapes]
        if step == 50:
            ours.learning_rate = theirs.learning_rate = 0.002     # assignable mid-run
        ours.apply(grads, params)
        theirs.apply_gradients(zip(grads, variables))
    return params, variables


def assert_same_state(ours, theirs, params, variables):
    for i, (p, v) in enumerate(zip(params, variables)):
        np.testing.assert_array_equal(p, v.numpy(), err_msg=f"weight {i}")
    assert ours.iterations == int(theirs.iterations)
    ours_vars, theirs_vars = ours.variables, [np.asarray(v) for v in theirs.variables]
    assert len(ours_vars) == len(theirs_vars)
    for i, (a, b) in enumerate(zip(ours_vars, theirs_vars)):
        np.testing.assert_array_equal(a, b, err_msg=f"optimizer variable {i}")


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_hundred_steps_are_bit_exact_with_keras(name, precision):
    make_ours, make_theirs = CONFIGS[name]
    ours, theirs = make_ours(), make_theirs()
    params, variables = run_both(ours, theirs, SHAPES, precision)
    assert_same_state(ours, theirs, params, variables)
    assert ours.iterations == 100


@pytest.mark.parametrize("name", ["sgd_clipnorm", "adam_global_clipnorm", "adamw"])
def test_long_weights_are_bit_exact_with_keras(name, precision):
    """Norms of 120,000 values: Eigen's tree reduction and its split across threads."""
    make_ours, make_theirs = CONFIGS[name]
    ours, theirs = make_ours(), make_theirs()
    params, variables = run_both(ours, theirs, LONG_SHAPES, precision, steps=20)
    assert_same_state(ours, theirs, params, variables)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_the_flat_step_fit_takes_is_keras_too(name):
    """apply_flat (what fit calls) gives Keras's bits as apply does."""
    make_ours, make_theirs = CONFIGS[name]
    ours, theirs = make_ours(), make_theirs()
    rng = np.random.default_rng(1)
    params = [rng.normal(size=s).astype("float32") for s in SHAPES]
    flat = np.concatenate([p.ravel() for p in params])
    variables = [keras.Variable(p, dtype="float32") for p in params]
    for _ in range(30):
        grads = [(rng.normal(size=s) * 10.0 ** rng.uniform(-2, 1)).astype("float32")
                 for s in SHAPES]
        ours.apply_flat(np.concatenate([g.ravel() for g in grads]), flat, SHAPES)
        theirs.apply_gradients(zip(grads, variables))
    np.testing.assert_array_equal(flat, np.concatenate([v.numpy().ravel() for v in variables]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_tf_sum_is_tensorflows_reduce_sum_bit_for_bit(dtype):
    """clipping.tf_sum against tf.reduce_sum itself: short sums (packets), trees (over 8,192
    float32 / 4,096 float64 values) and sums TensorFlow splits across its threads."""
    import tensorflow as tf

    from scratchnn.optimizers.clipping import tf_sum

    rng = np.random.default_rng(0)
    for n in [*range(1, 70), 4095, 4097, 8191, 8193, 54_195, 108_389, 250_001, 1_000_003]:
        x = (rng.normal(size=n) * 10.0 ** rng.integers(-4, 4, size=n)).astype(dtype)
        assert tf_sum(x) == tf.reduce_sum(x).numpy(), n
