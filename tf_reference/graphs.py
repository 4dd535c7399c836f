"""Twins of graph models: a scratchnn Functional model's calls replayed in Keras, and a Keras
Functional model's calls replayed in scratchnn.

    twin = graph_to_keras(model)           # keras.Model: the same layers, calls and structure
    model = graph_from_keras(keras_model)  # snn.Model: the same, the other way

A graph is the record of its calls (nodes): which layer ran on which tensors. Replaying them
in the other engine, in an order where every call comes after the calls that made its inputs,
gives the same graph: the same layers (one twin per layer, so a shared layer stays shared),
each called on the twins of the same tensors, a merge layer on the same list in the same order.
Both engines then put the layers, and so the weights, in Keras's order (graph order, not
creation order); the replay checks that the orders agree before any weight is copied.

Layers are created first, all of them, in `model.layers` order, then called: after the same
`set_random_seed(s)` the twins draw their initializers' seeds in that order (Keras draws them
in the constructor), so a scratchnn graph whose layers were created in `model.layers` order
has the same initial weights as its twin built with copy_weights=False.
"""

from __future__ import annotations

import keras

import scratchnn as snn

from .layers import keras_layer, snn_layer
from .masks import InjectedDropout


def _structure(struct, leaf):
    """`struct` (one tensor, a list/tuple, or a dict) with each tensor replaced by leaf(t)."""
    if isinstance(struct, dict):
        return {key: leaf(value) for key, value in struct.items()}
    if isinstance(struct, (list, tuple)):
        return [leaf(value) for value in struct]
    return leaf(struct)


def _is_input_layer(layer) -> bool:
    return type(layer).__name__ == "InputLayer"


def graph_to_keras(model, masks: dict[str, list] | None = None) -> keras.Model:
    """The Keras Functional model making the same calls as the scratchnn graph `model`
    (uncompiled, with Keras's own initial weights). `masks`: {Dropout name: masks}, those
    Dropouts become InjectedDropout (see masks.py)."""
    twins = {}                                     # id(scratchnn layer) -> its Keras twin
    tensors = {}                                   # id(scratchnn tensor) -> Keras tensor
    for layer in model.layers:                     # created in model.layers order (the seeds)
        if _is_input_layer(layer):
            tensor = keras.Input(shape=layer.batch_shape[1:], name=layer.name)
            twins[id(layer)] = tensor._keras_history.operation
            tensors[id(layer.output)] = tensor
        elif masks is not None and layer.name in masks:
            if sum(node.layer is layer for node in model.nodes) > 1:
                raise ValueError(f"to_keras: Dropout '{layer.name}' is called more than once; "
                                 "replaying recorded masks is not supported for a shared Dropout")
            twins[id(layer)] = InjectedDropout(layer.rate, masks[layer.name], name=layer.name)
        else:
            twins[id(layer)] = keras_layer(layer)
    for node in model.nodes:                       # forward order: inputs before their users
        if node.is_input:
            continue
        args = [tensors[id(t)] for t in node.inputs]
        tensors[id(node.output)] = twins[id(node.layer)](args if node.merge else args[0])
    twin = keras.Model(_structure(model.input, lambda t: tensors[id(t)]),
                       _structure(model.output, lambda t: tensors[id(t)]), name=model.name)
    _check_same_layers(model, twin, "to_keras")
    return twin


def graph_from_keras(keras_model):
    """The scratchnn graph model making the same calls as a Keras Functional model (layers
    scratchnn has, each call on one tensor or, for merge layers, one list of tensors)."""
    twins, tensors = {}, {}
    for layer in keras_model.layers:               # created in model.layers order
        if _is_input_layer(layer):
            if len(layer.batch_shape) < 2 or layer.batch_shape[0] is not None:
                raise TypeError(f"from_keras: InputLayer '{layer.name}' has batch_shape "
                                f"{layer.batch_shape}; scratchnn takes Inputs with a free "
                                "batch size")
            tensors[id(layer.output)] = snn.Input(tuple(layer.batch_shape[1:]), name=layer.name)
            twins[id(layer)] = tensors[id(layer.output)].history.layer
        elif isinstance(layer, keras.Model):
            raise TypeError(f"from_keras: '{layer.name}' is a model used as a layer; nested "
                            "models are not supported by scratchnn")
        else:
            twins[id(layer)] = snn_layer(layer)
    for depth in sorted(keras_model._nodes_by_depth, reverse=True):    # Keras's run order
        for node in keras_model._nodes_by_depth[depth]:
            if node.is_input:
                continue
            if id(node.operation) not in twins:
                raise TypeError(f"from_keras: '{node.operation.name}' "
                                f"({type(node.operation).__name__}) is an operation, not a "
                                "layer; raw keras.ops calls are not supported by scratchnn")
            args, kwargs = node.arguments.args, node.arguments.kwargs
            if kwargs or len(args) != 1:
                raise TypeError(f"from_keras: a call of '{node.operation.name}' passes "
                                f"arguments other than one tensor or one list of tensors "
                                f"(args {len(args)}, kwargs {sorted(kwargs)}), which is not "
                                "supported by scratchnn")
            given = args[0]
            inputs = ([tensors[id(t)] for t in given] if isinstance(given, (list, tuple))
                      else tensors[id(given)])
            out = twins[id(node.operation)](inputs)
            (keras_out,) = node.outputs
            tensors[id(keras_out)] = out
    model = snn.Model(_structure(keras_model.input, lambda t: tensors[id(t)]),
                      _structure(keras_model.output, lambda t: tensors[id(t)]),
                      name=keras_model.name)
    _check_same_layers(model, keras_model, "from_keras")
    return model


def _check_same_layers(model, keras_model, where: str) -> None:
    """Both engines list the same layers (names and classes) in the same order, so their
    weight lists line up; an AssertionError shows both lists otherwise (a difference in
    the graph order, graph.py against Keras's map_graph)."""
    ours = [(layer.name, type(layer).__name__) for layer in model.layers]
    theirs = [(layer.name, type(layer).__name__) for layer in keras_model.layers]
    theirs = [(name, "Dropout" if kind == "InjectedDropout" else kind) for name, kind in theirs]
    if ours != theirs:
        raise AssertionError(f"{where}: the layer orders differ: scratchnn {ours}, "
                             f"Keras {theirs}")
