"""`snn.models.clone_model(model)`: the same architecture with NEW weights (Keras's
`keras.models.clone_model`, keras/src/models/cloning.py).

    copy = snn.models.clone_model(model)       # same layers, names, graph; fresh weights

Each layer is re-created from its own config, `type(layer)(**layer.get_config())` (Keras's
default `clone_function`, `layer.__class__.from_config(layer.get_config())`): the same
options and name, a new object with no weights yet. Its initializers are re-created too,
so a random one draws a new seed and the clone's weights are new draws, as in Keras
(after the same `set_random_seed`, the same draws as Keras's clone: the layers are
re-created in the same order). To copy the weights as well, follow with
`copy.set_weights(model.get_weights())`.

* A Sequential's clone starts from an Input of the same shape and name (when the model
  has one), then the re-created layers, under the model's name; a frozen model
  (`model.trainable = False`) gives a frozen clone.
* A Functional model's clone is the graph replayed: a new Input per input, with the input
  TENSOR's name (Keras's rule: for `snn.Input((3,))` without a name that is the tensor's
  automatic `keras_tensor...` name, so that InputLayer gets that name), then every call
  in the model's run order on the re-created layers (a shared layer is re-created once and
  called as often), in the inputs' and outputs' structures. The model's own trainable flag
  is not carried over (Keras builds the clone with inputs, outputs and name only); each
  layer's is, through its config.
* A compiled model's clone is compiled from the model's compile_config (Keras's
  `compile_from_config`): the same loss, metrics and optimizer settings, a NEW optimizer
  that has taken no step.
"""

from __future__ import annotations

from typing import Any

from . import utils
from .functional import Functional
from .layers.core import Input
from .model import Model
from .nodes import is_input_layer
from .sequential import Sequential


def clone_model(model: Model, input_tensors: Any = None, clone_function: Any = None,
                call_function: Any = None, recursive: bool = False) -> Model:
    """A new model with `model`'s architecture (layers, names, graph), new weights drawn by
    the layers' initializers, compiled as `model` was. Keras's other arguments
    (input_tensors, clone_function, call_function, recursive) are not supported."""
    utils.refuse_switched_on("clone_model", [
        ("input_tensors", input_tensors, None), ("clone_function", clone_function, None),
        ("call_function", call_function, None), ("recursive", recursive, False)])
    if isinstance(model, Sequential):
        clone = _clone_sequential(model)
    elif isinstance(model, Functional):
        clone = _clone_functional(model)
    else:
        raise ValueError("clone_model expects a Sequential or Functional model, got "
                         f"{type(model).__name__}")
    if model.compiled:
        from .saving import keras_compile
        compile_config = keras_compile.compile_config(model, action="Cloning")
        keras_compile.compile_from_keras(clone, compile_config, f"clone_model({model.name})")
    return clone


def clone_layer(layer):
    """A new layer from `layer`'s config: same class, options and name, no weights yet."""
    try:
        return type(layer)(**layer.get_config())
    except (ValueError, TypeError) as err:
        raise ValueError(f"clone_model: {type(layer).__name__} '{layer.name}' cannot be "
                         f"re-created from its config ({err})") from None


def _clone_sequential(model: Sequential) -> Sequential:
    layers = [clone_layer(layer) for layer in model.layers]
    if model.input_spec is not None:
        layers.insert(0, Input(batch_shape=model.input_spec.batch_shape,
                               name=model.input_spec.name))
    clone = Sequential(layers, name=model.name)
    if not model.trainable:
        from .saving.keras_model_reader import set_model_trainable
        set_model_trainable(clone, False)
    return clone


def _clone_functional(model: Functional) -> Functional:
    tensors = {id(t): Input(batch_shape=t.shape, name=t.name) for t in model.inputs}
    clones: dict[int, Any] = {}                 # id(layer) -> its clone, made once
    for node in model.nodes:                    # the run order: Keras's order of re-creation
        layer = node.layer
        if is_input_layer(layer):
            continue
        if id(layer) not in clones:
            clones[id(layer)] = clone_layer(layer)
        args = [tensors[id(t)] for t in node.inputs]
        tensors[id(node.output)] = clones[id(layer)](args if node.merge else args[0])
    return Functional(_map(lambda t: tensors[id(t)], model.input),
                      _map(lambda t: tensors[id(t)], model.output), name=model.name)


def _map(fn, structure):
    if isinstance(structure, dict):
        return {key: fn(value) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(fn(value) for value in structure)
    return fn(structure)
