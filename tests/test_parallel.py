"""The batch split over threads (parallel.py): the same step as one thread, on shards.

The shard count is forced (`parallel.force_shards`), so these tests run 2 or 3 shards on a
machine of any size, busy or not. What they pin down:
- dL/dw of a batch = the sum over its shards of (1/N) sum_{n in shard} dl_n/dw, so a sharded
  step agrees with the one-shard step to float64 rounding (~1e-15), and its loss and
  metrics, computed from the whole batch's outputs, are the same bits;
- the same seed and shard count give the same bits, run after run;
- Dropout cuts Keras's whole-batch mask into rows; BatchNormalization in training mode
  runs on one shard; set_threads(1) runs the plain step of step.py;
- an exception or Ctrl-C in a shard leaves no thread running and no half step behind.
"""

import signal
import threading
import time
import types

import numpy as np
import pytest

import scratchnn as snn
from benchmarks.machine import numpy_openblas_kernels
from scratchnn import callbacks as C, parallel, shard_policy
from scratchnn.layers import Layer

RTOL = 1e-13          # float64: a different order of adding the shards' rows


@pytest.fixture(autouse=True)
def _fresh_choices():
    parallel.choices.clear()
    snn.config.set_threads(None)
    yield
    snn.config.set_threads(None)


def _plain(fn):
    """Run fn with one thread: the plain step of step.py."""
    snn.config.set_threads(1)
    try:
        return fn()
    finally:
        snn.config.set_threads(None)


def _sharded(fn, shards):
    with parallel.force_shards(shards):
        return fn()


def _close(a_list, b_list, rtol=RTOL):
    for a, b in zip(a_list, b_list):
        scale = max(np.abs(a).max(), 1e-300)
        assert np.abs(a - b).max() <= rtol * scale


def _dense(seed=3, dropout=0.25, optimizer="adam"):
    snn.utils.set_random_seed(seed)
    model = snn.Sequential([snn.Input((6,)), snn.layers.Dense(16, activation="relu"),
                            snn.layers.Dropout(dropout), snn.layers.Dense(8, activation="tanh"),
                            snn.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _cnn(seed=3):
    snn.utils.set_random_seed(seed)
    model = snn.Sequential([snn.Input((9, 9, 2)), snn.layers.Conv2D(5, 3, activation="relu"),
                            snn.layers.MaxPooling2D(), snn.layers.Conv2D(6, 2, padding="same"),
                            snn.layers.Flatten(), snn.layers.Dropout(0.4),
                            snn.layers.Dense(4), snn.layers.Activation("softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _graph(seed=3):
    """Two inputs, a Dense layer shared by both (two calls), an Add, two outputs."""
    snn.utils.set_random_seed(seed)
    a, b = snn.Input((5,), name="a"), snn.Input((5,), name="b")
    shared = snn.layers.Dense(7, activation="relu", name="shared")
    h = snn.layers.Add()([shared(a), shared(b)])
    h = snn.layers.Dropout(0.3)(h)
    out1 = snn.layers.Dense(3, activation="softmax", name="out1")(h)
    out2 = snn.layers.Dense(1, name="out2")(h)
    model = snn.Model([a, b], [out1, out2])
    model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"],
                  loss_weights=[1.0, 0.5], metrics={"out1": ["accuracy"]})
    return model


def _data(n=48, shape=(6,), classes=3, seed=0, one_hot=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape)).astype(snn.config.floatx())
    y = rng.integers(0, classes, n)
    return x, (np.eye(classes, dtype=x.dtype)[y] if one_hot else y)


# -- the sum over shards is the batch's gradient ----------------------------------------------
@pytest.mark.parametrize("shards", [2, 3])
def test_one_step_gradient_is_the_sum_over_shards_float64(float64, shards):
    """dL/dw = sum_k (1/N) sum_{n in shard k} dl_n/dw: the flat gradient of one sharded step
    equals the one-shard step's to float64 rounding, and the loss is the same bits."""
    x, y = _data(30)
    plain, sharded = _dense(), _dense()
    loss_plain = _plain(lambda: plain.train_on_batch(x, y))
    loss_sharded = _sharded(lambda: sharded.train_on_batch(x, y), shards)
    assert parallel.choices == {("train", shards): 1}
    assert loss_sharded == loss_plain                        # the whole batch's loss, same bits
    _close([plain.flat_grads], [sharded.flat_grads])
    assert not np.array_equal(plain.flat_grads, np.zeros_like(plain.flat_grads))


@pytest.mark.parametrize("build, data", [
    (_dense, lambda: _data(64)),
    (_cnn, lambda: _data(64, (9, 9, 2), 4, one_hot=True)),
])
def test_fit_on_shards_agrees_with_one_shard_float64(float64, build, data):
    x, y = data()
    plain, sharded = build(), build()
    h1 = _plain(lambda: plain.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0))
    h3 = _sharded(lambda: sharded.fit(x, y, batch_size=16, epochs=3, shuffle=False,
                                      verbose=0), 3)
    assert parallel.choices["train", 3] == 12
    _close(plain.get_weights(), sharded.get_weights())
    for key in h1.history:
        np.testing.assert_allclose(h3.history[key], h1.history[key], rtol=RTOL)


def test_functional_graph_with_a_shared_layer_float64(float64):
    """Two calls of one layer run on two replicas per shard; the shard's gradients are
    summed over the calls, then over the shards."""
    rng = np.random.default_rng(1)
    xa, xb = rng.normal(size=(40, 5)), rng.normal(size=(40, 5))
    y1, y2 = rng.integers(0, 3, 40), rng.normal(size=(40, 1))
    plain, sharded = _graph(), _graph()
    fit = dict(batch_size=20, epochs=2, shuffle=False, verbose=0)
    h1 = _plain(lambda: plain.fit([xa, xb], [y1, y2], **fit))
    h2 = _sharded(lambda: sharded.fit([xa, xb], [y1, y2], **fit), 2)
    assert parallel.choices["train", 2] == 4
    _close(plain.get_weights(), sharded.get_weights())
    assert h1.history.keys() == h2.history.keys()
    for key in h1.history:
        np.testing.assert_allclose(h2.history[key], h1.history[key], rtol=RTOL)
    # inference on three shards: both outputs and every log of evaluate, bit for bit
    one = _plain(lambda: (sharded.predict([xa, xb], verbose=0),
                          sharded.evaluate([xa, xb], [y1, y2], verbose=0, return_dict=True)))
    three = _sharded(lambda: (sharded.predict([xa, xb], verbose=0),
                              sharded.evaluate([xa, xb], [y1, y2], verbose=0,
                                               return_dict=True)), 3)
    for a, b in zip(one[0], three[0]):
        np.testing.assert_array_equal(a, b)
    assert one[1] == three[1]


def test_regularized_weights_add_their_gradient_once(float64):
    """The penalty's gradient joins the SUM of the shards' gradients, once."""
    def build():
        snn.utils.set_random_seed(4)
        model = snn.Sequential([snn.Input((6,)), snn.layers.Dense(
            9, activation="relu", kernel_regularizer=snn.regularizers.L2(0.1)),
            snn.layers.Dense(3, activation="softmax")])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        return model
    x, y = _data(24)
    plain, sharded = build(), build()
    assert _plain(lambda: plain.train_on_batch(x, y)) == \
        _sharded(lambda: sharded.train_on_batch(x, y), 3)
    _close([plain.flat_grads], [sharded.flat_grads])


# -- determinism --------------------------------------------------------------------------------
def test_same_seed_same_shards_same_bits_run_after_run():
    x, y = _data(64, (9, 9, 2), 4, one_hot=True)
    runs = []
    for _ in range(2):
        model = _cnn()
        _sharded(lambda: model.fit(x, y, batch_size=16, epochs=2, verbose=0), 3)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_set_threads_1_runs_the_plain_step_of_step_py(monkeypatch):
    """set_threads(1): parallel.py takes no batch, and fit gives the bits of the plain
    step (forward, loss, backward, one apply_flat), as compute_gradients + apply."""
    def refuse(*args, **kwargs):
        raise AssertionError("parallel.py was called with set_threads(1)")
    for name in ("train_batch", "forward", "predict_batch"):
        monkeypatch.setattr(parallel, name, refuse)
    snn.config.set_threads(1)
    x, y = _data(32)
    model, twin = _dense(dropout=0.0), _dense(dropout=0.0)
    model.fit(x, y, batch_size=16, shuffle=False, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    for rows in (slice(0, 16), slice(16, 32)):
        _, grads = twin.compute_gradients(x[rows], y[rows])
        twin.optimizer.apply(grads, twin.trainable_weights)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_threads_setting():
    import os
    assert snn.config.threads() == len(os.sched_getaffinity(0))
    snn.config.set_threads(3)
    assert snn.config.threads() == 3
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="set_threads expects a positive int"):
            snn.config.set_threads(bad)


# -- Dropout and BatchNormalization -------------------------------------------------------------
def test_dropout_shards_use_rows_of_the_whole_batch_mask():
    """One mask of the whole batch's shape per step, drawn with the layer's seed and count
    (Keras's), cut into the shards' rows; the count moves on by one per step, as unsharded."""
    x, y = _data(30)
    masks = {}
    for label, run in (("plain", _plain), ("sharded", lambda fn: _sharded(fn, 3))):
        model = _dense(dropout=0.5)
        drop, drawn = model.layers[1], []
        original = drop.draw_keep_mask
        drop.draw_keep_mask = lambda shape: drawn.append(original(shape)) or drawn[-1]
        run(lambda: model.fit(x, y, batch_size=15, epochs=2, shuffle=False, verbose=0))
        masks[label] = drawn
        if label == "sharded":   # the replicas' masks are the rows of the last one drawn
            replicas = parallel.profile_of(model).replicas
            cut = np.concatenate([r.model.layers[1].keep for r in replicas])
            np.testing.assert_array_equal(cut, drawn[-1])
            assert drop.seed_generator.state[1] == 4
    assert [m.shape for m in masks["sharded"]] == [(15, 16)] * 4
    for a, b in zip(masks["plain"], masks["sharded"]):
        np.testing.assert_array_equal(a, b)


def test_dropout_noise_shape_with_batch_1_is_shared_by_every_row(float64):
    def build():
        snn.utils.set_random_seed(2)
        model = snn.Sequential([snn.Input((6,)), snn.layers.Dense(8, activation="relu"),
                                snn.layers.Dropout(0.5, noise_shape=(1, None)),
                                snn.layers.Dense(3, activation="softmax")])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        return model
    x, y = _data(20)
    plain, sharded = build(), build()
    assert _plain(lambda: plain.train_on_batch(x, y)) == \
        _sharded(lambda: sharded.train_on_batch(x, y), 2)
    _close([plain.flat_grads], [sharded.flat_grads])


def _bn(trainable=True):
    snn.utils.set_random_seed(6)
    model = snn.Sequential([snn.Input((6,)), snn.layers.Dense(8),
                            snn.layers.BatchNormalization(trainable=trainable),
                            snn.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def test_batch_normalization_in_training_mode_runs_on_one_shard():
    """Its mean and variance are the whole batch's: no shards in training (the plain step,
    the same bits), while inference still shards."""
    x, y = _data(32)
    plain, forced = _bn(), _bn()
    _plain(lambda: plain.fit(x, y, batch_size=16, shuffle=False, verbose=0))
    _sharded(lambda: forced.fit(x, y, batch_size=16, shuffle=False, verbose=0), 3)
    assert ("train", 3) not in parallel.choices
    for a, b in zip(plain.get_weights(), forced.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(_sharded(lambda: forced.predict(x, verbose=0), 3),
                                  plain.predict(x, verbose=0))
    assert parallel.choices["inference", 3] == 1


def test_frozen_batch_normalization_is_per_sample_and_shards(float64):
    x, y = _data(32)
    plain, sharded = _bn(trainable=False), _bn(trainable=False)
    _plain(lambda: plain.fit(x, y, batch_size=16, shuffle=False, verbose=0))
    _sharded(lambda: sharded.fit(x, y, batch_size=16, shuffle=False, verbose=0), 2)
    assert parallel.choices["train", 2] == 2
    _close(plain.get_weights(), sharded.get_weights())


# -- inference ----------------------------------------------------------------------------------
def test_predict_and_evaluate_on_shards_are_bit_identical():
    """Every sample is computed alone: predictions are the same bits on any shard count."""
    x, y = _data(70, (9, 9, 2), 4, one_hot=True)
    model = _cnn()
    model.fit(x, y, batch_size=16, verbose=0)
    one = _plain(lambda: (model.predict(x, batch_size=32, verbose=0),
                          model.evaluate(x, y, batch_size=35, verbose=0)))
    three = _sharded(lambda: (model.predict(x, batch_size=32, verbose=0),
                              model.evaluate(x, y, batch_size=35, verbose=0)), 3)
    np.testing.assert_array_equal(one[0], three[0])
    assert one[1] == three[1]
    assert parallel.choices["inference", 3] == 3 + 2


def test_predictions_on_shards_are_those_of_one_thread_with_wide_products():
    """(N, 784) @ (784, 350): OpenBLAS's own bits depend on its thread count for this
    product, so "one thread" means one BLAS thread too (a one-core machine, or
    threadpoolctl). With OpenBLAS's SkylakeX kernels (AVX-512) a row's bits do not depend
    on the other rows: any number of shards gives one thread's predictions bit for bit.
    Its Haswell kernels (AVX2 CPUs; measured with OPENBLAS_CORETYPE=Haswell) round a row
    by where it falls in their row blocks: 766 of 3,000 probabilities a few ulp apart."""
    from threadpoolctl import threadpool_limits
    snn.utils.set_random_seed(0)
    model = snn.Sequential([snn.Input((28, 28)), snn.layers.Flatten(),
                            snn.layers.Dense(350, activation="relu"),
                            snn.layers.Dense(10, activation="softmax")])
    x = np.random.default_rng(0).random((300, 28, 28), dtype=np.float32)
    with threadpool_limits(1, "blas"):
        one_thread = _plain(lambda: model.predict(x, batch_size=256, verbose=0))
    exact = numpy_openblas_kernels() == "SkylakeX"
    for shards in (1, 2, 3):
        sharded = _sharded(lambda: model.predict(x, batch_size=256, verbose=0), shards)
        if exact:
            np.testing.assert_array_equal(sharded, one_thread)
        else:
            np.testing.assert_allclose(sharded, one_thread, rtol=1e-5, atol=1e-7)


def test_validation_in_fit_shards_too(float64):
    x, y = _data(48)
    plain, sharded = _dense(dropout=0.0), _dense(dropout=0.0)
    fit = dict(batch_size=16, epochs=2, shuffle=False, verbose=0, validation_split=0.25)
    h1 = _plain(lambda: plain.fit(x, y, **fit))
    h2 = _sharded(lambda: sharded.fit(x, y, **fit), 2)
    assert parallel.choices["inference", 2] == 2
    np.testing.assert_allclose(h2.history["val_loss"], h1.history["val_loss"], rtol=RTOL)
    assert h2.history["val_loss"][0] == h1.history["val_loss"][0]


# -- the optimizer update in chunks ----------------------------------------------------------
@pytest.mark.parametrize("optimizer", [
    lambda: snn.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    lambda: snn.optimizers.Adam(0.01, amsgrad=True), lambda: snn.optimizers.Adamax(0.01),
    lambda: snn.optimizers.Nadam(0.01), lambda: snn.optimizers.Adagrad(0.1),
    lambda: snn.optimizers.RMSprop(0.01, centered=True, momentum=0.5)])
def test_elementwise_update_in_chunks_gives_the_same_bits(optimizer):
    """Each weight's update reads only its own gradient and slots: cut into contiguous
    chunks (one per thread), the update is bit for bit apply_flat's."""
    rng = np.random.default_rng(0)
    shapes = [(50, 7), (7,), (7, 3)]
    size = sum(int(np.prod(s)) for s in shapes)
    w = rng.normal(size=size).astype("float32")
    whole = types.SimpleNamespace(optimizer=optimizer(), flat_weights=w.copy())
    chunked = types.SimpleNamespace(optimizer=optimizer(), flat_weights=w.copy())
    for step in range(4):
        parts = [rng.normal(size=size).astype("float32") for _ in range(3)]
        g = (parts[0] + parts[1]) + parts[2]
        whole.optimizer.apply_flat(g, whole.flat_weights, shapes)
        if step == 0:                   # the first step builds the slots
            chunked.optimizer.apply_flat(g, chunked.flat_weights, shapes)
        else:
            flat = np.empty(size, "float32")
            parallel._update_in_chunks(chunked, flat, parts, 3)
            np.testing.assert_array_equal(flat, g)
        np.testing.assert_array_equal(chunked.flat_weights, whole.flat_weights)
    assert chunked.optimizer.iterations == 4


def test_clipping_decay_and_rules_that_mix_weights_are_not_chunked():
    """Optimizer.updates_in_pieces: built, elementwise (declared by the class that writes
    update_step), no clipping, no weight decay."""
    assert parallel._chunked(snn.optimizers.Adam(), 10**7, 2) is False      # not built
    adam = snn.optimizers.Adam(clipnorm=1.0)
    adam.apply_flat(np.ones(4, "float32"), np.ones(4, "float32"), [(4,)])
    assert parallel._chunked(adam, 10**7, 2) is False
    decayed = snn.optimizers.AdamW()
    decayed.apply_flat(np.ones(4, "float32"), np.ones(4, "float32"), [(4,)])
    assert parallel._chunked(decayed, 10**7, 2) is False

    class Mixing(snn.optimizers.SGD):
        elementwise = False              # a rule whose update reads other weights
    sgd = Mixing()
    sgd.apply_flat(np.ones(4, "float32"), np.ones(4, "float32"), [(4,)])
    assert parallel._chunked(sgd, 10**7, 2) is False
    plain = snn.optimizers.SGD()
    plain.apply_flat(np.ones(4, "float32"), np.ones(4, "float32"), [(4,)])
    assert parallel._chunked(plain, 10**7, 2) is True

    class OwnRule(snn.optimizers.SGD):   # a user's update_step, elementwise or not: unknown
        def update_step(self, g, w, step, scratch, *slots):
            w -= step["lr"] * g / np.linalg.norm(g)      # reads every weight of the piece
    own = OwnRule()
    own.apply_flat(np.ones(4, "float32"), np.ones(4, "float32"), [(4,)])
    assert parallel._chunked(own, 10**7, 2) is False

    class DeclaredRule(OwnRule):
        elementwise = True               # its author says each weight reads only its own
        def update_step(self, g, w, step, scratch, *slots):
            w -= step["lr"] * g
    declared = DeclaredRule()
    declared.apply_flat(np.ones(4, "float32"), np.ones(4, "float32"), [(4,)])
    assert parallel._chunked(declared, 10**7, 2) is True


# -- errors and Ctrl-C --------------------------------------------------------------------------
class _Probe(Layer):
    """Passes its input on; calls `action(in_main_thread)` in every training forward. The
    action is held in a list, which the shards' replicas share (Layer.replica copies the
    layer's attributes, not the objects they name)."""

    def __init__(self, action, **kwargs):
        super().__init__(**kwargs)
        self.action = [action]

    def forward(self, x, training=False):
        if training:
            self.action[0](threading.current_thread() is threading.main_thread())
        return x

    def backward(self, dy):
        return dy


def _probed(action):
    snn.utils.set_random_seed(5)
    model = snn.Sequential([snn.Input((6,)), snn.layers.Dense(8, activation="tanh"),
                            _Probe(action), snn.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=snn.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return model


def test_an_exception_in_a_shard_surfaces_unchanged_in_the_calling_thread():
    def fail_in_a_worker(main):
        if not main:
            raise ValueError("Probe: expected inputs (N, 6), got a bad batch")
    model = _probed(fail_in_a_worker)
    before = model.get_weights()
    x, y = _data(24)
    with pytest.raises(ValueError, match=r"^Probe: expected inputs \(N, 6\), got a bad batch$"):
        _sharded(lambda: model.fit(x, y, batch_size=12, verbose=0), 3)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == 0
    model.layers[1].action[0] = lambda main: None       # nothing stuck: training goes on
    _sharded(lambda: model.fit(x, y, batch_size=12, verbose=0), 3)
    assert model.optimizer.iterations == 2


@pytest.fixture
def _python_ctrl_c_handler():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_during_a_sharded_step_keeps_the_last_completed_step(_python_ctrl_c_handler):
    """A real SIGINT in shard 0 (the calling thread) at step 3: the other shards finish
    before the KeyboardInterrupt goes on (no worker left running), and the model keeps
    the weights and optimizer state of step 2."""
    x, y = _data(40)
    snapshots = []
    reference = _probed(lambda main: None)
    _sharded(lambda: reference.fit(x, y, batch_size=8, shuffle=False, verbose=0, callbacks=[
        C.LambdaCallback(on_train_batch_end=lambda b, logs: snapshots.append(
            reference.get_weights()))]), 3)
    calls, finished = [0], []

    def action(main):
        if main:
            calls[0] += 1
            if calls[0] == 3:
                signal.raise_signal(signal.SIGINT)
        else:
            time.sleep(0.05)
            finished.append(calls[0])
    model = _probed(action)
    with pytest.raises(KeyboardInterrupt):
        _sharded(lambda: model.fit(x, y, batch_size=8, shuffle=False, verbose=0), 3)
    assert finished.count(3) == 2                 # both workers of step 3 had finished
    assert model.optimizer.iterations == 2
    for a, b in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(a, b)


def test_ctrl_c_during_the_update_of_a_sharded_step_waits_for_it(_python_ctrl_c_handler):
    """The update runs after the shards join, inside interrupts.uninterruptible."""
    class TwoHalvesSGD(snn.optimizers.SGD):
        interrupt_at = -1

        def update_step(self, g, w, step, scratch, *slots):
            half = g * (step["lr"] / 2)
            w -= half
            if self.iterations == self.interrupt_at:
                signal.raise_signal(signal.SIGINT)
            w -= half

    x, y = _data(24)
    reference = _dense(dropout=0.0, optimizer=TwoHalvesSGD(0.5))
    _sharded(lambda: reference.fit(x[:16], y[:16], batch_size=8, shuffle=False, verbose=0), 2)
    model = _dense(dropout=0.0, optimizer=TwoHalvesSGD(0.5))
    model.optimizer.interrupt_at = 1                 # Ctrl-C halfway through step 2
    with pytest.raises(KeyboardInterrupt):
        _sharded(lambda: model.fit(x, y, batch_size=8, shuffle=False, verbose=0), 2)
    assert model.optimizer.iterations == 2
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_predict_inside_a_shard_runs_plain_and_does_not_wait_for_itself():
    other = _dense(dropout=0.0)
    seen = []
    model = _probed(lambda main: seen.append(other.predict(np.zeros((4, 6), "float32"),
                                                           verbose=0).shape))
    x, y = _data(24)
    _sharded(lambda: model.fit(x, y, batch_size=12, verbose=0), 3)
    assert seen == [(4, 3)] * 6


# -- the policy ---------------------------------------------------------------------------------
def test_policy_small_work_busy_machine_and_one_thread(monkeypatch):
    """Shards where the layers write enough values (elementwise work) for each; a busy
    machine: one shard on one BLAS thread where the products are big enough for BLAS to
    split them; a small batch, or set_threads(1): the plain step."""
    monkeypatch.setattr(shard_policy, "blas_limiter", lambda: object())
    tiny = _dense(dropout=0.0)
    conv = _cnn()
    profile = parallel.profile_of(conv)
    assert (profile.values_per_sample, profile.macs_per_sample) == (460, 5706)
    snn.config.set_threads(2)
    small, big = np.zeros((32, 6), "float32"), np.zeros((2048, 9, 9, 2), "float32")
    monkeypatch.setattr(shard_policy._watch, "free_cpus", lambda cpus: 2.0)
    assert parallel.shard_count(tiny, small, training=True) == 0
    assert parallel.shard_count(conv, big, training=True) == 2          # 942,080 values
    assert parallel.shard_count(conv, big[:600], training=True) == 0    # one shard's worth
    monkeypatch.setattr(shard_policy._watch, "free_cpus", lambda cpus: 1.1)
    assert parallel.shard_count(conv, big, training=True) == 1
    assert parallel.shard_count(conv, big[:600], training=True) == 1    # 3.4 M multiply-adds
    assert parallel.shard_count(conv, big[:40], training=True) == 0     # 228,240: BLAS's 1
    assert parallel.shard_count(tiny, small, training=True) == 0
    snn.config.set_threads(1)
    assert parallel.shard_count(conv, big, training=True) == 0


def test_load_watch_counts_other_processes_cpu_time(monkeypatch):
    """free = CPUs - (busy seconds of our CPUs - this process's CPU seconds) / wall - steal."""
    from scratchnn import cpu_load
    readings = iter([cpu_load.Reading(10.0, 100.0, 0.0, 5.0),
                     cpu_load.Reading(10.5, 101.4, 0.1, 5.6)])   # others (1.4 - 0.6) / 0.5
    monkeypatch.setattr(cpu_load, "read", lambda: next(readings))
    watch = cpu_load.LoadWatch(0.25)
    monkeypatch.setattr(cpu_load.time, "monotonic", lambda: 10.5)
    assert watch.free_cpus(2) == pytest.approx(2 - 1.6 - 0.2)
    assert watch.free_cpus(2) == pytest.approx(0.2)              # no new reading yet


def test_load_watch_sees_a_process_spinning_on_one_of_our_cpus():
    import os
    import subprocess
    import sys
    from scratchnn import cpu_load
    cpu = max(os.sched_getaffinity(0))
    spinner = subprocess.Popen([sys.executable, "-c", "import os; os.sched_setaffinity(0, "
                                f"{{{cpu}}})\nwhile True: pass"])
    try:
        time.sleep(0.3)
        watch = cpu_load.LoadWatch(0.25)
        time.sleep(0.6)
        cpus = len(os.sched_getaffinity(0))
        assert watch.free_cpus(cpus) <= cpus - 0.5
    finally:
        spinner.kill()
        spinner.wait()


def test_a_method_replaced_on_a_layer_object_keeps_the_model_on_one_thread():
    """A wrapper set on the layer object (a profiler's timer) calls back into that object:
    its replicas cannot run it apart, so the model takes the plain step."""
    x, y = _data(24)
    model = _dense(dropout=0.0)
    dense = model.layers[0]
    original = dense.backward_z
    dense.backward_z = lambda dz: original(dz)
    _sharded(lambda: model.fit(x, y, batch_size=12, verbose=0), 3)
    assert parallel.choices == {}
    assert shard_policy._replaced_methods(dense) == ["backward_z"]


def test_another_random_layer_keeps_training_on_one_shard():
    """Random numbers other than Dropout's masks cannot be cut into rows: such a layer
    (here a stand-in with a seed generator) trains the whole batch in one place."""
    class Noise(Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = snn.random.SeedGenerator(1)

        def forward(self, x, training=False):
            return x

        def backward(self, dy):
            return dy
    snn.utils.set_random_seed(1)
    model = snn.Sequential([snn.Input((6,)), snn.layers.Dense(5), Noise(),
                            snn.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = _data(24)
    _sharded(lambda: model.fit(x, y, batch_size=12, verbose=0), 2)
    _sharded(lambda: model.predict(x, verbose=0), 2)
    assert parallel.choices == {("inference", 2): 1}
