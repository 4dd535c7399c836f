"""Adagrad, Adamax, Nadam, AdamW: Keras 3.15's defaults, names, variables, and the update
rules checked against the formulas written out by hand in Python float64.

In float64 Keras still rounds some constants through float32 (`ops.cast(0.9, "float64")`
is 0.8999999761581421): the hand computations below do the same, where Keras does."""

import math

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import optimizers as O


def f32(x: float) -> float:
    """A Python float as Keras's ops.cast gives it in float64: through float32."""
    return float(np.float32(x))


G = [[0.5, -0.25, 1e-3], [-0.1, 0.8, 2e-3], [0.3, 0.05, -4e-3], [0.0, -1.2, 1e-2]]
W0 = [1.0, -2.0, 0.5]


def run(opt, steps=len(G)):
    """Our optimizer, in float64, over the gradient sequence G."""
    w = np.array(W0, np.float64)
    for g in G[:steps]:
        opt.apply([np.array(g, np.float64)], [w])
    return w


# -- Keras's defaults and names ----------------------------------------------------------------
KERAS_CONFIGS = {      # keras.optimizers.X().get_config(), less the options scratchnn lacks
    O.Adagrad: {"name": "adagrad", "learning_rate": 0.001, "weight_decay": None,
                "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
                "initial_accumulator_value": 0.1, "epsilon": 1e-07},
    O.Adamax: {"name": "adamax", "learning_rate": 0.001, "weight_decay": None, "clipnorm": None,
               "global_clipnorm": None, "clipvalue": None, "beta_1": 0.9, "beta_2": 0.999,
               "epsilon": 1e-07},
    O.Nadam: {"name": "nadam", "learning_rate": 0.001, "weight_decay": None, "clipnorm": None,
              "global_clipnorm": None, "clipvalue": None, "beta_1": 0.9, "beta_2": 0.999,
              "epsilon": 1e-07},
    O.AdamW: {"name": "adam_w", "learning_rate": 0.001, "weight_decay": 0.004, "clipnorm": None,
              "global_clipnorm": None, "clipvalue": None, "beta_1": 0.9, "beta_2": 0.999,
              "epsilon": 1e-07, "amsgrad": False},
}


@pytest.mark.parametrize("cls", list(KERAS_CONFIGS), ids=lambda c: c.__name__)
def test_defaults_names_and_config_keys_are_keras(cls):
    cfg = cls().get_config()
    assert list(cfg) == list(KERAS_CONFIGS[cls])            # Keras's keys, in its order
    assert cfg == pytest.approx(KERAS_CONFIGS[cls])


@pytest.mark.parametrize("cls", [O.SGD, O.Adam, O.RMSprop])
def test_every_optimizer_takes_the_base_options_with_keras_defaults(cls):
    cfg = cls().get_config()
    assert [cfg[k] for k in ("weight_decay", "clipnorm", "global_clipnorm", "clipvalue")] \
        == [None] * 4


@pytest.mark.parametrize("cls", [O.SGD, O.Adam, O.AdamW, O.RMSprop, O.Adagrad, O.Adamax,
                                 O.Nadam])
def test_a_config_rebuilds_the_same_optimizer(cls):
    opt = cls(learning_rate=0.5, clipnorm=2.0, weight_decay=0.25, name="mine")
    assert cls(**opt.get_config()).get_config() == opt.get_config()


# -- variables, in Keras's order -----------------------------------------------------------------
def _shapes_after_one_step(opt):
    w = [np.zeros((2, 3), np.float32), np.zeros(3, np.float32)]
    opt.apply([np.ones_like(x) for x in w], w)
    return [np.shape(v) for v in opt.variables]


def test_adagrad_lists_one_accumulator_per_weight_starting_at_its_initial_value():
    opt = O.Adagrad(initial_accumulator_value=0.25)
    opt.build([np.zeros((2, 3), np.float32), np.zeros(3, np.float32)])
    assert all(np.all(acc == np.float32(0.25)) for acc in opt.accumulators)
    assert _shapes_after_one_step(O.Adagrad()) == [(), (), (2, 3), (3,)]


def test_adamax_interleaves_momentum_and_norm_per_weight():
    assert _shapes_after_one_step(O.Adamax()) == [(), (), (2, 3), (2, 3), (3,), (3,)]


def test_nadam_lists_its_u_product_scalar_last():
    """Keras's Nadam keeps the product of its scheduled momentums in a scalar variable,
    created after the momentums and velocities: optimizer.variables[-1]."""
    opt = O.Nadam()
    assert _shapes_after_one_step(opt) == [(), (), (2, 3), (2, 3), (3,), (3,), ()]
    assert opt.variables[-1] is opt.u_product and opt.variables[-1].dtype == np.float32
    assert float(opt.u_product) == pytest.approx(0.9 * (1 - 0.5 * 0.96))
    assert opt.variables_count() == 2 * (6 + 3) + 1


def test_adamw_lists_adams_variables():
    assert _shapes_after_one_step(O.AdamW()) == _shapes_after_one_step(O.Adam())


# -- the rules, by hand -----------------------------------------------------------------------
def test_adagrad_first_step_by_hand():
    w = np.array([1.0])
    O.Adagrad(0.1, initial_accumulator_value=0.1).apply([np.array([0.5])], [w])
    # acc = 0.1 + 0.25 = 0.35;  w = 1 - 0.1 * 0.5 / sqrt(0.35 + 1e-7)
    assert w[0] == pytest.approx(1 - 0.05 / math.sqrt(0.35 + 1e-7), rel=1e-7)


def test_adagrad_by_hand(float64):
    lr, a0, eps = 0.1, 0.2, 1e-7
    w, acc = list(W0), [f32(a0)] * 3                # Keras's Constant initializer casts
    for g in G:
        for i in range(3):
            acc[i] += g[i] * g[i]
            w[i] -= lr * g[i] / math.sqrt(acc[i] + eps)
    np.testing.assert_allclose(run(O.Adagrad(lr, initial_accumulator_value=a0)), w,
                               rtol=1e-14, atol=0)


def test_adamax_by_hand(float64):
    lr, b1, b2, eps = 0.05, 0.8, 0.95, 1e-7
    w, m, u = list(W0), [0.0] * 3, [0.0] * 3
    for t, g in enumerate(G, start=1):
        for i in range(3):
            m[i] += (g[i] - m[i]) * (1 - b1)
            u[i] = max(b2 * u[i], abs(g[i]))
            w[i] -= lr * m[i] / ((1 - f32(b1) ** t) * (u[i] + eps))
    np.testing.assert_allclose(run(O.Adamax(lr, beta_1=b1, beta_2=b2)), w, rtol=1e-14, atol=0)


def test_nadam_by_hand(float64):
    lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-7
    w, m, v, u_product = list(W0), [0.0] * 3, [0.0] * 3, 1.0
    for t, g in enumerate(G, start=1):
        u_product *= b1 * (1 - 0.5 * 0.96 ** t)          # exact constants here ...
        beta_1, beta_2, decay = f32(b1), f32(b2), f32(0.96)   # ... cast ones here
        u_t = beta_1 * (1 - 0.5 * decay ** t)
        u_next = beta_1 * (1 - 0.5 * decay ** (t + 1))
        for i in range(3):
            m[i] += (g[i] - m[i]) * (1 - beta_1)
            v[i] += (g[i] ** 2 - v[i]) * (1 - beta_2)
            m_hat = u_next * m[i] / (1 - u_product * u_next) + (1 - u_t) * g[i] / (1 - u_product)
            v_hat = v[i] / (1 - beta_2 ** t)
            w[i] -= m_hat * lr / (math.sqrt(v_hat) + eps)
    opt = O.Nadam(lr)
    np.testing.assert_allclose(run(opt), w, rtol=1e-14, atol=0)
    assert float(opt.u_product) == pytest.approx(u_product, rel=1e-15)


def test_adamw_is_adam_after_decoupled_weight_decay_by_hand(float64):
    lr, wd, b1, b2, eps = 0.05, 0.1, 0.9, 0.999, 1e-7
    w, m, v = list(W0), [0.0] * 3, [0.0] * 3
    for t, g in enumerate(G, start=1):
        alpha = lr * math.sqrt(1 - f32(b2) ** t) / (1 - f32(b1) ** t)
        for i in range(3):
            w[i] -= w[i] * f32(wd) * lr                  # decay first, on the old weights
            m[i] += (g[i] - m[i]) * (1 - b1)
            v[i] += (g[i] ** 2 - v[i]) * (1 - b2)
            w[i] -= m[i] * alpha / (math.sqrt(v[i]) + eps)
    np.testing.assert_allclose(run(O.AdamW(lr, weight_decay=wd)), w, rtol=1e-14, atol=0)


def test_adamw_equals_adam_with_the_weight_decay_option():
    assert np.array_equal(run(O.AdamW(0.05, weight_decay=0.1)),
                          run(O.Adam(0.05, weight_decay=0.1)))


# -- a model trains with each, and its file carries the state -------------------------------
@pytest.mark.parametrize("make", [lambda: O.Adagrad(0.1), lambda: O.Adamax(0.01),
                                  lambda: O.Nadam(0.01), lambda: O.AdamW(0.01)])
def test_state_saved_in_weights_h5_resumes_bit_for_bit(make, tmp_path):
    x = np.random.default_rng(0).random((16, 4)).astype("float32")
    y = np.random.default_rng(1).normal(size=(16, 2)).astype("float32")

    def model():
        m = snn.Sequential([snn.Input((4,)), snn.layers.Dense(3, activation="relu"),
                            snn.layers.Dense(2)])
        m.compile(optimizer=make(), loss="mse")
        return m

    a = model()
    a.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    a.save_weights(tmp_path / "a.weights.h5")
    b = model()
    b.load_weights(tmp_path / "a.weights.h5")
    for u, v in zip(a.optimizer.variables, b.optimizer.variables):
        np.testing.assert_array_equal(u, v)
    a.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    b.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)


def test_a_state_saved_before_the_first_step_restarts_slots_at_their_initial_values():
    w = [np.zeros(3, np.float32)]
    adagrad, nadam = O.Adagrad(initial_accumulator_value=0.3), O.Nadam()
    for opt in (adagrad, nadam):
        opt.apply([np.ones(3, np.float32)], w)
        opt.set_variables([np.int64(0), np.float32(0.01)], w)
        assert opt.iterations == 0
    assert np.all(adagrad.accumulators[0] == np.float32(0.3))
    assert np.all(nadam.momentums[0] == 0) and float(nadam.u_product) == 1.0


def test_default_names_are_the_ones_keras_gives_its_first_instance():
    """Keras names an optimizer by the snake_case of its class: RMSprop is 'rm_sprop'."""
    names = [cls().name for cls in (O.SGD, O.Adam, O.RMSprop, O.Adagrad, O.Adamax, O.Nadam,
                                    O.AdamW)]
    assert names == ["sgd", "adam", "rm_sprop", "adagrad", "adamax", "nadam", "adam_w"]
