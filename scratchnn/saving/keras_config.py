"""scratchnn layers <-> the layer configs of Keras 3's `config.json`, both ways.

Writing mirrors what Keras 3.15.1 writes for the same model, key for key (see each
layer's `get_config` in `keras/src/layers/`): an `InputLayer` first with `batch_shape`,
then every layer as

    {"module": "keras.layers", "class_name": "Dense", "config": {...},
     "registered_name": None, "build_config": {"input_shape": [None, 784]}}

with the dtype policy, initializers as Keras objects, and `None` for every option
scratchnn does not have (regularizers, constraints). Only Dense, Conv2D and Flatten
carry a `build_config`, as in Keras (the layers with a `build` of their own).

Reading accepts the layers and options scratchnn has and refuses the rest BY NAME:
a layer class, an option set to something scratchnn cannot do (channels_first,
groups=2, a regularizer, an unknown activation, a frozen layer...), a functional model.
An option left at its "off" value (None) is fine, so configs from other Keras 3
versions, with options added or removed, still load.
"""

from __future__ import annotations

import warnings

from .. import activations, config, initializers
from ..layers import Activation, Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D
from ..model import Sequential
from . import keras_compile
from .state import InvalidFile

KERAS_VERSION = "3.15.1"            # the Keras whose file format this package reproduces


def dtype_policy(name: str) -> dict:
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name},
            "registered_name": None}


def keras_object(module: str, class_name: str, cfg: dict) -> dict:
    return {"module": module, "class_name": class_name, "config": cfg, "registered_name": None}


# -- initializers: the randomness helper's serialize/deserialize, with a fallback ----------
# FALLBACK for initializers that still serialize to a plain name ("glorot_uniform"):
# the Keras class for each, and back. Used only when `initializers.serialize` returns a
# string / `initializers.deserialize` does not exist.
_INIT_CLASSES = {"zeros": "Zeros", "ones": "Ones", "glorot_uniform": "GlorotUniform",
                 "glorot_normal": "GlorotNormal", "he_uniform": "HeUniform",
                 "he_normal": "HeNormal"}


def initializer_to_keras(init, what: str) -> dict:
    out = initializers.serialize(init)
    if isinstance(out, dict):
        if out.get("module") == "keras.initializers" and out.get("class_name") != "function":
            return out
        out = f"{out.get('module')}.{out.get('class_name')}"   # a user's own: see below
    if out not in _INIT_CLASSES:                            # a user's own function
        warnings.warn(f"{what}: initializer {out!r} has no Keras equivalent; the file "
                      "records Keras's default instead (the saved weights are unaffected)",
                      stacklevel=5)
        out = "zeros" if "bias" in what else "glorot_uniform"
    seeded = out not in ("zeros", "ones")
    return keras_object("keras.initializers", _INIT_CLASSES[out],
                        {"seed": None, "input_axes": None, "output_axes": None} if seeded else {})


def _initializer_from_keras(value, opts: "_Options", key: str):
    try:
        if hasattr(initializers, "deserialize"):
            return initializers.deserialize(value)
        # FALLBACK (see above): plain names only; a seed only matters for weights that
        # are about to be overwritten by the file's, so it is not kept.
        name = value
        if isinstance(value, dict):
            by_class = {v: k for k, v in _INIT_CLASSES.items()}
            name = by_class.get(value.get("class_name"), value.get("class_name"))
        return initializers.get(name)
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        raise opts.error(f"{key}={value!r} is not supported by scratchnn ({err})") from None


# -- writing --------------------------------------------------------------------------------
def _base(layer, dtype: str) -> dict:
    return {"name": layer.name, "trainable": True, "dtype": dtype_policy(dtype)}


def _ints(values) -> list[int]:
    return [int(v) for v in values]


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
                   kernel_regularizer=None, bias_regularizer=None)
        if isinstance(layer, Conv2D):
            cfg["activity_regularizer"] = None
        cfg.update(kernel_constraint=None, bias_constraint=None)
        if isinstance(layer, Dense):
            cfg["quantization_config"] = None
    elif isinstance(layer, MaxPooling2D):
        cfg.update(pool_size=_ints(layer.pool_size), padding=layer.padding,
                   strides=_ints(layer.strides), data_format="channels_last")
    elif isinstance(layer, Flatten):
        cfg["data_format"] = "channels_last"
    elif isinstance(layer, Dropout):
        cfg.update(rate=layer.rate, seed=layer.seed, noise_shape=None)
    elif isinstance(layer, Activation):
        cfg["activation"] = activations.serialize(layer.activation)
    else:
        raise TypeError(f"Cannot save {what} in Keras's format: Keras has no such layer "
                        "(save_weights('...weights.npz') keeps its weights)")
    out = keras_object("keras.layers", type(layer).__name__, cfg)
    if isinstance(layer, (Dense, Conv2D, Flatten)) and layer.built:
        out["build_config"] = {"input_shape": list(layer.input_shape)}
    return out


def model_dtype(model) -> str:
    weights = model.weights if model.built else []
    return weights[0].dtype.name if weights else config.floatx()


def model_to_keras(model) -> dict:
    """The whole `config.json` of a Sequential, compile_config included."""
    dtype = model_dtype(model)
    layers = []
    batch_shape = (model.input_spec.batch_shape if model.input_spec is not None
                   else model.input_shape)
    if batch_shape is not None:
        input_name = model.input_spec.name if model.input_spec is not None else "input_layer"
        layers.append(keras_object("keras.layers", "InputLayer", {
            "batch_shape": [None, *batch_shape[1:]], "dtype": dtype, "sparse": False,
            "ragged": False, "name": input_name, "optional": False}))
    layers += [layer_to_keras(layer, dtype) for layer in model.layers]
    body = {"name": model.name, "trainable": True, "dtype": dtype_policy(dtype), "layers": layers}
    out = keras_object("keras", "Sequential", body)
    if model.built:
        body["build_input_shape"] = [None, *model.input_shape[1:]]
        out["build_config"] = {"input_shape": [None, *model.input_shape[1:]]}
    out["compile_config"] = keras_compile.compile_config(model)
    return out


# -- reading --------------------------------------------------------------------------------
_MISSING = object()


class _Options:
    """One object's Keras config, read key by key. Whatever is left at the end must be
    None (an option switched off); anything else is an option scratchnn does not have."""

    def __init__(self, cfg, what: str, where: str) -> None:
        self.what, self.where = what, where
        if not isinstance(cfg, dict):
            raise self.error(f"its config should be a JSON object, got {type(cfg).__name__}")
        self.rest = dict(cfg)

    def error(self, message: str) -> InvalidFile:
        return InvalidFile(f"Cannot load '{self.where}': {self.what}: {message}")

    def take(self, key: str, kind: str, default=_MISSING):
        value = self.rest.pop(key, default)
        if value is _MISSING:
            raise self.error(f"its config has no '{key}'")
        ok = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "bool": lambda v: isinstance(v, bool),
              "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
              "str": lambda v: isinstance(v, str),
              "ints": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (
                  isinstance(v, (list, tuple)) and all(
                      isinstance(x, int) and not isinstance(x, bool) for x in v)),
              "shape": lambda v: isinstance(v, (list, tuple)) and all(
                  x is None or (isinstance(x, int) and not isinstance(x, bool) and x >= 0)
                  for x in v),
              "any": lambda v: True}[kind]
        if not (ok(value) or (value is None and default is None)):
            raise self.error(f"option {key}={value!r} should be of kind '{kind}'")
        return value

    def expect(self, key: str, allowed: tuple, why: str = "") -> None:
        value = self.rest.pop(key, allowed[0])
        if value not in allowed:
            raise self.error(f"option {key}={value!r} is not supported by scratchnn{why}")

    def done(self) -> None:
        for key, value in self.rest.items():
            if value is not None:
                raise self.error(f"option {key}={value!r} is not supported by scratchnn")


def _policy_name(value, opts: _Options) -> str | None:
    """'float32' from a dtype entry: a string, a DTypePolicy dict, or None."""
    if value is None or isinstance(value, str):
        name = value
    elif isinstance(value, dict) and value.get("class_name") in (
            "DTypePolicy", "FloatDTypePolicy") and isinstance(value.get("config"), dict):
        name = value["config"].get("name")
    else:
        raise opts.error(f"dtype {value!r} is not a dtype policy scratchnn knows")
    if name is not None and name != config.floatx():
        hint = (f": call scratchnn.config.set_floatx({name!r}) before loading"
                if name in ("float32", "float64") else " (scratchnn computes in float32 "
                "or float64 only)")
        raise opts.error(f"dtype policy {name!r} differs from scratchnn's floatx "
                         f"{config.floatx()!r}{hint}")
    return name


def _activation(value, opts: _Options):
    if isinstance(value, dict) and value.get("class_name") == "function":
        value = value.get("config")
    if value is not None and not isinstance(value, str):
        raise opts.error(f"activation {value!r} is not supported by scratchnn")
    try:
        return activations.get(value)
    except ValueError as err:
        raise opts.error(f"activation {value!r} is not supported by scratchnn ({err})") from None


def _common(opts: _Options) -> dict:
    name = opts.take("name", "str")
    opts.expect("trainable", (True,), " (scratchnn trains every layer; freeze nothing)")
    _policy_name(opts.rest.pop("dtype", None), opts)
    return {"name": name}


def _dense_or_conv(opts: _Options) -> dict:
    return {"activation": _activation(opts.rest.pop("activation", None), opts),
            "use_bias": opts.take("use_bias", "bool", True),
            "kernel_initializer": _initializer_from_keras(
                opts.rest.pop("kernel_initializer", "glorot_uniform"), opts, "kernel_initializer"),
            "bias_initializer": _initializer_from_keras(
                opts.rest.pop("bias_initializer", "zeros"), opts, "bias_initializer")}


def _channels_last(opts: _Options) -> None:
    opts.expect("data_format", ("channels_last", None), " (scratchnn is channels_last only)")


def _build_dense(opts):
    return Dense(opts.take("units", "int"), **_dense_or_conv(opts), **_common(opts))


def _build_conv2d(opts):
    _channels_last(opts)
    opts.expect("groups", (1,), " (grouped convolutions are not implemented)")
    return Conv2D(opts.take("filters", "int"), opts.take("kernel_size", "ints"),
                  strides=opts.take("strides", "ints", 1),
                  padding=opts.take("padding", "str", "valid"),
                  dilation_rate=opts.take("dilation_rate", "ints", 1),
                  **_dense_or_conv(opts), **_common(opts))


def _build_max_pooling2d(opts):
    _channels_last(opts)
    return MaxPooling2D(opts.take("pool_size", "ints", 2), strides=opts.take("strides", "ints", None),
                        padding=opts.take("padding", "str", "valid"), **_common(opts))


def _build_flatten(opts):
    _channels_last(opts)
    return Flatten(**_common(opts))


def _build_dropout(opts):
    return Dropout(opts.take("rate", "float"), seed=opts.take("seed", "int", None), **_common(opts))


def _build_activation(opts):
    return Activation(_activation(opts.rest.pop("activation", None), opts), **_common(opts))


_BUILDERS = {"Dense": _build_dense, "Conv2D": _build_conv2d, "MaxPooling2D": _build_max_pooling2d,
             "MaxPool2D": _build_max_pooling2d, "Flatten": _build_flatten,
             "Dropout": _build_dropout, "Activation": _build_activation}


def _keras_class(entry, what: str, where: str) -> str:
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise InvalidFile(f"Cannot load '{where}': {what} is not a Keras object "
                          f"(expected {{'class_name': ..., 'config': ...}}, got {entry!r:.80})")
    module, registered = entry.get("module"), entry.get("registered_name")
    if (module is not None and not str(module).startswith("keras")) or (
            registered not in (None, entry["class_name"])):
        raise InvalidFile(f"Cannot load '{where}': {what} is a custom class "
                          f"{registered or entry['class_name']!r} (module {module!r}); scratchnn "
                          "loads Keras's built-in layers only")
    return entry["class_name"]


def layer_from_keras(entry, index: int, where: str):
    """A scratchnn layer from one entry of a Sequential's `layers` list."""
    cls = _keras_class(entry, f"layer {index}", where)
    cfg = entry.get("config")
    name = cfg.get("name") if isinstance(cfg, dict) else None
    what = f"layer {index} '{name}' ({cls})"
    if cls not in _BUILDERS:
        raise InvalidFile(f"Cannot load '{where}': {what}: scratchnn has no {cls} layer "
                          f"(it has {sorted(set(_BUILDERS) - {'MaxPool2D'})})")
    opts = _Options(cfg, what, where)
    opts.rest.pop("batch_input_shape", None)   # Keras 2 style input shape: read by the caller
    try:
        layer = _BUILDERS[cls](opts)
    except InvalidFile:
        raise
    except (ValueError, TypeError) as err:       # the layer's own argument checks
        raise opts.error(str(err)) from None
    opts.done()
    return layer


def _input_shape(entry, where: str) -> tuple[tuple, str | None]:
    """(batch shape, name) of an InputLayer entry."""
    opts = _Options(entry.get("config"), "the InputLayer", where)
    shape = opts.rest.pop("batch_shape", None) or opts.rest.pop("batch_input_shape", None)
    if not (isinstance(shape, (list, tuple)) and len(shape) >= 2):
        raise opts.error(f"batch_shape {shape!r} should be a list like [null, 28, 28, 1]")
    if not all(d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0)
               for d in shape) or any(d is None for d in shape[1:]):
        raise opts.error(f"batch_shape {shape!r}: every dimension after the batch must be a "
                         "positive int")
    name = opts.take("name", "str", None)
    _policy_name(opts.rest.pop("dtype", None), opts)
    for flag in ("sparse", "ragged", "optional"):
        opts.expect(flag, (False,), " (scratchnn takes dense NumPy arrays)")
    opts.done()
    return tuple(shape), name


def model_from_keras(cfg, where: str) -> Sequential:
    """The (uncompiled) scratchnn Sequential a Keras `config.json` describes."""
    cls = _keras_class(cfg, "config.json", where)
    if cls in ("Functional", "Model"):
        raise InvalidFile(f"Cannot load '{where}': it holds a Keras functional model ({cls}); "
                          "scratchnn loads Sequential models only")
    if cls != "Sequential":
        raise InvalidFile(f"Cannot load '{where}': it holds a Keras {cls!r}, not a Sequential")
    opts = _Options(cfg.get("config"), "the Sequential", where)
    name = opts.take("name", "str", "sequential")
    layers = opts.take("layers", "any", [])
    if not isinstance(layers, list):
        raise opts.error(f"'layers' should be a list, got {type(layers).__name__}")
    _policy_name(opts.rest.pop("dtype", None), opts)
    opts.expect("trainable", (True,), " (scratchnn trains every layer)")
    build_shape = opts.rest.pop("build_input_shape", None)
    opts.done()

    model = Sequential(name=name)
    if layers and isinstance(layers[0], dict) and layers[0].get("class_name") == "InputLayer":
        _keras_class(layers[0], "layer 0", where)
        batch_shape, input_name = _input_shape(layers[0], where)
        model.add(Input(batch_shape[1:], name=input_name))
        layers = layers[1:]
    elif layers and isinstance(layers[0], dict) and isinstance(layers[0].get("config"), dict) \
            and layers[0]["config"].get("batch_input_shape"):
        build_shape = layers[0]["config"]["batch_input_shape"]
    for index, entry in enumerate(layers, start=1 if model.input_spec is not None else 0):
        layer = layer_from_keras(entry, index, where)
        try:
            model.add(layer)
        except ValueError as err:
            raise InvalidFile(f"Cannot load '{where}': layer {index} '{layer.name}': {err}") \
                from None
    if not model.built and model.layers and build_shape is not None:
        if not (isinstance(build_shape, list) and len(build_shape) >= 2 and all(
                isinstance(d, int) and d > 0 for d in build_shape[1:])):
            raise InvalidFile(f"Cannot load '{where}': build_input_shape {build_shape!r} "
                              "should be a list like [null, 784]")
        try:
            model.build((None, *build_shape[1:]))
        except ValueError as err:
            raise InvalidFile(f"Cannot load '{where}': {err}") from None
    return model

