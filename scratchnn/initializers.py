"""Weight initializers: Keras's classes, Keras's random numbers.

An initializer is an object called with a shape: `GlorotUniform()((784, 100))` returns
the (784, 100) array. Exactly as in Keras:

* A random initializer takes its seed WHEN IT IS CONSTRUCTED: `seed=None` draws one
  from Python's `random` (`random.randint(1, 10**9)`) there and then. A layer built
  with the string "glorot_uniform" constructs its initializer inside the layer's
  constructor, so the seeds, and the weights, depend on the order layers are created,
  and `utils.set_random_seed(s)` followed by the same model code gives the same seeds
  and the same weights as `keras.utils.set_random_seed(s)` does in Keras.
* Calling the initializer again gives the same numbers (the seed is fixed). Pass
  `seed=random.SeedGenerator(...)` for an initializer that gives new numbers each call.
* The numbers are TensorFlow's stateless random numbers for the seed pair (seed, 0):
  see `scratchnn.random`.

What is bit for bit Keras's (keras 3.15.1, TensorFlow 2.21, CPU), measured by the parity
tests (parity_tests/test_random_weights.py): every initializer here, float32 and float64,
for every shape and seed tried. Uniform-based ones (GlorotUniform, HeUniform,
LecunUniform, RandomUniform, VarianceScaling "uniform") are exact by construction:
integer arithmetic, then a multiply and an add in the float type. Normal-based ones
(GlorotNormal, HeNormal, LecunNormal, RandomNormal, TruncatedNormal) go through log, sin
and cos, which TensorFlow takes from the C library: in float32 scratchnn reproduces
glibc's algorithms (`scratchnn.libm32`, checked on all 2^23 inputs), in float64 it calls
the C library's own functions (`scratchnn.random.box_muller` explains why). So they are
Keras's on Linux with glibc, on any CPU; on another C library TensorFlow's differ.

Fans of a kernel shape (`compute_fans`): Dense (in, out) -> fan_in=in, fan_out=out;
Conv2D (kh, kw, cin, cout) -> fan_in = kh*kw*cin, fan_out = kh*kw*cout.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Callable

import numpy as np

from . import config, keras_objects, random


class Initializer:
    """Base class: `initializer(shape, dtype=None)` returns an array of that shape."""

    def __call__(self, shape: tuple, dtype: str | None = None) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Initializer":
        return cls(**config)

    def clone(self) -> "Initializer":
        return self.__class__.from_config(self.get_config())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _shape_and_dtype(shape, dtype) -> tuple[tuple[int, ...], str]:
    return tuple(int(d) for d in shape), np.dtype(dtype or config.floatx()).name


def _through_float32(value: float) -> float:
    """A number as Keras's `cast(value, dtype)` delivers it (uniform bounds, Constant):
    TensorFlow first makes a Python float a float32 tensor, so even in float64 the value
    is a float32 number (Constant(0.1) gives 0.10000000149011612 in float64)."""
    return float(np.float32(value))


# -- constants ------------------------------------------------------------------------------
class Zeros(Initializer):
    """All zeros (Keras's bias default)."""

    def __call__(self, shape, dtype=None):
        return np.zeros(*_shape_and_dtype(shape, dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        return np.ones(*_shape_and_dtype(shape, dtype))


class Constant(Initializer):
    """Every entry equal to the scalar `value`."""

    def __init__(self, value: float = 0.0) -> None:
        self.value = value

    def __call__(self, shape, dtype=None):
        shape, dtype = _shape_and_dtype(shape, dtype)
        return np.full(shape, _through_float32(self.value), dtype=dtype)

    def get_config(self):
        return {"value": self.value}


class Identity(Initializer):
    """gain * the identity matrix (2-D shapes only)."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape, dtype = _shape_and_dtype(shape, dtype)
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2-D shape, got {shape}")
        return np.asarray(self.gain, dtype=dtype) * np.eye(*shape, dtype=dtype)


# -- random ---------------------------------------------------------------------------------
class RandomInitializer(Initializer):
    """An initializer with a seed: an int, a `random.SeedGenerator`, or None (drawn now)."""

    def __init__(self, seed: int | random.SeedGenerator | dict | None = None) -> None:
        self._init_seed = seed
        if seed is None:
            seed = random.make_default_seed()            # drawn at construction, as Keras
        elif isinstance(seed, dict):                     # a serialized SeedGenerator
            seed = random.SeedGenerator(**seed.get("config", {}))
            self._init_seed = seed
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            seed = int(seed)
        elif not isinstance(seed, random.SeedGenerator):
            raise ValueError(f"{type(self).__name__}: seed must be an int, a "
                             f"random.SeedGenerator or None, got {seed!r}")
        self.seed = seed

    def seed_pair(self) -> tuple[int, int]:
        """The (seed, count) pair of this call: (seed, 0) for an int seed, as Keras."""
        if isinstance(self.seed, random.SeedGenerator):
            return self.seed.next()
        return random.keras_seed_pair(self.seed)

    def get_config(self):
        seed = self._init_seed
        if isinstance(seed, random.SeedGenerator):
            seed = {"module": "keras.random", "class_name": "SeedGenerator",
                    "config": seed.get_config(), "registered_name": None}
        return {"seed": seed}


class RandomUniform(RandomInitializer):
    """Uniform on [minval, maxval)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed=None) -> None:
        self.minval, self.maxval = minval, maxval
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape, dtype = _shape_and_dtype(shape, dtype)
        return random.uniform(shape, self.seed_pair(), _through_float32(self.minval),
                              _through_float32(self.maxval), dtype)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


class RandomNormal(RandomInitializer):
    """Normal with the given mean and standard deviation."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed=None) -> None:
        self.mean, self.stddev = mean, stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape, dtype = _shape_and_dtype(shape, dtype)
        return random.normal(shape, self.seed_pair(), self.mean, self.stddev, dtype)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomNormal):
    """Normal, with values more than two standard deviations from the mean redrawn."""

    def __call__(self, shape, dtype=None):
        shape, dtype = _shape_and_dtype(shape, dtype)
        return random.truncated_normal(shape, self.seed_pair(), self.mean, self.stddev, dtype)


def compute_fans(shape: tuple, input_axes=None, output_axes=None) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shape, as Keras computes them."""
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return (int(math.prod(shape[a] for a in input_axes)),
                int(math.prod(shape[a] for a in output_axes)))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


# 0.879... is the stddev of a unit normal truncated at +-2; dividing by it keeps the
# requested variance after truncation.
_TRUNCATION_STDDEV = 0.87962566103423978


class VarianceScaling(RandomInitializer):
    """Values with variance scale / n, n = fan_in, fan_out or their mean (`mode`).

    distribution "uniform": U(-limit, limit) with limit = sqrt(3 scale / n);
    "truncated_normal" (or "normal"): stddev sqrt(scale / n) / 0.8796...;
    "untruncated_normal": stddev sqrt(scale / n). The arithmetic is Keras's, in the same
    order (Python floats), so the limits round to the same float32."""

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed=None,
                 input_axes=None, output_axes=None) -> None:
        if scale <= 0.0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale!r}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or "
                             f"'fan_avg', got {mode!r}")
        distribution = distribution.lower()
        distribution = "truncated_normal" if distribution == "normal" else distribution
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(f"VarianceScaling: distribution must be 'uniform', "
                             f"'truncated_normal' or 'untruncated_normal', got {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self.input_axes, self.output_axes = input_axes, output_axes
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape, dtype = _shape_and_dtype(shape, dtype)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        scale = self.scale
        if self.mode == "fan_in":
            scale /= max(1.0, fan_in)
        elif self.mode == "fan_out":
            scale /= max(1.0, fan_out)
        else:
            scale /= max(1.0, (fan_in + fan_out) / 2.0)
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(scale) / _TRUNCATION_STDDEV
            return random.truncated_normal(shape, self.seed_pair(), 0.0, stddev, dtype)
        if self.distribution == "untruncated_normal":
            return random.normal(shape, self.seed_pair(), 0.0, math.sqrt(scale), dtype)
        limit = math.sqrt(3.0 * scale)
        return random.uniform(shape, self.seed_pair(), _through_float32(-limit),
                              _through_float32(limit), dtype)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class _NamedVarianceScaling(VarianceScaling):
    """A VarianceScaling with fixed scale, mode and distribution (GlorotUniform, ...)."""

    SETTINGS: tuple[float, str, str]

    def __init__(self, seed=None, input_axes=None, output_axes=None) -> None:
        scale, mode, distribution = self.SETTINGS
        super().__init__(scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": RandomInitializer.get_config(self)["seed"],
                "input_axes": self.input_axes, "output_axes": self.output_axes}


class GlorotUniform(_NamedVarianceScaling):
    """U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)): Keras's kernel default."""
    SETTINGS = (1.0, "fan_avg", "uniform")


class GlorotNormal(_NamedVarianceScaling):
    """Truncated normal, stddev sqrt(2 / (fan_in + fan_out))."""
    SETTINGS = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_NamedVarianceScaling):
    """U(-limit, limit), limit = sqrt(6 / fan_in) (for ReLU layers)."""
    SETTINGS = (2.0, "fan_in", "uniform")


class HeNormal(_NamedVarianceScaling):
    """Truncated normal, stddev sqrt(2 / fan_in)."""
    SETTINGS = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_NamedVarianceScaling):
    """U(-limit, limit), limit = sqrt(3 / fan_in)."""
    SETTINGS = (1.0, "fan_in", "uniform")


class LecunNormal(_NamedVarianceScaling):
    """Truncated normal, stddev sqrt(1 / fan_in)."""
    SETTINGS = (1.0, "fan_in", "truncated_normal")


# Keras's spellings: lower-case aliases of the classes (keras.initializers.glorot_uniform).
zeros, ones, constant, identity = Zeros, Ones, Constant, Identity
random_uniform, random_normal, truncated_normal = RandomUniform, RandomNormal, TruncatedNormal
variance_scaling, glorot_uniform, glorot_normal = VarianceScaling, GlorotUniform, GlorotNormal
he_uniform, he_normal, lecun_uniform, lecun_normal = HeUniform, HeNormal, LecunUniform, LecunNormal

_CLASSES = [Zeros, Ones, Constant, Identity, RandomUniform, RandomNormal, TruncatedNormal,
            VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform,
            LecunNormal]
_BY_NAME: dict[str, type] = {cls.__name__: cls for cls in _CLASSES}
_BY_NAME.update({"zeros": Zeros, "ones": Ones, "constant": Constant, "identity": Identity,
                 "random_uniform": RandomUniform, "random_normal": RandomNormal,
                 "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
                 "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
                 "he_uniform": HeUniform, "he_normal": HeNormal,
                 "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
                 # Keras's aliases
                 "uniform": RandomUniform, "normal": RandomNormal, "zero": Zeros, "one": Ones,
                 "IdentityInitializer": Identity})


# -- names, configs, objects ----------------------------------------------------------------
def serialize(initializer: Initializer | Callable) -> dict[str, Any]:
    """Keras's serialized form, as written in a .keras file's config.json:
    {"module": "keras.initializers", "class_name": "GlorotUniform",
     "config": {"seed": None, ...}, "registered_name": None}."""
    return keras_objects.serialize(initializer, Initializer, _CLASSES, "keras.initializers",
                                   "initializer")


def deserialize(config: dict | str, custom_objects: dict | None = None) -> Initializer:
    """The initializer a `serialize` dict (or a Keras name) describes. A random initializer
    whose config has seed None draws a fresh seed now, as Keras's does."""
    return keras_objects.deserialize(
        config, _BY_NAME, custom_objects, "initializer",
        lambda name: f"Unknown initializer {name!r}; expected one of "
                     f"{sorted(k for k in _BY_NAME if k[0].isupper())} or their snake_case names")


def get(identifier) -> Initializer | Callable | None:
    """Resolve what a layer was given as an initializer, as `keras.initializers.get`:
    a name ("glorot_uniform", "GlorotUniform", "he_normal", "zeros", ...) or a config dict
    (both construct a NEW initializer, drawing its seed now), an initializer class
    (constructed), an initializer object or any callable `f(shape, dtype=None)` (kept as
    given), or an array (used as the values; the shape must match)."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if isinstance(identifier, (np.ndarray, np.generic)):
        values = np.asarray(identifier)

        def from_array(shape, dtype=None):
            shape, dtype = _shape_and_dtype(shape, dtype)
            if shape != values.shape:
                raise ValueError(f"initializer array has shape {values.shape}, the weight "
                                 f"needs {shape}")
            return values.astype(dtype)
        return from_array
    if inspect.isclass(identifier):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer {identifier!r}: expected a name, a "
                     f"config dict, an Initializer, a callable or an array")
