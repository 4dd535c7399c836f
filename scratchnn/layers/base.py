"""The Layer protocol every scratchnn layer follows.

A layer is a forward/backward pair with its parameters kept by name:

    y  = layer.forward(x, training)   # caches whatever backward will need
    dx = layer.backward(dy)           # fills layer.grads[name] = dL/d(param), returns dL/dx

`layer.params["kernel"]` and `layer.grads["kernel"]` are the live arrays; the
optimizer updates `params` in place. Weights are created once, in `build`, when
the input shape is first known (from `input_shape=`, an `Input`, or the first batch).

Some layers also keep weights that no gradient moves (Keras's non-trainable weights:
BatchNormalization's moving mean and variance) in `layer.state`. A training-mode
forward pass leaves their new values in `layer.state_updates`, and
`apply_state_updates()` assigns them once the step is done (fit does so together with
the optimizer's update, so Ctrl-C never leaves them a step ahead of the weights).
A weight may carry a regularizer (`layer.regularizers[name]`): its penalty joins the
loss, and its gradient the weight's gradient (Sequential.add_penalty_gradients).

Freezing (`layer.trainable = False`, or `trainable=False` to the constructor), as Keras:
the layer's parameters move from `trainable_weights` to `non_trainable_weights` (the
order of `weights` never changes), training leaves them alone, and their regularizers
leave `losses`. A frozen layer's backward still returns dL/dx (a layer below may be
learning) but computes no weight gradients. BatchNormalization also runs in inference
mode while frozen (normalization.py).

Arguments (`check_arguments`): a constructor refuses by name every keyword it does not
take. Keras arguments scratchnn does not implement (constraints, activity regularizers,
LoRA, dtype policies other than floatx, ...) are accepted only at the value that switches
them off (`kernel_constraint=None`), listed per class in `KERAS_ONLY_ARGUMENTS`; any
other value is "not supported by scratchnn". Anything else is not an argument of the
layer, in Keras's words: "Unrecognized keyword arguments passed to Dense: {'foo': 1}".
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import numpy as np

from .. import activations, config, utils
from ..nodes import call_symbolic, inbound_nodes, is_symbolic

Shape = tuple  # a full shape with the batch dimension first, e.g. (None, 28, 28)


class Layer:
    """Base class: naming, weight bookkeeping, build-on-first-call, shape checks, the
    trainable flag, and the refusal of arguments the layer does not take."""

    #: Keras arguments of this layer (and of every Keras layer, here) that scratchnn does
    #: not implement, each with the values that switch it off: given one of those it is
    #: accepted and changes nothing; any other value is refused. Subclasses add theirs.
    KERAS_ONLY_ARGUMENTS: dict[str, tuple] = {"activity_regularizer": (None,),
                                              "autocast": (True,)}

    def __init__(self, name: str | None = None, input_shape: tuple | None = None,
                 trainable: bool = True, dtype: Any = None, **kwargs: Any) -> None:
        check_arguments(type(self), name, kwargs)
        input_dim = kwargs.pop("input_dim", None)
        self.name = name if name is not None else utils.unique_name(
            utils.snake_case(type(self).__name__))
        if not isinstance(trainable, (bool, np.bool_)):      # Keras's own message
            raise ValueError(f"{type(self).__name__} '{self.name}': Expected `trainable` to be "
                             f"a boolean. Received: trainable={trainable!r} (of type "
                             f"{type(trainable)})")
        self._trainable = bool(trainable)
        check_dtype(dtype, self)
        if input_dim is not None:                 # Keras's older spelling of input_shape
            if input_shape is not None:
                raise ValueError(f"{type(self).__name__} '{self.name}': give input_shape or "
                                 f"input_dim, not both (got {input_shape!r} and {input_dim!r})")
            input_shape = (input_dim,)
        # False for a model's first layer: its dL/dx is never used, so it may skip it.
        self.input_grad_needed = True
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}          # non-trainable weights
        self.state_updates: dict[str, np.ndarray] = {}  # their next values, once computed
        self.regularizers: dict[str, Any] = {}          # param name -> regularizer
        self.built = False
        self.input_shape: Shape | None = None
        self.output_shape: Shape | None = None
        # Keras's `input_shape=` argument, the per-sample shape (no batch dimension).
        self.declared_input_shape: Shape | None = (
            (None, *_as_tuple(input_shape, "input_shape", self)) if input_shape is not None else None)

    # -- the trainable flag -----------------------------------------------------------
    @property
    def trainable(self) -> bool:
        """Whether training updates this layer's parameters (Keras's `layer.trainable`).
        Settable at any time; a model picks the change up at its next pass (see
        Sequential: after training has started, it takes a new compile())."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        # Keras's setter takes bool(value) of anything ("no" is True); scratchnn refuses
        # what is not a boolean rather than guess.
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{type(self).__name__} '{self.name}': trainable must be True or "
                             f"False, got {value!r}")
        self._trainable = bool(value)
        Layer.flag_changes += 1        # models repack at their next pass (model.py)

    #: How many times any layer's trainable flag was set: a model compares it with the
    #: count it packed its weights at, instead of reading every layer's flag every step.
    flag_changes = 0

    # -- building -------------------------------------------------------------
    def build(self, input_shape: Shape) -> None:
        """Create the weights for inputs of `input_shape` (batch dimension first)."""
        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        size = sum(w.size for w in self.params.values())
        self.pack_into(np.empty(size, config.floatx()), np.zeros(size, config.floatx()))
        self.built = True

    def pack_into(self, weight_block: np.ndarray, grad_block: np.ndarray) -> None:
        """Keep all parameters end to end, in order, in the flat `weight_block` (and their
        gradients in `grad_block`): `params[name]` become views of it.

        So a layer's weights are always one contiguous block [kernel, bias], which lets
        Conv2D treat them as one (K + 1, F) matrix, and lets a model lay the blocks of all
        its layers end to end in one buffer (model.py). Values are copied in."""
        offset = 0
        for name, value in list(self.params.items()):
            weight = weight_block[offset:offset + value.size].reshape(value.shape)
            weight[...] = value
            self.params[name] = weight
            self.grads[name] = grad_block[offset:offset + value.size].reshape(value.shape)
            offset += value.size
        self.weight_block, self.grad_block = weight_block, grad_block

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def add_weight(self, name: str, shape: tuple, initializer: Callable,
                   regularizer: Any = None, trainable: bool = True) -> np.ndarray:
        """Create weight `name`: a parameter with its gradient array (zeros, same shape),
        or with trainable=False a non-trainable weight in `self.state`.

        backward WRITES INTO `self.grads[name]` (e.g. `np.matmul(..., out=...)`): a model
        keeps every gradient in one flat buffer, of which these arrays are views."""
        value = np.asarray(initializer(tuple(shape)), dtype=config.floatx())
        if value.shape != tuple(shape):
            raise ValueError(f"Initializer for {self.name}.{name} returned shape "
                             f"{value.shape}, expected {tuple(shape)}")
        if not trainable:
            self.state[name] = value
            return value
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)
        if regularizer is not None:
            self.regularizers[name] = regularizer
        return value

    # -- running --------------------------------------------------------------
    def __call__(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """The layer on arrays (builds it on the first call), or on symbolic tensors from
        snn.Input: then it records the call in a graph (nodes.py) and returns a tensor."""
        if is_symbolic(x):
            return call_symbolic(self, x)
        x = np.asarray(x, dtype=config.floatx())             # Keras casts inputs to floatx
        if not self.built:
            self.build(self.declared_input_shape or (None, *x.shape[1:]))
        self.check_input(x)
        y = self.forward(x, training=training)
        self.apply_state_updates()
        return y

    def apply_state_updates(self) -> None:
        """Assign the non-trainable weights the last training-mode forward pass computed
        (in place), then forget them."""
        for name, value in self.state_updates.items():
            self.state[name][...] = value
        self.state_updates = {}

    def check_input(self, x: np.ndarray) -> None:
        """Refuse inputs whose per-sample shape differs from the built one."""
        expected = self.input_shape
        if expected is None:
            return
        if x.ndim != len(expected) or any(
                e is not None and e != s for e, s in zip(expected[1:], x.shape[1:])):
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects inputs of shape "
                f"{_fmt_shape(expected)}, got {x.shape}")

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def replica(self) -> "Layer":
        """A copy that SHARES this layer's weights (the same `params` arrays, which the
        optimizer updates) but has its own forward cache, scratch buffers and gradient
        arrays. A model runs a layer called twice (a shared layer) on one replica per extra
        call, and the shards of a batch-parallel step on one replica each: every run keeps
        what its backward needs, and the model adds the replicas' gradients up afterwards.
        Made again whenever the model repacks its weights."""
        twin = copy.copy(self)                     # attributes shared; rebinding is private
        block = np.zeros(sum(g.size for g in self.grads.values()), config.floatx())
        twin.grads, offset = {}, 0
        for name, grad in self.grads.items():      # in the layer's order, one block
            twin.grads[name] = block[offset:offset + grad.size].reshape(grad.shape)
            offset += grad.size
        twin.grad_block = block
        twin.state_updates = {}
        twin.new_scratch()
        return twin

    def new_scratch(self) -> None:
        """Make the reusable work buffers a layer keeps between calls (Conv2D's window
        buffers); a replica needs its own. Most layers keep none."""

    # -- the graph ------------------------------------------------------------
    @property
    def input(self):
        """The symbolic input tensor(s) of this layer's FIRST call (Keras's layer.input)."""
        node = self._first_call("input")
        return node.inputs if node.merge else node.inputs[0]

    @property
    def output(self):
        """The symbolic output tensor of this layer's first call (Keras's layer.output)."""
        return self._first_call("output").output

    def _first_call(self, what: str):
        calls = inbound_nodes(self)
        if not calls:
            raise AttributeError(f"Layer '{self.name}' has never been called on a symbolic "
                                 f"tensor, so it has no {what} yet (call it on snn.Input(...) "
                                 "or build a Sequential with an input shape)")
        return calls[0]

    def passes_input_through(self, training: bool) -> bool:
        """True when this call returns its input unchanged (Keras keeps `_keras_logits` then)."""
        return False

    # -- weights --------------------------------------------------------------
    @property
    def named_weights(self) -> dict[str, np.ndarray]:
        """Every weight by name in Keras's order: the parameters (kernel before bias),
        then the non-trainable ones (BatchNormalization's moving statistics)."""
        return {**self.params, **self.state} if self.state else self.params

    @property
    def weights(self) -> list[np.ndarray]:
        """The live weight arrays, in Keras order (`named_weights`)."""
        return list(self.named_weights.values())

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        """The parameters training updates: all of them, or none while frozen."""
        return list(self.params.values()) if self._trainable else []

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        """The weights training leaves alone: the state (moving statistics), or every
        weight while frozen, in `weights` order (as Keras)."""
        return list(self.state.values()) if self._trainable else self.weights

    @property
    def losses(self) -> list[np.floating]:
        """The regularizers' penalties on this layer's trainable weights, in their order
        (Keras's `layer.losses`; empty while frozen or before build)."""
        if not self._trainable:
            return []
        return [self.regularizers[name](weight) for name, weight in self.params.items()
                if name in self.regularizers]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weights, in Keras order and layouts."""
        return [w.copy() for w in self.weights]

    def set_weights(self, weights: list) -> None:
        """Copy `weights` into the weights in place. Count, shapes and values are all
        checked first (check_weights): on any error the layer is left as it was."""
        for weight, value in zip(self.weights, self.check_weights(weights)):
            weight[...] = value

    def check_weights(self, weights: list) -> list[np.ndarray]:
        """`weights` as arrays ready for set_weights, or a ValueError/TypeError naming this
        layer and the weight: one array of numbers per parameter, of the parameter's shape
        (NaN and inf are accepted, as in Keras)."""
        from ..data_utils import as_numeric_array

        own = self.named_weights
        if weights is None or isinstance(weights, (str, bytes, dict, np.ndarray)) \
                or not hasattr(weights, "__iter__"):
            raise TypeError(f"Layer '{self.name}' expects a list of {len(own)} weight "
                            f"arrays, got {type(weights).__name__}")
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(f"Layer '{self.name}' expects {len(own)} weight arrays "
                             f"{[w.shape for w in own.values()]}, got {len(weights)}")
        values = []
        for (name, param), value in zip(own.items(), weights):
            value = as_numeric_array(value, f"weight '{name}'", f"Layer '{self.name}'")
            if value.shape != param.shape:
                raise ValueError(f"Layer '{self.name}' weight '{name}' has shape {param.shape}, "
                                 f"got {value.shape}")
            values.append(value)
        return values

    def count_params(self) -> int:
        """Every weight's size, non-trainable ones included (Keras's count)."""
        return int(sum(w.size for w in self.weights))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class ActivatedLayer(Layer):
    """A layer that ends in an activation: y = f(z), with z its own pre-activation.

    It keeps z (the "logits") because a softmax or sigmoid output feeding a
    crossentropy loss is differentiated at z directly (the fused `p - y`
    gradient); `backward_z(dz)` is the backward pass from dL/dz.
    """

    activation: Callable

    def activate(self, z: np.ndarray, own: bool = False) -> np.ndarray:
        """y = f(z). `own`: z is this layer's fresh product that nothing else holds, so
        relu overwrites it in place (one array less per call; relu's backward needs
        only y, see activations.relu_backward). Otherwise z is kept for backward."""
        if own and self.activation is activations.relu:
            self.z = None
            self.y = activations.relu(z, out=z)
            return self.y
        self.z = z                                  # pre-activation, cached for backward
        self.y = self.activation(z)
        return self.y

    @property
    def carries_logits(self) -> bool:
        """True when the output is a softmax/sigmoid whose logits a crossentropy uses."""
        return self.activation in activations.LOGIT_CARRYING

    def activation_backward(self, dy: np.ndarray) -> np.ndarray:
        """dL/dz = f'(z) * dL/dy, elementwise (softmax: the Jacobian-vector product), from
        what `activate` cached; each activation's derivative is in activations.py."""
        return activations.backward_of(self.activation)(dy, self.z, self.y)

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        dz = self.activation_backward(dy)          # dL/dz = f'(z) * dL/dy
        return self.backward_z(dz)                 # the layer's own part, from dL/dz

    def backward_z(self, dz: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError


# The argument helpers live in arguments.py; these names stay importable from here.
from .arguments import (BASE_ARGUMENTS, _as_tuple, _fmt_shape, accepted_arguments,  # noqa: E402
                        check_arguments, check_dtype, keras_only_arguments, normalize_tuple,
                        regularizer_arg)
