"""SGD, Adam and RMSprop: Keras's update rules (the other optimizers and the base options:
test_optimizers_more.py). Reference values were measured with
keras 3.15.1 on the gradient sequence g_t = (sin t, 0.1 cos t, 1e-3), t = 1..20."""

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import optimizers as O

KERAS_AFTER_20_STEPS = {
    "adam": [0.6387548446655273, -1.9415518045425415, -1.497583270072937],
    "amsgrad": [0.6387548446655273, -1.941563606262207, -1.497583270072937],
    "sgd_nesterov": [0.24554374814033508, -1.972852110862732, 0.4871152639389038],
    "sgd_momentum": [0.2726287543773651, -1.9638397693634033, 0.4879058599472046],
    "rmsprop": [0.6256768107414246, -2.077004909515381, -2.0377347469329834],
    "rmsprop_centered_momentum": [0.25479263067245483, -2.0032076835632324, -6.654916763305664],
}


def _run(opt, steps=20):
    w = np.array([1.0, -2.0, 0.5], np.float32)
    for t in range(1, steps + 1):
        opt.apply([np.array([np.sin(t), np.cos(t) * 0.1, 1e-3], np.float32)], [w])
    return w


@pytest.mark.parametrize("name, opt", [
    ("adam", lambda: O.Adam(0.1)), ("amsgrad", lambda: O.Adam(0.1, amsgrad=True)),
    ("sgd_nesterov", lambda: O.SGD(0.1, momentum=0.9, nesterov=True)),
    ("sgd_momentum", lambda: O.SGD(0.1, momentum=0.9)),
    ("rmsprop", lambda: O.RMSprop(0.1)),
    ("rmsprop_centered_momentum", lambda: O.RMSprop(0.1, momentum=0.5, centered=True)),
])
def test_twenty_steps_match_keras(name, opt):
    np.testing.assert_allclose(_run(opt()), KERAS_AFTER_20_STEPS[name], rtol=0, atol=1e-6)


def test_adam_puts_epsilon_on_the_uncorrected_velocity_unlike_the_textbook():
    w_keras = _run(O.Adam(0.1))
    # Textbook Adam: epsilon added to sqrt(v_hat), bias-corrected m_hat and v_hat.
    w, m, v = np.array([1.0, -2.0, 0.5]), np.zeros(3), np.zeros(3)
    for t in range(1, 21):
        g = np.array([np.sin(t), np.cos(t) * 0.1, 1e-3])
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w -= 0.1 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-7)
    assert np.abs(w - w_keras).max() > 1e-5        # the two forms really differ


def test_plain_sgd_step():
    w = np.array([1.0, 2.0], np.float32)
    O.SGD(0.5).apply([np.array([0.2, -0.4], np.float32)], [w])
    np.testing.assert_allclose(w, [0.9, 2.2], rtol=1e-7)


def test_updates_are_in_place_and_count_iterations():
    opt, w = O.Adam(), np.zeros(3, np.float32)
    ref = w
    opt.apply([np.ones(3, np.float32)], [w])
    opt.apply([np.ones(3, np.float32)], [w])
    assert ref is w and np.all(w < 0) and opt.iterations == 2


def test_learning_rate_is_assignable_and_kept_in_floatx():
    opt = O.SGD(0.1)
    opt.learning_rate = 0.02
    assert opt.learning_rate.dtype == np.float32 and float(opt.learning_rate) == pytest.approx(0.02)
    with pytest.raises(ValueError, match="learning_rate must be a float"):
        opt.learning_rate = "fast"


def test_defaults_are_keras_defaults():
    sgd, adam = O.SGD(), O.Adam()
    assert (float(sgd.learning_rate), sgd.momentum, sgd.nesterov) == pytest.approx((0.01, 0, 0))
    assert (adam.beta_1, adam.beta_2, adam.epsilon, adam.amsgrad) == (0.9, 0.999, 1e-7, False)
    assert float(adam.learning_rate) == pytest.approx(0.001)


def test_apply_checks_gradient_shapes_and_slot_layout():
    opt = O.Adam()
    with pytest.raises(ValueError, match=r"gradient 0 has shape \(2,\), parameter has \(3,\)"):
        opt.apply([np.zeros(2, np.float32)], [np.zeros(3, np.float32)])
    opt.apply([np.zeros(3, np.float32)], [np.zeros(3, np.float32)])
    with pytest.raises(ValueError, match="was built for parameters"):
        opt.apply([np.zeros(4, np.float32)], [np.zeros(4, np.float32)])


def test_get_resolves_keras_class_names_in_any_case():
    assert isinstance(O.get("adam"), O.Adam) and isinstance(O.get("SGD"), O.SGD)
    assert isinstance(O.get("rmsprop"), O.RMSprop)
    for name, cls in [("adagrad", O.Adagrad), ("Adamax", O.Adamax), ("nadam", O.Nadam),
                      ("AdamW", O.AdamW), ("adamw", O.AdamW)]:
        assert type(O.get(name)) is cls
    with pytest.raises(ValueError, match="Unknown optimizer 'lion'"):
        O.get("lion")
    with pytest.raises(ValueError, match="Unknown optimizer 'adam_w'"):
        O.get("adam_w")             # Keras resolves class names, not default names


def test_compile_defaults_to_rmsprop_like_keras():
    model = snn.Sequential([snn.Input((2,)), snn.layers.Dense(1)])
    model.compile(loss="mse")
    assert isinstance(model.optimizer, O.RMSprop)


@pytest.mark.parametrize("make", [
    lambda: O.Adam(0.01), lambda: O.Adam(0.01, amsgrad=True),
    lambda: O.SGD(0.1, momentum=0.9, nesterov=True), lambda: O.SGD(0.1),
    lambda: O.RMSprop(0.01, momentum=0.5, centered=True), lambda: O.RMSprop(0.01),
])
def test_apply_flat_gives_the_same_bits_as_apply_per_parameter(make):
    """fit updates one flat buffer of all weights; that is elementwise the same update."""
    r = np.random.default_rng(0)
    shapes = [(3, 4), (4,), (2, 2, 1, 3)]
    per_param = [r.normal(size=s).astype(np.float32) for s in shapes]
    flat = np.concatenate([w.ravel() for w in per_param])
    a, b = make(), make()
    for _ in range(5):
        grads = [r.normal(size=s).astype(np.float32) for s in shapes]
        a.apply(grads, per_param)
        b.apply_flat(np.concatenate([g.ravel() for g in grads]), flat, shapes)
    np.testing.assert_array_equal(np.concatenate([w.ravel() for w in per_param]), flat)
    for name in a.slot_names:
        for x, y in zip(getattr(a, name), getattr(b, name)):
            np.testing.assert_array_equal(x, y)


def test_variables_are_listed_in_keras_order():
    """iterations, learning_rate, then Adam's m and v interleaved per weight."""
    opt = O.Adam()
    w = [np.zeros((2, 3), np.float32), np.zeros(3, np.float32)]
    opt.apply([np.ones_like(x) for x in w], w)
    shapes = [np.shape(v) for v in opt.variables]
    assert shapes == [(), (), (2, 3), (2, 3), (3,), (3,)]
    assert int(opt.variables[0]) == 1


def test_slots_that_vanish_are_flushed_to_zero_and_weights_keep_their_bits(monkeypatch):
    """A gradient that stays 0 makes Adam's first moment decay by beta_1 per step into
    subnormal numbers, whose x86 arithmetic is many times slower (TensorFlow's
    flush-to-zero mode never meets them). Every FLUSH_EVERY steps the slots' values below
    FLUSH_MARGIN * tiny become 0: no subnormal is left, and the weights' bits are those
    of a run that keeps every subnormal."""
    from scratchnn.optimizers import base

    def run(flush: bool) -> tuple:
        monkeypatch.setattr(base, "FLUSH_EVERY", 32 if flush else 10**9)
        adam = snn.optimizers.Adam(0.01)
        w = np.array([0.5, -0.25, 1.0], "float32")
        adam.apply_flat(np.array([1.0, -2.0, 0.5], "float32"), w, [(3,)])
        for _ in range(1500):                          # 0.9**1500: far below 1e-38
            adam.apply_flat(np.zeros(3, "float32"), w, [(3,)])
        return w, [v.copy() for v in adam.variables]    # [iterations, lr, m, v]
    flushed, unflushed = run(True), run(False)
    np.testing.assert_array_equal(flushed[0], unflushed[0])
    tiny = np.finfo(np.float32).tiny
    for kept, cleared in zip(unflushed[1][2:], flushed[1][2:]):
        assert not np.any((cleared != 0) & (np.abs(cleared) < tiny))
    m_kept = unflushed[1][2]
    assert np.any((m_kept != 0) & (np.abs(m_kept) < tiny * 2**24))   # the case is real
