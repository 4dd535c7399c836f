"""Frozen layers against Keras 3.15: `layer.trainable` / `model.trainable`.

What is pinned here, each measured on Keras 3.15.1 (TensorFlow 2.21):
- the weight lists with a frozen layer in the middle and a frozen BatchNormalization:
  `weights` and `get_weights()` keep their order, `trainable_weights` and
  `non_trainable_weights` are `weights` filtered (a frozen BatchNormalization lists gamma,
  beta, moving_mean, moving_variance among the non-trainable ones, in that order);
- gradients with a frozen layer in the middle (dL/dx still flows through it);
- fine-tuning (a frozen Conv2D + BatchNormalization base, a new Dense head) step by step
  and its History, with the flag set before compile and between compile and the first fit
  (both take effect in Keras); unfreezing and recompiling with a new optimizer;
- after training has started, Keras ignores a flag change until compile() is called again
  (the frozen layer keeps moving); scratchnn raises instead; an optimizer built for another
  set of weights: Keras keeps it after freezing and refuses it after unfreezing, scratchnn
  refuses both;
- files both ways with frozen layers (.keras, .weights.h5), summary() text, model.losses.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from contextlib import redirect_stdout

import keras
import numpy as np
import pytest

import scratchnn as snn
from tf_reference import from_keras, keras_gradients, to_keras

from .helpers import assert_grads_close, weight_names

L = snn.layers
# Training steps. float64 pins the algorithm. In float32, Adam (lr 0.01) moves a weight
# whose gradient is a few ulp of rounding in size by a sizeable part of lr, in whichever
# direction its rounding says: measured, 3 of 192 head weights differed by up to 5e-5
# after 2 steps, 9.4e-5 after 5; the losses by 1e-7.
STEP = {"float32": dict(rtol=1e-5, atol=2e-4), "float64": dict(rtol=1e-11, atol=1e-13)}
LOSS = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-11, atol=1e-13)}


def _distinct_weights(model, seed=0):
    """Give every weight distinct random values (so lists can be compared by value), the
    moving variances positive."""
    rng = np.random.default_rng(seed)
    model.set_weights([np.abs(rng.normal(size=w.shape)) + 0.5 if "variance" in name
                       else rng.normal(size=w.shape)
                       for layer in model.layers for name, w in layer.named_weights.items()])


def _mlp(frozen_bn: bool):
    model = snn.Sequential([snn.Input((5,)), L.Dense(3, activation="tanh", name="d1"),
                            L.Dense(4, name="d2", trainable=False),
                            L.BatchNormalization(name="bn", trainable=not frozen_bn),
                            L.Dense(2, name="d3")])
    _distinct_weights(model)
    return model


def _same_arrays(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, np.asarray(b))


@pytest.mark.parametrize("frozen_bn", [False, True])
def test_weight_lists_keep_kerass_order_with_frozen_layers(frozen_bn):
    """Keras: `weights` order never changes; trainable/non_trainable are it, filtered."""
    model = _mlp(frozen_bn)
    twin = to_keras(model, compile=False)
    assert [layer.trainable for layer in twin.layers] == [True, False, not frozen_bn, True]
    _same_arrays(model.weights, twin.weights)
    _same_arrays(model.get_weights(), twin.get_weights())
    _same_arrays(model.trainable_weights, twin.trainable_weights)
    _same_arrays(model.non_trainable_weights, twin.non_trainable_weights)
    bn, twin_bn = model.get_layer("bn"), twin.get_layer("bn")
    _same_arrays(bn.non_trainable_weights, twin_bn.non_trainable_weights)
    back = from_keras(twin)                       # tf_reference's twins carry the flags
    assert [layer.trainable for layer in back.layers] == [True, False, not frozen_bn, True]
    _same_arrays(back.non_trainable_weights, twin.non_trainable_weights)


def test_model_trainable_false_sets_every_layer_and_trains_nothing():
    """Keras: model.trainable = False sets every layer's flag; a layer set back to True
    while the model is frozen still adds nothing to model.trainable_weights."""
    model = _mlp(False)
    twin = to_keras(model, compile=False)
    for m in (model, twin):
        m.trainable = False
    assert [layer.trainable for layer in model.layers] == \
        [layer.trainable for layer in twin.layers] == [False] * 4
    for m in (model, twin):
        m.layers[0].trainable = True
    assert len(model.trainable_weights) == len(twin.trainable_weights) == 0
    _same_arrays(model.non_trainable_weights, twin.non_trainable_weights)
    assert from_keras(twin).trainable_weights == []
    assert to_keras(model, compile=False).trainable_weights == []


def test_gradients_with_a_frozen_layer_in_the_middle_match_keras(precision):
    """d1, below the frozen d2, still learns: dL/dx flows through a frozen layer."""
    model = _mlp(False)
    model.compile(optimizer="adam", loss="mse")
    twin = to_keras(model)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 5)).astype(precision), rng.normal(size=(16, 2)).astype(precision)
    ours_loss, ours = model.compute_gradients(x, y)
    theirs_loss, theirs = keras_gradients(twin, x, y)
    assert len(ours) == len(theirs) == 6
    assert_grads_close(ours, theirs, [n for n in weight_names(model)
                                      if not n.startswith("d2/")], precision)
    assert ours_loss == pytest.approx(theirs_loss, rel=1e-6)


# -- fine-tuning ---------------------------------------------------------------------------
def _base_and_head():
    model = snn.Sequential([snn.Input((6, 6, 2)), L.Conv2D(4, 3, use_bias=False, name="conv"),
                            L.BatchNormalization(name="bn"), L.Activation("relu"),
                            L.Flatten(), L.Dense(3, activation="softmax", name="head")])
    _distinct_weights(model, seed=4)           # a "pretrained" base, moving statistics too
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 6, 6, 2))
    y = rng.integers(0, 3, size=40)
    return model, x, y


def _freeze_base(model):
    for name in ("conv", "bn"):
        model.get_layer(name).trainable = False


def _compile(model):
    model.compile(optimizer=snn.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])


@pytest.mark.parametrize("when", ["before_compile", "after_compile"])
def test_fine_tuning_a_frozen_base_matches_keras_step_by_step(when, precision):
    """Keras 3.15 takes a flag set before compile, and one set after compile but before
    the first training step (its train function is traced then)."""
    model, x, y = _base_and_head()
    x = x.astype(precision)
    twin = to_keras(model, compile=False)
    if when == "before_compile":
        for m in (model, twin):
            _freeze_base(m)
    _compile(model)
    twin.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    if when == "after_compile":
        for m in (model, twin):
            _freeze_base(m)
    start = model.get_weights()
    for step in range(4):
        batch = slice(8 * step, 8 * step + 8)
        ours = model.train_on_batch(x[batch], y[batch])
        theirs = twin.train_on_batch(x[batch], y[batch])
        np.testing.assert_allclose(ours, theirs, **LOSS[precision])
        for a, b in zip(model.get_weights(), twin.get_weights()):
            np.testing.assert_allclose(a, b, **STEP[precision], err_msg=f"step {step}")
    # the frozen base and its moving statistics never moved, in either engine
    for i in range(5):                         # conv kernel, bn gamma/beta/mean/variance
        np.testing.assert_array_equal(model.get_weights()[i], start[i])
    assert len(twin.optimizer.variables) == len(model.optimizer.variables) == 2 + 2 * 2
    ours = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    theirs = twin.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(ours[key], theirs[key], **LOSS[precision])


def test_unfreezing_and_recompiling_with_a_new_optimizer_matches_keras():
    """Keras's transfer-learning recipe: train the head, set base.trainable = True,
    compile with a new (slower) optimizer, train on; the BatchNormalization now runs in
    training mode and moves its statistics."""
    model, x, y = _base_and_head()
    x = x.astype("float32")
    _freeze_base(model)
    _compile(model)
    twin = to_keras(model)
    for m in (model, twin):
        m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for m in (model, twin):
        for name in ("conv", "bn"):
            m.get_layer(name).trainable = True
    model.compile(optimizer=snn.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    twin.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    moving = model.get_layer("bn").moving_mean.copy()
    ours = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    theirs = twin.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=1e-5)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, **STEP["float32"])
    assert not np.array_equal(model.get_layer("bn").moving_mean, moving)
    assert len(model.optimizer.variables) == len(twin.optimizer.variables) == 2 + 2 * 5


def test_a_flag_changed_after_training_started_keras_ignores_scratchnn_refuses():
    """Keras 3.15: freezing a layer after a fit, then fitting again on the same batch
    shapes WITHOUT compile(), goes on training that layer (the traced train function
    keeps its variables; no warning). scratchnn raises, naming the layer; compile()
    again makes the change take effect in both."""
    model, x, y = _base_and_head()
    x = x.astype("float32")
    _compile(model)
    twin = to_keras(model)
    for m in (model, twin):
        m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for m in (model, twin):
        m.get_layer("conv").trainable = False
    before = twin.get_layer("conv").get_weights()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # Keras says nothing
        twin.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert not np.array_equal(twin.get_layer("conv").get_weights()[0], before)
    kernel = model.get_layer("conv").kernel.copy()
    with pytest.raises(ValueError, match=r"trainable changed for 'conv' \(frozen\) after "
                                         r"training started.*compile\(\)"):
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_array_equal(model.get_layer("conv").kernel, kernel)
    for m in (model, twin):                    # recompiled (new optimizers): frozen for real
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_array_equal(model.get_layer("conv").kernel, kernel)
    assert len(model.optimizer.variables) == len(twin.optimizer.variables) == 2 + 2 * 4


def test_an_optimizer_built_for_other_weights():
    """Keras 3.15, recompiled with the SAME built optimizer: after freezing it trains on
    (the frozen weights' slots stay in optimizer.variables, unused); after unfreezing it
    raises "Unknown variable". scratchnn's optimizers update one fixed set: both raise,
    saying to compile with a new optimizer."""
    model, x, y = _base_and_head()
    x = x.astype("float32")
    _compile(model)
    twin = to_keras(model)
    opt, twin_opt = model.optimizer, twin.optimizer
    for m in (model, twin):
        m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        m.get_layer("conv").trainable = False
    twin.compile(optimizer=twin_opt, loss="sparse_categorical_crossentropy")
    twin.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert len(twin_opt.variables) == 2 + 2 * 5          # the conv kernel's slots kept
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="compile with a new optimizer"):
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)

    model, x, y = _base_and_head()
    x = x.astype("float32")
    _freeze_base(model)
    _compile(model)
    twin = to_keras(model)
    opt, twin_opt = model.optimizer, twin.optimizer
    for m in (model, twin):
        m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        m.get_layer("conv").trainable = True
    twin.compile(optimizer=twin_opt, loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="Unknown variable"):
        twin.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="compile with a new optimizer"):
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)


def test_frozen_batch_normalization_runs_in_inference_mode_when_training():
    """Keras 3: BatchNormalization normalizes with the batch's statistics only when
    `training and self.trainable`; frozen, training=True gives the inference output and
    leaves the moving statistics alone."""
    model = _mlp(True)
    twin = to_keras(model, compile=False)
    x = np.random.default_rng(2).normal(size=(8, 5)).astype("float32") * 3 + 1
    before = model.get_weights()
    np.testing.assert_allclose(model(x, training=True), twin(x, training=True).numpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model(x, training=True), model(x, training=False))
    _same_arrays(model.get_weights(), before)
    _same_arrays(twin.get_weights(), before)


# -- files, summary, losses ------------------------------------------------------------------
def _trained_frozen_pair():
    model, x, y = _base_and_head()
    x = x.astype("float32")
    model.get_layer("bn").trainable = False
    _compile(model)
    twin = to_keras(model)
    for m in (model, twin):
        m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    return model, twin, x, y


def _layer_flags(path):
    cfg = json.loads(zipfile.ZipFile(path).read("config.json"))
    return [entry["config"].get("trainable") for entry in cfg["config"]["layers"]]


def test_keras_files_both_ways_keep_frozen_layers(tmp_path):
    """A frozen layer is written "trainable": false; each engine loads the other's file
    with the same flags, weights and optimizer state, and trains on alike."""
    model, twin, x, y = _trained_frozen_pair()
    model.save(tmp_path / "ours.keras")
    twin.save(tmp_path / "theirs.keras")
    assert _layer_flags(tmp_path / "ours.keras") == _layer_flags(tmp_path / "theirs.keras") \
        == [None, True, False, True, True, True]
    keras_loaded = keras.models.load_model(tmp_path / "ours.keras")
    ours_loaded = snn.models.load_model(tmp_path / "theirs.keras")
    for loaded, source in ((keras_loaded, model), (ours_loaded, twin)):
        assert [layer.trainable for layer in loaded.layers] == \
            [layer.trainable for layer in source.layers]
        _same_arrays(loaded.get_weights(), source.get_weights())
        _same_arrays([np.asarray(v) for v in loaded.optimizer.variables],
                     [np.asarray(v) for v in source.optimizer.variables])
    for loaded, source in ((keras_loaded, model), (ours_loaded, twin)):   # one more step
        loaded.train_on_batch(x[:8], y[:8])
        source.train_on_batch(x[:8], y[:8])
        for a, b in zip(loaded.get_weights(), source.get_weights()):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_weights_h5_layout_with_frozen_layers_is_kerass(tmp_path):
    """Freezing changes nothing in a .weights.h5: each layer's vars in its `weights`
    order, the optimizer's slots for the trainable weights only."""
    import h5py

    model, twin, _, _ = _trained_frozen_pair()
    model.save_weights(tmp_path / "ours.weights.h5")
    twin.load_weights(tmp_path / "ours.weights.h5")         # Keras reads ours, writes its own
    twin.save_weights(tmp_path / "theirs.weights.h5")
    _same_arrays(twin.get_weights(), model.get_weights())

    def contents(path):
        out = {}
        with h5py.File(path) as f:
            f.visititems(lambda name, obj: out.__setitem__(name, np.asarray(obj[()]))
                         if isinstance(obj, h5py.Dataset) else None)
        return out

    ours, theirs = contents(tmp_path / "ours.weights.h5"), contents(tmp_path / "theirs.weights.h5")
    assert sorted(ours) == sorted(theirs)
    assert len([key for key in ours if key.startswith("optimizer/")]) == 2 + 2 * 3
    for key in theirs:
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)


def test_summary_counts_frozen_weights_as_keras_does():
    def text(m):
        out = io.StringIO()
        with redirect_stdout(out):
            m.summary()
        return out.getvalue()

    model = _mlp(True)
    twin = to_keras(model, compile=False)
    assert text(model) == text(twin)
    model, twin, _, _ = _trained_frozen_pair()       # with the optimizer's line
    assert "Optimizer params" in text(twin)
    assert text(model) == text(twin)


def test_model_losses_are_kerass_penalties_in_order():
    """Keras: one float32 scalar per regularized TRAINABLE weight, in trainable_weights
    order, already before any forward pass; a frozen layer's penalties leave the list;
    a frozen model has none."""
    R = snn.regularizers
    model = snn.Sequential([snn.Input((5,)),
                            L.Dense(3, kernel_regularizer="l2", bias_regularizer=R.L1(0.1),
                                    name="a"),
                            L.Dense(4, name="b"),
                            L.BatchNormalization(gamma_regularizer="l1", beta_regularizer="l2",
                                                 name="bn"),
                            L.Dense(2, kernel_regularizer=R.L1L2(0.01, 0.02), name="c")])
    _distinct_weights(model, seed=7)
    twin = to_keras(model, compile=False)

    def check():
        ours, theirs = model.losses, twin.losses
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert a.dtype == np.float32 and np.asarray(b).dtype == np.float32
            np.testing.assert_allclose(a, np.asarray(b), rtol=1e-6)

    check()
    assert len(model.losses) == 5
    x = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    model(x, training=True)
    twin(x, training=True)
    check()
    for m in (model, twin):
        m.get_layer("bn").trainable = False
    check()
    assert len(model.losses) == 3
    for m in (model, twin):
        m.trainable = False
    assert model.losses == [] and list(twin.losses) == []
