"""Learning-rate schedules: the rate as a function of the optimizer's step (Keras's six).

    lr = schedules.ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.96)
    opt = optimizers.SGD(learning_rate=lr)  # step t uses lr(t), t = iterations before it
    lr(np.arange(5000))                     # the whole curve at once, to plot it

The rate moves EVERY step (batch), where a LearningRateScheduler callback moves it once
per epoch. The optimizer evaluates `schedule(iterations)` inside each step, once for
weight decay and the update alike, before `iterations` is incremented.

Keras's arithmetic, operation by operation
------------------------------------------
Keras (keras/src/optimizers/schedules/learning_rate_schedule.py) turns the initial rate,
a Python float, into a tensor: a float32 one, so the whole schedule runs in float32,
EVEN under floatx float64 (measured: every schedule returns float32; the optimizer then
casts the rate to the weights' dtype, exactly). Every hyper-parameter is cast to float32
first (`ops.cast`), and so is the step. Each class below does the same operations in the
same order, so the rate has Keras's bits:

- + - * /, floor, ceil and min are exact IEEE operations: NumPy's float32 gives the same;
- pow, cos and log are not: a scalar `tf.pow` is glibc's `powf` (with TensorFlow's
  flush-to-zero), `tf.cos` glibc's `cosf`, `tf.math.log` glibc's `logf`. NumPy's own
  float32 `np.power` / `np.cos` differ from them in the last bit on about a fifth of all
  inputs; `tf_scalar_math` computes glibc's bits (how, and the measurements, there).

Under `fit`, Keras runs the schedule inside a tf.function, whose graph TensorFlow's
graph optimizer (grappler) rewrites before running it: a division by a constant becomes a
multiplication by its float32 reciprocal (ExponentialDecay's `step / 7` becomes
`step * f32(1/7)`), and constants are folded across products (InverseTimeDecay's
`decay_rate * (step / decay_steps)` becomes `step * f32(decay_rate / decay_steps)`;
CosineDecay's `0.5 * (1 + cos) * (1 - alpha)` becomes `(1 + cos) * f32(0.45)`). So the
rates Keras's fit uses differ from the eager ones (what `optimizer.learning_rate` reads,
and what `apply_gradients` outside fit uses) in the last bits now and then: by at most
5.6e-7 of the peak rate, measured over 3,000 steps of 16 option sets. This module
reproduces the eager form, the one Keras's source spells out.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import keras_objects
from .checks import check_bool, check_number
from .tf_scalar_math import cosf, flush_denormal, logf, powf

f32 = np.float32
_PI = f32(math.pi)                          # ops.array(math.pi, dtype=float32)


def _checked_step(step) -> np.ndarray:
    step = np.asarray(step)
    if step.dtype.kind not in "iuf" or np.any(step < 0):
        raise ValueError(f"a schedule's step must be a count of steps >= 0 (an int or an "
                         f"array of them), got {step!r}")
    return step


def _float32_step(step) -> np.ndarray:
    """ops.cast(step, float32): the optimizer's int64 iteration count (or an array of
    them) rounded to float32."""
    return _checked_step(step).astype(f32)


def _rate(value: np.ndarray) -> np.floating | np.ndarray:
    """The rate as TensorFlow leaves it (a subnormal is flushed to 0): a float32 scalar,
    or an array when the step was one."""
    value = flush_denormal(value)
    return value[()] if value.ndim == 0 else value


def _initial_rate(owner: str, name: str, value) -> float:
    """Keras computes the schedule in the dtype of the initial rate: float32 for a float,
    and integer arithmetic for an int (ExponentialDecay(1, 10, 0.5) gives 0 in Keras), so
    scratchnn asks for a float."""
    if isinstance(value, (bool, numbers.Integral)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{owner}: {name} must be a float (Keras computes the schedule in "
                         f"this value's dtype; an int would make it integer arithmetic), "
                         f"got {value!r}")
    return float(check_number(owner, name, value))


def _positive_steps(owner: str, name: str, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{owner}: Argument `{name}` must be > 0. Received: {name}={value}")
    return value


def _number(owner: str, name: str, value, **rules):
    """`value` itself, checked (an int stays an int: Keras keeps the config as given)."""
    check_number(owner, name, value, **rules)
    return value


def _name(owner: str, value) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{owner}: name must be a string, got {value!r}")
    return value


class LearningRateSchedule:
    """Base class: `schedule(step)` -> the learning rate of that step (float32).

    A subclass implements `__call__(step)` and, to be saved in files, `get_config()`;
    `from_config(config)` calls the constructor with the config's keys."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' "
                                  "must override `__call__(self, step)`.")

    def get_config(self) -> dict:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config: dict) -> LearningRateSchedule:
        return cls(**config)

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:                 # a user's schedule without a config
            return object.__repr__(self)
        return f"{type(self).__name__}({args})"


class _DecayBySteps(LearningRateSchedule):
    """What ExponentialDecay and InverseTimeDecay share: their arguments, and the progress
    p = f32(step) / f32(decay_steps), floored with staircase=True."""

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool, name: str) -> None:
        kind = type(self).__name__
        self.initial_learning_rate = _initial_rate(kind, "initial_learning_rate",
                                                   initial_learning_rate)
        self.decay_steps = _positive_steps(kind, "decay_steps", decay_steps)
        self.decay_rate = _number(kind, "decay_rate", decay_rate)
        self.staircase = check_bool(kind, "staircase", staircase)
        self.name = _name(kind, name)

    def _progress(self, step):
        p = _float32_step(step) / f32(self.decay_steps)
        if self.staircase:
            p = np.floor(p)
        return p

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_DecayBySteps):
    """lr(step) = initial_learning_rate * decay_rate ^ (step / decay_steps); with
    staircase=True the exponent is floored (the rate drops every decay_steps steps).

    float32, in Keras's order: p = f32(step) / f32(decay_steps), [floor], then
    f32(initial) * powf(f32(decay_rate), p)."""

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay") -> None:
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        p = self._progress(step)
        return _rate(f32(self.initial_learning_rate) * powf(f32(self.decay_rate), p))


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <=
    boundaries[i], values[-1] after boundaries[-1].

    Keras's form: the sum over the intervals of float32(step in interval) * value, the
    boundaries compared in the step's dtype (int64 for the optimizer's count; a float
    boundary is first rounded to float32, then truncated to an integer, as Keras's casts
    do)."""

    def __init__(self, boundaries: list, values: list, name: str = "PiecewiseConstant") -> None:
        kind = type(self).__name__
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                f"{kind}: The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}.")
        if not boundaries:
            raise ValueError(f"{kind}: boundaries must hold at least one step, got []")
        for i, b in enumerate(boundaries):
            check_number(kind, f"boundaries[{i}]", b)
        for i, v in enumerate(values):
            _initial_rate(kind, f"values[{i}]", v)
        self.boundaries, self.values = boundaries, values
        self.name = _name(kind, name)

    def __call__(self, step):
        step = _checked_step(step)
        # Python ints stay integers; floats become float32 tensors first (Keras's casts).
        bounds = [b if isinstance(b, numbers.Integral) else f32(b) for b in self.boundaries]
        if step.dtype.kind in "iu":
            step, bounds = step.astype(np.int64), [np.int64(b) for b in bounds]
        else:
            step, bounds = step.astype(f32), [f32(b) for b in bounds]
        values = [f32(v) for v in self.values]
        result = np.zeros(step.shape, f32)
        result = result + (step <= bounds[0]).astype(f32) * values[0]
        result = result + (step > bounds[-1]).astype(f32) * values[-1]
        for low, high, value in zip(bounds[:-1], bounds[1:], values[1:-1]):
            result = result + ((step > low) & (step <= high)).astype(f32) * value
        return _rate(result)

    def get_config(self) -> dict:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From initial_learning_rate to end_learning_rate in decay_steps steps:

        lr(step) = (initial - end) * (1 - step / decay_steps) ^ power + end

    with step capped at decay_steps; with cycle=True, decay_steps is instead stretched to
    the first multiple of itself at or above step (a new decay from each multiple on)."""

    def __init__(self, initial_learning_rate: float, decay_steps: float,
                 end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False,
                 name: str = "PolynomialDecay") -> None:
        kind = type(self).__name__
        self.initial_learning_rate = _initial_rate(kind, "initial_learning_rate",
                                                   initial_learning_rate)
        self.decay_steps = _positive_steps(kind, "decay_steps", decay_steps)
        self.end_learning_rate = _number(kind, "end_learning_rate", end_learning_rate)
        self.power = _number(kind, "power", power)
        self.cycle = check_bool(kind, "cycle", cycle)
        self.name = _name(kind, name)

    def __call__(self, step):
        step, decay_steps = _float32_step(step), f32(self.decay_steps)
        if self.cycle:       # the first multiple of decay_steps >= step (1 at step 0)
            multiplier = np.where(step == 0, f32(1), np.ceil(step / decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            step = np.minimum(step, decay_steps)
        p = step / decay_steps
        end = f32(self.end_learning_rate)
        return _rate((f32(self.initial_learning_rate) - end)
                     * powf(f32(1) - p, f32(self.power)) + end)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(_DecayBySteps):
    """lr(step) = initial_learning_rate / (1 + decay_rate * step / decay_steps); with
    staircase=True, step / decay_steps is floored. Keras's order: p = step / decay_steps,
    [floor], then initial / (1 + decay_rate * p), all float32."""

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "InverseTimeDecay") -> None:
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        p = self._progress(step)
        return _rate(f32(self.initial_learning_rate) / (f32(1) + f32(self.decay_rate) * p))


def _cosine(fraction: np.ndarray, alpha) -> np.ndarray:
    """(1 - alpha) * 0.5 * (1 + cos(pi * fraction)) + alpha: from 1 down to alpha."""
    cosine = f32(0.5) * (f32(1) + cosf(_PI * fraction))
    return f32(1 - alpha) * cosine + f32(alpha)    # 1 - alpha: a Python float, then float32


class CosineDecay(LearningRateSchedule):
    """Half a cosine from the initial rate down to alpha times it, over decay_steps steps,
    then flat:  lr(step) = initial * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps))
    + alpha), s = min(step, decay_steps).

    With warmup_target set: first a straight line from initial_learning_rate up to
    warmup_target over warmup_steps steps, then the cosine from warmup_target (step
    counted from the end of the warmup)."""

    def __init__(self, initial_learning_rate: float, decay_steps: float, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None,
                 warmup_steps: float = 0) -> None:
        kind = type(self).__name__
        self.initial_learning_rate = _initial_rate(kind, "initial_learning_rate",
                                                   initial_learning_rate)
        self.decay_steps = _positive_steps(kind, "decay_steps", decay_steps)
        self.alpha = _number(kind, "alpha", alpha)
        self.name = _name(kind, name)
        self.warmup_target = _number(kind, "warmup_target", warmup_target, none_ok=True)
        self.warmup_steps = _number(kind, "warmup_steps", warmup_steps, minimum=0)

    def __call__(self, step):
        initial, decay_steps = f32(self.initial_learning_rate), f32(self.decay_steps)
        step = _float32_step(step)
        if self.warmup_target is None:
            step = np.minimum(step, decay_steps)
            return _rate(initial * _cosine(step / decay_steps, self.alpha))
        target, warmup_steps = f32(self.warmup_target), f32(self.warmup_steps)
        step = np.minimum(step, decay_steps + warmup_steps)
        with np.errstate(divide="ignore", invalid="ignore"):   # (the branch not taken)
            warmup = (target - initial) * (step / warmup_steps) + initial
        decay = target * _cosine((step - warmup_steps) / decay_steps, self.alpha)
        return _rate(np.where(step < warmup_steps, warmup, decay))

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """SGDR (Loshchilov & Hutter): cosine decays from the initial rate to alpha times it,
    each followed by a warm restart. Period i lasts first_decay_steps * t_mul^i steps and
    starts from initial * m_mul^i.

    Which period a step is in: with f = step / first_decay_steps, the periods end at
    f = 1, 1 + t_mul, 1 + t_mul + t_mul^2, ...; so i = floor(log(1 - f (1 - t_mul)) /
    log(t_mul)), and the fraction done of that period is (f - (1 - t_mul^i)/(1 - t_mul))
    / t_mul^i (for t_mul = 1: i = floor(f), fraction f - i). Keras's float32 operations,
    logf and powf as TensorFlow computes them."""

    def __init__(self, initial_learning_rate: float, first_decay_steps: float,
                 t_mul: float = 2.0, m_mul: float = 1.0, alpha: float = 0.0,
                 name: str = "SGDRDecay") -> None:
        kind = type(self).__name__
        self.initial_learning_rate = _initial_rate(kind, "initial_learning_rate",
                                                   initial_learning_rate)
        self.first_decay_steps = _positive_steps(kind, "first_decay_steps", first_decay_steps)
        self.t_mul = _number(kind, "t_mul", t_mul, above=0)
        self.m_mul = _number(kind, "m_mul", m_mul)
        self.alpha = _number(kind, "alpha", alpha)
        self.name = _name(kind, name)

    def __call__(self, step):
        alpha, t_mul, m_mul = f32(self.alpha), f32(self.t_mul), f32(self.m_mul)
        fraction = _float32_step(step) / f32(self.first_decay_steps)
        with np.errstate(invalid="ignore", divide="ignore"):
            if t_mul == 1:
                i_restart = np.floor(fraction)
                fraction = fraction - i_restart
            else:
                i_restart = np.floor(logf(f32(1) - fraction * (f32(1) - t_mul)) / logf(t_mul))
                done_before = (f32(1) - powf(t_mul, i_restart)) / (f32(1) - t_mul)
                fraction = (fraction - done_before) / powf(t_mul, i_restart)
            cosine = f32(0.5) * powf(m_mul, i_restart) * (f32(1) + cosf(_PI * fraction))
            decayed = (f32(1) - alpha) * cosine + alpha          # alpha: a float32 here
        return _rate(f32(self.initial_learning_rate) * decayed)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


# -- serialized form, as Keras writes it in an optimizer's config -------------------------
KERAS_CLASSES = (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
                 InverseTimeDecay, CosineDecay, CosineDecayRestarts)   # all six of Keras 3.15's
_BY_NAME = {cls.__name__: cls for cls in KERAS_CLASSES}


def serialize(schedule: LearningRateSchedule) -> dict:
    """{"module": "keras.optimizers.schedules", "class_name": "ExponentialDecay",
    "config": {...}, "registered_name": None}, as Keras's serialize writes it (a user's
    subclass: its own module, registered_name its class name)."""
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"schedules.serialize expects a LearningRateSchedule, got {schedule!r}")
    return keras_objects.serialize(schedule, LearningRateSchedule, list(KERAS_CLASSES),
                                   "keras.optimizers.schedules", "schedule")


def deserialize(config: dict, custom_objects: dict | None = None) -> LearningRateSchedule:
    """The schedule a `serialize` dict describes (a user's class from custom_objects)."""
    return keras_objects.deserialize(
        config, _BY_NAME, custom_objects, "schedule",
        lambda name: f"Unknown learning rate schedule {name!r}; expected one of "
                     f"{sorted(_BY_NAME)} (or pass your class in custom_objects)")


def get(identifier: LearningRateSchedule | dict) -> LearningRateSchedule:
    """A schedule from itself or its serialized dict. (scratchnn's convenience; Keras 3.15
    has no schedules.get: its optimizers deserialize a dict in from_config.)"""
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret learning rate schedule {identifier!r}: expected "
                     "a LearningRateSchedule or its serialized dict")
