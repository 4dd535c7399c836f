"""Symbolic tensors and nodes: how `layer(x)` on an `snn.Input` records a graph (Keras's
`KerasTensor` and `Node`, keras/src/backend/common/keras_tensor.py and ops/node.py).

    x = snn.Input((8,), name="x")      # a SymbolicTensor: a shape (None, 8), no numbers
    h = Dense(4)(x)                    # records a Node: (Dense, inputs [x], output h)
    y = layers.Add()([x2, h])          # a merge layer's node has two inputs

A Node is one CALL of a layer. A layer called twice (a shared layer) has two nodes, and both
use the same weights. Every tensor remembers where it came from, `tensor.history` =
(layer, node index, tensor index), which is all `snn.Model(inputs, outputs)` needs to walk the
graph back from its outputs (functional.py). Nothing is computed here: the layer only builds
its weights (from the input shapes) and says what shape its output has.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import config, utils


class History(NamedTuple):
    """Where a tensor came from: the layer, which of its calls, which of that call's outputs."""
    layer: Any
    node_index: int
    tensor_index: int


class SymbolicTensor:
    """A placeholder for a batch of arrays while a graph is being built: a shape (None for
    the batch and any size not known yet), a dtype and a name. Keras calls it KerasTensor."""

    def __init__(self, shape: tuple, dtype: str | None = None, name: str | None = None,
                 history: History | None = None) -> None:
        self.shape = tuple(shape)
        self.dtype = dtype or config.floatx()
        self.name = name if name is not None else utils.unique_name("keras_tensor")
        self.history = history

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return (f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, "
                f"name={self.name}>")

    def __array__(self, *args, **kwargs):
        raise TypeError(f"{self!r} is a symbolic tensor: it holds no numbers. Build a model "
                        "with snn.Model(inputs, outputs) and call the model on arrays")


class Node:
    """One call of `layer` on symbolic `inputs` (a flat list), giving `output`.

    `merge` marks a call made with a LIST of tensors (merge layers take one list argument);
    `index` is this call's position among the layer's calls (`layer.inbound_nodes`)."""

    def __init__(self, layer, inputs: list[SymbolicTensor], output: SymbolicTensor | None,
                 merge: bool = False) -> None:
        self.layer, self.inputs, self.output, self.merge = layer, list(inputs), output, merge
        calls = inbound_nodes(layer)
        self.index = len(calls)
        calls.append(self)
        for tensor in self.inputs:                 # once per input tensor, as Keras
            outbound_nodes(tensor.history.layer).append(self)
        if output is not None:
            output.history = History(layer, self.index, 0)

    @property
    def is_input(self) -> bool:
        """True for an InputLayer's node: it has no inputs, it starts the graph."""
        return not self.inputs and self.output is not None and is_input_layer(self.layer)

    @property
    def parent_nodes(self) -> list["Node"]:
        """The nodes that made this node's inputs."""
        return [inbound_nodes(t.history.layer)[t.history.node_index] for t in self.inputs]

    def __repr__(self) -> str:
        return f"<Node {self.layer.name}[{self.index}]>"


def inbound_nodes(layer) -> list[Node]:
    """The calls of `layer` on symbolic tensors, in the order they were made."""
    return layer.__dict__.setdefault("_inbound_nodes", [])


def outbound_nodes(layer) -> list[Node]:
    """The calls that took an output of `layer` as input (once per input tensor)."""
    return layer.__dict__.setdefault("_outbound_nodes", [])


def is_input_layer(layer) -> bool:
    return type(layer).__name__ == "InputLayer"


def is_symbolic(x) -> bool:
    """True for a SymbolicTensor, or a list/tuple holding one."""
    if isinstance(x, (list, tuple)):
        return any(isinstance(t, SymbolicTensor) for t in x)
    return isinstance(x, SymbolicTensor)


def call_symbolic(layer, inputs) -> SymbolicTensor:
    """`layer(inputs)` on symbolic tensors: build the layer from their shapes (first call),
    check them (later calls), record the Node, return the output tensor."""
    merge = isinstance(inputs, (list, tuple))
    flat = list(inputs) if merge else [inputs]
    for t in flat:
        if not isinstance(t, SymbolicTensor):
            raise TypeError(f"{type(layer).__name__} '{layer.name}' was called on a list mixing "
                            f"symbolic tensors and {type(t).__name__}: pass only tensors from "
                            "snn.Input and from layers called on them")
    shapes = [t.shape for t in flat]
    shape = shapes if merge else shapes[0]
    if not layer.built:
        layer.build(shape)
    else:
        check_call_shape(layer, shape)
    out_shape = layer.compute_output_shape(shape)
    output = SymbolicTensor(out_shape, flat[0].dtype)
    Node(layer, flat, output, merge=merge)
    return output


def check_call_shape(layer, shape) -> None:
    """A built layer called again (shared) must accept the new input shape by its own rule
    (`layer.check_input`: Dense looks at the last axis only, Conv2D at the channels, ...);
    sizes not known yet are taken as the built ones."""
    built = layer.input_shape
    if built is None or isinstance(shape, list) or tuple(shape) == tuple(built):
        return
    same_rank = len(built) == len(shape)
    dims = [(b if same_rank and b is not None else 1) if s is None else s
            for s, b in zip(shape[1:], built[1:] if same_rank else shape[1:])]
    try:
        layer.check_input(np.empty((0, *dims), config.floatx()))
    except ValueError as err:
        raise ValueError(f"{type(layer).__name__} '{layer.name}' was built for inputs "
                         f"{_fmt(built)} and cannot be called on a tensor of shape "
                         f"{_fmt(shape)}: {err}") from None


def _fmt(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + (
        ",)" if len(shape) == 1 else ")")
