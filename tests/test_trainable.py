"""Frozen layers: `layer.trainable`, `model.trainable`, and what follows from them
(the Keras 3.15 facts each test pins are in its name or docstring; the parity suite
holds the same models to Keras itself: parity_tests/test_trainable_keras.py)."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.gradcheck import numerical_gradient, relative_error

L = snn.layers


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _model(frozen: str | None = "d2", **bn):
    model = snn.Sequential([snn.Input((5,)), L.Dense(3, activation="tanh", name="d1"),
                            L.Dense(4, name="d2"), L.BatchNormalization(name="bn", **bn),
                            L.Dense(2, name="d3")])
    if frozen:
        model.get_layer(frozen).trainable = False
    return model


def _data(n=32):
    return rng(0).normal(size=(n, 5)).astype("float32"), rng(1).normal(size=(n, 2)).astype("float32")


def _ids(arrays):
    return [id(a) for a in arrays]


# -- the flag ---------------------------------------------------------------------------------
def test_trainable_is_a_settable_property_and_a_constructor_argument():
    layer = L.Dense(3, trainable=False)
    assert layer.trainable is False and layer.get_config()["trainable"] is False
    layer.trainable = True
    assert layer.trainable is True and L.Dense(3).trainable is True


def test_the_constructor_wants_a_boolean_with_kerass_message():
    with pytest.raises(ValueError, match=r"Dense 'd': Expected `trainable` to be a boolean. "
                                         r"Received: trainable=1"):
        L.Dense(3, trainable=1, name="d")


def test_the_setter_refuses_what_is_not_a_boolean():
    """Keras's setter takes bool(value) ("no" would freeze nothing); scratchnn refuses."""
    layer = L.Dense(3, name="d")
    with pytest.raises(ValueError, match=r"Dense 'd': trainable must be True or False, got 'no'"):
        layer.trainable = "no"
    assert layer.trainable is True
    layer.trainable = np.bool_(False)
    assert layer.trainable is False


def test_model_trainable_sets_every_layer():
    model = _model(None)
    model.trainable = False
    assert [layer.trainable for layer in model.layers] == [False] * 4
    model.trainable = True
    assert [layer.trainable for layer in model.layers] == [True] * 4


def test_a_frozen_model_trains_nothing_whatever_its_layers_say():
    """Keras: model.trainable False, a layer set back to True: model.trainable_weights
    is still empty, and every weight is non-trainable."""
    model = _model(None)
    model.trainable = False
    model.layers[0].trainable = True
    assert model.trainable_weights == [] and model.flat_weights.size == 0
    assert _ids(model.non_trainable_weights) == _ids(model.weights)


# -- the weight lists -----------------------------------------------------------------------
def test_weights_order_never_changes_frozen_weights_move_to_non_trainable():
    """Keras's lists with d2 frozen: weights d1 k,b, d2 k,b, bn gamma,beta,mean,var, d3
    k,b; trainable the same less d2 and the moving statistics; non-trainable d2 k,b, mean,
    var (weights filtered)."""
    model = _model("d2")
    d1, d2, bn, d3 = model.layers
    assert _ids(model.weights) == _ids([d1.kernel, d1.bias, d2.kernel, d2.bias, bn.gamma,
                                        bn.beta, bn.moving_mean, bn.moving_variance,
                                        d3.kernel, d3.bias])
    assert _ids(model.trainable_weights) == _ids([d1.kernel, d1.bias, bn.gamma, bn.beta,
                                                  d3.kernel, d3.bias])
    assert _ids(model.non_trainable_weights) == _ids([d2.kernel, d2.bias, bn.moving_mean,
                                                      bn.moving_variance])


def test_a_frozen_batch_normalization_lists_all_four_weights_as_non_trainable():
    """Keras: gamma, beta, moving_mean, moving_variance, in that order."""
    model = _model("bn")
    bn = model.get_layer("bn")
    assert bn.trainable_weights == []
    assert _ids(bn.non_trainable_weights) == _ids([bn.gamma, bn.beta, bn.moving_mean,
                                                   bn.moving_variance])
    d2 = model.get_layer("d2")
    assert _ids(model.non_trainable_weights) == _ids(bn.non_trainable_weights)
    assert len(model.trainable_weights) == 6
    assert any(w is d2.kernel for w in model.trainable_weights)


def test_get_weights_and_set_weights_keep_their_order_when_frozen():
    model, other = _model(None), _model("d2")
    other.set_weights(model.get_weights())
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_trained_weights_are_one_flat_buffer_in_trainable_weights_order():
    """The optimizer's fast path: apply_flat over flat_weights, which holds exactly the
    trainable weights, end to end, and nothing else."""
    model = _model("d2")
    flat = np.concatenate([w.ravel() for w in model.trainable_weights])
    np.testing.assert_array_equal(model.flat_weights, flat)
    assert model.weight_shapes == [w.shape for w in model.trainable_weights]
    assert all(np.shares_memory(w, model.flat_weights) for w in model.trainable_weights)
    assert not np.shares_memory(model.get_layer("d2").kernel, model.flat_weights)


def test_changing_a_flag_repacks_at_the_next_pass_values_kept():
    model = _model(None)
    before = model.get_weights()
    model.get_layer("d2").trainable = False
    model(_data()[0])
    assert model.flat_weights.size == sum(w.size for w in model.trainable_weights)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


# -- training -----------------------------------------------------------------------------------
def test_fit_leaves_a_frozen_layer_alone_and_trains_the_layers_around_it():
    model = _model("d2")
    model.compile(optimizer="adam", loss="mse")
    before = {layer.name: layer.get_weights() for layer in model.layers}
    model.fit(*_data(), epochs=2, verbose=0)
    for layer in model.layers:
        moved = [not np.array_equal(a, b) for a, b in zip(before[layer.name], layer.get_weights())]
        if layer.name == "d2":
            assert not any(moved)
        elif layer.name == "bn":
            assert all(moved)            # gamma, beta and the moving statistics
        else:
            assert all(moved), layer.name


def test_a_frozen_layer_computes_no_weight_gradients_but_passes_dL_dx_on():
    model = _model("d2")
    model.compile(optimizer="adam", loss="mse")
    d2 = model.get_layer("d2")
    model.compute_gradients(*_data())
    d2.grads["kernel"][...] = 7.0                    # would be overwritten if computed
    loss, grads = model.compute_gradients(*_data())
    assert np.all(d2.grads["kernel"] == 7.0)
    assert len(grads) == len(model.trainable_weights) == 6
    assert np.abs(grads[0]).max() > 0                # d1, below d2, still gets a gradient
    assert model.get_layer("d1").input_grad_needed is False
    assert d2.input_grad_needed is True


def test_a_frozen_first_layer_needs_no_input_gradient_below_it():
    model = _model("d1")
    model(_data()[0])                                # the pass repacks for the new flags
    assert [layer.input_grad_needed for layer in model.layers] == [False, False, True, True]
    model.trainable = False
    model(_data()[0])
    assert [layer.input_grad_needed for layer in model.layers] == [False] * 4


def test_gradients_through_a_frozen_layer_match_finite_differences(float64):
    model = _model("d2")
    model.compile(optimizer="sgd", loss="mse")
    x, y = rng(2).normal(size=(8, 5)), rng(3).normal(size=(8, 2))
    _, grads = model.compute_gradients(x, y)

    def loss():
        return float(np.mean(np.mean((model(x, training=True) - y) ** 2, axis=-1)))

    for weight, grad in zip(model.trainable_weights, grads):
        assert relative_error(grad, numerical_gradient(loss, weight)) < 1e-7


def test_flags_set_before_compile_or_after_compile_before_fit_take_effect():
    """Keras 3.15 traces its training step at the first fit/train_on_batch after
    compile: a flag set any time before that counts."""
    for when in ("before", "after"):
        model = _model(None)
        if when == "before":
            model.get_layer("d2").trainable = False
        model.compile(optimizer="adam", loss="mse")
        if when == "after":
            model.get_layer("d2").trainable = False
        kernel = model.get_layer("d2").kernel.copy()
        model.fit(*_data(), verbose=0)
        np.testing.assert_array_equal(model.get_layer("d2").kernel, kernel)
        assert len(model.optimizer.variables) == 2 + 2 * 6


def test_a_change_after_training_started_is_refused_until_compile():
    """Keras 3.15 silently keeps training what its traced step trained; scratchnn raises,
    naming the layer, and nothing moves; compile() again makes the change count."""
    model = _model(None)
    model.compile(optimizer="adam", loss="mse")
    model.fit(*_data(), verbose=0)
    model.get_layer("d2").trainable = False
    weights = model.get_weights()
    with pytest.raises(ValueError, match=r"trainable changed for 'd2' \(frozen\) after "
                                         r"training started.*call model.compile"):
        model.fit(*_data(), verbose=0)
    with pytest.raises(ValueError, match="'d2' \\(frozen\\)"):
        model.train_on_batch(*_data())
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.compile(optimizer="adam", loss="mse")
    model.fit(*_data(), verbose=0)
    np.testing.assert_array_equal(model.get_layer("d2").kernel, weights[2])


def test_freezing_the_whole_model_after_training_names_the_model():
    model = _model(None)
    model.compile(optimizer="sgd", loss="mse")
    model.train_on_batch(*_data())
    model.trainable = False
    with pytest.raises(ValueError, match=r"the model itself \(frozen\), 'd1' \(frozen\)"):
        model.train_on_batch(*_data())


def test_an_optimizer_built_for_other_weights_is_refused():
    model = _model("d2")
    model.compile(optimizer="adam", loss="mse")
    model.fit(*_data(), verbose=0)
    optimizer = model.optimizer
    model.get_layer("d2").trainable = True
    model.compile(optimizer=optimizer, loss="mse")
    with pytest.raises(ValueError, match=r"Adam 'adam' was built for 6 trainable weights.*"
                                         r"now trains 8.*compile with a new optimizer"):
        model.fit(*_data(), verbose=0)


def test_fitting_a_model_with_nothing_to_train_warns_as_keras_and_moves_nothing():
    model = _model(None)
    model.trainable = False
    model.compile(optimizer="adam", loss="mse")
    weights = model.get_weights()
    with pytest.warns(UserWarning, match=r"^The model does not have any trainable weights\.$"):
        model.fit(*_data(), verbose=0)
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_compute_gradients_follows_the_flags_as_they_are():
    """compute_gradients is a GradientTape step (no optimizer): always today's flags."""
    model = _model(None)
    model.compile(optimizer="adam", loss="mse")
    model.fit(*_data(), verbose=0)
    model.get_layer("d2").trainable = False
    _, grads = model.compute_gradients(*_data())
    assert [g.shape for g in grads] == [w.shape for w in model.trainable_weights]


def test_a_frozen_batch_normalization_runs_in_inference_mode_in_training():
    """Keras 3: training mode only when `training and self.trainable`: the moving
    statistics normalize and stay put; gamma and beta get no gradient."""
    layer = L.BatchNormalization(trainable=False)
    x = rng(4).normal(size=(16, 3)) * 3 + 1
    layer(x)
    layer.moving_mean[...] = [0.5, -1.0, 2.0]
    before = [w.copy() for w in layer.weights]
    np.testing.assert_array_equal(layer(x, training=True), layer(x, training=False))
    for a, b in zip(before, layer.weights):
        np.testing.assert_array_equal(a, b)
    layer.grads["gamma"][...] = 7.0
    dx = layer.backward(np.ones_like(x))
    assert np.all(layer.grads["gamma"] == 7.0)
    np.testing.assert_allclose(dx, np.broadcast_to(layer.inv, x.shape).astype("float32"))


def test_a_frozen_conv2d_still_returns_its_input_gradient():
    model = snn.Sequential([snn.Input((6, 6, 4)), L.Conv2D(3, 3, name="c1"),
                            L.Conv2D(2, 3, name="c2", trainable=False), L.Flatten(),
                            L.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = rng(5).normal(size=(4, 6, 6, 4)), rng(6).normal(size=(4, 2))
    frozen = snn.Sequential([snn.Input((6, 6, 4)), L.Conv2D(3, 3), L.Conv2D(2, 3),
                             L.Flatten(), L.Dense(2)])
    frozen.set_weights(model.get_weights())
    frozen.compile(optimizer="sgd", loss="mse")
    _, ours = model.compute_gradients(x, y)
    _, full = frozen.compute_gradients(x, y)
    for a, b in zip(ours, full[:2] + full[4:]):      # c2's kernel and bias left out
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# -- regularization: model.losses ---------------------------------------------------------
def _regularized():
    R = snn.regularizers
    return snn.Sequential([snn.Input((5,)),
                           L.Dense(3, kernel_regularizer="l2", bias_regularizer=R.L1(0.1),
                                   name="a"),
                           L.Dense(4, name="b"),
                           L.BatchNormalization(gamma_regularizer="l1", beta_regularizer="l2",
                                                name="bn"),
                           L.Dense(2, kernel_regularizer="l1", name="c")])


def test_model_losses_are_the_penalties_in_trainable_weights_order():
    """Keras's model.losses: a floatx scalar per regularized trainable weight (a: kernel,
    bias; bn: gamma, beta; c: kernel), the same before and after a forward pass."""
    model = _regularized()
    a, bn, c = model.get_layer("a"), model.get_layer("bn"), model.get_layer("c")
    expected = [a.kernel_regularizer(a.kernel), a.bias_regularizer(a.bias),
                bn.gamma_regularizer(bn.gamma), bn.beta_regularizer(bn.beta),
                c.kernel_regularizer(c.kernel)]
    assert model.losses == expected
    assert all(loss.dtype == np.float32 for loss in model.losses)
    model(_data()[0], training=True)
    assert len(model.losses) == 5
    assert model.penalty() == sum(model.losses)        # what training adds to the loss


def test_model_losses_leave_out_frozen_layers_and_unbuilt_models():
    assert snn.Sequential([L.Dense(3, kernel_regularizer="l2")]).losses == []
    model = _regularized()
    model.get_layer("bn").trainable = False
    assert len(model.losses) == 3
    model.trainable = False
    assert model.losses == []


def test_a_frozen_layers_regularizer_leaves_the_training_loss():
    x, y = _data()
    model = _regularized()
    plain = snn.Sequential([snn.Input((5,)), L.Dense(3, name="a"), L.Dense(4, name="b"),
                            L.BatchNormalization(name="bn"), L.Dense(2, name="c")])
    plain.set_weights(model.get_weights())
    for m in (model, plain):
        m.trainable = False
        m.get_layer("b").trainable = True        # the only learning layer: no regularizer
        m.compile(optimizer="sgd", loss="mse")
    assert model.evaluate(x, y, verbose=0) == plain.evaluate(x, y, verbose=0)
    assert model.regularized_layers == []


# -- summary and files ---------------------------------------------------------------------
def test_summary_counts_a_frozen_layers_weights_as_non_trainable():
    lines = []
    _model("bn").summary(print_fn=lines.append)
    assert lines[-3:] == [" Total params: 60 (240.00 B)", " Trainable params: 44 (176.00 B)",
                          " Non-trainable params: 16 (64.00 B)"]


def test_summary_counts_the_optimizer_variables_bytes_as_keras():
    """Keras: Adam on 28 trainable params adds 'Optimizer params: 58 (236.00 B)':
    iterations is an int64 (8 bytes), learning_rate and the slots float32."""
    model = snn.Sequential([snn.Input((5,)), L.Dense(3), L.Dense(4, trainable=False),
                            L.BatchNormalization(trainable=False), L.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(*_data(), verbose=0)
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[-4:] == [" Total params: 118 (476.00 B)", " Trainable params: 28 (112.00 B)",
                          " Non-trainable params: 32 (128.00 B)",
                          " Optimizer params: 58 (236.00 B)"]


def test_keras_files_keep_the_flags(tmp_path):
    """A frozen layer is written "trainable": false and loads frozen; the model's own
    flag is written, and ignored on loading (Keras 3.15 loads a model saved with
    model.trainable = False as trainable, its layers still frozen)."""
    model = _model("d2")
    model.save(tmp_path / "m.keras")
    cfg = json.loads(zipfile.ZipFile(tmp_path / "m.keras").read("config.json"))
    assert [e["config"].get("trainable") for e in cfg["config"]["layers"]] == \
        [None, True, False, True, True]
    loaded = snn.models.load_model(tmp_path / "m.keras")
    assert [layer.trainable for layer in loaded.layers] == [True, False, True, True]
    model.trainable = False
    model.save(tmp_path / "all.keras")
    cfg = json.loads(zipfile.ZipFile(tmp_path / "all.keras").read("config.json"))
    assert cfg["config"]["trainable"] is False
    loaded = snn.models.load_model(tmp_path / "all.keras")
    assert loaded.trainable is True and not any(layer.trainable for layer in loaded.layers)
    assert loaded.trainable_weights == []


def test_training_resumes_exactly_from_a_file_with_frozen_layers(tmp_path):
    x, y = _data()
    model = _model("d2")
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    for suffix in (".keras", ".weights.h5", ".weights.npz"):
        path = tmp_path / f"m{suffix}"
        if suffix == ".keras":
            model.save(path)
            other = snn.models.load_model(path)
        else:
            model.save_weights(path)
            other = _model("d2")
            other.compile(optimizer="adam", loss="mse")
            other.load_weights(path)
        assert len(other.optimizer.variables) == 2 + 2 * 6
        a, b = model.train_on_batch(x, y), other.train_on_batch(x, y)
        assert a == b
        for u, v in zip(model.get_weights(), other.get_weights()):
            np.testing.assert_array_equal(u, v)
        model.set_weights(other.get_weights())
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, epochs=1, verbose=0)


def test_summary_of_a_model_is_unchanged_by_freezing_except_the_counts():
    out_a, out_b = io.StringIO(), io.StringIO()
    _model(None).summary(print_fn=lambda s: out_a.write(s + "\n"))
    snn.utils.clear_session()
    _model("d2").summary(print_fn=lambda s: out_b.write(s + "\n"))
    a, b = out_a.getvalue().splitlines(), out_b.getvalue().splitlines()
    assert a[:-2] == b[:-2] and a[-2:] != b[-2:]
