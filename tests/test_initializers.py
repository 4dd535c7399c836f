"""Initializers as Keras's objects: seeds taken at construction, Keras's config format,
Keras's names. (Their values against Keras: parity_tests/test_random_weights.py.)"""

import random as python_random

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import initializers as I
from scratchnn import random

SEEDED = [I.GlorotUniform, I.GlorotNormal, I.HeUniform, I.HeNormal, I.LecunUniform,
          I.LecunNormal, I.RandomUniform, I.RandomNormal, I.TruncatedNormal, I.VarianceScaling]


def test_serialize_is_keras_dict_form():
    assert I.serialize(I.GlorotUniform()) == {
        "module": "keras.initializers", "class_name": "GlorotUniform",
        "config": {"seed": None, "input_axes": None, "output_axes": None},
        "registered_name": None}
    assert I.serialize(I.Zeros()) == {"module": "keras.initializers", "class_name": "Zeros",
                                      "config": {}, "registered_name": None}
    assert I.serialize(I.RandomUniform(-1, 1, seed=3))["config"] == {
        "seed": 3, "minval": -1, "maxval": 1}
    assert I.serialize(I.VarianceScaling(2.0, "fan_out", "uniform"))["config"] == {
        "seed": None, "scale": 2.0, "mode": "fan_out", "distribution": "uniform",
        "input_axes": None, "output_axes": None}


@pytest.mark.parametrize("cls", SEEDED + [I.Zeros, I.Ones, I.Constant, I.Identity])
def test_deserialize_round_trips_config_and_values(cls):
    init = cls(seed=17) if cls in SEEDED else cls()
    again = I.deserialize(I.serialize(init))
    assert type(again) is cls and again.get_config() == init.get_config()
    np.testing.assert_array_equal(again((4, 4)), init((4, 4)))


def test_get_accepts_names_dicts_classes_objects_callables_and_arrays():
    assert type(I.get("glorot_uniform")) is I.GlorotUniform
    assert type(I.get("GlorotUniform")) is I.GlorotUniform
    assert type(I.get("uniform")) is I.RandomUniform and type(I.get("normal")) is I.RandomNormal
    assert type(I.get({"class_name": "HeNormal", "config": {"seed": 1}})) is I.HeNormal
    assert type(I.get(I.LecunUniform)) is I.LecunUniform
    obj = I.Ones()
    assert I.get(obj) is obj and I.get(None) is None

    def fn(shape, dtype=None):
        return np.full(shape, 2.0)
    assert I.get(fn) is fn
    values = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(I.get(values)((2, 3)), values)
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        I.get(values)((3, 2))


def test_unknown_names_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="Unknown initializer 'Glorot_uniform'.*GlorotUniform"):
        I.get("Glorot_uniform")


def test_a_random_initializer_draws_its_seed_when_constructed():
    """Keras: RandomInitializer(seed=None) draws random.randint(1, 10**9) in __init__."""
    python_random.seed(3)
    expected = python_random.randint(1, 10**9)
    python_random.seed(3)
    init = I.GlorotUniform()
    python_random.seed(99)                       # later draws change nothing
    assert init.seed == expected
    np.testing.assert_array_equal(init((3, 2)), I.GlorotUniform(seed=expected)((3, 2)))


def test_an_int_seeded_initializer_gives_the_same_values_every_call():
    init = I.HeUniform(seed=5)
    np.testing.assert_array_equal(init((4, 3)), init((4, 3)))


def test_a_seed_generator_seed_gives_new_values_every_call():
    init = I.RandomNormal(seed=random.SeedGenerator(5))
    assert not np.array_equal(init((4, 3)), init((4, 3)))
    assert init.seed.state == [5, 2]


def test_layers_draw_kernel_then_bias_seeds_at_construction_in_creation_order():
    """Building later, or in another order, does not change which layer got which seed."""
    snn.utils.set_random_seed(8)
    a = snn.layers.Dense(3, bias_initializer="he_uniform")
    b = snn.layers.Conv2D(2, 3)
    snn.utils.set_random_seed(8)
    seeds = [random.make_default_seed() for _ in range(3)]
    assert [a.kernel_initializer.seed, a.bias_initializer.seed, b.kernel_initializer.seed] == seeds
    b.build((None, 5, 5, 1))
    a.build((None, 4))
    np.testing.assert_array_equal(a.params["kernel"], I.GlorotUniform(seed=seeds[0])((4, 3)))


def test_glorot_and_he_limits_follow_the_fans():
    kernel = I.GlorotUniform(seed=1)((3, 3, 2, 4))        # fan_in 18, fan_out 36
    assert np.abs(kernel).max() <= np.sqrt(6 / 54)
    assert I.compute_fans((3, 3, 2, 4)) == (18, 36)
    assert I.compute_fans((5, 7), input_axes=[1], output_axes=[0]) == (7, 5)
    assert np.abs(I.HeUniform(seed=1)((100, 10))).max() <= np.sqrt(6 / 100)


def test_values_come_in_floatx(float64):
    assert I.GlorotUniform(seed=1)((2, 2)).dtype == np.float64
    assert I.TruncatedNormal(seed=1)((2, 2), dtype="float32").dtype == np.float32


def test_constant_in_float64_is_the_float32_number_as_in_keras(float64):
    """Keras's cast(0.1, float64) goes through a float32 tensor: 0.10000000149011612."""
    assert I.Constant(0.1)((1,))[0] == np.float64(np.float32(0.1))


def test_bad_arguments_name_what_was_expected():
    with pytest.raises(ValueError, match="seed must be an int"):
        I.GlorotUniform(seed="x")
    with pytest.raises(ValueError, match="mode"):
        I.VarianceScaling(mode="fan_sideways")
    with pytest.raises(ValueError, match="2-D"):
        I.Identity()((2, 2, 2))
