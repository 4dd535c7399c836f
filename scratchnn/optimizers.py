"""SGD, Adam and RMSprop with Keras 3's exact update rules, updating weights in place.

    opt.apply(grads, params)   # params: the live arrays of model.weights; updated in place

State ("slots": momenta, velocities) is created on the first `apply`, one slot per
parameter, matched by POSITION in the list, as Keras matches variables by index.
Arithmetic happens in the parameters' dtype (float32 by default), like Keras.

One flat buffer per kind of slot
--------------------------------
Each kind of slot (e.g. Adam's momentums) lives in ONE flat array holding every
parameter's slot end to end; `opt.momentums[i]` is a view of parameter i's part.
The update rules are elementwise, so they can run per parameter (`apply`, the plain
form) or over all parameters at once (`apply_flat`, used by fit: Sequential keeps
its weights and gradients in flat buffers laid out the same way). Both give the same
bits; the flat form runs each NumPy operation once per step instead of once per
parameter, and writes into scratch buffers instead of allocating temporaries.
"""

from __future__ import annotations

import math

import numpy as np

from . import config

Array = np.ndarray


def keras_cast(value: float, dtype) -> np.ndarray:
    """A Python-float hyper-parameter as Keras's `ops.cast(value, dtype)` gives it: the
    float becomes a float32 tensor first, so in float64 momentum 0.9 is 0.8999999761581421.
    (Matters only in float64; in float32 it is a plain cast.)"""
    return np.asarray(np.float32(value), dtype=dtype)


class Optimizer:
    """Base class: learning_rate (assignable, kept in floatx), iterations, apply().

    Subclasses name their slots in `slot_groups()` and implement
    `update_step(g, w, step, scratch, *slots)` for one array of parameters (a single
    weight, or the flat buffer of all of them)."""

    def __init__(self, learning_rate: float, name: str) -> None:
        self.name = name
        self.learning_rate = learning_rate
        self.iterations = 0                       # number of apply() calls (batches)
        self._shapes: list[tuple] | None = None   # the parameters' shapes, once built
        self._flat: dict[str, Array] = {}         # slot name -> one flat buffer

    @property
    def learning_rate(self) -> np.floating:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        if isinstance(value, bool) or not np.isscalar(value) or not np.isreal(value):
            raise ValueError(f"{type(self).__name__}: learning_rate must be a float, got {value!r}")
        self._learning_rate = np.asarray(value, dtype=config.floatx())[()]

    # -- slots -----------------------------------------------------------------------------
    def slot_groups(self) -> list[tuple[str, ...]]:
        """The slots this optimizer keeps, grouped as Keras creates them: names in one
        group are interleaved per parameter in `variables` (Adam: m0, v0, m1, v1, ...)."""
        return []

    @property
    def slot_names(self) -> list[str]:
        return [name for group in self.slot_groups() for name in group]

    @property
    def built(self) -> bool:
        return self._shapes is not None

    def build(self, params: list[Array]) -> None:
        """Create the slots (zeros), one flat buffer per kind, and per-parameter views."""
        dtype = np.result_type(*params) if params else np.dtype(config.floatx())
        sizes = [w.size for w in params]
        offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
        self._shapes = [w.shape for w in params]
        self._flat = {name: np.zeros(int(offsets[-1]), dtype) for name in self.slot_names}
        # Scratch space for the update's intermediate results (no temporaries per step).
        self._scratch = (np.empty(int(offsets[-1]), dtype), np.empty(int(offsets[-1]), dtype))
        for name, flat in self._flat.items():
            setattr(self, name, [flat[a:b].reshape(shape) for a, b, shape
                                 in zip(offsets[:-1], offsets[1:], self._shapes)])
        self._views = [(int(a), int(b)) for a, b in zip(offsets[:-1], offsets[1:])]

    def _build_or_check(self, shapes: list[tuple], params: list[Array]) -> None:
        if self._shapes is None:
            self.build(params)
        elif shapes != self._shapes:
            raise ValueError(f"{type(self).__name__} was built for parameters "
                             f"{self._shapes}, got {shapes}")

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
            step = self.step_constants(params[0].dtype)
            for i, (g, w) in enumerate(zip(grads, params)):
                a, b = self._views[i]
                scratch = tuple(s[a:b].reshape(w.shape) for s in self._scratch)
                slots = [getattr(self, name)[i] for name in self.slot_names]
                self.update_step(g.astype(w.dtype, copy=False), w, step, scratch, *slots)
        self.iterations += 1

    def apply_flat(self, grad: Array, param: Array, shapes: list[tuple]) -> None:
        """One step over ALL parameters at once. `param` is one flat buffer holding every
        parameter end to end (their shapes `shapes`, in order), `grad` the matching
        flat gradient; bit for bit the same as `apply` on the per-parameter views."""
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
        step = self.step_constants(param.dtype)
        self.update_step(grad.astype(param.dtype, copy=False), param, step, self._scratch,
                         *(self._flat[name] for name in self.slot_names))
        self.iterations += 1

    def apply_gradients(self, grads_and_vars) -> None:
        """Keras's spelling: apply_gradients(zip(grads, params))."""
        grads, params = zip(*grads_and_vars)
        self.apply(list(grads), list(params))

    def step_constants(self, dtype) -> dict:
        """The scalars of this step (learning rate, bias corrections), in `dtype`."""
        return {"lr": self.learning_rate.astype(dtype)}

    def update_step(self, g: Array, w: Array, step: dict, scratch: tuple[Array, Array],
                    *slots: Array) -> None:
        raise NotImplementedError

    # -- state, in Keras's order -------------------------------------------------------------
    @property
    def variables(self) -> list[Array]:
        """The optimizer's state as Keras lists it: iterations, learning_rate, then the
        slots (a group's slots interleaved per parameter). Slot entries are live views."""
        out = [np.asarray(self.iterations, np.int64), np.asarray(self.learning_rate)]
        if not self.built:                        # no slots before the first step
            return out
        for group in self.slot_groups():
            lists = [getattr(self, name) for name in group]
            out += [slots[i] for i in range(len(self._shapes or [])) for slots in lists]
        return out

    def variables_count(self) -> int:
        """Scalars of slot state (for summary's 'Optimizer params')."""
        return int(sum(flat.size for flat in self._flat.values()))

    def get_config(self) -> dict:
        return {"name": self.name, "learning_rate": float(self.learning_rate)}

    # -- restoring saved state (scratchnn.saving uses this) ---------------------------------
    def set_variables(self, values: list, params: list[Array] | None = None) -> None:
        """Assign a saved state, listed as `variables` lists it: iterations, learning_rate,
        then every slot, so training goes on exactly where it stopped.

        `params` are the live weights the state belongs to (`model.weights`); an optimizer
        that has not taken a step yet builds its slots for them first. A list of just
        [iterations, learning_rate] is what Keras saves before the first step: the slots
        then restart from zero. Everything is checked before anything is assigned."""
        values = [np.asarray(v) for v in values]
        shapes = self._shapes
        if params is not None:
            given = [tuple(np.shape(w)) for w in params]
            if shapes is not None and given != shapes:
                raise ValueError(f"{type(self).__name__} '{self.name}' was built for parameters "
                                 f"{shapes}, got {given}")
            shapes = given
        kind = f"{type(self).__name__} '{self.name}'"
        if len(values) < 2:
            raise ValueError(f"{kind}: a saved state starts with iterations and learning_rate; "
                             f"got {len(values)} values")
        with_slots = len(values) > 2 or (shapes is not None and not self.slot_names)
        expected = [(), ()]
        if with_slots:
            if shapes is None:
                raise ValueError(f"{kind} has no slots yet; pass the parameters (params=...) "
                                 "so they can be built for the saved state")
            for group in self.slot_groups():
                expected += [shapes[i] for i in range(len(shapes)) for _ in group]
            if len(values) != len(expected):
                raise ValueError(
                    f"{kind} keeps {len(expected)} variables for {len(shapes)} parameters "
                    f"(iterations, learning_rate, then the slots {self.slot_names} of each "
                    f"parameter), got {len(values)}")
        for i, (value, shape) in enumerate(zip(values, expected)):
            if value.shape != tuple(shape):
                raise ValueError(f"{kind}: variable {i} must have shape {tuple(shape)}, "
                                 f"got {value.shape}")
            if value.dtype.kind not in ("iu" if i == 0 else "fiu"):
                raise ValueError(f"{kind}: variable {i} ({'iterations' if i == 0 else 'a float'})"
                                 f" cannot be {value.dtype}")
        if values[0] < 0:
            raise ValueError(f"{kind}: iterations must be >= 0, got {values[0]}")
        # -- all checked: assign --
        if with_slots and self._shapes is None and self.slot_names:
            self.build(list(params))
        self.iterations = int(values[0])
        self.learning_rate = values[1][()]
        if self._shapes is None:
            return
        slots = iter(values[2:]) if with_slots else None
        for group in self.slot_groups():
            lists = [getattr(self, name) for name in group]
            for i in range(len(self._shapes)):
                for slot_list in lists:
                    slot_list[i][...] = next(slots) if slots is not None else 0


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

        plain:     w <- w - lr g
        momentum:  m <- mu m - lr g;   w <- w + m
        nesterov:  m <- mu m - lr g;   w <- w + mu m - lr g
    """

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, name: str = "SGD") -> None:
        super().__init__(learning_rate, name)
        if not 0 <= momentum <= 1:
            raise ValueError(f"SGD: momentum must be in [0, 1], got {momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = nesterov

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentums",)] if self.momentum else []


    def update_step(self, g, w, step, scratch, *slots) -> None:
        lr_g = np.multiply(g, step["lr"], out=scratch[0])          # lr g
        if not self.momentum:
            w -= lr_g
            return
        (m,) = slots
        mu = keras_cast(self.momentum, w.dtype)
        m *= mu
        m -= lr_g                                      # m <- mu m - lr g
        if self.nesterov:
            nesterov = np.multiply(m, mu, out=scratch[1])
            nesterov -= lr_g                           # mu m - lr g
            w += nesterov
        else:
            w += m

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam, in Keras's form (bias correction folded into the step size):

        t = iterations + 1
        alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        m <- m + (g - m)(1 - beta_1)
        v <- v + (g^2 - v)(1 - beta_2)          (amsgrad: vhat <- max(vhat, v), used for v)
        w <- w - m alpha / (sqrt(v) + epsilon)

    epsilon is added to sqrt of the UNcorrected v; the textbook form (epsilon on
    sqrt(v_hat)) drifts from Keras by about 7e-4 after 20 steps.
    """

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, name: str = "adam") -> None:
        super().__init__(learning_rate, name)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = float(epsilon)
        self.amsgrad = amsgrad

    def slot_groups(self) -> list[tuple[str, ...]]:
        return [("momentums", "velocities")] + ([("velocity_hats",)] if self.amsgrad else [])


    def step_constants(self, dtype) -> dict:
        # NumPy scalars of `dtype` (the same arithmetic as 0-d arrays, a tenth of the cost).
        scalar = np.dtype(dtype).type
        lr = scalar(self.learning_rate)
        t = scalar(self.iterations + 1)
        beta_1_power = scalar(np.float32(self.beta_1)) ** t        # keras_cast, as a scalar
        beta_2_power = scalar(np.float32(self.beta_2)) ** t
        return {"alpha": lr * np.sqrt(scalar(1) - beta_2_power) / (scalar(1) - beta_1_power),
                # 1 - beta is formed in Python float64, then cast: bit-exact with Keras.
                "one_minus_beta_1": scalar(1 - self.beta_1),
                "one_minus_beta_2": scalar(1 - self.beta_2),
                "epsilon": scalar(self.epsilon)}

    def update_step(self, g, w, step, scratch, *slots) -> None:
        m, v = slots[0], slots[1]
        a, b = scratch                                 # two buffers shaped like w
        np.subtract(g, m, out=a)
        a *= step["one_minus_beta_1"]
        m += a                                         # m <- m + (g - m)(1 - beta_1)
        np.multiply(g, g, out=a)
        a -= v
        a *= step["one_minus_beta_2"]
        v += a                                         # v <- v + (g^2 - v)(1 - beta_2)
        if self.amsgrad:
            v_hat = slots[2]
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        np.multiply(m, step["alpha"], out=a)           # m alpha
        np.sqrt(v, out=b)
        b += step["epsilon"]                           # sqrt(v) + epsilon
        a /= b
        w -= a                                         # w <- w - m alpha / (sqrt(v) + eps)

    def get_config(self) -> dict:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class RMSprop(Optimizer):
    """RMSprop, Keras's form (and compile()'s default optimizer):

        v <- rho v + (1 - rho) g^2                 (centered: a <- rho a + (1 - rho) g)
        step = lr g / sqrt(v + epsilon)            (centered: sqrt(v - a^2 + epsilon))
        w <- w - step                              (momentum: s <- mu s + step; w <- w - s)

    Note epsilon sits INSIDE the square root here, unlike Adam.
    """

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, name: str = "rmsprop") -> None:
        super().__init__(learning_rate, name)
        self.rho, self.momentum = float(rho), float(momentum)
        self.epsilon, self.centered = float(epsilon), centered

    def slot_groups(self) -> list[tuple[str, ...]]:
        return ([("velocities",)] + ([("momentums",)] if self.momentum > 0 else [])
                + ([("average_gradients",)] if self.centered else []))


    def step_constants(self, dtype) -> dict:
        return {"lr": self.learning_rate.astype(dtype), "rho": np.asarray(self.rho, dtype),
                "one_minus_rho": np.asarray(1 - self.rho, dtype),
                "epsilon": np.asarray(self.epsilon, dtype),
                "momentum": np.asarray(self.momentum, dtype)}

    def update_step(self, g, w, step, scratch, *slots) -> None:
        a, b = scratch
        names = self.slot_names
        v = slots[names.index("velocities")]
        v *= step["rho"]
        np.multiply(g, g, out=a)
        a *= step["one_minus_rho"]
        v += a                                       # v <- rho v + (1 - rho) g^2
        if self.centered:
            avg = slots[names.index("average_gradients")]
            avg *= step["rho"]
            np.multiply(g, step["one_minus_rho"], out=a)
            avg += a                                 # a <- rho a + (1 - rho) g
            np.multiply(avg, avg, out=b)
            np.subtract(v, b, out=b)
            b += step["epsilon"]                     # v - a^2 + epsilon
        else:
            np.add(v, step["epsilon"], out=b)        # v + epsilon
        np.sqrt(b, out=b)
        np.multiply(g, step["lr"], out=a)
        a /= b                                       # step = lr g / sqrt(...)
        if self.momentum > 0:
            s = slots[names.index("momentums")]
            s *= step["momentum"]
            s += a
            w -= s
        else:
            w -= a

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}


def get(identifier: str | Optimizer) -> Optimizer:
    """An optimizer from a Keras name ("sgd", "adam", "rmsprop") with defaults, or an
    instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"Unknown optimizer {identifier!r}; expected one of {sorted(_BY_NAME)} "
                     "or a scratchnn.optimizers.Optimizer instance")
