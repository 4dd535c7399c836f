"""scratchnn models -> Keras 3's `config.json` (reading it back: keras_model_reader.py).

Writing mirrors what Keras 3.15.1 writes for the same model, key for key (see each
layer's `get_config` in `keras/src/layers/`): every layer as

    {"module": "keras.layers", "class_name": "Dense", "config": {...},
     "registered_name": None, "build_config": {"input_shape": [None, 784]}}

with the dtype policy, initializers and regularizers as Keras objects, and `None` for
every option scratchnn does not have (constraints, activity regularizers). Only the layers
with a `build` of their own in Keras carry a `build_config` (BUILT_LAYERS and the merge
layers, whose build_config is the LIST of their input shapes), as in Keras.

A Sequential's `layers` start with its InputLayer. A Functional model's (graph.py's order,
InputLayers included) also record the calls that made the graph (`functional_config`).
"""

from __future__ import annotations

import warnings

from .. import activations, config, initializers, regularizers
from ..layers import (ELU, Activation, AveragePooling2D, BatchNormalization, Concatenate,
                      Conv2D, Dense, Dropout, Flatten, GlobalAveragePooling2D, GlobalMaxPooling2D,
                      LeakyReLU, MaxPooling2D, Merge, ReLU, Reshape, ZeroPadding2D)
from ..nodes import inbound_nodes, is_input_layer
from ..sequential import Sequential
from . import keras_compile

KERAS_VERSION = "3.15.1"            # the Keras whose file format this package reproduces


def dtype_policy(name: str) -> dict:
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name},
            "registered_name": None}


def keras_object(module: str, class_name: str, cfg: dict) -> dict:
    return {"module": module, "class_name": class_name, "config": cfg, "registered_name": None}


# -- initializers ---------------------------------------------------------------------------
# `initializers.serialize` gives Keras's own dict ({"module": "keras.initializers",
# "class_name": "GlorotUniform", "config": {"seed": None}, ...}) and
# `initializers.deserialize` reads it back. FALLBACK, for an initializers module that
# serializes to a plain name ("glorot_uniform") instead: the Keras class of each name.
INIT_CLASSES = {"zeros": "Zeros", "ones": "Ones", "glorot_uniform": "GlorotUniform",
                "glorot_normal": "GlorotNormal", "he_uniform": "HeUniform",
                "he_normal": "HeNormal"}


def initializer_to_keras(init, what: str, default: str | None = None) -> dict:
    """Keras's dict of an initializer; a user's own function (which Keras cannot name) is
    recorded as `default` (by default glorot_uniform for kernels, zeros for biases)."""
    out = initializers.serialize(init)
    if isinstance(out, dict):
        if out.get("module") == "keras.initializers" and out.get("class_name") != "function":
            return out
        out = f"{out.get('module')}.{out.get('class_name')}"   # a user's own: see below
    if out not in INIT_CLASSES:                            # a user's own function
        warnings.warn(f"{what}: initializer {out!r} has no Keras equivalent; the file "
                      "records Keras's default instead (the saved weights are unaffected)",
                      stacklevel=5)
        out = default or ("zeros" if "bias" in what else "glorot_uniform")
    seeded = out not in ("zeros", "ones")
    return keras_object("keras.initializers", INIT_CLASSES[out],
                        {"seed": None, "input_axes": None, "output_axes": None} if seeded else {})


# -- writing --------------------------------------------------------------------------------
def _base(layer, dtype: str) -> dict:
    # "trainable": False for a frozen layer; Keras loads it frozen.
    return {"name": layer.name, "trainable": layer.trainable, "dtype": dtype_policy(dtype)}


def _ints(values) -> list[int]:
    return [int(v) for v in values]


# The layers whose Keras twin has a `build` of its own: their entries carry build_config.
BUILT_LAYERS = (Dense, Conv2D, Flatten, BatchNormalization, ZeroPadding2D)


def layer_to_keras(layer, dtype: str) -> dict:
    """The Keras 3.15 config dict of one scratchnn layer."""
    what = f"{type(layer).__name__} '{layer.name}'"
    cfg = _base(layer, dtype)
    if isinstance(layer, (Dense, Conv2D)):
        if isinstance(layer, Conv2D):
            cfg.update(filters=layer.filters, kernel_size=_ints(layer.kernel_size),
                       strides=_ints(layer.strides), padding=layer.padding,
                       data_format="channels_last", dilation_rate=_ints(layer.dilation_rate),
                       groups=1)
        else:
            cfg["units"] = layer.units
        cfg.update(activation=activations.serialize(layer.activation), use_bias=layer.use_bias,
                   kernel_initializer=initializer_to_keras(layer.kernel_initializer,
                                                           f"{what} kernel"),
                   bias_initializer=initializer_to_keras(layer.bias_initializer, f"{what} bias"),
                   kernel_regularizer=regularizers.serialize(layer.kernel_regularizer),
                   bias_regularizer=regularizers.serialize(layer.bias_regularizer))
        if isinstance(layer, Conv2D):
            cfg["activity_regularizer"] = None
        cfg.update(kernel_constraint=None, bias_constraint=None)
        if isinstance(layer, Dense):
            cfg["quantization_config"] = None
    elif isinstance(layer, (MaxPooling2D, AveragePooling2D)):
        cfg.update(pool_size=_ints(layer.pool_size), padding=layer.padding,
                   strides=_ints(layer.strides), data_format="channels_last")
    elif isinstance(layer, (GlobalAveragePooling2D, GlobalMaxPooling2D)):
        cfg.update(data_format="channels_last", keepdims=layer.keepdims)
    elif isinstance(layer, BatchNormalization):
        inits = {f"{w}_initializer": initializer_to_keras(getattr(layer, f"{w}_initializer"),
                                                          f"{what} {w}", default)
                 for w, default in (("beta", "zeros"), ("gamma", "ones"),
                                    ("moving_mean", "zeros"), ("moving_variance", "ones"))}
        cfg.update(axis=layer.axis, momentum=layer.momentum, epsilon=layer.epsilon,
                   center=layer.center, scale=layer.scale, **inits,
                   beta_regularizer=regularizers.serialize(layer.beta_regularizer),
                   gamma_regularizer=regularizers.serialize(layer.gamma_regularizer),
                   beta_constraint=None, gamma_constraint=None, synchronized=False,
                   renorm=False, renorm_clipping=None, renorm_momentum=0.99)
    elif isinstance(layer, ZeroPadding2D):
        cfg.update(padding=[list(pair) for pair in layer.padding], data_format="channels_last")
    elif isinstance(layer, Reshape):
        cfg["target_shape"] = list(layer.target_shape)
    elif isinstance(layer, LeakyReLU):
        cfg["negative_slope"] = layer.negative_slope
    elif isinstance(layer, ReLU):
        cfg.update(max_value=layer.max_value, negative_slope=layer.negative_slope,
                   threshold=layer.threshold)
    elif isinstance(layer, ELU):
        cfg["alpha"] = layer.alpha
    elif isinstance(layer, Flatten):
        cfg["data_format"] = "channels_last"
    elif isinstance(layer, Dropout):
        cfg.update(rate=layer.rate, seed=layer.seed, noise_shape=None)
    elif isinstance(layer, Activation):
        cfg["activation"] = activations.serialize(layer.activation)
    elif isinstance(layer, Concatenate):
        cfg["axis"] = layer.axis
    elif isinstance(layer, Merge):
        pass                                # Add, Subtract, ...: name, trainable, dtype only
    else:
        raise TypeError(f"Cannot save {what} in Keras's format: Keras has no such layer "
                        "(save_weights('...weights.npz') keeps its weights)")
    out = keras_object("keras.layers", type(layer).__name__, cfg)
    if isinstance(layer, Merge) and layer.built:         # a shared one: its first call's
        out["build_config"] = {"input_shape": [list(s) for s in layer.input_shape]}
    elif isinstance(layer, BUILT_LAYERS) and layer.built:
        out["build_config"] = {"input_shape": list(layer.input_shape)}
    return out


def input_layer_to_keras(batch_shape: tuple, name: str, dtype: str) -> dict:
    """An InputLayer's entry (its dtype a plain string, as Keras writes it)."""
    return keras_object("keras.layers", "InputLayer", {
        "batch_shape": [None, *batch_shape[1:]], "dtype": dtype, "sparse": False,
        "ragged": False, "name": name, "optional": False})


def model_dtype(model) -> str:
    weights = model.weights if model.built else []
    return weights[0].dtype.name if weights else config.floatx()


def sequential_config(model) -> dict:
    """A Sequential's `config` (Keras's Sequential.get_config): name, trainable, dtype,
    layers (its InputLayer first), build_input_shape once built."""
    dtype = model_dtype(model)
    layers = []
    batch_shape = (model.input_spec.batch_shape if model.input_spec is not None
                   else model.input_shape)
    if batch_shape is not None:
        input_name = model.input_spec.name if model.input_spec is not None else "input_layer"
        layers.append(input_layer_to_keras(batch_shape, input_name, dtype))
    layers += [layer_to_keras(layer, dtype) for layer in model.layers]
    # The model's own flag is written as Keras writes it (Keras ignores it on loading: the
    # layers' flags say what trains).
    body = {"name": model.name, "trainable": model.trainable, "dtype": dtype_policy(dtype),
            "layers": layers}
    if model.built:
        body["build_input_shape"] = [None, *model.input_shape[1:]]
    return body


# -- a graph ----------------------------------------------------------------------------------
# The keyword arguments Keras records for a call of these layers on a symbolic tensor (the
# others record none): Dropout's call takes training=False by default, BatchNormalization's
# call a mask (measured in Keras 3.15.1's config.json).
NODE_KWARGS = {Dropout: {"training": False}, BatchNormalization: {"mask": None}}


def functional_config(model) -> dict:
    """A Functional model's `config` (Keras's Functional.get_config): name, trainable, layers,
    input_layers, output_layers.

    Every layer entry gets two keys more, its `name` and its `inbound_nodes`: one entry per
    call of the layer in this model, in call order, holding the call's argument

        {"args": [tensor], "kwargs": {}}            a layer called on one tensor
        {"args": [[tensor, tensor]], "kwargs": {}}  a merge layer, called on a list

    where each tensor is written as {"class_name": "__keras_tensor__", "config": {"shape",
    "dtype", "keras_history": [layer name, node index, tensor index]}}: the call that made it
    (its node index counts only the calls that belong to THIS model, as Keras re-counts
    them). An InputLayer's entry has "inbound_nodes": []. `input_layers` / `output_layers`
    are the model's inputs and outputs in the structure given (one tensor, a list or a dict),
    each tensor as its [layer name, node index, tensor index]."""
    dtype = model_dtype(model)
    own = set(model.nodes) | {inbound_nodes(t.history.layer)[0] for t in model.inputs}
    renumbered = {}                         # node -> its index among its layer's own calls
    for layer in model.layers:
        kept = [node for node in inbound_nodes(layer) if node in own]
        renumbered.update({node: index for index, node in enumerate(kept)})

    def history(tensor) -> list:
        layer, node_index, tensor_index = tensor.history
        return [layer.name, renumbered[inbound_nodes(layer)[node_index]], tensor_index]

    def argument(tensor) -> dict:
        return {"class_name": "__keras_tensor__", "config": {
            "shape": list(tensor.shape), "dtype": tensor.dtype, "keras_history": history(tensor)}}

    entries = []
    for layer in model.layers:
        if is_input_layer(layer):
            entry = input_layer_to_keras(layer.batch_shape, layer.name, dtype)
        else:
            entry = layer_to_keras(layer, dtype)
        calls = [node for node in inbound_nodes(layer) if node in own and node.inputs]
        entry["name"] = layer.name
        entry["inbound_nodes"] = [
            {"args": [[argument(t) for t in node.inputs] if node.merge
                      else argument(node.inputs[0])],
             "kwargs": dict(NODE_KWARGS.get(type(layer), {}))} for node in calls]
        entries.append(entry)
    return {"name": model.name, "trainable": model.trainable, "layers": entries,
            "input_layers": _map_structure(history, model.input),
            "output_layers": _map_structure(history, model.output)}


def _map_structure(fn, structure):
    """fn applied to each tensor of one tensor, a list/tuple (written as a list) or a dict
    (in its own key order, as Keras writes it)."""
    if isinstance(structure, dict):
        return {key: fn(value) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [fn(value) for value in structure]
    return fn(structure)


# -- the whole model --------------------------------------------------------------------------
def model_config(model) -> dict:
    """`model.get_config()`: the `config` part of config.json, for either kind of model."""
    return sequential_config(model) if isinstance(model, Sequential) else functional_config(model)


def model_to_keras(model, action: str = "Saving") -> dict:
    """The whole `config.json` of a model (also `model.to_json()`), compile_config included.
    `action` words the warning about what Keras cannot represent (Saving, Cloning)."""
    if isinstance(model, Sequential):
        out = keras_object("keras", "Sequential", sequential_config(model))
        if model.built:
            out["build_config"] = {"input_shape": [None, *model.input_shape[1:]]}
    else:
        out = keras_object("keras.src.models.functional", "Functional", model_config(model))
        out["registered_name"] = "Functional"
        out["build_config"] = {"input_shape": None}
    out["compile_config"] = keras_compile.compile_config(model, action)
    return out
