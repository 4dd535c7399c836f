"""Regularizers: Keras 3.15's penalties (factor through float32, x's dtype), their
gradients checked against float64 finite differences, names, configs and errors
(values measured with keras 3.15.1; parity_tests/test_callbacks_keras_more.py compares
with keras.regularizers directly)."""

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import regularizers as R
from scratchnn.gradcheck import numerical_gradient, relative_error

X = np.array([[1.0, -2.0], [0.0, 3.0]])          # sum|x| = 6, sum x^2 = 14
F01 = float(np.float32(0.01))                    # 0.009999999776482582


# -- values --------------------------------------------------------------------------------
def test_penalties_as_keras_computes_them_in_float64():
    # Keras's exact outputs for float64 X: the factor went through float32 first.
    assert R.L1(0.01)(X) == 0.05999999865889549
    assert R.L2(0.01)(X) == 0.13999999687075615
    assert R.L1L2(0.01, 0.01)(X) == 0.19999999552965164


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_penalty_is_factor_times_sum_in_the_weights_dtype(dtype):
    x = np.random.default_rng(0).normal(size=(5, 7)).astype(dtype)
    f = np.dtype(dtype).type(np.float32(0.3))
    assert R.L1(0.3)(x) == f * np.sum(np.abs(x))
    assert R.L2(0.3)(x) == f * np.sum(np.square(x))
    assert R.L1L2(0.3, 0.3)(x) == f * np.sum(np.abs(x)) + f * np.sum(np.square(x))
    for reg in (R.L1(0.3), R.L2(0.3), R.L1L2(0.3, 0.3), R.L1L2()):
        assert reg(x).dtype == np.dtype(dtype) and np.ndim(reg(x)) == 0


def test_l1l2_leaves_out_a_zero_term_and_defaults_to_no_penalty():
    assert R.L1L2(l2=0.01)(X) == R.L2(0.01)(X)
    assert R.L1L2(l1=0.01)(X) == R.L1(0.01)(X)
    assert R.L1L2()(X) == 0.0 and R.L1L2()(X.astype("float32")).dtype == np.float32


def test_the_base_regularizer_penalizes_nothing():
    assert R.Regularizer()(X) == 0.0
    np.testing.assert_array_equal(R.Regularizer().gradient(X), np.zeros_like(X))


def test_a_regularizer_needs_floating_point_weights():
    with pytest.raises(TypeError, match="floating-point array.*int64"):
        R.L2()(np.array([1, 2], dtype=np.int64))


# -- gradients -----------------------------------------------------------------------------
def _check_gradient(reg, x):
    numeric = numerical_gradient(lambda: float(reg(x)), x)
    return relative_error(reg.gradient(x), numeric)


@pytest.mark.parametrize("reg", [R.L1(0.3), R.L2(0.7), R.L1L2(0.2, 0.05), R.L1L2(l2=1.5)],
                         ids=repr)
@pytest.mark.parametrize("shape", [(6,), (4, 5), (3, 3, 2, 4)])
def test_gradient_matches_float64_finite_differences(reg, shape):
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape)
    x += np.where(x >= 0, 0.1, -0.1)           # |x| > 0.1: away from L1's kink at 0
    assert _check_gradient(reg, x) < 1e-7


def test_l1_gradient_at_zero_is_zero_as_tensorflow():
    x = np.array([0.0, -0.0, 2.0, -3.0], np.float32)
    np.testing.assert_array_equal(R.L1(0.5).gradient(x), [0.0, 0.0, 0.5, -0.5])
    np.testing.assert_array_equal(R.L1L2(0.5, 0.25).gradient(x), [0.0, 0.0, 1.5, -2.0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradient_has_the_weights_shape_and_dtype(dtype):
    x = np.ones((3, 2), dtype)
    for reg in (R.L1(), R.L2(), R.L1L2(), R.L1L2(0.1, 0.2)):
        g = reg.gradient(x)
        assert g.shape == x.shape and g.dtype == np.dtype(dtype)


def test_l2_gradient_is_l2_times_two_x_with_the_float32_factor():
    x = np.array([1.5, -2.0])
    np.testing.assert_array_equal(R.L2(0.01).gradient(x), F01 * (2 * x))


# -- factors and configs -------------------------------------------------------------------
def test_defaults_are_keras():
    assert R.L1().get_config() == {"l1": F01}            # L1 keeps its factor in float32
    assert R.L2().get_config() == {"l2": 0.01}
    assert R.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}


def test_none_means_the_default():
    assert R.L1(None).l1 == F01 and R.L2(None).l2 == 0.01
    assert R.L1L2(None, None).get_config() == {"l1": 0.0, "l2": 0.0}


def test_lower_case_names_are_the_classes_as_in_keras():
    assert R.l1 is R.L1 and R.l2 is R.L2 and R.l1_l2 is R.L1L2
    assert snn.regularizers is R


def test_factors_are_python_floats_and_numpy_scalars_are_accepted():
    assert R.L2(np.float32(0.5)).l2 == 0.5 and type(R.L2(1).l2) is float
    assert R.L1L2(np.int64(1), 0).get_config() == {"l1": 1.0, "l2": 0.0}


@pytest.mark.parametrize("cls, name", [(R.L1, "l1"), (R.L2, "l2")])
@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "0.1", True, [0.1]])
def test_invalid_factors_are_refused_naming_the_argument(cls, name, bad):
    with pytest.raises(ValueError, match=f"Invalid value for argument {name}: expected a "
                                         f"non-negative float. Received: {name}="):
        cls(bad)


@pytest.mark.parametrize("kwargs, name", [({"l1": -1}, "l1"), ({"l2": float("nan")}, "l2")])
def test_l1l2_refuses_each_bad_factor_by_name(kwargs, name):
    with pytest.raises(ValueError, match=f"argument {name}:"):
        R.L1L2(**kwargs)


# -- get / serialize / deserialize ---------------------------------------------------------
@pytest.mark.parametrize("name, cls, config", [
    ("l1", R.L1, {"l1": F01}), ("L1", R.L1, {"l1": F01}),
    ("l2", R.L2, {"l2": 0.01}), ("L2", R.L2, {"l2": 0.01}),
    ("l1l2", R.L1L2, {"l1": 0.0, "l2": 0.0}), ("L1L2", R.L1L2, {"l1": 0.0, "l2": 0.0}),
])
def test_get_builds_the_default_object_for_each_keras_name(name, cls, config):
    reg = R.get(name)
    assert type(reg) is cls and reg.get_config() == config


def test_get_refuses_l1_l2_as_keras_3_15_does_and_says_what_to_write():
    with pytest.raises(ValueError, match=r"Could not interpret regularizer identifier: "
                                         r"l1_l2 \(.*L1L2\(l1=0.01, l2=0.01\)"):
        R.get("l1_l2")


def test_get_keeps_objects_and_callables_builds_classes_and_dicts():
    reg = R.L2(0.5)
    assert R.get(reg) is reg and R.get(None) is None

    def penalty(w):
        return 0.0

    assert R.get(penalty) is penalty
    assert type(R.get(R.L1)) is R.L1
    assert R.get({"class_name": "L2", "config": {"l2": 0.5}}).l2 == 0.5


@pytest.mark.parametrize("bad", ["l3", 5, 0.1, [1]])
def test_get_refuses_what_it_cannot_interpret(bad):
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier"):
        R.get(bad)


@pytest.mark.parametrize("reg, expected", [
    (R.L2(0.01), {"module": "keras.regularizers", "class_name": "L2",
                  "config": {"l2": 0.01}, "registered_name": None}),
    (R.L1(0.3), {"module": "keras.regularizers", "class_name": "L1",
                 "config": {"l1": 0.30000001192092896}, "registered_name": None}),
    (R.L1L2(0.01, 0.02), {"module": "keras.regularizers", "class_name": "L1L2",
                          "config": {"l1": 0.01, "l2": 0.02}, "registered_name": None}),
])
def test_serialize_gives_keras_dict_and_deserialize_reads_it_back(reg, expected):
    assert R.serialize(reg) == expected
    back = R.deserialize(expected)
    assert type(back) is type(reg) and back.get_config() == reg.get_config()
    assert R.get(expected).get_config() == reg.get_config()


def test_serialize_none_is_none_and_deserialize_reads_keras_2_dicts_and_names():
    assert R.serialize(None) is None
    assert R.deserialize({"class_name": "L1L2", "config": {"l2": 0.1}}).get_config() == \
        {"l1": 0.0, "l2": 0.1}
    assert type(R.deserialize("l2")) is R.L2


def test_a_users_subclass_round_trips_through_custom_objects():
    class Scaled(R.Regularizer):
        def __init__(self, k=1.0):
            self.k = k

        def __call__(self, x):
            return self.k * np.sum(x)

        def get_config(self):
            return {"k": self.k}

    config = R.serialize(Scaled(3.0))
    assert config["class_name"] == "Scaled" and config["registered_name"] == "Scaled"
    assert R.deserialize(config, custom_objects={"Scaled": Scaled}).k == 3.0
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier: Scaled"):
        R.deserialize(config)


def test_deserialize_refuses_a_dict_without_class_name():
    with pytest.raises(ValueError, match="'class_name'"):
        R.deserialize({"config": {"l2": 0.1}})


def test_repr_shows_the_config():
    assert repr(R.L1L2(0.1, 0.2)) == "L1L2(l1=0.1, l2=0.2)"
    assert repr(R.Regularizer()) == "Regularizer()"
