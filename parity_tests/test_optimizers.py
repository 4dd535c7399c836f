"""Optimizer steps: SGD (momentum, Nesterov), Adam (amsgrad) and RMSprop over 100 steps on random
gradients of several shapes, scratchnn vs Keras (float32: 1e-6; float64: 1e-14)."""

import keras
import numpy as np
import pytest

import scratchnn as snn

from .tolerances import OPTIMIZER_F32, OPTIMIZER_F64

CONFIGS = {
    "sgd": (lambda: snn.optimizers.SGD(0.05), lambda: keras.optimizers.SGD(0.05)),
    "sgd_momentum": (lambda: snn.optimizers.SGD(0.05, momentum=0.9),
                     lambda: keras.optimizers.SGD(0.05, momentum=0.9)),
    "sgd_nesterov": (lambda: snn.optimizers.SGD(0.05, momentum=0.8, nesterov=True),
                     lambda: keras.optimizers.SGD(0.05, momentum=0.8, nesterov=True)),
    "adam": (lambda: snn.optimizers.Adam(0.01), lambda: keras.optimizers.Adam(0.01)),
    "adam_custom": (lambda: snn.optimizers.Adam(0.003, beta_1=0.8, beta_2=0.99, epsilon=1e-5),
                    lambda: keras.optimizers.Adam(0.003, beta_1=0.8, beta_2=0.99, epsilon=1e-5)),
    "adam_amsgrad": (lambda: snn.optimizers.Adam(0.01, amsgrad=True),
                     lambda: keras.optimizers.Adam(0.01, amsgrad=True)),
    "rmsprop": (lambda: snn.optimizers.RMSprop(0.01), lambda: keras.optimizers.RMSprop(0.01)),
    "rmsprop_centered_momentum": (
        lambda: snn.optimizers.RMSprop(0.01, rho=0.8, momentum=0.5, centered=True),
        lambda: keras.optimizers.RMSprop(0.01, rho=0.8, momentum=0.5, centered=True)),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_hundred_steps_match_keras(name, precision):
    make_ours, make_theirs = CONFIGS[name]
    ours, theirs = make_ours(), make_theirs()
    rng = np.random.default_rng(0)
    shapes = [(7, 5), (5,), (3, 3, 2, 4)]
    params = [rng.normal(size=s).astype(precision) for s in shapes]
    variables = [keras.Variable(p.copy(), dtype=precision) for p in params]
    for step in range(100):
        # gradients spanning many magnitudes, including tiny ones where Adam's epsilon matters
        grads = [(rng.normal(size=s) * 10.0 ** rng.integers(-9, 1, size=s)).astype(precision)
                 for s in shapes]
        if step == 50:
            ours.learning_rate = theirs.learning_rate = 0.002     # assignable mid-run
        ours.apply(grads, params)
        theirs.apply_gradients(zip(grads, variables))
    tol = OPTIMIZER_F32 if precision == "float32" else OPTIMIZER_F64
    for p, v in zip(params, variables):
        np.testing.assert_allclose(p, v.numpy(), **tol)
    assert ours.iterations == int(theirs.iterations) == 100
