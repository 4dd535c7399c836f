"""Learning-rate schedules (scratchnn.optimizers.schedules) and the float32 math they use.

What is pinned here, without TensorFlow (parity_tests/test_schedules_keras.py compares
with Keras itself, bit for bit):
- each schedule is its formula, worked out by hand in float64 from the float32 casts
  Keras makes of its hyper-parameters and step, to float32 accuracy;
- the rate is Keras's bits where the naive NumPy form is not (np.power / np.cos on
  float32 differ from glibc's powf / cosf, which TensorFlow's scalar kernels call);
- errors name the argument; configs round-trip in Keras's serialized form;
- every optimizer takes a schedule: the rate of step t is schedule(iterations) for weight
  decay and the update alike; a float cannot replace it (Keras's TypeError); the state
  and files have no learning_rate entry then, as Keras's;
- the callbacks that set the rate fail as Keras 3.15's do.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import scratchnn as snn
from benchmarks.machine import numpy_simd_target
from scratchnn import libm32
from scratchnn.optimizers import schedules as S
from scratchnn.optimizers import tf_scalar_math as M

f32 = np.float32
O = snn.optimizers
STEPS = np.arange(0, 3001)


def bits(x) -> int:
    return int(np.asarray(x, np.float32).view(np.uint32))


def from_bits(b: int) -> np.float32:
    return np.uint32(b).view(np.float32)


def d(x) -> np.ndarray:
    """A float32 value (or array) in float64, exactly."""
    return np.asarray(x, np.float32).astype(np.float64)


def assert_float32_accurate(rates, exact, scale):
    """Within a few float32 roundings of the float64 formula: relative 1e-6, and absolute
    1e-6 of the schedule's scale where the formula cancels (1 + cos near -1)."""
    assert rates.dtype == np.float32
    np.testing.assert_allclose(d(rates), exact, rtol=1e-6, atol=1e-6 * scale)


# -- each schedule is its formula (float64 by hand, Keras's float32 casts) -----------------
@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize("args", [(0.1, 7, 0.93), (0.01, 250, 0.5), (1.0, 3.5, 0.999)])
def test_exponential_decay_is_initial_times_rate_to_the_step_fraction(args, staircase):
    """lr = initial * decay_rate ^ (step / decay_steps); the fraction is a float32 division
    (floored with staircase) before the power, as Keras computes it."""
    initial, decay_steps, decay_rate = args
    schedule = S.ExponentialDecay(initial, decay_steps, decay_rate, staircase=staircase)
    p = d(f32(STEPS) / f32(decay_steps))
    p = np.floor(p) if staircase else p
    assert_float32_accurate(schedule(STEPS), d(initial) * d(decay_rate) ** p, initial)


def test_piecewise_constant_decay_steps_down_after_each_boundary_exactly():
    """values[0] while step <= boundaries[0], then values[i] while boundaries[i-1] < step
    <= boundaries[i]; exact, since each rate is one of the values."""
    schedule = S.PiecewiseConstantDecay([100, 500, 2000], [0.1, 0.05, 0.01, 0.001])
    expected = np.select([STEPS <= 100, STEPS <= 500, STEPS <= 2000],
                         [f32(0.1), f32(0.05), f32(0.01)], f32(0.001))
    np.testing.assert_array_equal(schedule(STEPS), expected)
    assert schedule(100) == f32(0.1) and schedule(101) == f32(0.05)


def test_piecewise_float_boundaries_are_truncated_as_keras_casts_them():
    """A float boundary becomes a float32, then an int64 like the step: 100.7 acts as 100."""
    schedule = S.PiecewiseConstantDecay([100.7], [1.0, 0.5])
    assert schedule(100) == f32(1.0) and schedule(101) == f32(0.5)


@pytest.mark.parametrize("power,cycle", [(1.0, False), (2.0, False), (0.5, False),
                                         (3.0, False), (0.7, True), (1.0, True)])
def test_polynomial_decay_reaches_the_end_rate_then_stays_or_cycles(power, cycle):
    """(initial - end) * (1 - s / decay_steps)^power + end with s = min(step, decay_steps);
    cycle: decay_steps times ceil(step / decay_steps) (1 at step 0)."""
    initial, end, decay_steps = 0.1, 0.001, 997
    schedule = S.PolynomialDecay(initial, decay_steps, end, power=power, cycle=cycle)
    step = STEPS.astype(np.float64)
    if cycle:
        total = decay_steps * np.where(step == 0, 1, np.ceil(step / decay_steps))
    else:
        step, total = np.minimum(step, decay_steps), np.full(step.shape, decay_steps)
    fraction = d(f32(step) / f32(total))                 # the float32 division Keras does
    exact = (d(initial) - d(end)) * (1 - fraction) ** d(power) + d(end)
    assert_float32_accurate(schedule(STEPS), exact, initial)
    if not cycle:
        assert schedule(decay_steps) == f32(end) and schedule(10 * decay_steps) == f32(end)


@pytest.mark.parametrize("staircase", [False, True])
def test_inverse_time_decay_is_initial_over_one_plus_rate_times_fraction(staircase):
    schedule = S.InverseTimeDecay(0.1, 7, 0.3, staircase=staircase)
    p = d(f32(STEPS) / f32(7))
    p = np.floor(p) if staircase else p
    assert_float32_accurate(schedule(STEPS), d(0.1) / (1 + d(0.3) * p), 0.1)


@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_cosine_decay_is_half_a_cosine_down_to_alpha_then_flat(alpha):
    initial, decay_steps = 0.1, 997
    schedule = S.CosineDecay(initial, decay_steps, alpha=alpha)
    fraction = d(f32(np.minimum(STEPS, decay_steps)) / f32(decay_steps))
    cosine = 0.5 * (1 + np.cos(math.pi * fraction))
    exact = d(initial) * ((1 - alpha) * cosine + alpha)
    assert_float32_accurate(schedule(STEPS), exact, initial)
    assert schedule(decay_steps) == schedule(5000)                # flat after decay_steps


def test_cosine_decay_warmup_is_a_straight_line_up_to_the_target_then_the_cosine():
    """warmup_target set: initial + (target - initial) * step / warmup_steps for step <
    warmup_steps, then the cosine from the target, counted from the warmup's end."""
    schedule = S.CosineDecay(0.0, 900, alpha=0.1, warmup_target=0.2, warmup_steps=50)
    step = np.minimum(STEPS, 950)
    warm = d(0.2) * d(f32(step) / f32(50))
    fraction = d(f32(np.maximum(step - 50, 0)) / f32(900))
    decay = d(0.2) * (0.9 * 0.5 * (1 + np.cos(math.pi * fraction)) + 0.1)
    assert_float32_accurate(schedule(STEPS), np.where(step < 50, warm, decay), 0.2)
    assert schedule(0) == 0 and schedule(50) == f32(0.2)


@pytest.mark.parametrize("t_mul,m_mul,alpha", [(2.0, 1.0, 0.0), (1.5, 0.9, 0.05),
                                               (1.0, 0.8, 0.1)])
def test_cosine_decay_restarts_runs_periods_t_mul_longer_m_mul_lower(t_mul, m_mul, alpha):
    """Period i lasts 37 * t_mul^i steps and starts from initial * m_mul^i: the period and
    its fraction found by walking the periods in float64 (no logarithm)."""
    initial, first = 0.1, 37
    schedule = S.CosineDecayRestarts(initial, first, t_mul=t_mul, m_mul=m_mul, alpha=alpha)
    exact = []
    for step in STEPS:
        i, start, length = 0, 0.0, float(first)
        while step >= start + length:
            i, start, length = i + 1, start + length, length * t_mul
        fraction = (step - start) / length
        cosine = 0.5 * m_mul ** i * (1 + math.cos(math.pi * fraction))
        exact.append(initial * ((1 - alpha) * cosine + alpha))
    assert_float32_accurate(schedule(STEPS), np.array(exact), initial)


# -- Keras's bits where the naive NumPy form differs --------------------------------------
# (schedule, step, Keras's rate bits, the bits of the same formula with np.power / np.cos
# on float32, by NumPy's AVX-512 kernels). Keras's bits were read from Keras 3.15.1 on TensorFlow 2.21 (CPU, glibc 2.36).
NAIVE_DIFFERS = [
    (S.ExponentialDecay(0.1, 7, 0.93), 4, 0x3DC47B19, 0x3DC47B18),
    (S.ExponentialDecay(0.1, 7, 0.93), 5, 0x3DC27453, 0x3DC27454),
    (S.PolynomialDecay(0.1, 5000, 0.001, power=0.7), 17, 0x3DCC5135, 0x3DCC5134),
    (S.CosineDecay(0.1, 997), 348, 0x3D95295A, 0x3D95295B),
    (S.CosineDecayRestarts(0.1, 37), 22, 0x3D10D473, 0x3D10D474),
    (S.CosineDecayRestarts(0.1, 37), 24, 0x3CE13250, 0x3CE13252),
]


@pytest.mark.parametrize("schedule,step,keras_bits,naive_bits", NAIVE_DIFFERS)
def test_rates_are_keras_bits_where_numpy_pow_and_cos_are_not(schedule, step, keras_bits,
                                                              naive_bits):
    assert bits(schedule(step)) == keras_bits != naive_bits


# (function, arguments, TensorFlow's scalar result bits, the naive float32 NumPy bits):
# here glibc's result is not the correctly rounded one, and NumPy's is (its own cos and
# log kernels; for power, its AVX-512 kernel: without it NumPy's float32 power is glibc's).
FUNCTION_CASES = [
    (M.powf, (0.93, float.fromhex("0x1.cadb6ep+6")), 0x397E2E82, 0x397E2E81),
    (M.cosf, (float.fromhex("0x1.b536c4p-1"),), bits(float.fromhex("0x1.506550p-1")),
     bits(float.fromhex("0x1.50654ep-1"))),
    (M.logf, (float.fromhex("0x1.01eb86p+0"),), bits(float.fromhex("0x1.e9b07cp-8")),
     bits(float.fromhex("0x1.e9b07ap-8"))),
]


@pytest.mark.parametrize("function,args,tf_bits,numpy_bits", FUNCTION_CASES)
def test_glibcs_float32_math_where_it_is_not_correctly_rounded(function, args, tf_bits,
                                                               numpy_bits):
    naive = {M.powf: np.power, M.cosf: np.cos, M.logf: np.log}[function]
    if naive is np.power and numpy_simd_target("power", "fff") != "X86_V4":
        numpy_bits = tf_bits             # NumPy's float32 power is glibc's powf here
    assert bits(naive(*(f32(a) for a in args))) == numpy_bits
    assert bits(function(*args)) == tf_bits


def test_tensorflows_flush_to_zero_and_denormals_are_zero():
    """TF runs kernels with FTZ/DAZ: pow(0.5, 140) is 0 (glibc: 7e-43); a subnormal x in
    pow and log takes glibc's path with its 2^23 scaling read as 0 (measured values)."""
    assert bits(M.powf(0.5, 140.0)) == 0
    assert bits(M.powf(1e-40, 0.5)) == 0x1A000000
    assert bits(M.logf(1e-40)) == 0xC2CFF1B4                   # -103.97, not log(1e-40)
    assert bits(M.flush_denormal(f32(-1e-40))) == 0x80000000   # the sign is kept


@pytest.mark.parametrize("x,y,expected", [
    (0.0, 3.0, 0.0), (-0.0, 3.0, -0.0), (-0.0, -3.0, -math.inf), (0.0, -0.5, math.inf),
    (-2.0, 3.0, -8.0), (-2.0, 0.5, math.nan), (math.inf, -1.0, 0.0), (1.0, math.nan, 1.0),
    (math.nan, 0.0, 1.0), (0.5, math.inf, 0.0), (2.0, math.inf, math.inf),
    (-1.0, math.inf, 1.0), (2.0, 200.0, math.inf), (0.5, 200.0, 0.0), (-2.0, 129.0, -math.inf)])
def test_powf_special_values_are_c99s(x, y, expected):
    result = M.powf(x, y)
    assert (math.isnan(result) and math.isnan(expected)) or \
        (result == expected and math.copysign(1, result) == math.copysign(1, expected))


def test_scalar_cos_and_log_are_libm32s_vectorised_twins():
    """The plain one-value-at-a-time transcriptions equal libm32's NumPy ones (the
    functions behind Keras's random normal numbers) on 20,000 values each."""
    rng = np.random.default_rng(0)
    angles = rng.uniform(-119, 119, 10_000).astype(f32)
    angles = np.concatenate([angles, (f32(np.pi) * rng.random(10_000)).astype(f32)])
    np.testing.assert_array_equal(M.cosf(angles), libm32.sincosf(angles)[1])
    x = (10.0 ** rng.uniform(-30, 30, 20_000)).astype(f32)
    np.testing.assert_array_equal(M.logf(x), libm32.logf(x))


def test_arrays_of_steps_give_the_scalars_bits():
    for schedule in (S.ExponentialDecay(0.1, 7, 0.93), S.CosineDecayRestarts(0.1, 37, 1.5)):
        steps = np.arange(0, 300, 7)
        assert isinstance(schedule(3), np.float32)
        np.testing.assert_array_equal(schedule(steps), [schedule(int(s)) for s in steps])


def test_schedules_compute_in_float32_even_under_floatx_float64(float64):
    """Keras's schedules run in float32 (the dtype of a Python float tensor) whatever the
    floatx: the optimizer then casts that float32 rate to float64, exactly."""
    schedule = S.CosineDecay(0.1, 100)
    assert schedule(7).dtype == np.float32
    opt = O.SGD(schedule)
    assert opt.learning_rate.dtype == np.float32
    w, g = [np.ones(3)], [np.full(3, 0.5)]
    opt.apply(g, w)
    np.testing.assert_array_equal(w[0], 1 - 0.5 * np.float64(schedule(0)))


# -- errors name the argument ---------------------------------------------------------------
@pytest.mark.parametrize("make,says", [
    (lambda: S.ExponentialDecay(0.1, 0, 0.9),
     r"ExponentialDecay: Argument `decay_steps` must be > 0. Received: decay_steps=0"),
    (lambda: S.CosineDecayRestarts(0.1, -5),
     r"Argument `first_decay_steps` must be > 0. Received: first_decay_steps=-5"),
    (lambda: S.ExponentialDecay(1, 10, 0.9),
     r"ExponentialDecay: initial_learning_rate must be a float .* an int would make it "
     r"integer arithmetic\), got 1"),
    (lambda: S.PolynomialDecay(0.1, 10, power="2"), r"PolynomialDecay: power must be a finite"),
    (lambda: S.InverseTimeDecay(0.1, 10, 0.5, staircase="yes"),
     r"InverseTimeDecay: staircase must be True or False, got 'yes'"),
    (lambda: S.PiecewiseConstantDecay([10, 20], [0.1, 0.01]),
     r"The length of boundaries should be 1 less than the length of values"),
    (lambda: S.PiecewiseConstantDecay([10], [0.1, 1]), r"values\[1\] must be a float"),
    (lambda: S.PiecewiseConstantDecay([], [0.1]), r"boundaries must hold at least one"),
    (lambda: S.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=-1),
     r"CosineDecay: warmup_steps must be >= 0, got -1"),
    (lambda: S.CosineDecayRestarts(0.1, 10, t_mul=0.0), r"t_mul must be > 0, got 0.0"),
    (lambda: S.CosineDecay(0.1, 10, name=3), r"CosineDecay: name must be a string"),
])
def test_bad_arguments_are_refused_by_name(make, says):
    with pytest.raises(ValueError, match=says):
        make()


def test_a_step_must_be_a_count():
    with pytest.raises(ValueError, match=r"step must be a count of steps >= 0"):
        S.ExponentialDecay(0.1, 10, 0.9)(-1)


def test_the_base_class_says_what_to_override():
    with pytest.raises(NotImplementedError, match=r"'LearningRateSchedule' must override "
                                                  r"`__call__\(self, step\)`"):
        S.LearningRateSchedule()(0)
    with pytest.raises(NotImplementedError, match=r"must override `get_config\(\)`"):
        S.LearningRateSchedule().get_config()


# -- configs, in Keras's form -----------------------------------------------------------------
ALL = [S.ExponentialDecay(0.1, 10, 0.9, staircase=True),
       S.PiecewiseConstantDecay([5, 10], [0.1, 0.05, 0.01]),
       S.PolynomialDecay(0.1, 10, 0.001, power=2.0, cycle=True),
       S.InverseTimeDecay(0.1, 1.5, 0.5),
       S.CosineDecay(0.0, 100, alpha=0.1, warmup_target=0.2, warmup_steps=10),
       S.CosineDecayRestarts(0.1, 10, t_mul=1.5, m_mul=0.9, alpha=0.05)]


def test_configs_have_kerass_keys_in_kerass_order_and_default_names():
    """As Keras 3.15's get_config writes them (measured), values kept as given."""
    assert S.ExponentialDecay(0.1, 10, 0.9).get_config() == {
        "initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9,
        "staircase": False, "name": "ExponentialDecay"}
    assert [list(s.get_config()) for s in ALL] == [
        ["initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name"],
        ["boundaries", "values", "name"],
        ["initial_learning_rate", "decay_steps", "end_learning_rate", "power", "cycle", "name"],
        ["initial_learning_rate", "decay_steps", "decay_rate", "staircase", "name"],
        ["initial_learning_rate", "decay_steps", "alpha", "name", "warmup_target",
         "warmup_steps"],
        ["initial_learning_rate", "first_decay_steps", "t_mul", "m_mul", "alpha", "name"]]
    names = [type(s)(**{k: v for k, v in s.get_config().items() if k != "name"}).name
             for s in ALL]
    assert names == ["ExponentialDecay", "PiecewiseConstant", "PolynomialDecay",
                     "InverseTimeDecay", "CosineDecay", "SGDRDecay"]


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_config_and_serialized_form_round_trip_to_the_same_rates(schedule):
    entry = S.serialize(schedule)
    assert entry == {"module": "keras.optimizers.schedules",
                     "class_name": type(schedule).__name__,
                     "config": schedule.get_config(), "registered_name": None}
    for twin in (S.deserialize(entry), type(schedule).from_config(schedule.get_config()),
                 S.get(entry)):
        assert type(twin) is type(schedule) and twin.get_config() == schedule.get_config()
        np.testing.assert_array_equal(twin(np.arange(200)), schedule(np.arange(200)))


def test_serialize_deserialize_get_refuse_what_is_not_a_schedule():
    with pytest.raises(TypeError, match="schedules.serialize expects a LearningRateSchedule"):
        S.serialize(lambda step: 0.1)
    with pytest.raises(ValueError, match=r"Unknown learning rate schedule 'OneCycle'"):
        S.deserialize({"class_name": "OneCycle", "config": {}})
    with pytest.raises(ValueError, match="Could not interpret learning rate schedule"):
        S.get(0.1)


class Halving(S.LearningRateSchedule):
    """A user's schedule: halve every 10 steps (a Python float out)."""

    def __call__(self, step):
        return 0.1 * 0.5 ** (step // 10)

    def get_config(self):
        return {}


def test_a_users_schedule_serializes_under_its_own_name_and_loads_from_custom_objects():
    entry = S.serialize(Halving())
    assert entry["class_name"] == "Halving" and entry["registered_name"] == "Halving"
    assert isinstance(S.deserialize(entry, custom_objects={"Halving": Halving}), Halving)


# -- optimizers with a schedule ---------------------------------------------------------------
SCHEDULE = S.CosineDecayRestarts(0.05, 3, t_mul=1.5, m_mul=0.8, alpha=0.1)
OPTIMIZERS = {"sgd_momentum_wd": lambda lr: O.SGD(lr, momentum=0.9, weight_decay=0.05),
              "adam": lambda lr: O.Adam(lr), "adamw": lambda lr: O.AdamW(lr, weight_decay=0.1),
              "rmsprop": lambda lr: O.RMSprop(lr, centered=True, momentum=0.5),
              "adagrad": lambda lr: O.Adagrad(lr), "adamax": lambda lr: O.Adamax(lr),
              "nadam_wd": lambda lr: O.Nadam(lr, weight_decay=0.02)}


def _grads(rng, shapes):
    return [rng.normal(size=s).astype(f32) for s in shapes]


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_step_t_uses_schedule_of_iterations_for_decay_and_update(name):
    """An optimizer on a schedule takes the same steps as one whose float rate is set to
    schedule(t) just before step t (t = iterations before the step), weight decay and
    Nadam's per-step constants included."""
    shapes = [(4, 3), (3,)]
    scheduled, by_hand = OPTIMIZERS[name](SCHEDULE), OPTIMIZERS[name](0.05)
    rng = np.random.default_rng(0)
    w1 = _grads(rng, shapes)
    w2 = [w.copy() for w in w1]
    for t in range(8):
        grads = _grads(rng, shapes)
        assert scheduled.learning_rate == SCHEDULE(t)
        by_hand.learning_rate = SCHEDULE(t)
        scheduled.apply(grads, w1)
        by_hand.apply(grads, w2)
        for a, b in zip(w1, w2):
            np.testing.assert_array_equal(a, b)
    assert scheduled.iterations == 8


def test_sgd_with_weight_decay_on_a_schedule_by_hand():
    """w <- w - (w * wd) * lr(t), then w <- w - lr(t) * g, with lr(t) = schedule(t)."""
    schedule = S.ExponentialDecay(0.5, 1, 0.5)               # 0.5, 0.25, 0.125, ...
    opt = O.SGD(schedule, weight_decay=0.1)
    w, g = np.array([1.0, -2.0], f32), np.array([0.5, 0.25], f32)
    expected = w.copy()
    for t in range(3):
        lr = schedule(t)
        expected = expected - (expected * f32(0.1)) * lr
        expected = expected - g * lr
        opt.apply([g], [w])
    np.testing.assert_array_equal(w, expected)
    assert [float(schedule(t)) for t in range(3)] == [0.5, 0.25, 0.125]


def test_a_float_cannot_replace_a_schedule_kerass_type_error():
    opt = O.Adam(S.ExponentialDecay(0.1, 10, 0.9))
    with pytest.raises(TypeError, match=r"^This optimizer was created with a "
                                        r"`LearningRateSchedule` object as its `learning_rate` "
                                        r"constructor argument, hence its learning rate is not "
                                        r"settable\. If you need"):
        opt.learning_rate = 0.01


def test_a_schedule_can_replace_a_float_and_drops_the_learning_rate_variable():
    opt = O.SGD(0.1)
    opt.apply([np.ones(2, f32)], [np.zeros(2, f32)])
    assert len(opt.variables) == 2                       # iterations, learning_rate
    opt.learning_rate = S.PiecewiseConstantDecay([1], [0.1, 0.01])
    assert len(opt.variables) == 1 and opt.learning_rate == f32(0.1)   # iterations is 1


def test_a_plain_callable_rate_is_refused_by_name():
    with pytest.raises(ValueError, match=r"SGD: a callable learning_rate is not supported"):
        O.SGD(lambda: 0.1)


def test_a_users_schedule_drives_the_optimizer_too():
    opt = O.SGD(Halving())
    w = [np.zeros(1, f32)]
    for _ in range(12):
        opt.apply([np.ones(1, f32)], w)
    assert float(opt.learning_rate) == pytest.approx(0.05)
    np.testing.assert_allclose(w[0], [-(10 * 0.1 + 2 * 0.05)], rtol=1e-6)


def test_get_config_carries_the_schedule_as_keras_serializes_it():
    schedule = S.InverseTimeDecay(0.1, 10, 0.5)
    config = O.RMSprop(schedule).get_config()
    assert config["learning_rate"] == S.serialize(schedule)


def test_state_has_no_learning_rate_entry_and_resumes_bit_for_bit():
    """variables: iterations, then the slots (Keras has no learning-rate variable with a
    schedule); set_variables puts them back, and the next steps are the same."""
    shapes = [(3, 2), (2,)]
    rng = np.random.default_rng(1)
    w = _grads(rng, shapes)
    first = O.Nadam(S.CosineDecay(0.01, 20))
    for _ in range(5):
        first.apply(_grads(rng, shapes), w)
    assert [v.shape for v in first.variables] == [(), (3, 2), (3, 2), (2,), (2,), ()]
    second = O.Nadam(S.CosineDecay(0.01, 20))
    second.set_variables([v.copy() for v in first.variables], [x.copy() for x in w])
    assert second.iterations == 5 and second.learning_rate == first.learning_rate
    w2 = [x.copy() for x in w]
    for _ in range(5):
        grads = _grads(rng, shapes)
        first.apply(grads, w)
        second.apply(grads, w2)
    for a, b in zip(w, w2):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"iterations, then the slots"):
        O.Nadam(S.CosineDecay(0.01, 20)).set_variables(first.variables[:3], w)


# -- in a model: fit, files, callbacks ---------------------------------------------------------
def _model(schedule=None):
    model = snn.Sequential([snn.Input((4,)), snn.layers.Dense(3, activation="relu"),
                            snn.layers.Dense(2)], name="small")
    model.compile(optimizer=O.Adam(schedule or S.CosineDecay(0.05, 12, alpha=0.1,
                                                              warmup_target=0.1,
                                                              warmup_steps=2)),
                  loss="mse")
    return model


def _data(n=24):
    rng = np.random.default_rng(0)
    return rng.random((n, 4)).astype(f32), rng.normal(size=(n, 2)).astype(f32)


def test_fit_with_a_schedule_is_deterministic_and_logs_no_learning_rate():
    """Same seed, same bits; History has no learning_rate key (Keras 3.15 logs one only
    from a callback that sets it)."""
    x, y = _data()
    runs = []
    for _ in range(2):
        snn.utils.set_random_seed(7)
        model = _model()
        history = model.fit(x, y, batch_size=8, epochs=3, verbose=0)
        runs.append((model.get_weights(), history.history))
    assert sorted(runs[0][1]) == ["loss"]
    assert runs[0][1] == runs[1][1]
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("suffix", [".keras", ".weights.h5"])
def test_files_resume_at_the_same_step_and_rate(tmp_path, suffix):
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    path = tmp_path / f"m{suffix}"
    model.save(path) if suffix == ".keras" else model.save_weights(path)
    if suffix == ".keras":
        loaded = snn.models.load_model(path)
    else:
        loaded = _model()
        loaded.load_weights(path)
    assert loaded.optimizer.learning_rate_schedule.get_config() == \
        model.optimizer.learning_rate_schedule.get_config()
    assert loaded.optimizer.iterations == 3
    assert loaded.optimizer.learning_rate == model.optimizer.learning_rate
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(a, b)
    for m in (model, loaded):
        m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_users_schedule_is_left_out_of_a_keras_file_with_a_warning(tmp_path):
    model = _model(Halving())
    with pytest.warns(UserWarning, match=r"optimizer Adam with learning-rate schedule Halving "
                                         r"has no Keras equivalent"):
        model.save(tmp_path / "m.keras")


def test_reduce_lr_on_plateau_logs_the_scheduled_rate_then_fails_to_reduce_as_keras():
    """Keras 3.15: logs learning_rate = the schedule at `iterations` after each epoch,
    and its first reduction raises the optimizer's TypeError (measured: after epoch 2,
    iterations 10, with 5 batches an epoch)."""
    x, y = _data(40)
    schedule = S.ExponentialDecay(0.1, 2, 0.5)
    model = _model(schedule)
    logged = snn.callbacks.ReduceLROnPlateau(monitor="loss", patience=5)
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[logged])
    assert history.history["learning_rate"] == [float(schedule(5)), float(schedule(10))]
    reducing = snn.callbacks.ReduceLROnPlateau(monitor="loss", patience=0, min_delta=10)
    with pytest.raises(TypeError, match="hence its learning rate is not settable"):
        model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[reducing])
    assert model.optimizer.iterations == 20


def test_learning_rate_scheduler_fails_before_any_step_as_keras():
    x, y = _data()
    model = _model()
    scheduler = snn.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
    with pytest.raises(TypeError, match="hence its learning rate is not settable"):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[scheduler])
    assert model.optimizer.iterations == 0
