"""scratchnn layers -> the layer configs of Keras 3's `config.json` (reading them back:
keras_config_reader.py).

Writing mirrors what Keras 3.15.1 writes for the same model, key for key (see each
layer's `get_config` in `keras/src/layers/`): an `InputLayer` first with `batch_shape`,
then every layer as

    {"module": "keras.layers", "class_name": "Dense", "config": {...},
     "registered_name": None, "build_config": {"input_shape": [None, 784]}}

with the dtype policy, initializers and regularizers as Keras objects, and `None` for
every option scratchnn does not have (constraints, activity regularizers). Only the layers
with a `build` of their own in Keras carry a `build_config` (BUILT_LAYERS), as in Keras.
"""

from __future__ import annotations

import warnings

from .. import activations, config, initializers, regularizers
from ..layers import (ELU, Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense,
                      Dropout, Flatten, GlobalAveragePooling2D, GlobalMaxPooling2D, LeakyReLU,
                      MaxPooling2D, ReLU, Reshape, ZeroPadding2D)
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
    else:
        raise TypeError(f"Cannot save {what} in Keras's format: Keras has no such layer "
                        "(save_weights('...weights.npz') keeps its weights)")
    out = keras_object("keras.layers", type(layer).__name__, cfg)
    if isinstance(layer, BUILT_LAYERS) and layer.built:
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
    # The model's own flag is written as Keras writes it (Keras ignores it on loading: the
    # layers' flags say what trains).
    body = {"name": model.name, "trainable": model.trainable, "dtype": dtype_policy(dtype),
            "layers": layers}
    out = keras_object("keras", "Sequential", body)
    if model.built:
        body["build_input_shape"] = [None, *model.input_shape[1:]]
        out["build_config"] = {"input_shape": [None, *model.input_shape[1:]]}
    out["compile_config"] = keras_compile.compile_config(model)
    return out
