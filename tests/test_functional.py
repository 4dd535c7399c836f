"""Functional models (snn.Model(inputs, outputs)): building, Keras's orders, the graph's
forward and backward passes (fan-out sums, shared layers, several inputs and outputs),
checked against hand-written NumPy twins and float64 finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.gradcheck import numerical_gradient, relative_error

L = snn.layers


def _rng(seed=0):
    return np.random.default_rng(seed)


# -- building -------------------------------------------------------------------------------
def test_input_is_a_symbolic_tensor_and_a_call_records_a_node():
    x = snn.Input((8,), name="x")
    assert x.shape == (None, 8) and x.name == "x"
    dense = L.Dense(4, name="d")
    h = dense(x)
    assert h.shape == (None, 4)
    assert h.history.layer is dense and h.history.node_index == 0
    assert dense.input is x and dense.output is h


def test_model_layers_follow_keras_order():
    """Ties follow the Concatenate argument order; the graph, not creation, decides."""
    i = snn.Input((3,), name="i")
    bx, by, bz = L.Dense(2, name="bx"), L.Dense(2, name="by"), L.Dense(2, name="bz")
    cat = L.Concatenate(name="cat")([bz(i), bx(i), by(i)])
    model = snn.Model(i, cat)
    assert [layer.name for layer in model.layers] == ["i", "bz", "bx", "by", "cat"]
    ci = snn.Input((3,), name="ci")
    late, early = L.Dense(2, name="created_first"), L.Dense(2, name="created_second")
    model = snn.Model(ci, late(early(ci)))
    assert [layer.name for layer in model.layers] == ["ci", "created_second", "created_first"]


def test_two_outputs_and_a_layer_shared_at_two_depths_order():
    mi = snn.Input((3,), name="mi")
    trunk = L.Dense(4, name="trunk")(mi)
    o1 = L.Dense(2, name="o1")(trunk)
    o2 = L.Dense(1, name="o2")(L.Dense(3, name="o2a")(trunk))
    assert [l.name for l in snn.Model(mi, [o1, o2]).layers] == ["mi", "trunk", "o2a", "o1", "o2"]
    assert [l.name for l in snn.Model(mi, [o2, o1]).layers] == ["mi", "trunk", "o2a", "o2", "o1"]
    si = snn.Input((3,), name="si")
    a, b = L.Dense(3, name="A"), L.Dense(3, name="B")
    model = snn.Model(si, a(b(a(si))))
    assert [l.name for l in model.layers] == ["si", "A", "B"]
    assert len(model.weights) == 4                      # A's weights once


def test_weights_in_layer_order_shared_once_and_counted_once():
    a, b = snn.Input((4,), name="in_a"), snn.Input((4,), name="in_b")
    shared = L.Dense(3, name="shared")
    s_a, s_b = shared(a), shared(b)
    added = L.Add(name="add")([s_a, s_b])
    out = L.Dense(2, name="head")(L.Concatenate(name="concat")([s_a, added]))
    model = snn.Model([a, b], out, name="two_in")
    assert [l.name for l in model.layers] == ["in_a", "in_b", "shared", "add", "concat", "head"]
    assert [w.shape for w in model.get_weights()] == [(4, 3), (3,), (6, 2), (2,)]
    assert model.count_params() == 29
    assert model.output_names == ["head"] and model.get_layer(index=0).name == "in_a"


def test_names_must_be_unique_and_outputs_connected():
    i = snn.Input((3,), name="dup")
    with pytest.raises(ValueError, match='The name "dup" is used 2 times'):
        snn.Model(i, L.Dense(1, name="dup")(i))
    j = snn.Input((3,))
    with pytest.raises(ValueError, match="Output with path `` is not connected to `inputs`"):
        snn.Model(snn.Input((3,)), L.Dense(1)(j))


def test_inputs_must_be_symbolic_and_from_input():
    with pytest.raises(ValueError, match="must be symbolic tensors"):
        snn.Model(np.zeros((2, 3)), None)
    i = snn.Input((3,))
    h = L.Dense(2)(i)
    with pytest.raises(ValueError, match="made by snn.Input"):
        snn.Model(h, L.Dense(1)(h))


# -- forward --------------------------------------------------------------------------------
def _residual(units=4, seed=0):
    snn.utils.set_random_seed(seed)
    x = snn.Input((units,), name="x")
    d1 = L.Dense(units, activation="tanh", name="d1")
    d2 = L.Dense(units, name="d2")
    res = L.Add(name="res")([x, d2(d1(x))])
    out = L.Dense(3, activation="softmax", name="cls")(L.Activation("tanh", name="act")(res))
    return snn.Model(x, out, name="residual")


def test_residual_forward_equals_numpy():
    model = _residual()
    x = _rng().standard_normal((5, 4)).astype("float32")
    w1, b1, w2, b2, w3, b3 = model.get_weights()
    h = np.tanh(x + (np.tanh(x @ w1 + b1) @ w2 + b2))
    z = h @ w3 + b3
    p = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(model(x), p / p.sum(1, keepdims=True), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model(x))


def _fd_check(model, x, y, loss, sample_weight=None):
    """Every trainable weight's gradient against float64 central differences."""
    model.compile(optimizer="sgd", loss=loss)
    _, grads = model.compute_gradients(x, y, sample_weight=sample_weight)

    def value():
        return float(model.evaluate(x, y, sample_weight=sample_weight, verbose=0,
                                    return_dict=True)["loss"])

    for w, g in zip(model.trainable_weights, grads):
        numeric = numerical_gradient(value, w)
        assert relative_error(g, numeric) < 1e-7, (w.shape, relative_error(g, numeric))


def test_residual_gradients_match_finite_differences(float64):
    model = _residual()
    x = _rng(1).standard_normal((6, 4))
    y = _rng(2).integers(0, 3, 6)
    _fd_check(model, x, y, "sparse_categorical_crossentropy")


def test_a_tensor_feeding_two_calls_gets_the_sum_of_their_gradients(float64):
    """x feeds d1 and the Add: dL/dx = (through d1) + (through Add); checked by the weights
    of a layer BEFORE the fan-out."""
    snn.utils.set_random_seed(3)
    i = snn.Input((3,))
    x = L.Dense(4, activation="tanh", name="pre")(i)
    a = L.Dense(4, activation="tanh")(x)
    y = L.Dense(2)(L.Concatenate()([x, L.Multiply()([x, a])]))
    model = snn.Model(i, y)
    data = _rng(4).standard_normal((5, 3))
    _fd_check(model, data, _rng(5).standard_normal((5, 2)), "mse")


def test_a_shared_layer_sums_its_weight_gradients_over_its_calls(float64):
    """Add([d(p), d(q)]) with d shared: dL/dW = p^T g + q^T g (GradientTape gives x_p + x_q
    for a sum loss)."""
    p, q = snn.Input((3,), name="p"), snn.Input((3,), name="q")
    d = L.Dense(2, name="shared")
    model = snn.Model([p, q], L.Add()([d(p), d(q)]))
    model.compile(optimizer="sgd", loss="mse")
    xp, xq = _rng(6).standard_normal((4, 3)), _rng(7).standard_normal((4, 3))
    y = _rng(8).standard_normal((4, 2))
    _, (dw, db) = model.compute_gradients([xp, xq], y)
    w, b = model.get_weights()
    g = 2 * ((xp @ w + b) + (xq @ w + b) - y) / y.size      # dL/d(output) for the mean
    np.testing.assert_allclose(dw, xp.T @ g + xq.T @ g, rtol=1e-12)
    np.testing.assert_allclose(db, 2 * g.sum(0), rtol=1e-12)
    _fd_check(model, [xp, xq], y, "mse")


def test_a_layer_called_at_two_depths(float64):
    si = snn.Input((3,))
    a, b = L.Dense(3, activation="tanh"), L.Dense(3, activation="tanh")
    model = snn.Model(si, a(b(a(si))))
    _fd_check(model, _rng(9).standard_normal((4, 3)), _rng(10).standard_normal((4, 3)), "mse")


def _two_in_two_out(seed=0):
    snn.utils.set_random_seed(seed)
    in_a, in_b = snn.Input((4,), name="in_a"), snn.Input((2,), name="in_b")
    trunk = L.Dense(5, activation="relu", name="trunk")(L.Concatenate()([in_a, in_b]))
    out1 = L.Dense(3, activation="softmax", name="out1")(trunk)
    out2 = L.Dense(1, name="out2")(trunk)
    return snn.Model([in_a, in_b], [out1, out2]), (in_a, in_b)


def _two_data(n=16, seed=0):
    r = _rng(seed)
    return ([r.standard_normal((n, 4)), r.standard_normal((n, 2))],
            [r.integers(0, 3, n), r.standard_normal((n, 1))])


def test_two_inputs_two_outputs_gradients_match_finite_differences(float64):
    model, _ = _two_in_two_out()
    x, y = _two_data()
    model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mse"],
                  loss_weights=[1.0, 0.5])
    _, grads = model.compute_gradients(x, y)

    def value():
        return float(model.evaluate(x, y, verbose=0, return_dict=True)["loss"])

    for w, g in zip(model.trainable_weights, grads):
        assert relative_error(g, numerical_gradient(value, w)) < 1e-7


def test_two_outputs_fit_logs_keras_keys_and_the_weighted_total():
    model, _ = _two_in_two_out()
    x, y = _two_data()
    model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"],
                  loss_weights=[1, 0.5], metrics=[["accuracy"], ["mae"]])
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0, validation_data=(x, y))
    assert list(history.history) == ["loss", "out1_accuracy", "out1_loss", "out2_loss",
                                     "out2_mae", "val_loss", "val_out1_accuracy",
                                     "val_out1_loss", "val_out2_loss", "val_out2_mae"]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["out1_loss"] + 0.5 * logs["out2_loss"], rel=1e-6)
    values = model.evaluate(x, y, verbose=0)
    assert values[:3] == [logs["loss"], logs["out1_loss"], logs["out2_loss"]]
    assert values[3:] == [logs["out1_accuracy"], logs["out2_mae"]]


def test_dict_data_and_dict_losses_by_name():
    model, _ = _two_in_two_out()
    (xa, xb), (y1, y2) = _two_data()
    model.compile(optimizer="sgd", loss={"out1": "sparse_categorical_crossentropy",
                                         "out2": "mse"})
    a = model.evaluate({"in_a": xa, "in_b": xb}, {"out1": y1, "out2": y2}, verbose=0)
    b = model.evaluate([xa, xb], [y1, y2], verbose=0)
    assert a == b
    with pytest.raises(ValueError, match='Missing data for input "in_b"'):
        model.predict({"in_a": xa}, verbose=0)
    with pytest.raises(ValueError, match=r"Expected keys \['out1', 'out2'\] in loss dict"):
        model.compile(optimizer="sgd", loss={"out1": "mse"})


def test_predict_returns_the_outputs_structure():
    model, _ = _two_in_two_out()
    x, _ = _two_data()
    out = model.predict(x, verbose=0)
    assert isinstance(out, list) and [o.shape for o in out] == [(16, 3), (16, 1)]
    i = snn.Input((3,))
    single = snn.Model(i, [L.Dense(2)(i)])
    assert single.predict(np.zeros((2, 3)), verbose=0).shape == (2, 2)
    j = snn.Input((3,))
    named = snn.Model(j, {"b": L.Dense(2)(j), "a": L.Dense(1)(j)})
    result = named.predict(np.zeros((2, 3)), verbose=0)
    assert sorted(result) == ["a", "b"] and result["a"].shape == (2, 1)


def test_a_loss_none_output_has_no_loss_key():
    model, _ = _two_in_two_out()
    x, y = _two_data()
    model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", None])
    history = model.fit(x, y, epochs=1, verbose=0)
    assert list(history.history) == ["loss"]


def test_sequential_is_a_graph_and_gives_a_feature_extractor():
    seq = snn.Sequential([snn.Input((4,)), L.Dense(3, activation="relu", name="h1"),
                          L.Dense(2, name="h2")])
    assert seq.inputs[0].shape == (None, 4) and seq.outputs[0].shape == (None, 2)
    extractor = snn.Model(inputs=seq.inputs, outputs=[layer.output for layer in seq.layers])
    x = _rng(11).standard_normal((5, 4)).astype("float32")
    h1, h2 = extractor.predict(x, verbose=0)
    np.testing.assert_array_equal(h2, seq.predict(x, verbose=0))
    assert h1.shape == (5, 3)


def test_functional_single_output_trains_as_sequential():
    snn.utils.set_random_seed(5)
    seq = snn.Sequential([snn.Input((3,)), L.Dense(4, activation="relu"), L.Dense(1)])
    i = snn.Input((3,))
    func = snn.Model(i, L.Dense(1)(L.Dense(4, activation="relu")(i)))
    func.set_weights(seq.get_weights())
    x, y = _rng(12).standard_normal((20, 3)), _rng(13).standard_normal((20, 1))
    for model in (seq, func):
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    h1 = seq.fit(x, y, epochs=3, batch_size=8, verbose=0, shuffle=False)
    h2 = func.fit(x, y, epochs=3, batch_size=8, verbose=0, shuffle=False)
    assert h1.history == h2.history


def test_merge_functional_forms_accept_tensors():
    a, b = snn.Input((3,)), snn.Input((3,))
    for fn in (L.add, L.subtract, L.multiply, L.average, L.maximum, L.minimum):
        assert fn([a, b]).shape == (None, 3)
    assert L.concatenate([a, b]).shape == (None, 6)


def test_freezing_a_layer_after_compile_takes_effect_at_the_next_step():
    """A flag changed before training starts repacks the buffers at the next pass: the
    frozen layer stays, the others learn (the graph's forward checks, as Sequential's)."""
    i = snn.Input((3,))
    model = snn.Model(i, L.Dense(1, name="b")(L.Dense(4, name="a")(i)))
    model.compile(optimizer="sgd", loss="mse")
    model.get_layer("a").trainable = False
    before = model.get_weights()
    model.train_on_batch(np.ones((4, 3)), np.ones((4, 1)))
    after = model.get_weights()
    assert [np.array_equal(a, b) for a, b in zip(before, after)] == [True, True, False, False]
