"""A model's replica: the same weights, its own caches and gradients.

    twin = ModelReplica(model, flat_grads)      # e.g. one per shard of a batch (parallel.py)
    twin.model.forward(x_rows, training=True)   # caches in the twin's layers only
    twin.model.backward(dy_rows, carrier)       # gradients into `flat_grads` only

Every layer of the model (every call, for a graph) is replaced by its `Layer.replica()`:
the same weight arrays (so an optimizer update reaches all replicas at once), but its own
forward cache, scratch buffers and gradient arrays. The model's own passes (forward,
backward, the fan-out sums of a graph) run unchanged on the copy. The trained layers'
gradients are laid out in `flat_grads` exactly as in the model's flat gradient buffer
(model.py `_pack_weights`), so replicas' gradients add up with one NumPy call.

A replica belongs to one packing of the model's weights: when the model repacks them
(a trainable flag changed, a layer was added) its replicas are made again.
"""

from __future__ import annotations

import copy

import numpy as np

Array = np.ndarray


class ModelReplica:
    """A shallow copy of `model` whose layers (or calls) are replicas; `twin_of` maps each
    layer object of the model (by id) to the replica's."""

    def __init__(self, model, flat_grads: Array) -> None:
        self.model = twin = copy.copy(model)
        if hasattr(model, "call_layer"):          # a graph: one replica per call (node)
            twin.call_layer = {node: layer.replica() for node, layer in model.call_layer.items()}
            self.pairs = [(model.call_layer[node], twin.call_layer[node])
                          for node in model.nodes]
            of = {id(a): b for a, b in self.pairs}
            twin._replicas = {key: [of[id(call)] for call in calls]   # a shared layer's calls
                              for key, calls in model._replicas.items()}
            first = {id(node.layer): twin.call_layer[node] for node in reversed(model.nodes)}
        else:                                     # a Sequential: one replica per layer
            twin.layers = [layer.replica() for layer in model.layers]
            self.pairs = list(zip(model.layers, twin.layers))
            first = {id(a): b for a, b in self.pairs}
        twin._ensure_packed = _never              # only the model itself repacks
        self.twin_of = {id(a): b for a, b in self.pairs}
        self.flat_grads = flat_grads
        self.grad_views: list[tuple] = []
        offset = 0
        for layer in model.trained_layers():      # the model's layout: layer after layer
            if not layer.params:
                continue
            replica = first[id(layer)]            # a shared layer's first call holds the sum
            size = sum(w.size for w in layer.params.values())
            replica.grad_block = flat_grads[offset:offset + size]
            for name, weight in layer.params.items():
                view = flat_grads[offset:offset + weight.size].reshape(weight.shape)
                replica.grads[name] = view
                self.grad_views.append((replica, name, view))
                offset += weight.size

    def layer_for(self, layer):
        """The replica's layer object for one of the model's (or a list of them; None
        stays None): e.g. the logits carrier a backward pass starts from."""
        if isinstance(layer, list):
            return [self.layer_for(item) for item in layer]
        return None if layer is None else self.twin_of[id(layer)]

    def collect_gradients(self) -> None:
        """A layer that assigned a new gradient array is copied into its place in
        `flat_grads` (as Model.flat_gradients does for the model's own layers)."""
        for layer, name, view in self.grad_views:
            if layer.grads[name] is not view:
                view[...] = layer.grads[name]
                layer.grads[name] = view


def _never() -> None:
    """A replica's `_ensure_packed`: its flags are the model's when it was made."""
