"""scratchnn.random: Philox-4x32-10 and what Keras builds on it, pinned by known answers.

The expected numbers below were measured on keras 3.15.1 / TensorFlow 2.21 (CPU) and on
Random123's published test vectors; float results are given as their bit patterns.
The same facts are checked live against TensorFlow in parity_tests/test_random*.py."""

import random as python_random

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import libm32, random

# -- the generator ----------------------------------------------------------------------------
RANDOM123_KAT = [   # (counter, key) -> block, Random123's kat_vectors for philox4x32_10
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("counter, key, block", RANDOM123_KAT)
def test_philox_reference_block_matches_random123_known_answers(counter, key, block):
    assert random.philox_block_reference(counter, key) == block


@pytest.mark.parametrize("counter, key, block", RANDOM123_KAT)
def test_vectorised_philox_matches_random123_known_answers(counter, key, block):
    assert tuple(random.philox(key, counter, np.array([0]))[0].tolist()) == block


def test_vectorised_philox_equals_the_reference_block_with_128_bit_carries():
    """Block n of a stream is block(counter + n), the addition carrying across all four
    words: counters near 2^32 - 1 in the low words exercise every carry."""
    rng = np.random.default_rng(0)
    for _ in range(50):
        counter = tuple(int(v) for v in rng.integers(0, 2**32, 4, dtype=np.uint64))
        counter = (2**32 - 1 - int(rng.integers(0, 3)), 2**32 - 1, *counter[2:])
        key = tuple(int(v) for v in rng.integers(0, 2**32, 2, dtype=np.uint64))
        offsets = np.array([0, 1, 2, 3, int(rng.integers(0, 2**62))], dtype=np.uint64)
        fast = random.philox(key, counter, offsets)
        value = sum(c << (32 * i) for i, c in enumerate(counter))
        for row, offset in zip(fast, offsets.tolist()):
            moved = (value + offset) % 2**128
            words = tuple((moved >> (32 * i)) & 0xFFFFFFFF for i in range(4))
            assert tuple(row.tolist()) == random.philox_block_reference(words, key)


def test_stream_is_the_blocks_words_in_order():
    key, counter = (5, 6), (1, 2, 3, 4)
    blocks = [random.philox_block_reference((1 + i, 2, 3, 4), key) for i in range(3)]
    np.testing.assert_array_equal(random.stream(key, counter, 10),
                                  np.array([w for b in blocks for w in b][:10], np.uint32))


# -- TensorFlow's stateless numbers (known answers from TF 2.21) -------------------------------
def _bits(values, dtype=np.uint32):
    return np.asarray(values).view(dtype).tolist()


def test_stateless_uniform_float32_is_tensorflows():
    """tf.random.stateless_uniform((6,), seed=[42, 0])."""
    assert _bits(random.uniform((6,), (42, 0))) == [
        1049664276, 1056911488, 1060579402, 1017478848, 1033959440, 1059087922]


def test_stateless_uniform_float64_uses_two_words_per_value():
    """tf.random.stateless_uniform((3,), seed=[7, 3], dtype=float64)."""
    assert _bits(random.uniform((3,), (7, 3), dtype="float64"), np.uint64) == [
        4605871014531124818, 4605192387055415582, 4601699572340144072]


def test_uniform_is_rnd_times_range_plus_min_in_float32():
    u = random.uniform((100,), (3, 4))
    scaled = random.uniform((100,), (3, 4), -0.25, 0.75)
    np.testing.assert_array_equal(scaled, u * np.float32(1.0) + np.float32(-0.25))
    assert u.min() >= 0 and u.max() < 1 and u.dtype == np.float32


def test_stateless_normal_is_tensorflows_bit_for_bit():
    """tf.random.stateless_normal((5,), seed=[1, 2]): Box-Muller with glibc's float32 math."""
    assert _bits(random.normal((5,), (1, 2))) == [
        1057704653, 1045715841, 1033283812, 1027486248, 3215366783]


def test_stateless_truncated_normal_redraws_beyond_two_and_is_tensorflows():
    """tf.random.stateless_truncated_normal((6,), seed=[1, 2]): the fifth normal (-2.2)
    is dropped and the group goes on with the next pair."""
    assert _bits(random.truncated_normal((6,), (1, 2))) == [
        1057704653, 1045715841, 1033283812, 1027486248, 1043086892, 3218583340]
    assert np.abs(random.truncated_normal((20000,), (3, 0))).max() < 2


# glibc's logf / sincosf on inputs where they are NOT the correctly rounded result (found
# exhaustively over the 2^23 inputs Box-Muller can give), plus a sample of others.
LOG_CASES = [(4466, 3237034091), (4695, 3236929223), (8326, 3235727795),
             (22972, 3233599411), (2263129, 3215438391), (8143172, 3170058888)]
SIN_CASES = [(13632, 1009207667), (18282, 1012947150), (1470245, 1063537359),
             (5088823, 3206478160), (8143172, 3191550009)]
COS_CASES = [(67581, 1065331727), (69484, 1065330500), (4224723, 3212832509),
             (7135533, 1058490355)]


def _unit(k):
    return np.array([k], np.float64) * 2.0**-23          # Uint32ToFloat of mantissa k


@pytest.mark.parametrize("k, bits", LOG_CASES)
def test_logf_is_glibcs_including_its_rounding_slips(k, bits):
    x = np.maximum(_unit(k).astype(np.float32), np.float32(1e-7))
    assert _bits(libm32.logf(x)) == [bits]


@pytest.mark.parametrize("which, cases", [(0, SIN_CASES), (1, COS_CASES)])
def test_sincosf_is_glibcs_including_its_rounding_slips(which, cases):
    for k, bits in cases:
        angle = (2 * np.pi * _unit(k)).astype(np.float32)
        assert _bits(libm32.sincosf(angle)[which]) == [bits], k


def test_glibc_twins_stay_within_one_ulp_of_the_correctly_rounded_values():
    x = np.linspace(1e-7, 1, 50001, dtype=np.float32)
    exact = np.log(x.astype(np.float64)).astype(np.float32)
    assert np.abs(libm32.logf(x).view(np.int32) - exact.view(np.int32)).max() <= 1
    y = np.linspace(0, 2 * np.pi, 50001, endpoint=False).astype(np.float32)
    sin, cos = libm32.sincosf(y)
    np.testing.assert_allclose(sin, np.sin(y.astype(np.float64)), atol=2e-7)
    np.testing.assert_allclose(cos, np.cos(y.astype(np.float64)), atol=2e-7)


# -- seeds --------------------------------------------------------------------------------------
def test_seed_pairs_reduce_mod_int32_max_minus_one_as_keras():
    assert random.keras_seed_pair(5, 3) == (5, 3)
    assert random.keras_seed_pair(2**31 - 2, 2**31 - 1) == (0, 1)
    assert random.keras_seed_pair(10**12) == (10**12 % (2**31 - 2), 0)


def test_default_seeds_are_randint_1_1e9_from_pythons_random():
    """After keras.utils.set_random_seed(42) Keras's first three drawn seeds are these."""
    snn.utils.set_random_seed(42)
    assert [random.make_default_seed() for _ in range(3)] == [686579304, 119540832, 26855093]


def test_seed_generator_starts_at_seed_0_and_counts_up():
    gen = random.SeedGenerator(9)
    assert [gen.next() for _ in range(3)] == [(9, 0), (9, 1), (9, 2)]
    python_random.seed(1)
    drawn = python_random.randint(1, 10**9)
    python_random.seed(1)
    assert random.SeedGenerator().state == [drawn, 0]


def test_set_random_seed_rejects_what_keras_rejects():
    for bad in (-1, 2**32, 1.5, "7", True):
        with pytest.raises(ValueError, match="set_random_seed"):
            snn.utils.set_random_seed(bad)
    snn.utils.set_random_seed(2**32 - 1)
    assert snn.utils.get_random_seed() == 2**32 - 1


# -- fit's order -------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 8, 33, 1000])
def test_vectorised_fisher_yates_equals_the_loop(n):
    rng = np.random.default_rng(n)
    for _ in range(20):
        words = rng.integers(0, 2**32, max(n - 1, 0), dtype=np.uint64).astype(np.uint32)
        np.testing.assert_array_equal(random.fisher_yates(n, words),
                                      random.fisher_yates_reference(n, words))


def test_fisher_yates_with_every_partner_pinned():
    """All words 0 (no swap at all) and all partners last (a rotation)."""
    np.testing.assert_array_equal(random.fisher_yates(6, np.zeros(5, np.uint32)), np.arange(6))
    last = np.array([5 - i for i in range(5)], np.uint32)           # j_i = n - 1
    np.testing.assert_array_equal(random.fisher_yates(6, last),
                                  random.fisher_yates_reference(6, last))


@pytest.mark.parametrize("seed, n, order", [
    (42, 10, [3, 8, 7, 5, 2, 0, 1, 6, 9, 4]),
    (0, 10, [2, 0, 5, 8, 7, 1, 9, 6, 3, 4]),          # seeds (0, 0) become (0, 2^31 - 1)
    (7, 9, [0, 5, 1, 2, 6, 8, 7, 4, 3]),
])
def test_fit_permutation_is_keras_fits_order(seed, n, order):
    """Measured: the samples Keras 3.15.1's fit(shuffle=True) fed, batch after batch."""
    snn.utils.set_random_seed(seed)
    assert random.fit_permutation(n).tolist() == order


def test_seeded_fit_reuses_one_permutation_every_epoch_unseeded_does_not():
    snn.utils.set_random_seed(3)
    assert np.array_equal(random.fit_permutation(500), random.fit_permutation(500))
    random.set_global_seed(None)
    assert not np.array_equal(random.fit_permutation(500), random.fit_permutation(500))


# -- layers and fit ------------------------------------------------------------------------------
def test_dense_kernel_after_seed_42_is_keras():
    """keras.utils.set_random_seed(42); Dense(3) on 2 inputs: this glorot_uniform kernel."""
    snn.utils.set_random_seed(42)
    layer = snn.layers.Dense(3)
    layer.build((None, 2))
    assert _bits(layer.params["kernel"]) == [[1061741972, 1052142880, 3198057788],
                                             [1065116284, 3211568873, 1051385960]]


def test_dropout_masks_are_keras_call_after_call():
    """keras.layers.Dropout(0.5, seed=1337) on ones((2, 8)), two training calls."""
    layer = snn.layers.Dropout(0.5, seed=1337)
    x = np.ones((2, 8), np.float32)
    masks = [(layer(x, training=True) != 0).astype(int).tolist() for _ in range(2)]
    assert masks == [[[1, 0, 1, 1, 0, 0, 1, 1], [1, 0, 0, 0, 1, 1, 1, 0]],
                     [[1, 0, 0, 1, 1, 0, 0, 0], [1, 1, 1, 1, 0, 1, 0, 1]]]


def test_dropout_inference_neither_masks_nor_advances_the_seed_state():
    layer = snn.layers.Dropout(0.5, seed=1)
    x = np.ones((3, 4), np.float32)
    layer(x, training=True)
    layer(x, training=False)
    assert layer.seed_generator.state == [1, 1]


def test_dropout_draws_its_seed_at_construction_only_when_rate_is_positive():
    snn.utils.set_random_seed(5)
    snn.layers.Dropout(0.0)
    first = snn.layers.Dropout(0.5).seed_generator.state[0]
    snn.utils.set_random_seed(5)
    assert first == random.make_default_seed()


def test_dropout_noise_shape_broadcasts_one_mask_over_the_none_free_axes():
    layer = snn.layers.Dropout(0.5, noise_shape=(None, 1, 4), seed=2)
    y = layer(np.ones((3, 5, 4), np.float32), training=True)
    assert np.all(y == y[:, :1, :])


def _small_model(seed):
    snn.utils.set_random_seed(seed)
    model = snn.Sequential([snn.Input((4,)), snn.layers.Dense(6, activation="relu"),
                            snn.layers.Dropout(0.3), snn.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def test_same_seed_same_run_bit_for_bit():
    x = np.random.default_rng(0).normal(size=(70, 4))
    y = (x[:, 0] > 0).astype(float)
    runs = [_small_model(11).fit(x, y, epochs=2, verbose=0).history["loss"] for _ in range(2)]
    assert runs[0] == runs[1]


def test_unseeded_runs_differ():
    x = np.random.default_rng(0).normal(size=(70, 4))
    y = (x[:, 0] > 0).astype(float)
    random.set_global_seed(None)
    python_random.seed()
    weights = []
    for _ in range(2):
        model = snn.Sequential([snn.Input((4,)), snn.layers.Dense(6)])
        weights.append(model.get_weights()[0])
    assert not np.array_equal(*weights)


def test_fit_visits_samples_in_fit_permutation_order():
    model = _small_model(4)
    x = np.random.default_rng(0).normal(size=(50, 4))
    model.fit(x, (x[:, 0] > 0).astype(float), epochs=1, verbose=0)
    snn.utils.set_random_seed(4)
    np.testing.assert_array_equal(model.epoch_order, random.fit_permutation(50))
