"""Sequential: a stack of layers, and the passes through it.

    y_pred = model.forward(x, training)       each layer caches what its backward needs
    model.backward(dL, carrier)               layers in reverse fill layer.grads
    model.gradients()                         dL/dw, aligned with model.trainable_weights

Nothing flows backwards except gradients; no layer knows the loss or the optimizer.
The weights, frozen layers and files are the base class's (model.py); training is in
trainer.py (the loops) and step.py (one step). A built Sequential is also a graph, as in
Keras: `model.inputs`, `model.outputs`, `layer.input`, `layer.output` are symbolic tensors,
so `snn.Model(model.inputs, [layer.output for layer in model.layers])` extracts features.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from . import utils
from .data_utils import check_inputs
from .layers.base import ActivatedLayer, Layer, _fmt_shape
from .layers.core import InputLayer
from .model import Model
from .nodes import SymbolicTensor, call_symbolic, inbound_nodes

Array = np.ndarray


class Sequential(Model):
    """A linear stack of layers, as `keras.Sequential`."""

    def __init__(self, layers: Iterable[Layer] | None = None, name: str | None = None) -> None:
        super().__init__(name if name is not None else utils.unique_name("sequential"))
        self.input_spec: InputLayer | None = None
        self._graph: tuple | None = None          # the layers the symbolic graph was made for
        for layer in layers or []:
            self.add(layer)

    # -- structure ---------------------------------------------------------------------
    def add(self, layer: Layer | InputLayer) -> None:
        """Append a layer (or set the input shape with `Input(shape)` first)."""
        if isinstance(layer, SymbolicTensor) and isinstance(layer.history.layer, InputLayer):
            layer = layer.history.layer                 # snn.Input(...) gives its tensor
        if isinstance(layer, InputLayer):
            if self.layers or self.input_spec is not None:
                raise ValueError(f"Sequential '{self.name}': an Input can only come first")
            self.input_spec = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential '{self.name}'.add expects a scratchnn layer, "
                            f"got {layer!r}")
        if any(existing.name == layer.name for existing in self.layers):
            raise ValueError(f"Sequential '{self.name}': all layer names must be unique; "
                             f"'{layer.name}' is already used")
        if not self.layers and self.input_spec is None and layer.declared_input_shape:
            self.input_spec = InputLayer(layer.declared_input_shape[1:])
        self.layers.append(layer)
        self._flat_weights = None                 # the structure changed: pack again
        if self.input_spec is not None:
            self.build(self.input_spec.batch_shape)

    def pop(self) -> Layer:
        self._flat_weights = None
        return self.layers.pop()

    @property
    def built(self) -> bool:
        return bool(self.layers) and all(layer.built for layer in self.layers)

    def build(self, input_shape: tuple) -> None:
        """Build every layer in turn, each from the output shape of the one before."""
        shape = tuple(input_shape)
        for layer in self.layers:
            if not layer.built:
                layer.build(shape)
            elif layer.input_shape[1:] != shape[1:]:
                raise ValueError(f"{type(layer).__name__} '{layer.name}' was built for inputs "
                                 f"{_fmt_shape(layer.input_shape)}, but the layer before it "
                                 f"gives {_fmt_shape(shape)}")
            shape = layer.output_shape
        self._pack_weights()
        self._record_graph(input_shape)

    def _record_graph(self, input_shape: tuple) -> None:
        """Call every layer on a symbolic input once (per list of layers), as Keras's
        Sequential builds its graph: model.inputs / outputs, layer.input / output."""
        if self._graph == tuple(map(id, self.layers)):
            return
        if self.input_spec is None:
            self.input_spec = InputLayer(tuple(input_shape)[1:])
        tensor = self.input_spec.output
        for layer in self.layers:              # a call already recorded is reused
            done = [n for n in inbound_nodes(layer) if n.inputs == [tensor]]
            tensor = done[0].output if done else call_symbolic(layer, tensor)
        self.inputs, self.outputs = [self.input_spec.output], [tensor]
        self._graph = tuple(map(id, self.layers))

    def _after_pack(self) -> None:
        # dL/dx is only needed if some layer before this one learns.
        trained = {id(layer) for layer in self.trained_layers() if layer.params}   # learn
        for index, layer in enumerate(self.layers):
            layer.input_grad_needed = any(id(prev) in trained for prev in self.layers[:index])

    @property
    def input_shape(self) -> tuple | None:
        return self.layers[0].input_shape if self.built else None

    @property
    def output_shape(self) -> tuple | None:
        return self.layers[-1].output_shape if self.built else None

    # -- the passes ----------------------------------------------------------------------
    def _as_input(self, x) -> Array:
        x = self._cast_input(x)
        if not self.layers:
            raise ValueError(f"Sequential '{self.name}' has no layers")
        if not self.built:
            self.build((None, *x.shape[1:]))
        elif self._flat_weights is None:           # layers built on their own: pack them
            self.build(self.layers[0].input_shape)
        return x

    def forward(self, x: Array, training: bool = False) -> Array:
        """Run every layer in order; each caches what its backward needs.

        `x` must already fit the model (fit, evaluate, predict and `model(x)` check it
        once, at the door): the layers' own per-call checks (`layer(x)`) are skipped."""
        self._ensure_packed()                     # a trainable flag may have changed
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def __call__(self, x, training: bool = False) -> Array:
        y = self.forward(check_inputs(self, x, f"Sequential '{self.name}'"), training=training)
        self.apply_state_updates()
        return y

    def logits_carrier(self, training: bool) -> ActivatedLayer | None:
        """The softmax/sigmoid layer whose output reached the loss unchanged, if any.

        Keras computes crossentropy from that layer's logits (`_keras_logits`); a layer
        in between that changes its input (e.g. a training-mode Dropout) loses them."""
        for layer in reversed(self.layers):
            if layer.passes_input_through(training):
                continue
            if isinstance(layer, ActivatedLayer) and layer.carries_logits:
                return layer
            return None
        return None

    def backward(self, grad: Array, carrier: ActivatedLayer | None = None) -> None:
        """Backpropagate through every layer, in reverse, filling each layer's grads.

        `grad` is dL/d(output), or, with a logits `carrier`, dL/dz at the carrier's
        pre-activation: the fused path, where the carrier skips its activation's
        derivative and the layers after it are identities."""
        if carrier is not None:
            stop = self.layers.index(carrier)
            grad = carrier.backward_z(grad)
        else:
            stop = len(self.layers)
        for layer in reversed(self.layers[:stop]):
            if grad is None:          # the layers below have no weights: nothing to do
                break
            grad = layer.backward(grad)

