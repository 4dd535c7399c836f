"""The layer configs of Keras 3's `config.json` -> scratchnn layers (the models around them:
keras_model_reader.py).

Reading accepts the layers and options scratchnn has and refuses the rest BY NAME:
a layer class (Dot, LayerNormalization, ...), a raw `keras.ops` operation recorded in a
graph (Relu, Add from keras.src.ops), a model used as a layer, an option set to something
scratchnn cannot do (channels_first, groups=2, an activity regularizer, an unknown
activation...). A frozen layer ("trainable": false) loads frozen. An option left at its
"off" value (None) is fine, so configs from other Keras 3 versions, with options added or
removed, still load.
"""

from __future__ import annotations

from .. import activations, config, initializers, layers as L, regularizers
from ..layers import Activation, BatchNormalization, Conv2D, Dense
from .keras_config import INIT_CLASSES
from .state import InvalidFile

_MISSING = object()


class Options:
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


def _initializer_from_keras(value, opts: "Options", key: str):
    try:
        if hasattr(initializers, "deserialize"):
            return initializers.deserialize(value)
        # FALLBACK for an initializers module without `deserialize` (see keras_config.py):
        # plain names only; a seed is dropped (it only matters for weights that the
        # file's are about to overwrite).
        name = value
        if isinstance(value, dict):
            by_class = {v: k for k, v in INIT_CLASSES.items()}
            name = by_class.get(value.get("class_name"), value.get("class_name"))
        return initializers.get(name)
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        raise opts.error(f"{key}={value!r} is not supported by scratchnn ({err})") from None


def _regularizer_from_keras(opts: "Options", key: str):
    value = opts.rest.pop(key, None)
    if value is None:
        return None
    try:
        return regularizers.deserialize(value)
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        raise opts.error(f"{key}={value!r} is not supported by scratchnn ({err})") from None


def _policy_name(value, opts: Options) -> str | None:
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


def _activation(value, opts: Options):
    if isinstance(value, dict) and value.get("class_name") == "function":
        value = value.get("config")
    if value is not None and not isinstance(value, str):
        raise opts.error(f"activation {value!r} is not supported by scratchnn")
    try:
        return activations.get(value)
    except ValueError as err:
        raise opts.error(f"activation {value!r} is not supported by scratchnn ({err})") from None


def _common(opts: Options) -> dict:
    name = opts.take("name", "str")
    trainable = opts.take("trainable", "bool", True)
    _policy_name(opts.rest.pop("dtype", None), opts)
    return {"name": name, "trainable": trainable}


def _dense_or_conv(opts: Options) -> dict:
    return {"activation": _activation(opts.rest.pop("activation", None), opts),
            "use_bias": opts.take("use_bias", "bool", True),
            "kernel_initializer": _initializer_from_keras(
                opts.rest.pop("kernel_initializer", "glorot_uniform"), opts, "kernel_initializer"),
            "bias_initializer": _initializer_from_keras(
                opts.rest.pop("bias_initializer", "zeros"), opts, "bias_initializer"),
            "kernel_regularizer": _regularizer_from_keras(opts, "kernel_regularizer"),
            "bias_regularizer": _regularizer_from_keras(opts, "bias_regularizer")}


def _channels_last(opts: Options) -> None:
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


def _pooling(cls):
    def build(opts):
        _channels_last(opts)
        return cls(opts.take("pool_size", "ints", 2), strides=opts.take("strides", "ints", None),
                   padding=opts.take("padding", "str", "valid"), **_common(opts))
    return build


def _global_pooling(cls):
    def build(opts):
        _channels_last(opts)
        return cls(keepdims=opts.take("keepdims", "bool", False), **_common(opts))
    return build


def _build_flatten(opts):
    _channels_last(opts)
    return L.Flatten(**_common(opts))


def _build_dropout(opts):
    return L.Dropout(opts.take("rate", "float"), seed=opts.take("seed", "int", None),
                     **_common(opts))


def _build_activation(opts):
    return Activation(_activation(opts.rest.pop("activation", None), opts), **_common(opts))


def _build_batch_normalization(opts):
    opts.expect("synchronized", (False,), " (one process, nothing to synchronize)")
    opts.expect("renorm", (False,), " (batch renormalization is not implemented)")
    opts.rest.pop("renorm_momentum", None)            # used only with renorm
    inits = {f"{w}_initializer": _initializer_from_keras(
        opts.rest.pop(f"{w}_initializer", default), opts, f"{w}_initializer")
        for w, default in (("beta", "zeros"), ("gamma", "ones"), ("moving_mean", "zeros"),
                           ("moving_variance", "ones"))}
    return BatchNormalization(
        axis=opts.take("axis", "int", -1), momentum=opts.take("momentum", "float", 0.99),
        epsilon=opts.take("epsilon", "float", 1e-3), center=opts.take("center", "bool", True),
        scale=opts.take("scale", "bool", True), **inits,
        beta_regularizer=_regularizer_from_keras(opts, "beta_regularizer"),
        gamma_regularizer=_regularizer_from_keras(opts, "gamma_regularizer"), **_common(opts))


def _build_zero_padding2d(opts):
    _channels_last(opts)
    padding = opts.take("padding", "any", (1, 1))
    if isinstance(padding, list):
        padding = tuple(tuple(p) if isinstance(p, list) else p for p in padding)
    return L.ZeroPadding2D(padding, **_common(opts))


def _build_reshape(opts):
    return L.Reshape(tuple(opts.take("target_shape", "ints")), **_common(opts))


def _build_leaky_relu(opts):
    slope = opts.rest.pop("alpha", None)               # Keras 2's name for it
    return L.LeakyReLU(opts.take("negative_slope", "float", 0.3 if slope is None else slope),
                       **_common(opts))


def _build_relu(opts):
    return L.ReLU(max_value=opts.take("max_value", "float", None),
                  negative_slope=opts.take("negative_slope", "float", 0.0),
                  threshold=opts.take("threshold", "float", 0.0), **_common(opts))


def _build_elu(opts):
    return L.ELU(opts.take("alpha", "float", 1.0), **_common(opts))


def _merge(cls):
    def build(opts):
        return cls(**_common(opts))
    return build


def _build_concatenate(opts):
    return L.Concatenate(axis=opts.take("axis", "int", -1), **_common(opts))


_BUILDERS = {"Dense": _build_dense, "Conv2D": _build_conv2d,
             "MaxPooling2D": _pooling(L.MaxPooling2D), "MaxPool2D": _pooling(L.MaxPooling2D),
             "AveragePooling2D": _pooling(L.AveragePooling2D),
             "AvgPool2D": _pooling(L.AveragePooling2D),
             "GlobalAveragePooling2D": _global_pooling(L.GlobalAveragePooling2D),
             "GlobalAvgPool2D": _global_pooling(L.GlobalAveragePooling2D),
             "GlobalMaxPooling2D": _global_pooling(L.GlobalMaxPooling2D),
             "GlobalMaxPool2D": _global_pooling(L.GlobalMaxPooling2D),
             "Flatten": _build_flatten, "Dropout": _build_dropout,
             "Activation": _build_activation, "BatchNormalization": _build_batch_normalization,
             "ZeroPadding2D": _build_zero_padding2d, "Reshape": _build_reshape,
             "LeakyReLU": _build_leaky_relu, "ELU": _build_elu, "ReLU": _build_relu,
             "Add": _merge(L.Add), "Subtract": _merge(L.Subtract),
             "Multiply": _merge(L.Multiply), "Average": _merge(L.Average),
             "Maximum": _merge(L.Maximum), "Minimum": _merge(L.Minimum),
             "Concatenate": _build_concatenate}
_ALIASES = {"MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "GlobalMaxPool2D"}


def keras_class(entry, what: str, where: str) -> str:
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


MODEL_CLASSES = ("Functional", "Sequential", "Model")


def check_layer_class(entry, what: str, where: str) -> str:
    """The Keras class of a layer entry, or an error naming it: a model used as a layer, a
    raw keras.ops operation (a graph records those too) or a layer scratchnn lacks."""
    cls = keras_class(entry, what, where)
    module = str(entry.get("module") or "")
    if cls in MODEL_CLASSES or module.startswith("keras.src.models"):
        raise InvalidFile(f"Cannot load '{where}': {what} is a model ({cls}) used as a layer; "
                          "nested models are not supported by scratchnn")
    if module.startswith("keras.src.ops"):
        raise InvalidFile(f"Cannot load '{where}': {what} is a raw keras.ops operation "
                          f"({cls} from {module}), not a layer; such operations are not "
                          "supported by scratchnn (a layer does the same: Activation, ReLU, "
                          "Add, ...)")
    if cls not in _BUILDERS:
        raise InvalidFile(f"Cannot load '{where}': {what}: scratchnn has no {cls} layer "
                          f"(it has {sorted(set(_BUILDERS) - _ALIASES)})")
    return cls


def describe_entry(entry, index: int) -> str:
    """How errors name a layer entry: "layer 3 'dense' (Dense)"."""
    cfg = entry.get("config") if isinstance(entry, dict) else None
    name = cfg.get("name") if isinstance(cfg, dict) else None
    if name is None and isinstance(entry, dict):
        name = entry.get("name")
    cls = entry.get("class_name") if isinstance(entry, dict) else None
    return f"layer {index} '{name}'" + (f" ({cls})" if isinstance(cls, str) else "")


def layer_from_keras(entry, index: int, where: str):
    """A scratchnn layer from one entry of a model's `layers` list (not an InputLayer)."""
    what = describe_entry(entry, index)
    cls = check_layer_class(entry, what, where)
    opts = Options(entry.get("config"), what, where)
    opts.rest.pop("batch_input_shape", None)   # Keras 2 style input shape: read by the caller
    try:
        layer = _BUILDERS[cls](opts)
    except InvalidFile:
        raise
    except (ValueError, TypeError) as err:       # the layer's own argument checks
        raise opts.error(str(err)) from None
    opts.done()
    return layer


def check_shape(shape, what: str, where: str) -> tuple:
    if not (isinstance(shape, (list, tuple)) and len(shape) >= 2 and all(
            isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape[1:])):
        raise InvalidFile(f"Cannot load '{where}': {what} {shape!r} should be a list like "
                          "[null, 28, 28, 1] (positive sizes after the batch dimension)")
    return (None, *shape[1:])


def input_layer_from_keras(entry, where: str, what: str = "the InputLayer"
                           ) -> tuple[tuple, str | None]:
    """(batch shape, name) of an InputLayer entry."""
    opts = Options(entry.get("config"), what, where)
    shape = opts.rest.pop("batch_shape", None) or opts.rest.pop("batch_input_shape", None)
    shape = check_shape(shape, "the InputLayer's batch_shape", where)   # batch size dropped
    name = opts.take("name", "str", None)
    _policy_name(opts.rest.pop("dtype", None), opts)
    for flag in ("sparse", "ragged", "optional"):
        opts.expect(flag, (False,), " (scratchnn takes dense NumPy arrays)")
    opts.done()
    return shape, name
