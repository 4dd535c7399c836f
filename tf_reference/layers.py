"""Layer twins: the Keras layer with a scratchnn layer's configuration, and back.

    keras_layer(snn.layers.Dense(3, activation="relu", name="d"))   # keras.layers.Dense, same config
    snn_layer(keras.layers.Add(name="add"))                         # snn.layers.Add(name="add")

One layer at a time; convert.py assembles Sequential twins from these and graphs.py replays
a graph model's calls on them. Weights are not copied here (the model's set_weights does it).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import scratchnn as snn  # noqa: E402

# The merge layers: the same class names, configs {name, trainable, dtype} (+ Concatenate's axis).
MERGE_LAYERS = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")


def _keras_initializer(init, default: str):
    """Keras's twin of a scratchnn initializer, built from its config. A seed of None is
    drawn now from Python's `random`, as Keras draws it inside the layer's constructor
    (kernel first, then bias), so a twin built after `keras.utils.set_random_seed(s)` in
    the same order draws the same seeds. A user's own function has no Keras twin: the
    layer keeps Keras's default, and only transferred weights make the twin equal."""
    cfg = snn.initializers.serialize(init)
    if cfg.get("module") != "keras.initializers":
        return default
    return keras.initializers.deserialize(cfg)


def _keras_regularizer(regularizer):
    """Keras's twin of a scratchnn regularizer (None for None), from its config."""
    cfg = snn.regularizers.serialize(regularizer)
    return None if cfg is None else keras.regularizers.deserialize(cfg)


def keras_layer(layer: snn.layers.Layer):
    """The Keras layer with the same configuration as a scratchnn layer (not InputLayer:
    a graph's inputs are made with keras.Input, graphs.py)."""
    cfg = layer.get_config()
    name = cfg["name"]
    L = snn.layers
    if isinstance(layer, (L.Dense, L.Conv2D)):
        extra = dict(kernel_initializer=_keras_initializer(layer.kernel_initializer,
                                                           "glorot_uniform"),
                     bias_initializer=_keras_initializer(layer.bias_initializer, "zeros"),
                     kernel_regularizer=_keras_regularizer(layer.kernel_regularizer),
                     bias_regularizer=_keras_regularizer(layer.bias_regularizer))
    if isinstance(layer, L.Dense):
        return keras.layers.Dense(cfg["units"], activation=cfg["activation"],
                                  use_bias=cfg["use_bias"], name=name, **extra)
    if isinstance(layer, L.Conv2D):
        return keras.layers.Conv2D(cfg["filters"], cfg["kernel_size"], strides=cfg["strides"],
                                   padding=cfg["padding"], dilation_rate=cfg["dilation_rate"],
                                   activation=cfg["activation"], use_bias=cfg["use_bias"],
                                   name=name, **extra)
    if isinstance(layer, (L.MaxPooling2D, L.AveragePooling2D)):
        kind = getattr(keras.layers, type(layer).__name__)
        return kind(cfg["pool_size"], strides=cfg["strides"], padding=cfg["padding"], name=name)
    if isinstance(layer, (L.GlobalAveragePooling2D, L.GlobalMaxPooling2D)):
        kind = getattr(keras.layers, type(layer).__name__)
        return kind(keepdims=cfg["keepdims"], name=name)
    if isinstance(layer, L.BatchNormalization):
        inits = {f"{w}_initializer": _keras_initializer(getattr(layer, f"{w}_initializer"), d)
                 for w, d in (("beta", "zeros"), ("gamma", "ones"), ("moving_mean", "zeros"),
                              ("moving_variance", "ones"))}
        return keras.layers.BatchNormalization(
            axis=cfg["axis"], momentum=cfg["momentum"], epsilon=cfg["epsilon"],
            center=cfg["center"], scale=cfg["scale"], name=name, **inits,
            beta_regularizer=_keras_regularizer(layer.beta_regularizer),
            gamma_regularizer=_keras_regularizer(layer.gamma_regularizer))
    if isinstance(layer, L.ZeroPadding2D):
        return keras.layers.ZeroPadding2D(cfg["padding"], name=name)
    if isinstance(layer, L.Reshape):
        return keras.layers.Reshape(cfg["target_shape"], name=name)
    if isinstance(layer, L.LeakyReLU):
        return keras.layers.LeakyReLU(negative_slope=cfg["negative_slope"], name=name)
    if isinstance(layer, L.ReLU):
        return keras.layers.ReLU(max_value=cfg["max_value"], negative_slope=cfg["negative_slope"],
                                 threshold=cfg["threshold"], name=name)
    if isinstance(layer, L.ELU):
        return keras.layers.ELU(alpha=cfg["alpha"], name=name)
    if isinstance(layer, L.Flatten):
        return keras.layers.Flatten(name=name)
    if isinstance(layer, L.Activation):
        return keras.layers.Activation(cfg["activation"], name=name)
    if isinstance(layer, L.Dropout):
        return keras.layers.Dropout(cfg["rate"], noise_shape=cfg.get("noise_shape"),
                                    seed=cfg["seed"], name=name)
    if type(layer).__name__ in MERGE_LAYERS and isinstance(layer, L.merging.Merge):
        extra = {"axis": cfg["axis"]} if "axis" in cfg else {}
        return getattr(keras.layers, type(layer).__name__)(name=name, **extra)
    raise TypeError(f"to_keras: no Keras twin for {type(layer).__name__} '{layer.name}'")


def snn_layer(layer):
    """The scratchnn layer with the same configuration as a Keras layer (not InputLayer)."""
    cfg = layer.get_config()
    name = cfg["name"]
    activation = keras.activations.serialize(layer.activation) if hasattr(layer, "activation") \
        else None
    inits = {key: cfg[key] for key in ("kernel_initializer", "bias_initializer",
                                       "kernel_regularizer", "bias_regularizer") if key in cfg}
    twin = _snn_layer_more(layer, cfg, name)
    if twin is not None:
        return twin
    if isinstance(layer, keras.layers.Dense):
        return snn.layers.Dense(cfg["units"], activation=activation, use_bias=cfg["use_bias"],
                                name=name, **inits)
    if isinstance(layer, keras.layers.Conv2D):
        if cfg.get("data_format", "channels_last") != "channels_last" or cfg.get("groups", 1) != 1:
            raise TypeError(f"from_keras: Conv2D '{name}' must be channels_last with groups=1")
        return snn.layers.Conv2D(cfg["filters"], tuple(cfg["kernel_size"]),
                                 strides=tuple(cfg["strides"]), padding=cfg["padding"],
                                 dilation_rate=tuple(cfg["dilation_rate"]), activation=activation,
                                 use_bias=cfg["use_bias"], name=name, **inits)
    if isinstance(layer, keras.layers.MaxPooling2D):
        return snn.layers.MaxPooling2D(tuple(cfg["pool_size"]), strides=tuple(cfg["strides"]),
                                       padding=cfg["padding"], name=name)
    if isinstance(layer, keras.layers.Flatten):
        return snn.layers.Flatten(name=name)
    if isinstance(layer, keras.layers.Activation):
        return snn.layers.Activation(activation, name=name)
    if isinstance(layer, keras.layers.Dropout):
        return snn.layers.Dropout(cfg["rate"], noise_shape=cfg.get("noise_shape"),
                                  seed=cfg.get("seed"), name=name)
    if type(layer).__name__ in MERGE_LAYERS:
        extra = {"axis": cfg["axis"]} if "axis" in cfg else {}
        return getattr(snn.layers, type(layer).__name__)(name=name, **extra)
    raise TypeError(f"from_keras: scratchnn has no layer for {type(layer).__name__} "
                    f"'{layer.name}'")


def _snn_layer_more(layer, cfg: dict, name: str):
    """The scratchnn twin of the layers beyond the tutorials' (None for the others)."""
    L = snn.layers
    for kind in ("AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D",
                 "BatchNormalization", "ZeroPadding2D", "Reshape", "LeakyReLU", "ELU", "ReLU"):
        if isinstance(layer, getattr(keras.layers, kind)):
            break
    else:
        return None
    if cfg.get("data_format", "channels_last") != "channels_last":
        raise TypeError(f"from_keras: {kind} '{name}' must be channels_last")
    if kind == "AveragePooling2D":
        return L.AveragePooling2D(tuple(cfg["pool_size"]), strides=tuple(cfg["strides"]),
                                  padding=cfg["padding"], name=name)
    if kind.startswith("Global"):
        return getattr(L, kind)(keepdims=cfg["keepdims"], name=name)
    if kind == "BatchNormalization":
        if cfg.get("renorm") or cfg.get("synchronized"):
            raise TypeError(f"from_keras: BatchNormalization '{name}' uses renorm or "
                            "synchronized, which scratchnn does not have")
        keys = ("axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
                "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer",
                "beta_regularizer", "gamma_regularizer")
        return L.BatchNormalization(**{k: cfg[k] for k in keys}, name=name)
    if kind == "ZeroPadding2D":
        return L.ZeroPadding2D(tuple(tuple(p) for p in cfg["padding"]), name=name)
    if kind == "Reshape":
        return L.Reshape(tuple(cfg["target_shape"]), name=name)
    if kind == "LeakyReLU":
        return L.LeakyReLU(cfg["negative_slope"], name=name)
    if kind == "ReLU":
        return L.ReLU(cfg["max_value"], cfg["negative_slope"], cfg["threshold"], name=name)
    return L.ELU(cfg["alpha"], name=name)
