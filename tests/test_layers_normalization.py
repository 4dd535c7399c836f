"""BatchNormalization: the math, its backward pass (against the staged loop twin and
finite differences in float64), the moving statistics (non-trainable, moved by training
steps only), the weights' order and counts as Keras's, and its errors."""

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.gradcheck import check_layer, check_model
from scratchnn.layers.normalization import batch_norm_backward_staged

L = snn.layers


def _x(shape, seed=3):   # not check_layer's seed 0: its R would be x itself, up to scale
    return np.random.default_rng(seed).normal(size=shape) * 2 + 0.5


def _bn(**kwargs):
    layer = L.BatchNormalization(**kwargs)
    layer.build((None, 3))
    rng = np.random.default_rng(9)
    for name in layer.params:                        # away from gamma = 1, beta = 0
        layer.params[name][...] = rng.normal(size=3)
    return layer


def test_training_mode_normalises_with_the_batchs_own_statistics(float64):
    x = _x((50, 3))
    layer = _bn()
    y = layer(x, training=True)
    gamma, beta = layer.params["gamma"], layer.params["beta"]
    x_hat = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3)          # biased variance, eps 1e-3
    np.testing.assert_allclose(y, gamma * x_hat + beta, rtol=1e-12)


def test_inference_uses_the_moving_statistics(float64):
    layer = _bn()
    layer.state["moving_mean"][...] = [1.0, -2.0, 0.5]
    layer.state["moving_variance"][...] = [4.0, 0.25, 1.0]
    x = _x((7, 3))
    expected = (layer.params["gamma"] * (x - [1.0, -2.0, 0.5]) / np.sqrt(
        np.array([4.0, 0.25, 1.0]) + 1e-3) + layer.params["beta"])
    np.testing.assert_allclose(layer(x), expected, rtol=1e-12)


def test_moving_statistics_follow_kerass_momentum_rule(float64):
    """moving = moving * momentum + batch statistic * (1 - momentum); inference leaves
    them alone."""
    layer = _bn(momentum=0.9)
    x = _x((40, 3))
    layer(x)                                                     # inference: no change
    np.testing.assert_array_equal(layer.state["moving_mean"], np.zeros(3))
    layer(x, training=True)
    np.testing.assert_allclose(layer.state["moving_mean"], 0.1 * x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(layer.state["moving_variance"], 0.9 + 0.1 * x.var(0),
                               rtol=1e-12)


@pytest.mark.parametrize("center, scale", [(True, True), (False, True), (True, False),
                                           (False, False)])
@pytest.mark.parametrize("training", [True, False])
def test_gradients_match_finite_differences(center, scale, training, float64):
    layer = L.BatchNormalization(center=center, scale=scale, momentum=0.5)
    layer.build((None, 4))
    layer.state["moving_variance"][...] = [0.5, 2.0, 1.0, 3.0]
    errors = check_layer(layer, _x((6, 4)), training=training)
    assert set(errors) == {"input"} | ({"gamma"} if scale else set()) | (
        {"beta"} if center else set())
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("shape, axis", [((5, 4, 4, 3), -1), ((4, 3, 5), 1), ((6, 2, 3), -2)])
def test_gradients_over_images_and_other_axes(shape, axis, float64):
    layer = L.BatchNormalization(axis=axis)
    assert max(check_layer(layer, _x(shape), training=True).values()) < 1e-7


def test_closed_form_backward_equals_the_staged_twin(float64):
    x, dy = _x((9, 3)), np.random.default_rng(4).normal(size=(9, 3))
    layer = _bn(epsilon=1e-2)
    layer.forward(x, training=True)
    dx = layer.backward(dy)
    staged = batch_norm_backward_staged(dy, x, layer.params["gamma"], 1e-2)
    np.testing.assert_allclose(dx, staged[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grads["gamma"], staged[1], rtol=1e-10)
    np.testing.assert_allclose(layer.grads["beta"], staged[2], rtol=1e-10)


def test_weights_are_kerass_four_in_kerass_order_two_trainable():
    model = snn.Sequential([snn.Input((5,)), L.Dense(3), L.BatchNormalization(), L.Dense(2)])
    bn = model.layers[1]
    assert list(bn.named_weights) == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.shape for w in model.get_weights()] == [(5, 3), (3,), (3,), (3,), (3,), (3,),
                                                      (3, 2), (2,)]
    assert len(model.trainable_weights) == 6 and len(model.non_trainable_weights) == 2
    assert bn.count_params() == 12 and model.count_params() == 18 + 12 + 8
    lines = snn.summary.summary_lines(model)
    assert " Trainable params: 32 (128.00 B)" in lines
    assert " Non-trainable params: 6 (24.00 B)" in lines
    assert "│ batch_normalization             │ (None, 3)              │            12 │" in lines
    assert "│ (BatchNormalization)            │                        │               │" in lines


def test_fit_moves_the_moving_statistics_and_only_the_parameters_see_the_optimizer():
    model = snn.Sequential([snn.Input((4,)), L.BatchNormalization(), L.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = _x((64, 4)).astype("float32"), np.ones((64, 1), "float32")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    bn = model.layers[0]
    assert not np.allclose(bn.state["moving_mean"], 0)           # four steps of momentum
    assert model.optimizer.iterations == 4
    assert sum(w.size for w in model.trainable_weights) == model.flat_weights.size
    before = [w.copy() for w in bn.non_trainable_weights]
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    for a, b in zip(before, bn.non_trainable_weights):
        np.testing.assert_array_equal(a, b)                      # inference moves nothing


def test_model_gradients_are_aligned_with_the_trainable_weights(float64):
    model = snn.Sequential([snn.Input((4,)), L.Dense(5, activation="tanh"),
                            L.BatchNormalization(), L.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = _x((8, 4)), _x((8, 2), 1)
    _, grads = model.compute_gradients(x, y)
    assert [g.shape for g in grads] == [w.shape for w in model.trainable_weights]
    assert max(check_model(model, x, y, training=True).values()) < 1e-7


def test_set_weights_and_get_weights_round_trip_the_moving_statistics():
    model = snn.Sequential([snn.Input((3,)), L.BatchNormalization()])
    values = [np.arange(3.0) + k for k in range(4)]
    model.set_weights(values)
    for a, b in zip(model.get_weights(), values):
        np.testing.assert_array_equal(a, b)


def test_get_config_round_trips():
    layer = L.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-5, center=False,
                                 gamma_regularizer="l2", name="bn")
    again = L.BatchNormalization(**layer.get_config())
    assert again.get_config() == layer.get_config()


@pytest.mark.parametrize("kwargs, match", [
    (dict(axis=(1, 2)), "axis must be an int"),
    (dict(momentum=1.5), r"momentum must be a number in \[0.0, 1.0\], got 1.5"),
    (dict(epsilon=0), "epsilon must be a number > 0.0, got 0"),
    (dict(center="yes"), "center must be True or False"),
    (dict(gamma_regularizer="l3"), "gamma_regularizer: Could not interpret"),
])
def test_bad_options_are_refused_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L.BatchNormalization(**kwargs)


def test_axis_zero_and_wrong_inputs_are_refused():
    with pytest.raises(ValueError, match="axis 0 is not a feature axis"):
        snn.Sequential([snn.Input((3,)), L.BatchNormalization(axis=0)])
    model = snn.Sequential([snn.Input((3,)), L.BatchNormalization(name="bn")])
    with pytest.raises(ValueError, match=r"BatchNormalization 'bn' expects inputs \(None, 3\)"):
        model.layers[0](np.zeros((2, 4)))


@pytest.mark.parametrize("suffix", [".weights.npz", ".weights.h5", ".keras"])
def test_files_keep_the_moving_statistics_and_training_resumes_exactly(suffix, tmp_path):
    def build():
        model = snn.Sequential([snn.Input((4,)), L.Dense(3, use_bias=False),
                                L.BatchNormalization(), L.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        return model
    x, y = _x((32, 4)).astype("float32"), _x((32, 1), 5).astype("float32")
    model = build()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    path = str(tmp_path / f"m{suffix}")
    (model.save if suffix == ".keras" else model.save_weights)(path)
    again = snn.models.load_model(path) if suffix == ".keras" else build()
    if suffix != ".keras":
        again.fit(x[:8], y[:8], epochs=1, verbose=0)            # build the optimizer's slots
        again.load_weights(path)
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)                      # moving statistics included
    for m in (model, again):
        m.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)                      # the same next steps


def test_gamma_beta_and_moving_statistics_are_the_live_arrays_as_in_keras():
    """Keras's attributes: None before build; gamma None with scale=False, beta None with
    center=False; otherwise the very arrays that get_weights copies and fit updates."""
    layer = L.BatchNormalization()
    assert (layer.gamma, layer.beta, layer.moving_mean, layer.moving_variance) == (None,) * 4
    layer(np.ones((4, 3), "float32"))
    assert layer.gamma is layer.params["gamma"] and layer.beta is layer.params["beta"]
    assert layer.moving_mean is layer.state["moving_mean"]
    assert layer.moving_variance is layer.state["moving_variance"]
    layer(np.arange(12, dtype="float32").reshape(4, 3), training=True)
    np.testing.assert_allclose(layer.moving_mean, [0.045, 0.055, 0.065], rtol=1e-6)
    no_scale, no_center = L.BatchNormalization(scale=False), L.BatchNormalization(center=False)
    for bn in (no_scale, no_center):
        bn(np.ones((2, 3), "float32"))
    assert no_scale.gamma is None and no_scale.beta is not None
    assert no_center.beta is None and no_center.gamma is not None


def test_frozen_batch_normalization_gradients_match_finite_differences(float64):
    """Frozen, training=True is inference: dL/dx = dy * gamma / sqrt(var + eps)."""
    layer = L.BatchNormalization(trainable=False)
    x = _x((6, 3))
    layer(x)
    layer.moving_mean[...] = [0.3, -0.2, 1.0]
    layer.moving_variance[...] = [0.5, 2.0, 1.5]
    assert check_layer(layer, x, training=True)["input"] < 1e-7
