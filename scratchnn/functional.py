"""Models that are graphs: `snn.Model(inputs, outputs)`, Keras's Functional API.

    a = snn.Input((8,), name="a")
    h = snn.layers.Dense(8, activation="relu")(a)
    y = snn.layers.Add()([a, h])                   # a residual connection
    model = snn.Model(a, snn.layers.Dense(3, activation="softmax")(y))

The graph is the record of every call (nodes.py); graph.py puts the calls in Keras's order.

THE FORWARD PASS runs the calls in that order, keeping each tensor's array by the tensor:

    values[x] = the input arrays
    for each call (node):   values[node.output] = node's layer.forward(values[node.inputs])

THE BACKWARD PASS walks the same calls in reverse. Where a tensor feeds several calls (x
above feeds Dense and Add), it reached the loss along several paths, so by the chain rule
its gradient is the SUM of what flows back along each:

    dL/dx = (dL/dx through Dense) + (dL/dx through Add)

`grads[t]` collects these sums; a call runs its backward once all its consumers have added
theirs, which the reversed order guarantees (every consumer comes later in the forward).

SHARED LAYERS. A layer called twice (`d(p)`, `d(q)`) uses one kernel W twice, so
dL/dW = dL/dW through the first call + dL/dW through the second. Each call needs its own
forward cache (its own x), so every call after a layer's first runs on a REPLICA
(`Layer.replica`: the same weight arrays, its own cache and gradient arrays); after the
backward pass each replica's gradients are added into the layer's. Replicas are the one
mechanism for running a layer in several places at once: the batch-parallel step
(parallel.py) uses them for its shards too.
"""

from __future__ import annotations

import numpy as np

from . import graph, utils
from .data_utils import check_inputs
from .model import Model
from .multi_output import MultiOutputTraining
from .nodes import SymbolicTensor, inbound_nodes, is_input_layer, is_symbolic

Array = np.ndarray


def flatten_structure(structure, what: str) -> list:
    """The tensors of `inputs`/`outputs` given as one tensor, a list/tuple or a dict (dicts
    in sorted key order, as Keras's tree.flatten)."""
    if isinstance(structure, dict):
        items = [structure[key] for key in sorted(structure)]
    elif isinstance(structure, (list, tuple)):
        items = list(structure)
    else:
        items = [structure]
    for item in items:
        if not isinstance(item, SymbolicTensor):
            raise ValueError(f"All `{what}` values must be symbolic tensors (from snn.Input and "
                             f"layers called on them). Received: {what}={structure!r} "
                             f"including invalid value {item!r} of type {type(item)}")
    return items


class Functional(MultiOutputTraining, Model):
    """A model defined by the graph from `inputs` to `outputs` (Keras's Functional).

    `inputs` / `outputs`: one symbolic tensor, a list, or a dict (Keras's structures: data
    and predictions come in the same structure). `model.layers` lists every layer once,
    InputLayers included, in Keras's order (graph.py); weights follow that order."""

    def __init__(self, inputs, outputs, name: str | None = None, trainable: bool = True) -> None:
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self.inputs = flatten_structure(inputs, "inputs")
        self.outputs = flatten_structure(outputs, "outputs")
        check_model_inputs(self.inputs)
        super().__init__(name=name if name is not None else utils.unique_name("functional"))
        nodes_by_depth, layers = graph.map_graph(self.inputs, self.outputs)
        self.nodes = graph.run_order(nodes_by_depth)   # the calls, in forward order
        self._nodes_by_depth = nodes_by_depth
        self.layers = layers
        self.output_names = [t.history.layer.name for t in self.outputs]
        self.input_names = [t.history.layer.name for t in self.inputs]
        for layer in self.layers:
            calls = sum(node.layer is layer for node in self.nodes)
            if calls > 1 and layer.state:     # moving statistics staged once per call
                raise ValueError(f"{type(layer).__name__} '{layer.name}' is called {calls} "
                                 "times in this model: a shared layer with non-trainable "
                                 "state (moving statistics) is not supported by scratchnn")
        if trainable is not True:
            self.trainable = trainable
        self._pack_weights()

    # -- structure -------------------------------------------------------------------------
    @property
    def built(self) -> bool:
        return True                               # built by the calls that made the graph

    @property
    def input(self):
        """The input tensor(s) in the structure given (`model.inputs` is the flat list)."""
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def is_multi_output(self) -> bool:
        return len(self.outputs) > 1

    def _after_pack(self) -> None:
        self._assign_call_layers()

    def _as_input(self, x):
        """Cast to floatx (the graph was built by its calls: nothing to build here)."""
        cast = super()._cast_input
        return [cast(a) for a in x] if isinstance(x, list) else cast(x)

    def __call__(self, x, training: bool = False):
        """The model on arrays (inference unless training=True), in the outputs' structure;
        on symbolic tensors (a model used as a layer) it is refused."""
        if is_symbolic(x) or (isinstance(x, dict) and is_symbolic(list(x.values()))):
            raise ValueError(f"{self._describe()} was called on symbolic tensors: using a "
                             "model as a layer of another model is not supported by scratchnn")
        y = self.forward(check_inputs(self, x, self._describe()), training=training)
        self.apply_state_updates()
        return self.pack_outputs(y)

    def _predict_nothing(self, x):
        """predict on no samples: empty arrays of the outputs' shapes."""
        return self.pack_outputs([np.zeros((0, *(d or 0 for d in t.shape[1:])), t.dtype)
                                  for t in self.outputs])

    def pack_outputs(self, y):
        """Outputs in the structure they were given: a dict for dict outputs, a list for a
        list of several, the bare array for one (even `outputs=[o]`, as Keras)."""
        ys = y if isinstance(y, list) else [y]
        if isinstance(self._outputs_struct, dict):
            return dict(zip(sorted(self._outputs_struct), ys))
        return ys if len(ys) > 1 else ys[0]

    def _assign_call_layers(self) -> None:
        """Which layer object runs each call: the first call of a layer runs on the layer,
        later calls on replicas (kept here, per model: one graph's nodes may belong to
        several models). Also which calls need dL/d(input): those below a learning layer."""
        self.call_layer: dict = {}
        self._replicas: dict[int, list] = {}         # id(layer) -> [layer, replica, ...]
        trained = {id(layer) for layer in self.trained_layers() if layer.params}   # learn
        learns: dict[int, bool] = {}
        self._needs_dx: dict = {}
        for node in self.nodes:
            calls = self._replicas.setdefault(id(node.layer), [])
            calls.append(node.layer.replica() if calls else node.layer)
            self.call_layer[node] = calls[-1]
            upstream = any(learns.get(id(t), False) for t in node.inputs)
            self._needs_dx[node] = upstream
            learns[id(node.output)] = upstream or id(node.layer) in trained
        self._replicas = {key: calls for key, calls in self._replicas.items() if len(calls) > 1}

    # -- forward ----------------------------------------------------------------------------
    def forward(self, x, training: bool = False):
        """Run every call in order. `x`: the input arrays in `self.inputs` order (one array
        for a single input). Returns the output array, or a list for several outputs."""
        self._ensure_packed()                     # a trainable flag may have changed
        xs = x if isinstance(x, list) else [x]
        values = {id(t): a for t, a in zip(self.inputs, xs)}
        for node in self.nodes:
            args = [values[id(t)] for t in node.inputs]
            values[id(node.output)] = self.call_layer[node].forward(
                args if node.merge else args[0], training=training)
        outs = [values[id(t)] for t in self.outputs]
        return outs if len(outs) > 1 else outs[0]

    # -- backward ---------------------------------------------------------------------------
    def logits_carriers(self, training: bool) -> list:
        """Per output, the softmax/sigmoid call (its layer object, holding `z`) whose output
        reached it unchanged, or None (Keras's `_keras_logits`: the crossentropy is computed
        from that call's logits)."""
        carriers = []
        for tensor in self.outputs:
            node = _producer(tensor)
            while (not node.merge and not node.is_input
                   and node.layer.passes_input_through(training)):
                node = _producer(node.inputs[0])
            layer = self.call_layer.get(node)
            carriers.append(layer if getattr(layer, "carries_logits", False) else None)
        return carriers

    def logits_carrier(self, training: bool):
        """The single output's carrier (the Sequential-shaped training step asks for one)."""
        return self.logits_carriers(training)[0]

    def backward(self, grads, carriers=None) -> None:
        """Backpropagate dL/d(each output) through every call in reverse, summing where a
        tensor fans out, then summing each shared layer's gradients over its calls.

        `grads`: one array per output (one array for a single output); `carriers`: per
        output, None or the call's layer object whose pre-activation z the gradient is taken
        at (the fused softmax/sigmoid + crossentropy path)."""
        grads = grads if isinstance(grads, list) else [grads]
        carriers = carriers if isinstance(carriers, list) else [carriers] * len(grads)
        flowing: dict[int, Array] = {}          # id(tensor) -> dL/d(tensor) so far
        at_logits: dict = {}                    # id(call layer) -> dL/dz from the loss
        for tensor, grad, carrier in zip(self.outputs, grads, carriers):
            if grad is None:
                continue
            if carrier is None:
                _add(flowing, id(tensor), grad)
            else:
                _add(at_logits, id(carrier), grad)
        reached = set()
        for node in reversed(self.nodes):
            dy = flowing.pop(id(node.output), None)
            dz = at_logits.pop(id(self.call_layer[node]), None)
            if dy is None and dz is None:
                continue                        # nothing of the loss flows through here
            layer = self.call_layer[node]
            layer.input_grad_needed = self._needs_dx[node]
            if dz is not None:                  # the loss's gradient at the logits z
                if dy is not None:              # ... plus what reached its output y
                    dz = dz + layer.activation_backward(dy)
                dx = layer.backward_z(dz)
            else:
                dx = layer.backward(dy)
            reached.add(node)
            if dx is None:
                continue                        # nothing upstream learns
            for tensor, g in zip(node.inputs, dx if node.merge else [dx]):
                _add(flowing, id(tensor), g)
        self._sum_shared_gradients(reached)

    def _sum_shared_gradients(self, reached: set) -> None:
        """dL/dW of a shared layer = the sum over its calls; a call that no gradient reached
        adds nothing (and its arrays hold an older step's numbers: they are skipped)."""
        ran = {id(self.call_layer[node]) for node in reached}
        for layer, *replicas in self._replicas.values():
            for name, grad in layer.grads.items():
                if id(layer) not in ran:
                    grad[...] = 0
                for replica in replicas:
                    if id(replica) in ran:
                        grad += replica.grads[name]


def _producer(tensor: SymbolicTensor):
    """The node (call) that made `tensor`."""
    return inbound_nodes(tensor.history.layer)[tensor.history.node_index]


def _add(flowing: dict, key: int, grad: Array) -> None:
    """Accumulate a gradient: a new array (never in place: a backward pass may hand the
    same array to several inputs, as Add does)."""
    flowing[key] = grad if key not in flowing else flowing[key] + grad


def check_model_inputs(inputs: list[SymbolicTensor]) -> None:
    for tensor in inputs:
        layer = tensor.history.layer if tensor.history else None
        if layer is None or not is_input_layer(layer):
            raise ValueError(f"Model inputs must be tensors made by snn.Input, got {tensor!r} "
                             f"(made by {getattr(layer, 'name', '?')!r}); scratchnn does not "
                             "support models whose inputs are intermediate tensors")


