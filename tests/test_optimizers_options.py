"""The options every optimizer takes (weight_decay, clipnorm, global_clipnorm, clipvalue):
Keras 3.15's order and arithmetic, the flat step fit uses, TensorFlow's order of summation,
and the errors for bad arguments."""

import itertools

import numpy as np
import pytest

from scratchnn import optimizers as O
from scratchnn.optimizers import clipping

F = np.float32


def step(opt, grads, weights):
    weights = [np.array(w, F) for w in weights]
    opt.apply([np.array(g, F) for g in grads], weights)
    return weights


# -- clipping, by hand --------------------------------------------------------------------
def test_clipnorm_clips_each_gradient_alone_to_that_norm():
    w = step(O.SGD(1.0, clipnorm=1.0), [[3, 4], [0.3, 0.4]], [[0, 0], [0, 0]])
    np.testing.assert_allclose(w[0], [-0.6, -0.8], rtol=1e-7)      # norm 5 -> 1
    np.testing.assert_allclose(w[1], [-0.3, -0.4], rtol=1e-7)      # norm 0.5: kept


def test_clipnorm_multiplies_first_so_an_unclipped_gradient_is_g_times_c_over_c():
    """tf.clip_by_norm computes (g * c) / max(norm, c): below the threshold that is
    (g * c) / c, which is not always g in float32."""
    g = np.linspace(0.01, 0.02, 1000, dtype=F)
    c = F(1.3)
    out = [np.empty_like(g)]
    clipping.clip_by_norm([g], 1.3, out)
    np.testing.assert_array_equal(out[0], (g * c) / c)
    assert not np.array_equal(out[0], g)


def test_global_clipnorm_scales_all_gradients_by_one_factor():
    w = step(O.SGD(1.0, global_clipnorm=1.0), [[3.0], [4.0]], [[0], [0]])
    np.testing.assert_allclose(np.concatenate(w), [-0.6, -0.8], rtol=1e-7)   # global norm 5


def test_global_clipnorm_below_the_threshold_scales_by_c_times_one_over_c():
    """Keras: scale = c * min(1/N, 1/c), with 1/c a Python float64 rounded to float32."""
    g = [np.array([0.1, -0.2], F)]
    out = [np.empty(2, F)]
    clipping.clip_by_global_norm(g, 3.0, out)
    np.testing.assert_array_equal(out[0], g[0] * (F(3.0) * F(1 / 3.0)))


def test_a_non_finite_global_norm_makes_every_gradient_nan():
    out = [np.empty(2, F), np.empty(1, F)]
    clipping.clip_by_global_norm([np.array([np.inf, 1], F), np.array([1], F)], 1.0, out)
    assert np.isnan(out[0]).all() and np.isnan(out[1]).all()


def test_clipvalue_clips_each_entry():
    w = step(O.SGD(1.0, clipvalue=0.5), [[-3, 0.2, 0.7]], [[0, 0, 0]])
    np.testing.assert_allclose(w[0], [0.5, -0.2, -0.5], rtol=1e-7)


def test_clipping_leaves_the_callers_gradients_alone():
    g = [np.array([3, 4], F)]
    O.Adam(clipnorm=1.0).apply(g, [np.zeros(2, F)])
    np.testing.assert_array_equal(g[0], [3, 4])


def test_reassigned_options_follow_keras_precedence_and_skip_non_positive_values():
    """Keras's _clip_gradients: the first of clipnorm, global_clipnorm, clipvalue that is
    set and > 0 (the attributes stay assignable, as in Keras)."""
    opt = O.SGD(1.0, clipvalue=0.1)
    opt.clipnorm = 1.0
    assert step(opt, [[3, 4]], [[0, 0]])[0][0] == pytest.approx(-0.6)
    opt.clipnorm = 0.0
    assert step(opt, [[3, 4]], [[0, 0]])[0][0] == pytest.approx(-0.1)


def test_nothing_is_allocated_for_clipping_when_it_is_off():
    opt = O.Adam()
    step(opt, [[1, 2]], [[0, 0]])
    assert opt._clip_buffer is None


# -- weight decay -------------------------------------------------------------------------------
def test_one_step_clips_then_decays_then_updates():
    """SGD(lr=1, weight_decay=0.5, clipvalue=0.1), w = 2, g = 5:
    g -> 0.1;  w -> 2 - (2 * 0.5) * 1 = 1;  w -> 1 - 1 * 0.1 = 0.9."""
    w = step(O.SGD(1.0, weight_decay=0.5, clipvalue=0.1), [[5.0]], [[2.0]])
    assert w[0][0] == pytest.approx(0.9)


def test_weight_decay_is_w_minus_w_times_wd_times_lr_in_that_order():
    """TensorFlow's _apply_weight_decay: w.assign_sub(w * wd * lr), not w * (1 - wd lr)."""
    w0 = np.random.default_rng(0).normal(size=10_000).astype(F)
    w = step(O.SGD(0.3, weight_decay=0.07), [np.zeros_like(w0)], [w0])[0]
    np.testing.assert_array_equal(w, w0 - (w0 * F(0.07)) * F(0.3))
    assert not np.array_equal(w, w0 * (F(1) - F(0.07) * F(0.3)))


def test_weight_decay_uses_the_learning_rate_of_the_step():
    opt = O.SGD(1.0, weight_decay=0.5)
    opt.learning_rate = 0.5
    assert step(opt, [[0.0]], [[2.0]])[0][0] == pytest.approx(1.5)


def test_excluded_weights_do_not_decay_in_apply_nor_in_the_flat_step():
    shapes = [(2, 2), (2,)]
    flat = np.ones(6, F)
    kernel, bias = flat[:4].reshape(2, 2), flat[4:]            # views, as model.weights are
    for use_flat in (False, True):
        flat[:] = 1
        opt = O.SGD(1.0, weight_decay=0.5)
        opt.exclude_from_weight_decay(var_list=[bias])
        if use_flat:
            opt.apply_flat(np.zeros(6, F), flat, shapes)
        else:
            opt.apply([np.zeros((2, 2), F), np.zeros(2, F)], [kernel, bias])
        np.testing.assert_array_equal(flat, [0.5] * 4 + [1, 1])


def test_exclude_from_weight_decay_by_name_is_refused_clearly():
    with pytest.raises(ValueError, match="var_names is not supported .* pass the weights"):
        O.AdamW().exclude_from_weight_decay(var_names=["bias"])


# -- the flat step (fit) gives the same bits as the per-parameter one -------------------------
MAKERS = {"sgd": lambda **o: O.SGD(0.1, momentum=0.9, nesterov=True, **o),
          "adam": lambda **o: O.Adam(0.01, amsgrad=True, **o),
          "adamw": lambda **o: O.AdamW(0.01, **o),
          "rmsprop": lambda **o: O.RMSprop(0.01, momentum=0.5, centered=True, **o),
          "adagrad": lambda **o: O.Adagrad(0.1, **o),
          "adamax": lambda **o: O.Adamax(0.01, **o),
          "nadam": lambda **o: O.Nadam(0.01, **o)}
OPTIONS = {"none": {}, "weight_decay": {"weight_decay": 0.05}, "clipnorm": {"clipnorm": 0.5},
           "global_clipnorm": {"global_clipnorm": 1.0}, "clipvalue": {"clipvalue": 0.2},
           "clipnorm_weight_decay": {"clipnorm": 2.0, "weight_decay": 0.01}}


@pytest.mark.parametrize("rule, option", list(itertools.product(MAKERS, OPTIONS)))
def test_apply_flat_gives_the_same_bits_as_apply(rule, option):
    r = np.random.default_rng(0)
    shapes = [(3, 4), (4,), (2, 2, 1, 3), (9000,)]      # 9000: a norm summed as a tree
    per_param = [r.normal(size=s).astype(F) for s in shapes]
    flat = np.concatenate([w.ravel() for w in per_param])
    a, b = MAKERS[rule](**OPTIONS[option]), MAKERS[rule](**OPTIONS[option])
    for _ in range(5):
        grads = [(r.normal(size=s) * 10.0 ** r.uniform(-2, 1)).astype(F) for s in shapes]
        a.apply(grads, per_param)
        b.apply_flat(np.concatenate([g.ravel() for g in grads]), flat, shapes)
    np.testing.assert_array_equal(np.concatenate([w.ravel() for w in per_param]), flat)
    for x, y in zip(a.variables, b.variables):
        np.testing.assert_array_equal(x, y)


# -- TensorFlow's order of summation --------------------------------------------------------
def eigen_sum_by_loops(x, threads=1, lanes=8, leaf=1024):
    """The naive twin of clipping.tf_sum: Eigen's full reduction written as loops."""
    zero = x.dtype.type(0)

    def leaf_sum(first, n):
        p = [np.zeros(lanes, x.dtype) for _ in range(4)]
        j = 0
        if n >= 4 * lanes:
            while j + 4 * lanes <= n:
                for k in range(4):
                    p[k] = p[k] + x[first + j + k * lanes: first + j + (k + 1) * lanes]
                j += 4 * lanes
            p[0] = ((p[0] + p[1]) + p[2]) + p[3]
        while j + lanes <= n:
            p[0] = p[0] + x[first + j: first + j + lanes]
            j += lanes
        s = zero
        for k in range(j, n):
            s = s + x[first + k]
        q = p[0]
        while q.size > 1:
            q = q[:q.size // 2] + q[q.size // 2:]
        return s + q[0]

    def tree(first, n):
        if n <= lanes * leaf:
            return leaf_sum(first, n)
        split = lanes * -(-(first + -(-n // 2)) // lanes)
        left = min(split - first, n)
        total = zero + tree(first, left)
        return total + tree(split, n - left) if left < n else total

    n = x.size
    if threads == 1:
        return tree(0, n)
    block = n // threads
    total = tree(block * threads, n - block * threads) if block * threads < n else zero
    for i in range(threads):
        total = total + tree(i * block, block)
    return total


@pytest.mark.parametrize("n", [1, 7, 8, 31, 32, 33, 100, 8192, 8193, 20_001])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tf_sum_adds_in_eigens_order(n, dtype):
    x = (np.random.default_rng(n).normal(size=n) * 10.0 ** (np.arange(n) % 7 - 3)).astype(dtype)
    lanes = 32 // np.dtype(dtype).itemsize
    assert clipping.tf_sum(x, max_threads=1) == eigen_sum_by_loops(x, lanes=lanes)


@pytest.mark.parametrize("threads", [2, 3, 7])
def test_tf_sum_splits_a_long_sum_across_threads_as_eigen_does(threads):
    x = np.random.default_rng(threads).normal(size=400_003).astype(F)
    assert clipping._sum_threads(x.size, 4, 8, 64) == 7                # Eigen's cost model
    assert clipping.tf_sum(x, max_threads=threads) == eigen_sum_by_loops(x, threads=threads)


def test_eigen_uses_a_second_thread_from_108388_float32_or_54194_float64_values():
    """Thresholds measured against TensorFlow 2.21's reduce_sum; they follow from Eigen's
    cost model (11/64 cycle a byte loaded, 10 cycles an add shared by a packet)."""
    assert [clipping._sum_threads(n, 4, 8, 64) for n in (108_387, 108_388)] == [1, 2]
    assert [clipping._sum_threads(n, 8, 4, 64) for n in (54_193, 54_194)] == [1, 2]


# -- errors name the argument ---------------------------------------------------------------------
@pytest.mark.parametrize("make, says", [
    (lambda: O.Adagrad(initial_accumulator_value=-1),
     r"Adagrad: initial_accumulator_value must be >= 0, got -1"),
    (lambda: O.Adam(clipnorm=1.0, global_clipnorm=2.0),
     r"Adam: only one of clipnorm, clipvalue and global_clipnorm can be set, got "
     r"clipnorm=1.0, clipvalue=None, global_clipnorm=2.0"),
    (lambda: O.SGD(clipnorm=1.0, clipvalue=0.5), "SGD: only one of clipnorm"),
    (lambda: O.SGD(clipnorm=-1.0), r"SGD: clipnorm must be > 0, got -1.0"),
    (lambda: O.RMSprop(global_clipnorm=0), r"RMSprop: global_clipnorm must be > 0, got 0"),
    (lambda: O.Nadam(clipvalue="big"), r"Nadam: clipvalue must be a finite number or None, "
                                       r"got 'big'"),
    (lambda: O.Adamax(weight_decay=-0.1), r"Adamax: weight_decay must be >= 0, got -0.1"),
    (lambda: O.AdamW(weight_decay=None), r"AdamW: weight_decay must be a float, got None"),
    (lambda: O.AdamW(weight_decay=float("nan")), r"AdamW: weight_decay must be a finite number"),
    (lambda: O.Adamax(beta_1=1.5), r"Adamax: beta_1 must be in \[0, 1\], got 1.5"),
    (lambda: O.Nadam(beta_2=True), r"Nadam: beta_2 must be a finite number, got True"),
    (lambda: O.Adagrad(epsilon=-1e-7), r"Adagrad: epsilon must be >= 0, got -1e-07"),
    (lambda: O.AdamW(amsgrad="yes"), r"AdamW: amsgrad must be True or False, got 'yes'"),
    (lambda: O.Adagrad(learning_rate="fast"), r"Adagrad: learning_rate must be a float"),
    (lambda: O.SGD(nesterov=1), r"SGD: nesterov must be True or False, got 1"),
    (lambda: O.Adam(name=""), r"Adam: name must be a non-empty string"),
])
def test_bad_arguments_are_refused_naming_the_argument(make, says):
    with pytest.raises(ValueError, match=says):
        make()


def test_fit_leaves_the_excluded_biases_out_of_weight_decay():
    """One full-batch step from the same weights: AdamW's biases, excluded, move exactly as
    plain Adam's do; its kernels, decayed, do not."""
    import scratchnn as snn

    x = np.random.default_rng(0).random((8, 4)).astype(F)
    y = np.random.default_rng(1).random((8, 2)).astype(F)
    models = []
    for opt in (O.AdamW(0.01, weight_decay=0.5), O.Adam(0.01)):
        model = snn.Sequential([snn.Input((4,)), snn.layers.Dense(3), snn.layers.Dense(2)])
        model.compile(optimizer=opt, loss="mse")
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    models[0].optimizer.exclude_from_weight_decay(
        var_list=[layer.params["bias"] for layer in models[0].layers])
    for model in models:
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    (k0, b0, k1, b1), (k0_, b0_, k1_, b1_) = (m.get_weights() for m in models)
    np.testing.assert_array_equal(b0, b0_)
    np.testing.assert_array_equal(b1, b1_)
    assert not np.array_equal(k0, k0_) and not np.array_equal(k1, k1_)
