"""Keras 3's `config.json` -> a scratchnn model: a Sequential, or a Functional graph whose
calls are replayed (the layers themselves: keras_config_reader.py).

A SEQUENTIAL's config lists its layers; they are added in order to a new Sequential. Its
own "trainable" is read and ignored, as Keras 3.15 ignores it (measured: a Sequential saved
with model.trainable = False loads with model.trainable True, its layers still frozen).

A FUNCTIONAL model's config lists every layer once, InputLayers included, each with the
calls it made in the graph ("inbound_nodes", see keras_config.functional_config). Reading
it is Keras's `functional_from_config` (keras/src/models/functional.py), in three steps:

1. Check the whole config first (keras_graph.py): every call names tensors made by calls
   that exist ([layer name, node index, tensor index]), the calls can all be made (no
   cycle), names are unique, every class is a layer scratchnn has. An error names the file
   and the entry.
2. Find the order of the calls as Keras replays them (keras_graph.CallGraph.replay_order):
   a layer shared at two depths needs it. In A(B(A(x))) the file lists A before B, and
   A's second call waits for B's first.
3. Create the layers, compute every call's shapes (the weight count is checked against the
   weights file, so a hostile config cannot make scratchnn allocate more than the file
   holds), then make the calls on symbolic tensors and build the model from the tensors
   `input_layers` / `output_layers` name, in their structure (one, a list or a dict).

A Functional model saved with model.trainable = False loads with it False and each layer
as its own entry says (measured in Keras 3.15: its InputLayers stay trainable).
"""

from __future__ import annotations

import math

from .. import config
from ..functional import Functional
from ..layers import BatchNormalization, Conv2D, Dense, Input
from ..sequential import Sequential
from .keras_config_reader import (Options, check_shape, describe_entry, input_layer_from_keras,
                                  keras_class, layer_from_keras)
from .keras_graph import CallGraph
from .state import InvalidFile


def model_from_keras(cfg, where: str, weights_bytes: int | None = None):
    """The (uncompiled) model a Keras `config.json` (or `to_json()`) describes.

    weights_bytes: the size of the weights file that comes with it; a config that needs
    more weights than that is refused before anything is built."""
    cls = keras_class(cfg, "config.json", where)
    if cls == "Sequential":
        return sequential_from_config(cfg.get("config"), where, weights_bytes)
    if cls in ("Functional", "Model"):
        return functional_from_config(cfg.get("config"), where, weights_bytes)
    raise InvalidFile(f"Cannot load '{where}': it holds a Keras {cls!r}, not a Sequential or "
                      "a Functional model")


def model_from_config(cls, config: dict):
    """`cls.from_config(config)`: a Sequential's config for Sequential, a graph's for Model
    and Functional (Keras's rule; the config is not changed, where Keras's pops its keys)."""
    where = f"{cls.__name__}.from_config(config)"
    if not isinstance(config, dict):
        raise TypeError(f"{where} expects the dict get_config() returns, got "
                        f"{type(config).__name__}")
    if issubclass(cls, Sequential):
        if "input_layers" in config or "output_layers" in config:
            raise InvalidFile(f"Cannot load '{where}': this is a Functional model's config "
                              "(it has input_layers/output_layers); use "
                              "snn.Model.from_config(config)")
        return sequential_from_config(config, where)
    missing = [key for key in ("layers", "input_layers", "output_layers") if key not in config]
    if missing:
        raise InvalidFile(f"Cannot load '{where}': a Functional model's config needs {missing}"
                          " (a Sequential's config goes to snn.Sequential.from_config)")
    return functional_from_config(config, where)


# -- weight counts, before anything is built ----------------------------------------------------
def _weight_count(layer, shape: tuple) -> int:
    """How many weights `layer` creates for inputs of `shape` (computed, not allocated)."""
    if isinstance(layer, Dense):
        return shape[-1] * layer.units + layer.units * layer.use_bias
    if isinstance(layer, Conv2D):
        return (math.prod(layer.kernel_size) * shape[-1] + layer.use_bias) * layer.filters
    if isinstance(layer, BatchNormalization):
        return shape[layer.axis] * (2 + layer.center + layer.scale)
    return 0


def _check_weights_fit(count: int | None, where: str, weights_bytes: int | None) -> None:
    itemsize = 8 if config.floatx() == "float64" else 4
    if count is not None and weights_bytes is not None and count * itemsize > weights_bytes:
        raise InvalidFile(f"Cannot load '{where}': config.json describes {count:,} weights "
                          f"({count * itemsize:,} bytes) but the weights file holds only "
                          f"{weights_bytes:,} bytes: they do not belong together")


# -- a Sequential -------------------------------------------------------------------------------
def _parameter_count(layers: list, batch_shape: tuple) -> int | None:
    """The weights `layers` would create for inputs `batch_shape`; None when the shapes do
    not work out (building the model will then say why)."""
    shape, total = tuple(batch_shape), 0
    try:
        for layer in layers:
            total += _weight_count(layer, shape)
            shape = layer.compute_output_shape(shape)
    except (ValueError, TypeError, IndexError):
        return None
    return total


def sequential_from_config(body, where: str, weights_bytes: int | None = None) -> Sequential:
    """A Sequential from its `config` (Keras's Sequential.from_config)."""
    opts = Options(body, "the Sequential", where)
    name = opts.take("name", "str", "sequential")
    entries = opts.take("layers", "any", [])
    if not isinstance(entries, list):
        raise opts.error(f"'layers' should be a list, got {type(entries).__name__}")
    # The Sequential's own dtype entry is not checked: Keras computes in each layer's
    # policy (checked per layer), and re-saves a float64 model's container as float32.
    opts.rest.pop("dtype", None)
    opts.take("trainable", "bool", True)      # ignored on loading, as Keras ignores it
    build_shape = opts.rest.pop("build_input_shape", None)
    opts.done()

    input_layer = None
    first = entries[0] if entries else None
    if isinstance(first, dict) and first.get("class_name") == "InputLayer":
        keras_class(first, "layer 0", where)
        input_layer = input_layer_from_keras(first, where)
        entries = entries[1:]
    elif isinstance(first, dict) and isinstance(first.get("config"), dict) \
            and first["config"].get("batch_input_shape"):         # Keras 2 style
        build_shape = first["config"]["batch_input_shape"]
    start = 1 if input_layer is not None else 0
    layers = [layer_from_keras(entry, index, where) for index, entry in enumerate(entries, start)]
    if input_layer is not None:
        batch_shape = input_layer[0]
    elif build_shape is not None and layers:
        batch_shape = check_shape(build_shape, "build_input_shape", where)
    else:
        batch_shape = None                     # an unbuilt model: no weights yet
    if batch_shape is not None:
        _check_weights_fit(_parameter_count(layers, batch_shape), where, weights_bytes)

    model = Sequential(name=name)
    if input_layer is not None:
        model.add(Input(batch_shape[1:], name=input_layer[1]))
    for index, layer in enumerate(layers, start):
        try:
            model.add(layer)
        except ValueError as err:
            raise InvalidFile(f"Cannot load '{where}': layer {index} '{layer.name}': {err}") \
                from None
    if not model.built and batch_shape is not None:
        try:
            model.build(batch_shape)
        except ValueError as err:
            raise InvalidFile(f"Cannot load '{where}': {err}") from None
    return model


# -- a Functional model ---------------------------------------------------------------------
def _map(fn, structure):
    if isinstance(structure, dict):
        return {key: _map(fn, value) for key, value in structure.items()}
    if isinstance(structure, list):
        return [_map(fn, value) for value in structure]
    return fn(structure)


def functional_from_config(body, where: str, weights_bytes: int | None = None) -> Functional:
    """A Functional model from its `config` (Keras's functional_from_config)."""
    opts = Options(body, "the Functional model", where)
    name = opts.take("name", "str", None)
    trainable = opts.take("trainable", "bool", True)
    entries = opts.take("layers", "any")
    if not isinstance(entries, list):
        raise opts.error(f"'layers' should be a list, got {type(entries).__name__}")
    input_refs, output_refs = opts.take("input_layers", "any"), opts.take("output_layers", "any")
    opts.done()

    # 1. Everything checked; 2. Keras's order of the calls.
    graph = CallGraph(entries, where)
    inputs_at = graph.structure(input_refs, "input_layers", inputs=True)
    outputs_at = graph.structure(output_refs, "output_layers", inputs=False)
    order = graph.replay_order()

    # 3. The layers (no weights yet) and the InputLayers' batch shapes; the weight count;
    # then the calls, each tensor kept by (layer name, node index) as the file names it.
    batch_shapes, layers = {}, {}
    for layer_name, (index, entry) in graph.entries.items():
        if layer_name in graph.inputs:
            batch_shapes[layer_name], _ = input_layer_from_keras(
                entry, where, describe_entry(entry, index))
        else:
            layers[layer_name] = layer_from_keras(entry, index, where)
    shapes = {(layer_name, 0): shape for layer_name, shape in batch_shapes.items()}
    _check_weights_fit(_graph_parameter_count(order, layers, shapes), where, weights_bytes)
    tensors = {(layer_name, 0): Input(shape[1:], name=layer_name)
               for layer_name, shape in batch_shapes.items()}
    for call in order:
        args = [tensors[ref] for ref in call.inputs]
        try:
            tensors[(call.layer, call.index)] = layers[call.layer](
                args if call.merge else args[0])
        except (ValueError, TypeError) as err:
            raise InvalidFile(f"Cannot load '{where}': {graph.what(call.layer)} call "
                              f"{call.index}: {err}") from None
    try:
        model = Functional(_map(tensors.__getitem__, inputs_at),
                           _map(tensors.__getitem__, outputs_at), name=name)
    except ValueError as err:
        raise InvalidFile(f"Cannot load '{where}': {err}") from None
    if not trainable:
        set_model_trainable(model, False)
    return model


def _graph_parameter_count(order: list, layers: dict, shapes: dict) -> int | None:
    """The weights the calls create (each layer builds at its first call), from the shapes
    alone; None when the shapes do not work out (the calls will then say why)."""
    total = 0
    try:
        for call in order:
            given = [shapes[ref] for ref in call.inputs]
            shape = given if call.merge else given[0]
            layer = layers[call.layer]
            if call.index == 0:
                total += _weight_count(layer, shape)
            shapes[(call.layer, call.index)] = tuple(layer.compute_output_shape(shape))
    except (ValueError, TypeError, IndexError, KeyError):
        return None
    return total


def set_model_trainable(model, value: bool) -> None:
    """The model's own flag, each layer keeping its own (as Keras's constructor argument
    `trainable=` does: measured, a frozen Functional's InputLayer reloads trainable)."""
    flags = [layer.trainable for layer in model.layers]
    model.trainable = value
    for layer, flag in zip(model.layers, flags):
        layer.trainable = flag
