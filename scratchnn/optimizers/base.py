"""The Optimizer base class: hyper-parameters, slots, Keras's order of one step.

One step (`apply`, or `apply_flat` over the flat buffer of all weights), in the order of
Keras's `BaseOptimizer._backend_apply_gradients`:

    1. clip the gradients        clipnorm | global_clipnorm | clipvalue   (clipping.py)
    2. weight decay              w <- w - (w * wd) * lr        for every decayed weight
    3. the update rule           update_step(g, w, ...)         (sgd.py, adam.py, ...)
    4. iterations += 1

Steps 1 and 2 cost nothing when their options are off (None, the defaults).

The learning rate is a float, or a LearningRateSchedule (schedules.py): then the rate of
a step is `schedule(iterations)` with `iterations` as it stands BEFORE the step, read for
weight decay and for the update alike (Keras reads it in both places, before it
increments `iterations`).
"""

from __future__ import annotations

import math

import numpy as np

from .. import config
from . import clipping, saved_state
from .checks import check_bool, check_number  # noqa: F401  (the rules import them from here)
from .schedules import LearningRateSchedule, serialize as serialize_schedule

Array = np.ndarray

# Every FLUSH_EVERY steps the slots are set to 0 where they are below FLUSH_MARGIN times
# the smallest normal float, before they (or what the next steps compute from them) turn
# subnormal (Optimizer._end_step).
FLUSH_EVERY = 32
FLUSH_MARGIN = 2.0**24
LearningRate = float | LearningRateSchedule

# Keras 3.15's own words (base_optimizer.py), for a float assigned to a scheduled rate.
_NOT_SETTABLE = ("This optimizer was created with a `LearningRateSchedule` object as its "
                 "`learning_rate` constructor argument, hence its learning rate is not "
                 "settable. If you need the learning rate to be settable, you should "
                 "instantiate the optimizer with a float `learning_rate` argument.")


def keras_cast(value: float, dtype) -> np.ndarray:
    """A Python-float hyper-parameter as Keras's `ops.cast(value, dtype)` gives it: the
    float becomes a float32 tensor first, so in float64 momentum 0.9 is 0.8999999761581421.
    (Matters only in float64; in float32 it is a plain cast.) A Python float that meets a
    tensor in arithmetic instead (`ops.add(v, self.epsilon)`) is converted exactly."""
    return np.asarray(np.float32(value), dtype=dtype)


class Optimizer:
    """Base class: learning_rate (a float, assignable and kept in floatx, or a
    LearningRateSchedule), iterations, apply(), and Keras's options for every optimizer:

        weight_decay     w <- w - (w * weight_decay) * lr before each update (decoupled,
                         as in AdamW; not an L2 penalty on the loss)
        clipnorm         clip each gradient to this L2 norm
        global_clipnorm  clip all gradients together to this global L2 norm
        clipvalue        clip each gradient entry to [-clipvalue, clipvalue]

    At most one of the three clipping options may be set (Keras refuses more).
    Subclasses name their slots in `slot_groups()` and implement
    `update_step(g, w, step, scratch, *slots)` for one array of parameters (a single
    weight, or the flat buffer of all of them)."""

    def __init__(self, learning_rate: LearningRate, name: str, *,
                 weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None) -> None:
        kind = type(self).__name__
        if not isinstance(name, str) or not name:
            raise ValueError(f"{kind}: name must be a non-empty string, got {name!r}")
        self.name = name
        self._schedule: LearningRateSchedule | None = None
        self.learning_rate = learning_rate
        self.weight_decay = check_number(kind, "weight_decay", weight_decay, minimum=0,
                                         none_ok=True)
        # Keras skips clipping for 0 or a negative value without a word; refuse them instead.
        self.clipnorm, self.clipvalue, self.global_clipnorm = (
            check_number(kind, key, value, above=0, none_ok=True)
            for key, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                               ("global_clipnorm", global_clipnorm)))
        if sum(v is not None for v in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(f"{kind}: only one of clipnorm, clipvalue and global_clipnorm can "
                             f"be set, got clipnorm={clipnorm!r}, clipvalue={clipvalue!r}, "
                             f"global_clipnorm={global_clipnorm!r}")
        self.iterations = 0                       # number of apply() calls (batches)
        self._shapes: list[tuple] | None = None   # the parameters' shapes, once built
        self._flat: dict[str, Array] = {}         # slot name -> one flat buffer
        self._scalars: dict[str, Array] = {}      # scalar state (Nadam's u_product): 0-d arrays
        self._excluded: list[tuple[int, tuple, np.dtype]] = []   # exclude_from_weight_decay
        self._clip_buffer: Array | None = None    # the clipped gradients, once needed

    @property
    def learning_rate(self) -> np.floating:
        """The rate the next step uses: the float (in floatx), or the schedule's value at
        `iterations` (float32, as Keras computes schedules even under floatx float64)."""
        if self._schedule is not None:
            return np.asarray(self._schedule(self.iterations))[()]
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: LearningRate) -> None:
        if isinstance(value, LearningRateSchedule):
            self._schedule = value          # Keras lets a schedule replace a float, too
            return
        if self._schedule is not None:      # Keras's error, word for word
            raise TypeError(_NOT_SETTABLE)
        if callable(value):
            raise ValueError(f"{type(self).__name__}: a callable learning_rate is not "
                             "supported by scratchnn; pass a float or a "
                             "scratchnn.optimizers.schedules.LearningRateSchedule")
        if isinstance(value, bool) or not np.isscalar(value) or not np.isreal(value):
            raise ValueError(f"{type(self).__name__}: learning_rate must be a float, got {value!r}")
        self._learning_rate = np.asarray(value, dtype=config.floatx())[()]

    @property
    def learning_rate_schedule(self) -> LearningRateSchedule | None:
        """The schedule the rate follows, or None for a float rate."""
        return self._schedule

    # -- slots -----------------------------------------------------------------------------
    def slot_groups(self) -> list[tuple[str, ...]]:
        """The slots this optimizer keeps, grouped as Keras creates them: names in one
        group are interleaved per parameter in `variables` (Adam: m0, v0, m1, v1, ...)."""
        return []

    def slot_initial_value(self, name: str, dtype) -> np.ndarray:
        """The value slot `name` starts from (and restarts from): zeros, unless the rule
        says otherwise (Adagrad's accumulators)."""
        return np.zeros((), dtype)

    def scalar_slots(self) -> dict[str, float]:
        """Scalar state Keras lists after the slots, with its starting value
        (Nadam: {"u_product": 1.0}); none for most optimizers."""
        return {}

    @property
    def slot_names(self) -> list[str]:
        return [name for group in self.slot_groups() for name in group]

    @property
    def built(self) -> bool:
        return self._shapes is not None

    def build(self, params: list[Array]) -> None:
        """Create the slots, one flat buffer per kind, and per-parameter views."""
        dtype = np.result_type(*params) if params else np.dtype(config.floatx())
        sizes = [w.size for w in params]
        offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
        total = int(offsets[-1])
        self._shapes = [w.shape for w in params]
        self._flat = {name: np.full(total, self.slot_initial_value(name, dtype), dtype)
                      for name in self.slot_names}
        self._scalars = {name: np.asarray(value, dtype)
                         for name, value in self.scalar_slots().items()}
        # Scratch space for the update's intermediate results (no temporaries per step).
        self._scratch = (np.empty(total, dtype), np.empty(total, dtype))
        self._clip_buffer = None
        for name, flat in self._flat.items():
            setattr(self, name, [flat[a:b].reshape(shape) for a, b, shape
                                 in zip(offsets[:-1], offsets[1:], self._shapes)])
        self._views = [(int(a), int(b)) for a, b in zip(offsets[:-1], offsets[1:])]
        self._params_memory = [_memory(w) for w in params]
        self._resolve_weight_decay()

    def _build_or_check(self, shapes: list[tuple], params: list[Array]) -> None:
        if self._shapes is None:
            self.build(params)
        elif shapes != self._shapes:
            raise ValueError(f"{type(self).__name__} was built for parameters "
                             f"{self._shapes}, got {shapes}")

    # -- weight decay ----------------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list: list[Array] | None = None,
                                  var_names: list[str] | None = None) -> None:
        """Leave these weights out of weight decay (Keras's method; typically the biases:
        `opt.exclude_from_weight_decay([layer.params["bias"] for layer in ...])`).

        Weights are recognised by the memory they occupy: pass the live arrays of
        `model.weights` / `layer.params`. A new call replaces the previous list."""
        if var_names:
            raise ValueError(f"{type(self).__name__}.exclude_from_weight_decay: var_names is not "
                             "supported (scratchnn's optimizer sees arrays, not names); pass "
                             "the weights themselves as var_list")
        self._excluded = [_memory(np.asarray(w)) for w in (var_list or [])]
        if self.built:
            self._resolve_weight_decay()

    def _resolve_weight_decay(self) -> None:
        """Which parameters decay (`_decayed`), and the same as runs of the flat buffer."""
        self._decayed = [memory not in self._excluded for memory in self._params_memory]
        runs: list[list[int]] = []
        for (a, b), decayed in zip(self._views, self._decayed):
            if decayed and runs and runs[-1][1] == a:
                runs[-1][1] = b
            elif decayed:
                runs.append([a, b])
        self._decay_runs = [(a, b) for a, b in runs]

    def _decay(self, w: Array, lr, scratch: Array) -> None:
        """Keras's `_apply_weight_decay` (TensorFlow): w <- w - (w * wd) * lr, where wd is
        tf.cast(weight_decay) (a float32 first) and lr the learning rate in w's dtype."""
        wd = keras_cast(self.weight_decay, w.dtype)
        np.multiply(w, wd, out=scratch)
        scratch *= lr
        w -= scratch

    # -- clipping --------------------------------------------------------------------------
    def _clip_rule(self):
        """(rule, value) for the clipping option in force, or None. Keras's
        `_clip_gradients`: the first of clipnorm, global_clipnorm, clipvalue that is set
        and > 0 (attributes stay assignable, as in Keras)."""
        if self.clipnorm and self.clipnorm > 0:
            return clipping.clip_by_norm, self.clipnorm
        if self.global_clipnorm and self.global_clipnorm > 0:
            return clipping.clip_by_global_norm, self.global_clipnorm
        if self.clipvalue and self.clipvalue > 0:
            return clipping.clip_by_value, self.clipvalue
        return None

    def _clip(self, rule, grads: list[Array], dtype) -> list[Array]:
        """The per-parameter gradients clipped, as views of one flat buffer (reused from
        step to step; the gradients themselves are left as they are)."""
        size = self._views[-1][1] if self._views else 0
        if self._clip_buffer is None or self._clip_buffer.dtype != dtype:
            self._clip_buffer = np.empty(size, dtype)
        out = [self._clip_buffer[a:b].reshape(g.shape) for (a, b), g in zip(self._views, grads)]
        rule[0](grads, rule[1], out)
        return out

    # -- the step --------------------------------------------------------------------------
    def apply(self, grads: list[Array], params: list[Array]) -> None:
        """One step: update every parameter in place from its gradient."""
        if len(grads) != len(params):
            raise ValueError(f"{type(self).__name__}.apply got {len(grads)} gradients for "
                             f"{len(params)} parameters")
        for i, (g, w) in enumerate(zip(grads, params)):
            if g.shape != w.shape:
                raise ValueError(f"{type(self).__name__}.apply: gradient {i} has shape {g.shape}, "
                                 f"parameter has {w.shape}")
        self._build_or_check([w.shape for w in params], params)
        if params:
            grads = [g.astype(w.dtype, copy=False) for g, w in zip(grads, params)]
            if (rule := self._clip_rule()) is not None:
                grads = self._clip(rule, grads, params[0].dtype)
            scratches = [tuple(s[a:b].reshape(w.shape) for s in self._scratch)
                         for (a, b), w in zip(self._views, params)]
            if self.weight_decay is not None:
                lr = self.learning_rate.astype(params[0].dtype)
                for w, decayed, scratch in zip(params, self._decayed, scratches):
                    if decayed:
                        self._decay(w, lr, scratch[0])
            step = self.step_constants(params[0].dtype)
            for i, (g, w) in enumerate(zip(grads, params)):
                slots = [getattr(self, name)[i] for name in self.slot_names]
                self.update_step(g, w, step, scratches[i], *slots)
        self._end_step(params)

    def apply_flat(self, grad: Array, param: Array, shapes: list[tuple]) -> None:
        """One step over ALL parameters at once. `param` is one flat buffer holding every
        parameter end to end (their shapes `shapes`, in order), `grad` the matching
        flat gradient; bit for bit the same as `apply` on the per-parameter views.
        Clipping by norm still works per parameter, on the views."""
        if grad.shape != param.shape or param.ndim != 1:
            raise ValueError(f"{type(self).__name__}.apply_flat expects two flat arrays of "
                             f"the same size, got {grad.shape} and {param.shape}")
        if self._shapes is None:
            offsets = np.cumsum([0] + [math.prod(s) for s in shapes])
            self.build([param[a:b].reshape(s) for a, b, s in
                        zip(offsets[:-1], offsets[1:], shapes)])
        elif list(shapes) != self._shapes:
            raise ValueError(f"{type(self).__name__} was built for parameters "
                             f"{self._shapes}, got {list(shapes)}")
        grad = grad.astype(param.dtype, copy=False)
        if (rule := self._clip_rule()) is not None:
            self._clip(rule, [grad[a:b] for a, b in self._views], param.dtype)
            grad = self._clip_buffer
        if self.weight_decay is not None:
            lr = self.learning_rate.astype(param.dtype)
            for a, b in self._decay_runs:
                self._decay(param[a:b], lr, self._scratch[0][a:b])
        step = self.step_constants(param.dtype)
        self.update_step(grad, param, step, self._scratch,
                         *(self._flat[name] for name in self.slot_names))
        self._end_step([param])

    def _end_step(self, params: list[Array]) -> None:
        """iterations += 1; and every FLUSH_EVERY steps, the slots' vanishing values to 0.

        TensorFlow runs with the CPU's flush-to-zero mode: a result too small to be a
        normal float (|x| < 1.2e-38 in float32) becomes 0, so its arithmetic never meets a
        subnormal number. NumPy keeps them, and x86 arithmetic on subnormals is many times
        slower. Where a gradient stays 0 (a pixel that is 0 in every image, a dead ReLU
        unit), Adam's first moment decays by beta_1 every step and turns subnormal after
        about 800 steps: measured, the 350-10 MLP's step then took 3.5 times as long, and
        flushing exact subnormals only was not enough (m * (1 - beta_1) is subnormal while
        m is still a normal number). So every FLUSH_EVERY steps a slot value below
        FLUSH_MARGIN times the smallest normal float (2e-31 in float32) is set to 0. Where
        TensorFlow keeps such a value, it moves a weight by less than 1e-20 times the
        learning rate: no weight of ordinary size changes a bit (the optimizers' parity
        tests never see such values). `params` are the weights just updated (unused: only
        the slots decay without a gradient)."""
        self.iterations += 1
        if self.iterations % FLUSH_EVERY == 0:
            for slot in self._flat.values():
                below = np.finfo(slot.dtype).tiny * FLUSH_MARGIN
                np.copyto(slot, 0, where=np.abs(slot) < below)

    # -- one step in pieces -------------------------------------------------------------------
    #: Whether `update_step` reads, for each weight, only its own gradient and slots and the
    #: step's scalars. Every rule in this package declares it True in the class that
    #: defines its update_step; a subclass writing its own update_step is not split into
    #: pieces unless it declares `elementwise = True` itself (a rule that mixes weights
    #: would silently go wrong); a subclass may also set False.
    elementwise = False

    def updates_in_pieces(self) -> bool:
        """Whether a step may update the flat buffers piece by piece (`begin_step`, then
        `update_piece` on row ranges covering them, then `end_step`) with the bits of one
        `apply_flat` call: an elementwise rule, already built, with no clipping (a norm
        spans a whole weight) and no weight decay. The batch-parallel step (parallel.py)
        gives each thread a piece."""
        rule = next(cls for cls in type(self).__mro__ if "update_step" in vars(cls))
        declared = vars(rule).get("elementwise", False) is True   # by update_step's own class
        return (self.elementwise and declared and self._shapes is not None
                and self._clip_rule() is None and self.weight_decay is None)

    def begin_step(self, dtype) -> dict:
        """The scalars of a step updated in pieces (step_constants, once per step)."""
        return self.step_constants(dtype)

    def update_piece(self, grad: Array, param: Array, rows: slice, step: dict) -> None:
        """update_step on rows `rows` of the flat buffers (see `updates_in_pieces`)."""
        scratch = (self._scratch[0][rows], self._scratch[1][rows])
        self.update_step(grad[rows], param[rows], step, scratch,
                         *(self._flat[name][rows] for name in self.slot_names))

    def end_step(self, param: Array) -> None:
        """The end of a step updated in pieces (param: the flat weights)."""
        self._end_step([param])

    def apply_gradients(self, grads_and_vars) -> None:
        """Keras's spelling: apply_gradients(zip(grads, params))."""
        grads, params = zip(*grads_and_vars)
        self.apply(list(grads), list(params))

    def step_constants(self, dtype) -> dict:
        """The scalars of this step (learning rate, bias corrections), in `dtype`. Called
        exactly once per step, after clipping and weight decay, before any update_step."""
        return {"lr": self.learning_rate.astype(dtype)}

    def update_step(self, g: Array, w: Array, step: dict, scratch: tuple[Array, Array],
                    *slots: Array) -> None:
        raise NotImplementedError

    # -- state, in Keras's order -------------------------------------------------------------
    @property
    def variables(self) -> list[Array]:
        """The optimizer's state as Keras lists it: iterations, learning_rate (not with a
        schedule: Keras then has no learning-rate variable), the slots (a group's slots
        interleaved per parameter), then any scalar state. Slot entries are live views."""
        out = [np.asarray(self.iterations, np.int64)]
        if self._schedule is None:
            out.append(np.asarray(self.learning_rate))
        if not self.built:                        # no slots before the first step
            return out
        for group in self.slot_groups():
            lists = [getattr(self, name) for name in group]
            out += [slots[i] for i in range(len(self._shapes or [])) for slots in lists]
        return out + list(self._scalars.values())

    def variables_count(self) -> int:
        """Scalars of slot state (for summary's 'Optimizer params')."""
        return int(sum(flat.size for flat in self._flat.values())) + len(self._scalars)

    def get_config(self) -> dict:
        """Keras's keys, in Keras's order (less the options scratchnn lacks: use_ema,
        ema_momentum, ema_overwrite_frequency, loss_scale_factor,
        gradient_accumulation_steps); subclasses add their own. A schedule is written as
        Keras serializes it: {"module": "keras.optimizers.schedules", "class_name": ...}."""
        rate = (serialize_schedule(self._schedule) if self._schedule is not None
                else float(self.learning_rate))
        return {"name": self.name, "learning_rate": rate,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}

    def set_variables(self, values: list, params: list[Array] | None = None) -> None:
        """Assign a saved state, listed as `variables` lists it, so training goes on
        exactly where it stopped (saved_state.py checks it all first)."""
        saved_state.set_variables(self, values, params)


def _memory(w: Array) -> tuple[int, tuple, np.dtype]:
    """Where an array's data starts, its shape and dtype: how a weight is recognised."""
    return (w.__array_interface__["data"][0], tuple(w.shape), w.dtype)
