"""Every layer's constructor refuses, by name, an argument it does not take
(layers/base.py, `check_arguments`): one mechanism for all layer classes.

* A Keras 3.15 argument scratchnn does not implement is accepted at the value that
  switches it off (`kernel_constraint=None`) and refused at any other: "... is not
  supported by scratchnn".
* Anything else gets Keras's own message, "Unrecognized keyword arguments passed to
  Dense: {'foo': 1}", plus the list of what the layer takes.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.layers.base import accepted_arguments, keras_only_arguments

L = snn.layers

# class -> the positional arguments a minimal instance needs
REQUIRED = {L.Dense: (4,), L.Flatten: (), L.Activation: ("relu",), L.Dropout: (0.5,),
            L.ReLU: (), L.LeakyReLU: (), L.ELU: (), L.BatchNormalization: (),
            L.Conv2D: (2, 3), L.MaxPooling2D: (), L.AveragePooling2D: (2,),
            L.GlobalAveragePooling2D: (), L.GlobalMaxPooling2D: (), L.ZeroPadding2D: (),
            L.Reshape: ((2,),), L.Add: (), L.Subtract: (), L.Multiply: (), L.Average: (),
            L.Maximum: (), L.Minimum: (), L.Concatenate: ()}

# Keras 3.15.1's constructor arguments of each class, measured with
# inspect.signature(keras.layers.X.__init__), plus those of its base Layer
# (activity_regularizer, trainable, dtype, autocast, name; input_shape, input_dim).
KERAS_BASE = ("activity_regularizer", "trainable", "dtype", "autocast", "name", "input_shape",
              "input_dim")
KERAS_ARGUMENTS = {
    L.Dense: ("units", "activation", "use_bias", "kernel_initializer", "bias_initializer",
              "kernel_regularizer", "bias_regularizer", "activity_regularizer",
              "kernel_constraint", "bias_constraint", "lora_rank", "lora_alpha",
              "quantization_config"),
    L.Flatten: ("data_format",),
    L.Activation: ("activation",),
    L.Dropout: ("rate", "noise_shape", "seed"),
    L.Conv2D: ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
               "groups", "activation", "use_bias", "kernel_initializer", "bias_initializer",
               "kernel_regularizer", "bias_regularizer", "activity_regularizer",
               "kernel_constraint", "bias_constraint"),
    L.MaxPooling2D: ("pool_size", "strides", "padding", "data_format", "name"),
    L.AveragePooling2D: ("pool_size", "strides", "padding", "data_format", "name"),
    L.GlobalAveragePooling2D: ("data_format", "keepdims"),
    L.GlobalMaxPooling2D: ("data_format", "keepdims"),
    L.BatchNormalization: ("axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
                           "gamma_initializer", "moving_mean_initializer",
                           "moving_variance_initializer", "beta_regularizer",
                           "gamma_regularizer", "beta_constraint", "gamma_constraint",
                           "renorm", "renorm_clipping", "renorm_momentum", "synchronized"),
    L.ZeroPadding2D: ("padding", "data_format"),
    L.Reshape: ("target_shape",),
    L.LeakyReLU: ("negative_slope",),
    L.ELU: ("alpha",),
    L.ReLU: ("max_value", "negative_slope", "threshold"),
    L.Add: (), L.Subtract: (), L.Multiply: (), L.Average: (), L.Maximum: (), L.Minimum: (),
    L.Concatenate: ("axis",),
}
CLASSES = sorted(REQUIRED, key=lambda cls: cls.__name__)


def _make(cls, **kwargs):
    return cls(*REQUIRED[cls], **kwargs)


def test_every_exported_layer_class_is_covered():
    exported = {getattr(L, name) for name in L.__all__}
    # (InputLayer takes Input's arguments: test_input_takes_kerass_arguments_switched_off)
    layers = {cls for cls in exported if inspect.isclass(cls) and issubclass(cls, L.Layer)
              and cls not in (L.Layer, L.ActivatedLayer, L.Merge, L.InputLayer)}
    assert layers == set(REQUIRED) == set(KERAS_ARGUMENTS)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_an_unknown_argument_is_refused_in_kerass_words_naming_the_class(cls):
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: Unrecognized keyword arguments "
                                         rf"passed to {cls.__name__}: \{{'foo': 1\}} \(not "
                                         rf"arguments of {cls.__name__}.*it takes "):
        _make(cls, foo=1)
    with pytest.raises(ValueError, match=rf"^{cls.__name__} 'mine': Unrecognized .*'colour'"):
        _make(cls, name="mine", colour="red")


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_keras_argument_is_taken_or_refused_by_name(cls):
    """Each argument of Keras 3.15's constructor is one scratchnn takes, or one it accepts
    only switched off, so a Keras argument is never called unknown."""
    for name in KERAS_ARGUMENTS[cls] + KERAS_BASE:
        assert name in accepted_arguments(cls), f"{cls.__name__}: {name}"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_keras_arguments_scratchnn_lacks_are_accepted_switched_off_refused_otherwise(cls):
    for name, offs in keras_only_arguments(cls).items():
        for off in offs:
            _make(cls, **{name: off})                     # changes nothing: accepted
        on = "on" if offs[0] is None else ("channels_first" if name == "data_format"
                                           else (not offs[0] if isinstance(offs[0], bool)
                                                 else offs[0] + 1))
        with pytest.raises(ValueError, match=rf"^{cls.__name__}: {name}={on!r} is not "
                                             r"supported by scratchnn"):
            _make(cls, **{name: on})


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_dtype_is_the_floatx_or_refused(cls):
    for ok in (None, "float32", np.float32, np.dtype("float32"),
               {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                "registered_name": None}):
        _make(cls, dtype=ok)
    for bad in ("mixed_float16", "float64", "bfloat16", 3):
        with pytest.raises(ValueError, match=rf"{cls.__name__} '.*': dtype={bad!r} is not "
                                             r"supported by scratchnn"):
            _make(cls, dtype=bad)


def test_dtype_float64_is_accepted_under_floatx_float64(float64):
    assert L.Dense(3, dtype="float64").units == 3
    with pytest.raises(ValueError, match="dtype='float32' is not supported"):
        L.Dense(3, dtype="float32")


def test_switched_off_values_must_be_the_same_kind():
    """False is not None, 0 is not False: `use_bias`-like coercions are not guessed."""
    with pytest.raises(ValueError, match="renorm=0 is not supported"):
        L.BatchNormalization(renorm=0)
    with pytest.raises(ValueError, match="kernel_constraint=False is not supported"):
        L.Dense(3, kernel_constraint=False)
    assert L.Conv2D(2, 3, groups=1.0).filters == 2          # Keras's 1 as a float: the same
    L.BatchNormalization(renorm=np.bool_(False))


def test_input_dim_is_kerass_older_input_shape():
    assert L.Dense(3, input_dim=4).declared_input_shape == (None, 4)
    model = snn.Sequential([L.Dense(3, input_dim=4)])
    assert model.input_shape == (None, 4)
    with pytest.raises(ValueError, match="input_shape or input_dim, not both"):
        L.Dense(3, input_dim=4, input_shape=(4,))


def test_activity_regularizer_and_autocast_are_refused_for_every_layer():
    with pytest.raises(ValueError, match="Flatten: activity_regularizer='l2' is not supported"):
        L.Flatten(activity_regularizer="l2")
    with pytest.raises(ValueError, match="Dropout: autocast=False is not supported"):
        L.Dropout(0.1, autocast=False)


def test_keras_only_arguments_are_one_table_per_class_merged_along_the_bases():
    table = keras_only_arguments(L.Dense)
    assert table["activity_regularizer"] == (None,)              # from Layer
    assert table["lora_rank"] == (None,)                         # Dense's own
    assert "lora_rank" not in keras_only_arguments(L.Conv2D)
    assert keras_only_arguments(L.MaxPooling2D)["data_format"] == (None, "channels_last")


def test_input_takes_kerass_arguments_switched_off():
    assert snn.Input((3,), batch_size=None, dtype="float32", sparse=False, ragged=False,
                     tensor=None, optional=False).shape == (None, 3)
    assert snn.Input(batch_shape=(None, 28, 28)).shape == (None, 28, 28)
    with pytest.raises(ValueError, match=r"^InputLayer: Unrecognized keyword arguments passed "
                                         r"to InputLayer: \{'colour': 'red'\}"):
        L.InputLayer((3,), colour="red")
    for kwargs, says in ((dict(batch_size=32), "batch_size=32 is not supported"),
                         (dict(sparse=True), "sparse=True is not supported"),
                         (dict(dtype="float16"), "dtype='float16' is not supported")):
        with pytest.raises(ValueError, match=says):
            snn.Input((3,), **kwargs)
    with pytest.raises(ValueError, match="must start with None"):
        snn.Input(batch_shape=(32, 3))
    with pytest.raises(TypeError):
        snn.Input((3,), colour="red")


def test_leaky_relu_alpha_is_taken_not_refused():
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert L.LeakyReLU(alpha=0.2).negative_slope == 0.2
