"""The dense building blocks: Input, Dense, Flatten, Activation, Dropout.

Shapes use N for the batch size. Every backward states the chain rule it applies.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import activations, config, initializers, random, regularizers, utils
from ..nodes import Node, SymbolicTensor
from .base import ActivatedLayer, Layer, regularizer_arg


class InputLayer(Layer):
    """The start of a model: no weights, its output is the input batch itself.

    `snn.Input(shape)` makes one and returns its output, a symbolic tensor (nodes.py), from
    which a graph is built (`snn.Model(inputs, outputs)`). In a Sequential it sets the input
    shape and, as in Keras, is not listed in `model.layers`."""

    ARGUMENTS = ("batch_size", "dtype", "sparse", "ragged", "batch_shape", "tensor",
                 "input_tensor", "optional")

    def __init__(self, shape: tuple | None = None, name: str | None = None, **kwargs: Any) -> None:
        unknown = {key: value for key, value in kwargs.items() if key not in self.ARGUMENTS}
        if unknown:                                   # Keras's words, as for every layer
            raise ValueError(f"InputLayer: Unrecognized keyword arguments passed to "
                             f"InputLayer: {unknown} (it takes shape, name, "
                             f"{', '.join(self.ARGUMENTS)})")
        batch_shape = _input_batch_shape(shape, name, **kwargs)
        super().__init__(name=name if name is not None else utils.unique_name("input_layer"))
        self.shape = batch_shape[1:]                           # per-sample shape
        self.built = True
        self.input_shape = self.output_shape = batch_shape
        # Its one call has no inputs: the graph starts here. The tensor takes the layer's
        # name when one was given, else an automatic one (Keras's rule).
        Node(self, [], SymbolicTensor(batch_shape, name=name))

    @property
    def batch_shape(self) -> tuple:
        return (None, *self.shape)

    @property
    def input(self):
        return self.output                                      # as Keras's InputLayer

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return x

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy

    def get_config(self) -> dict[str, Any]:
        return {"batch_shape": list(self.batch_shape), "dtype": config.floatx(),
                "sparse": False, "ragged": False, "name": self.name, "optional": False}

    def __repr__(self) -> str:
        return f"<InputLayer name={self.name!r} shape={self.batch_shape}>"


def _input_batch_shape(shape, name, batch_size=None, dtype=None, sparse=None, ragged=None,
                       batch_shape=None, tensor=None, input_tensor=None,
                       optional=False) -> tuple:
    """(None, *shape) from Keras's Input/InputLayer arguments. Keras's other arguments are
    accepted switched off (scratchnn models take any batch size, dense floatx arrays) and
    refused otherwise."""
    where = "Input" + (f" '{name}'" if name is not None else "")
    utils.refuse_switched_on(where, [  # (None means "not given" here: Keras's defaults)
        (key, off if value is None else value, off) for key, value, off in (
            ("batch_size", batch_size, None), ("sparse", sparse, False),
            ("ragged", ragged, False), ("tensor", tensor, None),
            ("input_tensor", input_tensor, None), ("optional", optional, False))])
    if dtype is not None and np.dtype(dtype).name != config.floatx():
        raise ValueError(f"{where}: dtype={dtype!r} is not supported by scratchnn: models "
                         f"compute in the floatx, now {config.floatx()!r}")
    if batch_shape is not None:
        if shape is not None:
            raise ValueError(f"{where}: give shape or batch_shape, not both")
        batch_shape = tuple(batch_shape) if isinstance(batch_shape, (list, tuple)) else ()
        if not batch_shape or batch_shape[0] is not None:
            raise ValueError(f"{where}: batch_shape={batch_shape!r} must start with None "
                             "(scratchnn models take any batch size)")
        shape = batch_shape[1:]
    if shape is None:
        raise ValueError(f"{where}: give the per-sample shape (shape=...) or batch_shape")
    try:
        shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(
            None if d is None else int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: shape must be an int or a tuple of ints, got "
                         f"{shape!r}") from None
    return (None, *shape)


def Input(shape: tuple | int | None = None, batch_size: int | None = None,  # noqa: N802
          dtype: Any = None, sparse: bool | None = None, ragged: bool | None = None,
          batch_shape: tuple | None = None, name: str | None = None, tensor: Any = None,
          optional: bool = False) -> SymbolicTensor:
    """`keras.Input(shape=...)`: a symbolic tensor standing for a batch of inputs of the
    per-sample shape `shape`, e.g. (28, 28) (or `batch_shape=(None, 28, 28)`). Call layers
    on it to build a graph; a Sequential also takes it as its first entry."""
    return InputLayer(shape, name=name, batch_size=batch_size, dtype=dtype, sparse=sparse,
                      ragged=ragged, batch_shape=batch_shape, tensor=tensor,
                      optional=optional).output


class Dense(ActivatedLayer):
    """Fully connected layer: y = activation(x @ W + b).

    Shapes: x (N, in) -> y (N, units); W "kernel" (in, units); b "bias" (units,).
    Inputs of higher rank (N, ..., in) act on the last axis, as in Keras.
    """

    KERAS_ONLY_ARGUMENTS = {"kernel_constraint": (None,), "bias_constraint": (None,),
                            "lora_rank": (None,), "lora_alpha": (None,),
                            "quantization_config": (None,)}

    def __init__(self, units: int, activation: str | Callable | None = None,
                 use_bias: bool = True, kernel_initializer: str | Callable = "glorot_uniform",
                 bias_initializer: str | Callable = "zeros", kernel_regularizer=None,
                 bias_regularizer=None, name: str | None = None,
                 input_shape: tuple | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, input_shape=input_shape, **kwargs)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units < 1:
            raise ValueError(f"Dense '{self.name}': units must be a positive int, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizer_arg(kernel_regularizer, "kernel_regularizer", self)
        self.bias_regularizer = regularizer_arg(bias_regularizer, "bias_regularizer", self)

    def build(self, input_shape: tuple) -> None:
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"Dense '{self.name}' needs inputs (N, ..., features) with a known "
                             f"last dimension, got {input_shape}")
        self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer,
                        self.kernel_regularizer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer, self.bias_regularizer)
        super().build(input_shape)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], self.units)

    def check_input(self, x: np.ndarray) -> None:
        n_in = self.params["kernel"].shape[0]
        if x.ndim < 2 or x.shape[-1] != n_in:
            raise ValueError(f"Dense '{self.name}' expects inputs with last dimension {n_in}, "
                             f"got {x.shape}")

    @property
    def kernel(self) -> np.ndarray:
        return self.params["kernel"]

    @property
    def bias(self) -> np.ndarray | None:
        return self.params.get("bias")

    # -- the passes: forward caches x (and z or y); backward fills dW, db, returns dx --
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.x = x                                            # (N, in), cached for backward
        z = x @ self.params["kernel"]                         # (N, units)
        if self.use_bias:
            z += self.params["bias"]
        return self.activate(z, own=True)     # y = f(z), caching z (y for relu): base.py

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        """dL/dy (N, units) -> dL/dx (N, in), filling grads["kernel"] and grads["bias"]."""
        dz = self.activation_backward(dy)     # dL/dz = f'(z) * dL/dy   (activations.py)
        return self.backward_z(dz)

    def backward_z(self, dz: np.ndarray) -> np.ndarray | None:
        """The rest from dL/dz (N, units); the fused softmax/sigmoid + crossentropy
        gradient enters here directly (Sequential.backward)."""
        # z = x W + b, so by the chain rule:
        #   dL/dW = x^T dz        (in, units) = (in, N) @ (N, units)
        #   dL/db = sum_n dz      (units,)
        #   dL/dx = dz W^T        (N, in) = (N, units) @ (units, in)
        # grads["kernel"] and grads["bias"] are views of ONE flat array the model owns,
        # every gradient end to end, so that the optimizer updates all the weights with
        # one NumPy call per operation (model.py). So write INTO them (out=): no new
        # array per step, nothing to copy back (Sequential.flat_gradients would).
        if self.trainable:                    # a frozen layer computes no weight gradients
            x2 = self.x.reshape(-1, self.x.shape[-1])        # (N*, in): leading axes merged
            dz2 = dz.reshape(-1, self.units)                  # (N*, units)
            np.matmul(x2.T, dz2, out=self.grads["kernel"])
            if self.use_bias:
                np.add.reduce(dz2, axis=0, out=self.grads["bias"])   # np.sum, minus its wrapper
        if not self.input_grad_needed:        # no layer below learns (e.g. the first layer)
            return None
        return dz @ self.params["kernel"].T   # frozen or not, dL/dx goes on down

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer)}


class Flatten(Layer):
    """Reshape (N, d1, d2, ...) to (N, d1*d2*...) in C order (NHWC images row by row)."""

    KERAS_ONLY_ARGUMENTS = {"data_format": (None, "channels_last")}

    def __init__(self, name: str | None = None, input_shape: tuple | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, input_shape=input_shape, **kwargs)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else int(np.prod(rest, dtype=np.int64))
        return (input_shape[0], size)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # A reshape moves no numbers: dL/dx is dL/dy in the input's shape.
        return dy.reshape(self.x_shape)


class Activation(ActivatedLayer):
    """Apply an activation as its own layer: y = f(x). Activation("softmax") keeps the
    logits path to a crossentropy loss, exactly like Dense(..., activation="softmax")."""

    def __init__(self, activation: str | Callable, name: str | None = None,
                 input_shape: tuple | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, input_shape=input_shape, **kwargs)
        self.activation = activations.get(activation)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self.activate(x)

    def backward_z(self, dz: np.ndarray) -> np.ndarray:
        return dz                                             # z is the input itself

    def passes_input_through(self, training: bool) -> bool:
        return self.activation is activations.linear          # keras.activations.linear(x) is x

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Inverted dropout: while training, zero each input with probability `rate` and
    scale the survivors by 1/(1 - rate); at inference, the identity.

    Keras's exact form: y = where(u >= rate, x * float32(1/(1-rate)), 0), with u the
    stateless uniform numbers (`scratchnn.random.uniform`) of the input's shape, or of
    `noise_shape` (None entries taken from the input) broadcast over the input.

    Its random numbers are Keras's: the layer owns a `random.SeedGenerator` whose state
    starts at [d, 0], d being `seed`, or drawn from Python's `random` when the layer is
    CONSTRUCTED (rate > 0 only, as Keras). Every training-mode call uses the seed pair
    (d, count), then adds 1 to count; the count runs on across batches, epochs and `fit`
    calls. Inference (predict, evaluate, validation) draws nothing and leaves it alone.
    """

    def __init__(self, rate: float, noise_shape: tuple | None = None, seed: int | None = None,
                 name: str | None = None, input_shape: tuple | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, input_shape=input_shape, **kwargs)
        if not isinstance(rate, (int, float, np.number)) or not 0 <= rate < 1:
            raise ValueError(f"Dropout '{self.name}': rate must be in [0, 1), got {rate!r}")
        if noise_shape is not None:
            noise_shape = tuple(None if d is None else int(d) for d in noise_shape)
        self.rate = float(rate)
        self.noise_shape = noise_shape
        self.seed = seed
        self.seed_generator = random.SeedGenerator(seed) if self.rate > 0 else None

    def draw_keep_mask(self, shape: tuple) -> np.ndarray:
        """The one place randomness enters: True where an input survives (u >= rate).

        Uses this call's seed pair, then advances the layer's seed state. Parity tests
        replace this method to record masks or inject the ones TensorFlow used."""
        u = random.uniform(shape, self.seed_generator.next(), dtype=config.floatx())
        return u >= u.dtype.type(self.rate)                   # compared in u's float type

    def _mask_shape(self, x_shape: tuple) -> tuple:
        if self.noise_shape is None:
            return x_shape
        if len(self.noise_shape) != len(x_shape):
            raise ValueError(f"Dropout '{self.name}': noise_shape {self.noise_shape} needs "
                             f"inputs of rank {len(self.noise_shape)}, got {x_shape}")
        return tuple(x if n is None else n for n, x in zip(self.noise_shape, x_shape))

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.rate == 0:
            self.keep = None
            return x
        self.keep = self.draw_keep_mask(self._mask_shape(x.shape))   # (N, ...) bool
        self.scale = np.asarray(1 / (1 - self.rate), dtype=x.dtype)
        return np.where(self.keep, x * self.scale, 0).astype(x.dtype, copy=False)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # y = keep * x * scale, so dL/dx = keep * scale * dL/dy (identity at inference).
        if self.keep is None:
            return dy
        return np.where(self.keep, dy * self.scale, 0).astype(dy.dtype, copy=False)

    def passes_input_through(self, training: bool) -> bool:
        return not training or self.rate == 0

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": self.noise_shape}
