"""Keras's random numbers, from scratch: the Philox-4x32-10 generator and what is built on it.

With `set_random_seed(s)`, scratchnn draws the very numbers Keras 3 (TensorFlow backend)
draws: the same initial weights, the same Dropout masks, the same sample order in `fit`.

A counter-based generator
-------------------------
NumPy's classic generators carry a state that each draw updates: the n-th number exists
only after the n-1 before it. Philox (Salmon et al., "Parallel random numbers: as easy as
1, 2, 3", SC 2011) works the other way round: block n is a pure function of a KEY and a
COUNTER, block(key, counter + n). Nothing is carried from one block to the next, so any
part of the stream can be computed directly, in any order, by any number of threads; the
same (key, counter) always gives the same bits. That is why TensorFlow uses it: a random
op on 16 threads or a GPU fills its output in parallel, and the result does not depend
on how the work was split. Here it means the whole stream is one vectorised NumPy
computation: every block of an array at once, with no Python loop.

One Philox-4x32-10 block: the counter is four 32-bit words (c0, c1, c2, c3), the key two
(k0, k1). Ten times:

    p0 = 0xD2511F53 * c0,  p1 = 0xCD9E8D57 * c2            (64-bit products)
    (c0, c1, c2, c3) <- (hi(p1) ^ c1 ^ k0,  lo(p1),  hi(p0) ^ c3 ^ k1,  lo(p0))
    (k0, k1) <- (k0 + 0x9E3779B9,  k1 + 0xBB67AE85)  mod 2^32

and the four words left are the output. The multiplications mix bits across the words,
the xors with the key make the mapping depend on the seed. Random123's authors found
7 rounds already pass the BigCrush statistical tests; 10 is their default, for a margin.

What Keras builds on it (all measured bit for bit against keras 3.15.1 / TF 2.21):

* seeds:   every initializer, and every Dropout, made without `seed=` draws its seed
           `random.randint(1, 10**9)` from Python's `random` WHEN IT IS CONSTRUCTED.
* uniform: a seed pair (s0, s1) becomes a key and counter (`key_counter_from_seed`);
           the array is filled, row-major, from the stream; word w becomes the float
           (w & 0x7FFFFF) / 2^23 in [0, 1) (23 random mantissa bits; float64 takes two
           words per value). Initializers use the pair (seed, 0); a Dropout layer
           (seed, 0), (seed, 1), ... one per training call. See `uniform`.
* normal:  Box-Muller on pairs of uniforms (`normal`, `truncated_normal`), with the C
           library's log and sincos: in float32 reproduced bit for bit (`libm32`), in
           float64 the C library's own functions (`box_muller` says why).
* shuffle: fit's order is TensorFlow's RandomShuffle, a Fisher-Yates shuffle fed by a
           Philox stream keyed by the global seed (`fit_permutation`).

Exact, as measured by the parity tests: uniform, normal and truncated normal numbers in
float32 and float64, Dropout masks, fit's order. Normal numbers are exact where TensorFlow
calls glibc (Linux), on either of glibc's builds of log and sincos (`box_muller`).
"""

from __future__ import annotations

import math
import os
import random as python_random

import numpy as np

# Philox-4x32 constants (Random123): the two multipliers and the key increments
# (the golden ratio and sqrt(3) - 1, as 32-bit fractions).
PHILOX_M = (0xD2511F53, 0xCD9E8D57)
PHILOX_W = (0x9E3779B9, 0xBB67AE85)
ROUNDS = 10
MASK32 = 0xFFFFFFFF
# The fixed key TensorFlow scrambles a seed pair with (`key_counter_from_seed`).
SEED_SCRAMBLE_KEY = (0x3EC8F720, 0x02461E29)
# Keras hands seeds to TensorFlow modulo int32.max - 1 (backend/tensorflow/random.py).
KERAS_SEED_MODULUS = 2**31 - 2
# TensorFlow reduces its global seed modulo int32.max (framework/random_seed.py).
TF_SEED_MODULUS = 2**31 - 1


# -- the generator ------------------------------------------------------------------------
def philox_block_reference(counter: tuple[int, int, int, int],
                           key: tuple[int, int]) -> tuple[int, int, int, int]:
    """One Philox-4x32-10 block with plain Python ints: the rounds exactly as written above.

    The slow teaching version; `philox` is the vectorised one and the tests check that
    both agree."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for _ in range(ROUNDS):
        p0 = PHILOX_M[0] * c0                     # 64-bit product of two 32-bit words
        p1 = PHILOX_M[1] * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & MASK32, (p0 >> 32) ^ c3 ^ k1, p0 & MASK32
        k0, k1 = (k0 + PHILOX_W[0]) & MASK32, (k1 + PHILOX_W[1]) & MASK32
    return c0, c1, c2, c3


def philox(key: tuple[int, int], counter: tuple[int, int, int, int],
           offsets: np.ndarray) -> np.ndarray:
    """The blocks at counter + offsets (128-bit additions), as an (n, 4) uint32 array.

    Vectorised: the words of all n blocks are uint64 arrays holding 32-bit values, so a
    32 x 32-bit product is exact, and each round is a handful of NumPy operations on
    whole arrays. Even words (c0, c2) and odd words (c1, c3) are kept as two (2, n)
    arrays; one round, with hi/lo the upper/lower 32 bits of the products, is

        p = (c0, c2) * (M0, M1)        even <- (hi(p1), hi(p0)) ^ odd ^ (k0, k1)
                                       odd  <- (lo(p1), lo(p0))
    """
    offsets = np.asarray(offsets, dtype=np.uint64).ravel()
    even, odd = _add_to_counter(counter, offsets)          # (2, n) each: (c0, c2), (c1, c3)
    mult = np.array(PHILOX_M, dtype=np.uint64)[:, None]
    k = np.array(key, dtype=np.uint64)[:, None]
    step = np.array(PHILOX_W, dtype=np.uint64)[:, None]
    mask, shift = np.uint64(MASK32), np.uint64(32)
    for _ in range(ROUNDS):
        p = even * mult                                    # (p0, p1), exact in 64 bits
        even = (p >> shift)[::-1] ^ odd ^ k                # (hi(p1) ^ c1 ^ k0, hi(p0) ^ c3 ^ k1)
        odd = (p & mask)[::-1]                             # (lo(p1), lo(p0))
        k = (k + step) & mask
    out = np.empty((offsets.size, 4), dtype=np.uint32)
    out[:, 0], out[:, 2] = even
    out[:, 1], out[:, 3] = odd
    return out


def _add_to_counter(counter: tuple[int, int, int, int],
                    offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """counter + offsets as 128-bit numbers, word by word with carries (low word first)."""
    words = []
    carry = offsets
    for word in counter:
        total = np.uint64(word) + (carry & np.uint64(MASK32))
        words.append(total & np.uint64(MASK32))
        carry = (carry >> np.uint64(32)) + (total >> np.uint64(32))
    return np.stack([words[0], words[2]]), np.stack([words[1], words[3]])


def stream(key: tuple[int, int], counter: tuple[int, int, int, int], n_words: int,
           start_block: int = 0) -> np.ndarray:
    """The first n_words uint32 words of the stream block(counter), block(counter + 1), ...
    (four words per block, in order), starting `start_block` blocks in."""
    n_blocks = -(-n_words // 4)
    offsets = np.arange(start_block, start_block + n_blocks, dtype=np.uint64)
    return philox(key, counter, offsets).ravel()[:n_words]


def key_counter_from_seed(seed: tuple[int, int]) -> tuple[tuple[int, int],
                                                           tuple[int, int, int, int]]:
    """TensorFlow's stateless ops: seed pair -> (key, counter).

    Each seed is taken as a 64-bit word (two 32-bit halves); one Philox block with a
    fixed key scrambles them, so that similar seeds give unrelated streams."""
    s0, s1 = (int(s) % 2**64 for s in seed)
    w0, w1, w2, w3 = philox_block_reference(
        (s0 & MASK32, s0 >> 32, s1 & MASK32, s1 >> 32), SEED_SCRAMBLE_KEY)
    return (w0, w1), (0, 0, w2, w3)


# -- from words to numbers ----------------------------------------------------------------
def words_to_unit_float(words: np.ndarray, dtype: str = "float32") -> np.ndarray:
    """Uniform floats in [0, 1), TensorFlow's way.

    float32: one word each; its low 23 bits become the mantissa of a float in [1, 2)
    (TensorFlow sets the exponent bits and subtracts 1), which is exactly
    (w & 0x7FFFFF) * 2^-23. float64: two words each, (w0, w1) -> 52 mantissa bits
    ((w0 & 0xFFFFF) << 32 | w1) * 2^-52."""
    if np.dtype(dtype) == np.float32:
        return (words & np.uint32(0x7FFFFF)).astype(np.float32) * np.float32(2.0**-23)
    pairs = words.reshape(-1, 2).astype(np.uint64)
    mantissa = ((pairs[:, 0] & np.uint64(0xFFFFF)) << np.uint64(32)) | pairs[:, 1]
    return mantissa.astype(np.float64) * 2.0**-52


def _words_per_value(dtype: str) -> int:
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"random numbers are drawn as float32 or float64, got {dtype}")
    return 1 if dtype == np.float32 else 2


def uniform(shape: tuple, seed: tuple[int, int], minval: float = 0.0, maxval: float = 1.0,
            dtype: str = "float32") -> np.ndarray:
    """`tf.random.stateless_uniform(shape, seed, minval, maxval, dtype)`, bit for bit.

    rnd * (maxval - minval) + minval, every operation in `dtype` as TensorFlow does it."""
    shape = tuple(int(d) for d in shape)
    size = math.prod(shape)
    key, counter = key_counter_from_seed(seed)
    rnd = words_to_unit_float(stream(key, counter, size * _words_per_value(dtype)), dtype)
    lo, hi = np.asarray(minval, dtype=dtype), np.asarray(maxval, dtype=dtype)
    return (rnd * (hi - lo) + lo).reshape(shape)


# -- seeds -----------------------------------------------------------------------------------
def make_default_seed() -> int:
    """A fresh seed, drawn as Keras draws one: randint(1, 10**9) from Python's `random`."""
    return python_random.randint(1, 10**9)


def keras_seed_pair(seed: int, count: int = 0) -> tuple[int, int]:
    """The int32 pair Keras hands TensorFlow for state (seed, count): each mod 2^31 - 2."""
    return int(seed) % KERAS_SEED_MODULUS, int(count) % KERAS_SEED_MODULUS


class SeedGenerator:
    """`keras.random.SeedGenerator`: a seed state [seed, count] that advances by one count
    per draw. Built with seed=None, it draws its seed from Python's `random` right away."""

    def __init__(self, seed: int | None = None, name: str | None = None) -> None:
        self._initial_seed = seed
        if seed is None:
            seed = make_default_seed()
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise ValueError(f"SeedGenerator: seed must be an int or None, got {seed!r}")
        self.name = name or "seed_generator"
        self.state = [int(seed), 0]

    def next(self) -> tuple[int, int]:
        """The seed pair for this draw (what TensorFlow receives); the count then goes up."""
        pair = keras_seed_pair(*self.state)
        self.state[1] += 1
        return pair

    def get_config(self) -> dict:
        return {"seed": self._initial_seed, "name": self.name}


# The global seed `scratchnn.utils.set_random_seed` sets (TensorFlow's global seed in Keras).
_global_seed: int | None = None


def set_global_seed(seed: int | None) -> None:
    global _global_seed
    _global_seed = None if seed is None else int(seed)


def global_seed() -> int | None:
    """The seed of the last `set_random_seed`, or None when none was set."""
    return _global_seed


# -- normal numbers (Box-Muller) ------------------------------------------------------------
def box_muller(words: np.ndarray, dtype: str = "float32") -> np.ndarray:
    """Pairs of uniforms (u1, u2) -> pairs of unit normals, TensorFlow's `BoxMullerFloat`
    and `BoxMullerDouble` (tensorflow/core/lib/random/random_distributions.h):

        r = sqrt(-2 log max(u1, 1e-7)),  (z0, z1) = (r sin(2 pi u2), r cos(2 pi u2))

    with log and sincos from the C library (on Linux, glibc's `logf`/`sincosf` in
    float32, `log`/`sincos` in float64; TensorFlow's kernel calls them one value at a
    time). 2 pi u2 is computed in double (`2.0f * M_PI * u`), then rounded to float32.

    Which results those functions give depends on the CPU: glibc ships several builds of
    each and picks one when the program starts, by CPU features. The `_fma` build (CPUs
    with FMA and AVX2) was compiled so that a*b + c is one fused, once-rounded operation;
    the `_sse2`/`_avx` builds round the product first. Measured on glibc 2.36:

    * float32: the builds agree on every input Box-Muller can give (all 2^23 of each),
      so one NumPy twin of glibc's algorithm (`libm32`) is exact on every CPU.
    * float64: the builds differ (log in about 1 value in 10,000, sin and cos in 1 in
      1,500), and NumPy's own np.log is a third, vectorised algorithm on CPUs with
      AVX-512 (it differs from glibc's in 1 value in 300). So float64 calls the C
      library's functions themselves, through Python's `math` (math.log, math.sin and
      math.cos are glibc's log, sin and cos, which give exactly sincos's results:
      measured), and gets whichever build glibc chose for this CPU, as TensorFlow does.
    """
    from . import libm32

    dtype = np.dtype(dtype)
    u = words_to_unit_float(words, dtype).reshape(-1, 2)
    u1, u2 = np.maximum(u[:, 0], dtype.type(1e-7)), u[:, 1]
    out = np.empty((len(u), 2), dtype=dtype)
    if dtype == np.float32:
        angle = (2 * np.pi * u2.astype(np.float64)).astype(np.float32)
        radius = np.sqrt(np.float32(-2) * libm32.logf(u1))
        out[:, 0], out[:, 1] = libm32.sincosf(angle)
    else:
        angle = 2 * np.pi * u2
        radius = np.sqrt(-2.0 * c_library(math.log, u1))
        out[:, 0], out[:, 1] = c_library(math.sin, angle), c_library(math.cos, angle)
    out *= radius[:, None]
    return out.ravel()


def c_library(function, x: np.ndarray) -> np.ndarray:
    """`function` (math.log, math.sin, ...) of every element of the float64 array x, each
    computed by the C library's double function, one call per element (a few million
    per second: only float64 normal draws use it)."""
    return np.fromiter(map(function, x.tolist()), dtype=np.float64, count=x.size)


def normal(shape: tuple, seed: tuple[int, int], mean: float = 0.0, stddev: float = 1.0,
           dtype: str = "float32") -> np.ndarray:
    """`tf.random.stateless_normal`: Box-Muller on the stream, rnd * stddev + mean.

    Bit for bit TensorFlow's where both use glibc (see `box_muller`)."""
    shape = tuple(int(d) for d in shape)
    size = math.prod(shape)
    per_normal = _words_per_value(dtype)                   # words per uniform
    n_words = -(-size // 2) * 2 * per_normal               # whole pairs
    key, counter = key_counter_from_seed(seed)
    rnd = box_muller(stream(key, counter, n_words), dtype)[:size]
    return (rnd * np.asarray(stddev, dtype=dtype) + np.asarray(mean, dtype=dtype)).reshape(shape)


# TensorFlow's variable-sample ops reserve 256 words of the stream for each output value.
_WORDS_PER_OUTPUT = 256


def truncated_normal(shape: tuple, seed: tuple[int, int], mean: float = 0.0,
                     stddev: float = 1.0, dtype: str = "float32") -> np.ndarray:
    """`tf.random.stateless_truncated_normal`: unit normals with |z| >= 2 redrawn.

    TensorFlow fills the output in groups (4 float32 or 2 float64 values); group g reads
    its own part of the stream, 256 words per value (block 256 g for float32, 128 g for
    float64), so a redraw in one group never
    shifts another. Each group takes Box-Muller pairs in order and keeps the values
    with |z| < 2 until it has enough. Here every group's first block is done at once,
    then the next block of the (few) groups still short, and so on."""
    dtype = np.dtype(dtype)
    shape = tuple(int(d) for d in shape)
    size = math.prod(shape)
    group = 4 if dtype == np.float32 else 2
    n_groups = -(-size // group)
    blocks_per_group = np.uint64(group * _WORDS_PER_OUTPUT // 4)
    key, counter = key_counter_from_seed(seed)
    values = np.zeros((n_groups, group), dtype=dtype)
    found = np.zeros(n_groups, dtype=np.int64)
    pending = np.arange(n_groups, dtype=np.uint64)
    block = 0
    while pending.size:
        words = philox(key, counter, pending * blocks_per_group + np.uint64(block))
        candidates = box_muller(words.ravel(), dtype).reshape(len(pending), -1)
        rows = pending.astype(np.int64)
        for z in candidates.T:                             # in stream order
            take = (np.abs(z) < 2) & (found[rows] < group)
            values[rows[take], found[rows[take]]] = z[take]
            found[rows[take]] += 1
        pending = pending[found[rows] < group]
        block += 1
    rnd = values.ravel()[:size]
    return (rnd * np.asarray(stddev, dtype=dtype) + np.asarray(mean, dtype=dtype)).reshape(shape)


# -- fit's sample order: TensorFlow's RandomShuffle -------------------------------------------
def fisher_yates_reference(n: int, words: np.ndarray) -> np.ndarray:
    """The shuffle as TensorFlow's RandomShuffle kernel runs it (the plain loop):

        a = [0, 1, ..., n-1]
        for i = 0 .. n-2:  j = i + words[i] mod (n - i);  swap a[i], a[j]

    Step i picks, uniformly (up to a modulo bias of n / 2^32), which of the n - i items
    not yet placed goes to position i."""
    a = list(range(n))
    for i, word in enumerate(words[:max(n - 1, 0)].tolist()):
        j = i + word % (n - i)
        a[i], a[j] = a[j], a[i]
    return np.array(a, dtype=np.int64)


def fisher_yates(n: int, words: np.ndarray) -> np.ndarray:
    """The same permutation as `fisher_yates_reference`, without a Python loop.

    The swaps look sequential, but what each one moves can be worked out for all steps
    at once. Write j_i for step i's partner (j_i >= i) and f(p) for the value sitting at
    position p when step p begins. Step i puts into position i the value then at j_i,
    and position i is never touched again. Which value sits at position p before step t?
    Only swaps with j_k = p (k < t) changed it, and the last one, k = last(p, t), left
    there the value position k held at its own step: f(k). So

        out[i] = f(last(j_i, i)),  or j_i itself if no earlier step targeted j_i
        f(p)   = f(last(p, p)),    or p itself if no earlier step targeted p

    last(., .) comes from one sort of the steps by (partner, step); f follows chains of
    earlier steps, resolved by pointer jumping (ptr <- ptr[ptr], a few rounds)."""
    if n <= 1:
        return np.arange(n, dtype=np.int64)
    steps = np.arange(n - 1, dtype=np.int64)
    partner = steps + (words[:n - 1].astype(np.uint64)
                       % (np.uint64(n) - steps.astype(np.uint64))).astype(np.int64)
    order = np.argsort(partner * n + steps)            # steps grouped by partner, in order
    grouped = partner[order]
    same = grouped[1:] == grouped[:-1]
    # last(j_i, i): the step before i in i's own group
    previous = np.full(n - 1, -1, dtype=np.int64)
    previous[order[1:][same]] = order[:-1][same]
    # last(p, p): the last step of p's group, or the one before it if that is step p itself
    ends = np.flatnonzero(np.append(~same, True))      # last entry of each group
    targets, last_step = grouped[ends], order[ends]
    before_ok = (ends > 0) & (grouped[np.maximum(ends - 1, 0)] == targets)
    last_step = np.where(last_step != targets, last_step,
                         np.where(before_ok, order[np.maximum(ends - 1, 0)], -1))
    pointer = np.arange(n, dtype=np.int64)             # pointer[p] = last(p, p), or p
    pointer[targets[last_step >= 0]] = last_step[last_step >= 0]
    while True:                                        # f(p) = f(pointer[p]) until fixed
        jumped = pointer[pointer]
        if np.array_equal(jumped, pointer):
            break
        pointer = jumped
    out = np.empty(n, dtype=np.int64)
    out[:-1] = np.where(previous >= 0, pointer[np.maximum(previous, 0)], partner)
    out[-1] = pointer[-1]
    return out


def random_shuffle(n: int, seed: int, seed2: int) -> np.ndarray:
    """TensorFlow's RandomShuffle of range(n) for op seeds (seed, seed2): Fisher-Yates on the
    Philox stream with key (seed low, seed high) and counter (0, 0, seed2 low, seed2 high)."""
    if n >= 2**32:
        raise ValueError(f"random_shuffle: n must be below 2^32, got {n}")
    seed, seed2 = int(seed) % 2**64, int(seed2) % 2**64
    words = stream((seed & MASK32, seed >> 32), (0, 0, seed2 & MASK32, seed2 >> 32),
                   max(n - 1, 0))
    return fisher_yates(n, words)


def fit_permutation(n: int) -> np.ndarray:
    """The order in which Keras 3.15.1's `fit(shuffle=True)` visits n samples in an epoch.

    Keras builds a new `tf.random.shuffle(range(n))` for every epoch. With a global seed s
    (`set_random_seed(s)`), its op seeds are (s mod (2^31 - 1), 0), or (0, 2^31 - 1) in
    place of (0, 0): the SAME permutation in every epoch, a quirk of this Keras version
    (later versions draw a new one per epoch). Without a global seed TensorFlow seeds
    it from the operating system: a different order every epoch and every run."""
    if _global_seed is None:
        seed, seed2 = (int.from_bytes(os.urandom(8), "little") for _ in range(2))
    else:
        seed, seed2 = _global_seed % TF_SEED_MODULUS, 0
        if seed == 0:
            seed2 = TF_SEED_MODULUS
    return random_shuffle(n, seed, seed2)
