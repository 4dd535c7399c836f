"""Same seed, same initial weights: scratchnn's and Keras's, bit for bit, with nothing
transferred. Each engine runs `set_random_seed(s)` and then the same model code."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scratchnn as snn

SEEDS = [0, 42, 123456789]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def seed_model(m, name):
    """The tutorials' models, written once for either engine module `m`."""
    L = m.layers
    if name == "circles_4_4_1":
        return m.Sequential([m.Input((2,)), L.Dense(4, activation="relu"),
                             L.Dense(4, activation="relu"), L.Dense(1, activation="sigmoid")])
    if name == "cnn_a":
        return m.Sequential([m.Input((28, 28, 1)), L.Conv2D(32, (3, 3), activation="relu"),
                             L.MaxPooling2D((2, 2)), L.Flatten(),
                             L.Dense(100, activation="relu"), L.Dense(10, activation="softmax")])
    if name == "cnn_t4":
        return m.Sequential([m.Input((28, 28, 1)), L.Conv2D(32, 5, activation="relu"),
                             L.MaxPooling2D(), L.Conv2D(32, 4, activation="relu", padding="same"),
                             L.MaxPooling2D(), L.Conv2D(32, 3, activation="relu"), L.Flatten(),
                             L.Dropout(0.5), L.Dense(10), L.Activation("softmax")])
    hidden = {"fashion_4_4_10": [4, 4], "fashion_350_10": [350],
              "fashion_100_50_10": [100, 50]}[name]
    return m.Sequential([m.Input((28, 28)), L.Flatten(),
                         *[L.Dense(h, activation="relu") for h in hidden],
                         L.Dense(10, activation="softmax")])


def both(build, seed):
    """(scratchnn weights, Keras weights) of `build(module)` after each engine's seed."""
    snn.utils.set_random_seed(seed)
    ours = build(snn).get_weights()
    keras.utils.set_random_seed(seed)
    theirs = [np.asarray(w) for w in build(keras).get_weights()]
    return ours, theirs


def assert_bitwise_equal(ours, theirs):
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.dtype == b.dtype and a.shape == b.shape, (i, a.dtype, b.dtype, a.shape, b.shape)
        assert np.array_equal(a, b), f"weight {i} {a.shape}: {np.sum(a != b)} entries differ"


@pytest.mark.parametrize("name", ["circles_4_4_1", "fashion_4_4_10", "fashion_350_10",
                                  "fashion_100_50_10", "cnn_a", "cnn_t4"])
def test_seed_models_start_from_kerass_weights(name):
    for seed in SEEDS:
        assert_bitwise_equal(*both(lambda m: seed_model(m, name), seed))


def test_weights_in_float64_too(float64):
    keras.backend.clear_session()
    assert_bitwise_equal(*both(lambda m: seed_model(m, "cnn_t4"), 7))


def test_construction_order_decides_the_seeds_as_in_keras():
    """Layers created out of model order (second layer first) get their seeds in creation
    order in both engines; so do layers created before the seed's draws are reset."""
    def build(m):
        second = m.layers.Dense(3, name="second")
        first = m.layers.Dense(5, name="first")
        return m.Sequential([m.Input((4,)), first, second])
    assert_bitwise_equal(*both(build, 11))


# Every initializer scratchnn offers, by Keras name, with the arguments they take.
INITIALIZERS = ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
                "lecun_normal", "random_uniform", "random_normal", "truncated_normal",
                "variance_scaling", "zeros", "ones", "identity"]


def initializer_mismatches(names):
    """{name: first mismatch or None} over float32 and float64, for a Dense, a Conv2D
    and an odd-sized shape, two seeds each."""
    import random
    found = {}
    for name in names:
        found[name] = None
        for dtype, shape in [("float32", (784, 100)), ("float32", (5, 5, 3, 32)),
                             ("float32", (7, 3)), ("float64", (300, 101)),
                             ("float64", (7, 3))]:
            if name == "identity" and len(shape) != 2:
                continue
            for seed in (1, 2**31 + 5):
                random.seed(seed)
                theirs = np.asarray(keras.initializers.get(name)(shape, dtype=dtype))
                random.seed(seed)
                ours = snn.initializers.get(name)(shape, dtype=dtype)
                if found[name] is None and not np.array_equal(ours, theirs):
                    found[name] = f"{dtype} {shape} seed {seed}: " \
                                  f"{int(np.sum(ours != theirs))} entries differ"
    return found


@pytest.mark.parametrize("name", INITIALIZERS)
def test_every_initializer_draws_kerass_values(name):
    """Bit for bit, normal-based ones included (TruncatedNormal's redraws, Box-Muller with
    the C library's log and sincos), float32 and float64, on the build of glibc's log and
    sincos this machine's CPU selects."""
    assert initializer_mismatches([name]) == {name: None}


NORMAL_INITIALIZERS = ["glorot_normal", "he_normal", "lecun_normal", "random_normal",
                       "truncated_normal", "variance_scaling"]


def test_normal_initializers_are_kerass_on_glibcs_plain_build_too():
    """glibc picks its `_fma` build of log and sincos on CPUs with FMA and AVX2, else a
    plain one (float64 results differ between them). GLIBC_TUNABLES forces the plain build
    on any CPU, for TensorFlow and scratchnn alike, in a child process
    (tests/test_libm_builds.py pins both builds' values without TensorFlow)."""
    code = ("import json, parity_tests.test_random_weights as t; "
            f"print(json.dumps(t.initializer_mismatches({NORMAL_INITIALIZERS!r})))")
    env = {**os.environ, "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX2,-FMA",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == dict.fromkeys(
        NORMAL_INITIALIZERS)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["uniform", "truncated_normal", "untruncated_normal"])
def test_variance_scaling_variants_and_explicit_seeds(mode, distribution):
    for seed in (5, 10**12):
        args = dict(scale=0.3, mode=mode, distribution=distribution, seed=seed)
        assert_bitwise_equal([snn.initializers.VarianceScaling(**args)((20, 30))],
                             [np.asarray(keras.initializers.VarianceScaling(**args)((20, 30)))])


INIT_NAMES = ["glorot_uniform", "he_uniform", "lecun_uniform", "random_uniform",
              "glorot_normal", "he_normal", "random_normal", "zeros"]


@st.composite
def architectures(draw):
    """A Sequential of Conv2D / MaxPooling2D / Dropout blocks, Flatten, Dense layers, with
    drawn initializers (names, or objects with explicit seeds) and a drawn seed."""
    def init(m, spec):
        name, seed = spec
        return name if seed is None else m.initializers.get(
            {"class_name": name, "config": {"seed": seed}})
    init_spec = st.tuples(st.sampled_from(INIT_NAMES),
                          st.one_of(st.none(), st.integers(0, 2**40))).map(
        lambda spec: (spec[0], None) if spec[0] == "zeros" else spec)
    convs = draw(st.lists(st.tuples(st.integers(1, 6), st.integers(1, 3), st.booleans(),
                                    init_spec, init_spec), max_size=2))
    dense = draw(st.lists(st.tuples(st.integers(1, 40), st.booleans(), init_spec, init_spec),
                          min_size=1, max_size=3))
    seed = draw(st.integers(0, 2**32 - 1))

    def build(m):
        L = m.layers
        layers = [m.Input((9, 9, 2))]
        for filters, k, pool, kinit, binit in convs:
            layers += [L.Conv2D(filters, k, padding="same", kernel_initializer=init(m, kinit),
                                bias_initializer=init(m, binit))]
            layers += [L.MaxPooling2D()] if pool and len(layers) < 4 else [L.Dropout(0.2)]
        layers.append(L.Flatten())
        for units, bias, kinit, binit in dense:
            layers.append(L.Dense(units, use_bias=bias, kernel_initializer=init(m, kinit),
                                  bias_initializer=init(m, binit)))
        return m.Sequential(layers)
    return build, seed


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(architectures())
def test_generated_architectures_start_from_kerass_weights(arch):
    build, seed = arch
    keras.backend.clear_session()
    assert_bitwise_equal(*both(build, seed))
