"""Graph models (snn.Model(inputs, outputs)) against Keras 3.15.1's Functional models.

Every graph below is written ONCE for either engine module `m` (scratchnn or keras), so
the same code builds both. The Keras side is either that code run by Keras, or the twin
tf_reference.to_keras builds by replaying scratchnn's calls (graphs.py).

What is pinned down: the twins both ways (layers, calls, weights, compile settings); forward
passes and gradients of residual, concatenating, shared-layer, two-input and two-output
graphs (merge layers with ties and broadcasting included) in float32 and float64; the
per-output losses, their weighted total, History, evaluate and the progress lines of a
two-output model; the same seed giving Keras's initial weights; the logits path per output.
Training curves are in test_functional_curves_keras.py.
"""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest

import scratchnn as snn
from tf_reference import MaskRecorder, from_keras, keras_gradients, to_keras, train_both

from .helpers import assert_curves_close, assert_grads_close, forward_tol


# -- the graphs, written once for either engine ------------------------------------------------
def residual(m):
    """x + d2(d1(x)), then a softmax head: Keras's residual connection."""
    L = m.layers
    x = m.Input((6,), name="x")
    d1 = L.Dense(6, activation="tanh", name="d1")        # layers created in graph order
    d2 = L.Dense(6, name="d2")
    r = L.Activation("relu", name="act")(L.Add(name="res")([x, d2(d1(x))]))
    return m.Model(x, L.Dense(3, activation="softmax", name="cls")(r), name="residual")


def concatenating(m):
    """Three branches joined in an order other than their creation order."""
    L = m.layers
    i = m.Input((5,), name="i")
    bx = L.Dense(4, activation="relu", name="bx")
    by = L.Dense(3, activation="tanh", name="by")
    bz = L.Dense(2, name="bz")
    cat = L.Concatenate(name="cat")([bz(i), bx(i), by(i)])
    return m.Model(i, L.Dense(1, activation="sigmoid", name="out")(cat), name="concatenating")


def siamese(m):
    """One Dense on two inputs (a shared layer: two calls, one kernel), then Subtract and
    Add of its two outputs, joined."""
    L = m.layers
    left, right = m.Input((5,), name="left"), m.Input((5,), name="right")
    shared = L.Dense(4, activation="tanh", name="shared")
    a, b = shared(left), shared(right)
    joined = L.Concatenate(name="join")([L.Subtract(name="diff")([a, b]),
                                         L.Add(name="both")([a, b])])
    return m.Model([left, right], L.Dense(1, activation="sigmoid", name="same")(joined),
                   name="siamese")


def two_inputs(m):
    """Inputs of different ranks meeting in broadcasting merges: (N, 4, 3) + (N, 3) (the
    lower rank expanded at axis 1), Multiply by an (N, 4, 1) column, Average with (N, 1, 3)."""
    L = m.layers
    seq, vec = m.Input((4, 3), name="seq"), m.Input((3,), name="vec")
    v = L.Dense(3, activation="tanh", name="v")(vec)                   # (N, 3)
    s = L.Dense(3, name="s")(seq)                                      # (N, 4, 3)
    added = L.Add(name="add")([s, v])                                  # (N, 4, 3)
    gate = L.Dense(1, activation="sigmoid", name="gate")(seq)          # (N, 4, 1)
    gated = L.Multiply(name="mul")([added, gate])                      # (N, 4, 3)
    row = L.Reshape((1, 3), name="row")(v)                             # (N, 1, 3)
    mean = L.Average(name="avg")([gated, row])                         # (N, 4, 3)
    out = L.Dense(2, activation="softmax", name="out")(L.Flatten(name="flat")(mean))
    return m.Model([seq, vec], out, name="two_inputs")


def two_outputs(m):
    """Two inputs joined, a trunk, a softmax head and a linear head."""
    L = m.layers
    in_a, in_b = m.Input((4,), name="in_a"), m.Input((2,), name="in_b")
    trunk = L.Dense(5, activation="relu", name="trunk")(L.Concatenate(name="cat")([in_a, in_b]))
    out1 = L.Dense(3, activation="softmax", name="out1")(trunk)
    out2 = L.Dense(1, name="out2")(trunk)
    return m.Model([in_a, in_b], [out1, out2], name="two_outputs")


GRAPHS = {"residual": residual, "concatenating": concatenating, "siamese": siamese,
          "two_inputs": two_inputs, "two_outputs": two_outputs}
LOSSES = {"residual": "sparse_categorical_crossentropy", "concatenating": "binary_crossentropy",
          "siamese": "binary_crossentropy", "two_inputs": "categorical_crossentropy",
          "two_outputs": ["sparse_categorical_crossentropy", "mse"]}


def data(name, n=12, seed=0):
    """(x, y) for graph `name`: x in the model's input order, y per output."""
    rng = np.random.default_rng(seed)
    dtype = snn.config.floatx()

    def normal(*shape):
        return rng.standard_normal((n, *shape)).astype(dtype)
    x = {"residual": [normal(6)], "concatenating": [normal(5)],
         "siamese": [normal(5), normal(5)], "two_inputs": [normal(4, 3), normal(3)],
         "two_outputs": [normal(4), normal(2)]}[name]
    y = {"residual": [rng.integers(0, 3, n)],
         "concatenating": [rng.integers(0, 2, (n, 1)).astype(dtype)],
         "siamese": [rng.integers(0, 2, (n, 1)).astype(dtype)],
         "two_inputs": [np.eye(2, dtype=dtype)[rng.integers(0, 2, n)]],
         "two_outputs": [rng.integers(0, 3, n), normal(1)]}[name]
    return (x[0] if len(x) == 1 else x), (y[0] if len(y) == 1 else y)


def snn_graph(name, seed=0):
    snn.utils.set_random_seed(seed)
    return GRAPHS[name](snn)


def weight_names(model) -> list[str]:
    return [f"{layer.name}/{w}" for layer in model.layers for w in layer.params]


def calls(model) -> list[tuple]:
    """Every call of the model, as (layer, [(producer, call index, tensor index), ...]),
    sorted: the graph's edges, in either engine's objects."""
    found = []
    if isinstance(model, snn.Model):
        for node in model.nodes:
            if not node.is_input:
                found.append((node.layer.name, [(t.history.layer.name, t.history.node_index,
                                                 t.history.tensor_index) for t in node.inputs]))
    else:
        for layer in model.layers:
            for node in layer._inbound_nodes:
                if not node.is_input:
                    found.append((layer.name, [(t._keras_history.operation.name,
                                                t._keras_history.node_index,
                                                t._keras_history.tensor_index)
                                               for t in node.input_tensors]))
    return sorted(found)


# -- the twins -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", GRAPHS)
def test_to_keras_replays_the_same_calls_with_the_same_weights(name):
    """Same layer names and classes in the same order (InputLayers included), the same
    calls (a shared layer called twice, merge layers on the same lists in the same order),
    the same weights in the same order, inputs and outputs in the same structure."""
    model = snn_graph(name)
    twin = to_keras(model)
    assert isinstance(twin, keras.Model) and type(twin).__name__ == "Functional"
    assert [(l.name, type(l).__name__) for l in twin.layers] == \
        [(l.name, type(l).__name__) for l in model.layers]
    assert calls(twin) == calls(model)
    assert [w.path for w in twin.weights] == weight_names(model)
    for ours, theirs in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    assert twin.output_names == model.output_names
    assert [t.name for t in twin.inputs] == [l.name for l in model.layers[:len(twin.inputs)]]


@pytest.mark.parametrize("name", GRAPHS)
def test_from_keras_replays_a_keras_built_graph(name):
    """The Keras model built by Keras's own code, then its scratchnn twin: same layers,
    calls, weights and outputs (float32 tolerance: different summation orders)."""
    keras.utils.set_random_seed(3)
    theirs = GRAPHS[name](keras)
    ours = from_keras(theirs)
    assert isinstance(ours, snn.Model) and not isinstance(ours, snn.Sequential)
    assert [(l.name, type(l).__name__) for l in ours.layers] == \
        [(l.name, type(l).__name__) for l in theirs.layers]
    assert calls(ours) == calls(theirs)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, np.asarray(b))
    x, _ = data(name)
    for a, b in zip(_as_list(ours.predict(x, verbose=0)), _as_list(theirs.predict(x, verbose=0))):
        np.testing.assert_allclose(a, b, **forward_tol("float32"))


def test_a_layer_shared_at_two_depths_round_trips():
    """A(B(A(x))): Keras lists A before B although A's second call needs B's output; both
    twins replay the three calls in an order where each has its input."""
    def build(m):
        L = m.layers
        si = m.Input((3,), name="si")
        a, b = L.Dense(3, activation="tanh", name="A"), L.Dense(3, activation="tanh", name="B")
        return m.Model(si, a(b(a(si))))
    model = build(snn)
    twin = to_keras(model)
    back = from_keras(twin)
    assert [l.name for l in twin.layers] == [l.name for l in back.layers] == ["si", "A", "B"]
    assert calls(model) == calls(twin) == calls(back) == [
        ("A", [("B", 0, 0)]), ("A", [("si", 0, 0)]), ("B", [("A", 0, 0)])]
    x = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    for m in (twin, back):
        np.testing.assert_allclose(m.predict(x, verbose=0), model.predict(x, verbose=0),
                                   **forward_tol("float32"))


def test_dict_inputs_and_outputs_keep_their_structure_both_ways():
    snn.utils.set_random_seed(1)
    L = snn.layers
    a, b = snn.Input((3,), name="a"), snn.Input((2,), name="b")
    h = L.Dense(4, activation="relu", name="h")(L.Concatenate(name="ab")([a, b]))
    model = snn.Model({"a": a, "b": b}, {"zeta": L.Dense(2, name="z")(h),
                                         "alpha": L.Dense(1, name="y")(h)})
    twin = to_keras(model)
    assert sorted(twin.input) == ["a", "b"] and sorted(twin.output) == ["alpha", "zeta"]
    back = from_keras(twin)
    assert sorted(back.output) == ["alpha", "zeta"]
    rng = np.random.default_rng(2)
    x = {"a": rng.standard_normal((5, 3)).astype("float32"),
         "b": rng.standard_normal((5, 2)).astype("float32")}
    ours, theirs = model.predict(x, verbose=0), twin.predict(x, verbose=0)
    assert sorted(ours) == sorted(theirs) == ["alpha", "zeta"]
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], **forward_tol("float32"))
        np.testing.assert_array_equal(back.predict(x, verbose=0)[key], ours[key])


def test_frozen_layers_of_a_graph_stay_frozen_in_both_twins():
    """A frozen shared layer: the twin's flag is False too, both engines train the same
    weights (the head's) and their gradients agree; from_keras keeps the flag."""
    model = snn_graph("siamese")
    model.get_layer("shared").trainable = False
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    twin = to_keras(model)
    assert not twin.get_layer("shared").trainable
    assert [w.path for w in twin.trainable_weights] == ["same/kernel", "same/bias"]
    x, y = data("siamese", n=16)
    _, ours = model.compute_gradients(x, y)
    _, theirs = keras_gradients(twin, x, y)
    assert_grads_close(ours, theirs, ["same/kernel", "same/bias"])
    assert not from_keras(twin).get_layer("shared").trainable


def test_from_keras_refuses_what_scratchnn_does_not_have():
    i = keras.Input((3,), name="i")
    with pytest.raises(TypeError, match="raw keras.ops calls are not supported by scratchnn"):
        from_keras(keras.Model(i, keras.layers.Dense(2)(keras.ops.relu(i))))
    inner = keras.Model(i, keras.layers.Dense(2, name="inner_d")(i), name="inner")
    j = keras.Input((3,), name="j")
    with pytest.raises(TypeError, match="nested models are not supported by scratchnn"):
        from_keras(keras.Model(j, inner(j)))


def test_the_twin_compiles_with_the_same_losses_weights_metrics_and_optimizer():
    """Per-output losses (None: no loss), loss_weights and per-output metrics arrive in
    Keras's compile_config as given; the optimizer has the same class and options."""
    model = snn_graph("two_outputs")
    model.compile(optimizer=snn.optimizers.Adam(0.003, beta_1=0.8, clipnorm=1.5),
                  loss=[snn.losses.SparseCategoricalCrossentropy(), "mae"],
                  loss_weights=[1.0, 0.25], metrics=[["accuracy"], ["mae", "mse"]])
    cfg = to_keras(model).get_compile_config()
    assert [entry["class_name"] for entry in cfg["loss"]] == \
        ["SparseCategoricalCrossentropy", "MeanAbsoluteError"]
    assert cfg["loss_weights"] == [1.0, 0.25]
    assert cfg["metrics"] == [["accuracy"], ["mae", "mse"]]
    opt = cfg["optimizer"]["config"]
    assert cfg["optimizer"]["class_name"] == "Adam"
    assert (opt["beta_1"], opt["clipnorm"]) == (0.8, 1.5)
    assert opt["learning_rate"] == pytest.approx(0.003)
    model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", None])
    assert to_keras(model).get_compile_config()["loss"][1] is None


@pytest.mark.parametrize("kind", ["class", "object", "wrapper", "function", "numpy_function"])
def test_keras_metric_twins_of_classes_wrappers_and_functions(kind):
    """compile(metrics=...) with a Metric class, a Metric object with options, a
    MeanMetricWrapper, a scratchnn function, a user's NumPy function: the twin logs the
    same keys with the same values (`_keras_metric` raised KeyError for the first and
    third before)."""
    def agree(y_true, y_pred):
        return (np.asarray(y_true)[:, 0] == (np.asarray(y_pred)[:, 0] > 0.3)).astype("float32")
    metric = {"class": snn.metrics.BinaryAccuracy,
              "object": snn.metrics.BinaryAccuracy(name="acc_at_0.3", threshold=0.3),
              "wrapper": snn.metrics.MeanMetricWrapper(snn.metrics.binary_accuracy,
                                                       name="wrapped"),
              "function": snn.losses.mean_squared_error,
              "numpy_function": agree}[kind]
    model = snn_graph("concatenating")
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=[metric])
    x, y = data("concatenating", n=40)
    ours = model.evaluate(x, y, verbose=0, return_dict=True)
    theirs = to_keras(model).evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(ours) == sorted(theirs) and len(ours) == 2
    for key in ours:
        assert ours[key] == pytest.approx(theirs[key], rel=1e-6), key


# -- forward passes and gradients --------------------------------------------------------------
def _as_list(a):
    return list(a.values()) if isinstance(a, dict) else a if isinstance(a, list) else [a]


@pytest.mark.parametrize("name", GRAPHS)
def test_forward_passes_equal_the_twins(name, precision):
    model = snn_graph(name)
    twin = to_keras(model)
    x, _ = data(name)
    for training in (False, True):
        ours = _as_list(model(x, training=training))
        theirs = _as_list(twin(x, training=training))
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert a.dtype == np.dtype(precision)
            np.testing.assert_allclose(a, np.asarray(b), **forward_tol(precision))


@pytest.mark.parametrize("name", GRAPHS)
def test_gradients_equal_kerass(name, precision):
    """compute_gradients against the gradients Keras's fit applies (tf.GradientTape on
    compute_loss inside tf.function); the two-output model with loss_weights [1, 0.5]."""
    model = snn_graph(name)
    weights = [1.0, 0.5] if name == "two_outputs" else None
    model.compile(optimizer="sgd", loss=LOSSES[name], loss_weights=weights)
    twin = to_keras(model)
    x, y = data(name, n=16, seed=1)
    ours_loss, ours = model.compute_gradients(x, y)
    theirs_loss, theirs = keras_gradients(twin, x, y)
    assert ours_loss == pytest.approx(theirs_loss, rel=1e-6 if precision == "float32" else 1e-12)
    assert_grads_close(ours, theirs, weight_names(model), precision)


def ties(m, kind: str):
    """Maximum or Minimum over p (N, 3), q (N, 3) and c (N, 1) (broadcast), then a head."""
    L = m.layers
    i = m.Input((4,), name="i")
    merged = getattr(L, kind)(name="merge")([L.Dense(3, name="p")(i), L.Dense(3, name="q")(i),
                                             L.Dense(1, name="c")(i)])
    return m.Model(i, L.Dense(2, name="head")(merged), name=f"{kind.lower()}_ties")


@pytest.mark.parametrize("kind", ["Maximum", "Minimum"])
def test_merge_ties_send_the_gradient_to_the_earlier_input_as_keras(kind, precision):
    """p and q have the SAME weights, c a column of whole numbers, and the inputs are whole
    numbers: p == q everywhere and c ties them often. TensorFlow's gradient of maximum
    (x >= y) and minimum (x <= y) gives a tie wholly to the earlier input, so q's weights
    get no gradient at all, and c's only where it strictly wins. Everything is exact in
    whole numbers, so the gradients are equal bit for bit."""
    model = ties(snn, kind)
    rng = np.random.default_rng(4)
    kp = rng.integers(-2, 3, (4, 3)).astype(precision)
    kc = kp[:, 1:2].copy()                          # c ties p's column 1 exactly
    model.set_weights([kp, np.zeros(3), kp, np.zeros(3), kc, np.zeros(1),
                       rng.integers(-2, 3, (3, 2)), np.zeros(2)])
    model.compile(optimizer="sgd", loss="mse")
    x = rng.integers(-2, 3, (16, 4)).astype(precision)
    y = rng.integers(-2, 3, (16, 2)).astype(precision)
    _, ours = model.compute_gradients(x, y)
    _, theirs = keras_gradients(to_keras(model), x, y)
    names = weight_names(model)
    for name, a, b in zip(names, ours, theirs):
        np.testing.assert_array_equal(a, b, err_msg=name)
    grads = dict(zip(names, ours))
    assert not grads["q/kernel"].any() and not grads["q/bias"].any()
    assert grads["p/kernel"].any() and grads["c/kernel"].any()


def dropout_graph():
    """Two inputs, a Dropout on one branch only, two outputs."""
    L = snn.layers
    in_a, in_b = snn.Input((4,), name="in_a"), snn.Input((2,), name="in_b")
    a = L.Dropout(0.4, name="drop")(L.Dense(6, activation="relu", name="wide")(in_a))
    trunk = L.Dense(5, activation="tanh", name="trunk")(L.Concatenate(name="cat")([a, in_b]))
    return snn.Model([in_a, in_b], [L.Dense(3, activation="softmax", name="out1")(trunk),
                                    L.Dense(1, name="out2")(trunk)], name="dropout_graph")


def test_dropout_masks_of_a_graph_are_replayed_in_its_twin():
    """keras_gradients(masks_from=model) applies the mask scratchnn's Dropout drew in the
    last training pass; train_both records every mask of a fit and feeds them to Keras."""
    model = dropout_graph()
    model.compile(optimizer="adam", loss=LOSSES["two_outputs"], loss_weights=[1.0, 0.5])
    x, y = data("two_outputs", n=16)
    _, ours = model.compute_gradients(x, y, training=True)
    _, theirs = keras_gradients(to_keras(model), x, y, masks_from=model)
    assert_grads_close(ours, theirs, weight_names(model))
    snn.utils.set_random_seed(2)
    x, y = data("two_outputs", n=48)
    ours, theirs, _, twin = train_both(
        dropout_graph(), None, dict(optimizer="adam", loss=LOSSES["two_outputs"],
                                    metrics=[["accuracy"], ["mae"]]),
        x, y, epochs=3, batch_size=16, shuffle=True)
    assert type(twin.get_layer("drop")).__name__ == "InjectedDropout"
    assert_curves_close(ours, theirs, 1e-6)


def test_a_shared_dropout_is_refused_for_mask_recording():
    L = snn.layers
    i = snn.Input((3,))
    drop = L.Dropout(0.5, name="shared_drop")
    model = snn.Model(i, L.Add()([drop(i), drop(i)]))
    with pytest.raises(ValueError, match="Dropout 'shared_drop' is called 2 times"):
        MaskRecorder(model)


def test_train_both_from_the_same_seed_takes_a_graph_builder():
    """train_both(seed=s) with a function returning a fresh graph: each engine draws its own
    initial weights (checked bit-identical: residual creates its layers in graph order)
    and the curves agree."""
    x, y = data("residual", n=64)
    ours, theirs, _, _ = train_both(
        lambda: residual(snn), None,
        dict(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]),
        x, y, epochs=3, batch_size=16, seed=5)
    assert_curves_close(ours, theirs, 1e-6)


# -- several outputs: losses, History, evaluate, progress lines ----------------------------------
def _compiled_two_outputs(weights=(1.0, 0.5)):
    model = snn_graph("two_outputs")
    model.compile(optimizer="adam", loss=LOSSES["two_outputs"], loss_weights=list(weights),
                  metrics=[["accuracy"], ["mae"]])
    return model, to_keras(model)


def test_per_output_losses_weighted_total_history_and_evaluate_equal_kerass():
    """History keys sorted as Keras's (`loss`, `<output>_loss` unweighted, `<output>_
    <metric>`, the `val_` keys), every value within the dense-curve tolerance; `loss` is
    out1_loss + 0.5 out2_loss; evaluate's list is [loss, out1_loss, out2_loss, then the
    metrics] and return_dict has the same keys and values."""
    model, twin = _compiled_two_outputs()
    x, y = data("two_outputs", n=64)
    xv, yv = data("two_outputs", n=20, seed=5)            # batches of 16 and 4
    ours = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                     validation_data=(xv, yv)).history
    theirs = twin.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                      validation_data=(xv, yv)).history
    assert list(ours) == sorted(theirs) == [
        "loss", "out1_accuracy", "out1_loss", "out2_loss", "out2_mae", "val_loss",
        "val_out1_accuracy", "val_out1_loss", "val_out2_loss", "val_out2_mae"]
    assert_curves_close(ours, theirs, 1e-6)
    listed, keyed = model.evaluate(xv, yv, verbose=0), model.evaluate(xv, yv, verbose=0,
                                                                      return_dict=True)
    keras_listed = twin.evaluate(xv, yv, verbose=0)
    keras_keyed = twin.evaluate(xv, yv, verbose=0, return_dict=True)
    np.testing.assert_allclose(listed, keras_listed, rtol=1e-6)
    assert listed == [keyed[k] for k in ("loss", "out1_loss", "out2_loss", "out1_accuracy",
                                         "out2_mae")]
    assert sorted(keyed) == sorted(keras_keyed)
    for key in keyed:
        assert keyed[key] == pytest.approx(keras_keyed[key], rel=1e-6)
    assert keyed["loss"] == pytest.approx(keyed["out1_loss"] + 0.5 * keyed["out2_loss"],
                                          rel=1e-6)


def test_per_output_losses_average_the_batches_unweighted_as_kerass_compiled_fit():
    """Keras 3.15.1 logs `<output>_loss` with Mean.update_state(value, sample_weight=
    y_pred.shape[0]) (compile_utils.CompileLoss.call); inside fit's tf.function that static
    size is None, so every batch counts once, partial or not, while `loss` is weighted by
    the batch size. Measured, 20 samples in batches of 16 and 4: out1_loss 1.13758 =
    (1.07897 + 1.19620) / 2, not the size-weighted 1.10241; loss 2.39097 in both engines.
    (With run_eagerly=True Keras weighs them by the size.)"""
    model, twin = _compiled_two_outputs()
    x, y = data("two_outputs", n=20)
    theirs = twin.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0).history
    ours = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0).history
    assert ours["loss"] == pytest.approx(theirs["loss"], rel=1e-6)
    assert_curves_close(ours, theirs, 1e-6)


def test_two_outputs_of_one_shared_layer_log_as_keras():
    """Outputs [sd(a), sd(b)] of one shared layer: output_names ['sd', 'sd']. Keras makes
    a Mean named `sd_loss` per output; in the logs the second overwrites the first, so
    `sd_loss` is the SECOND output's loss (measured 3.4177, the first's 1.6230), and
    evaluate's list repeats it: [loss, sd_loss, sd_loss, sd_mae, sd_mae_1]. Metrics get
    `sd_mae` and `sd_mae_1`."""
    def build(m):
        L = m.layers
        a, b = m.Input((3,), name="a"), m.Input((3,), name="b")
        sd = L.Dense(2, name="sd")
        return m.Model([a, b], [sd(a), sd(b)])
    model = build(snn)
    model.compile(optimizer="sgd", loss="mse", metrics=[["mae"], ["mae"]])
    twin = to_keras(model)
    assert twin.output_names == model.output_names == ["sd", "sd"]
    rng = np.random.default_rng(0)
    x = [rng.standard_normal((8, 3)).astype("float32") for _ in range(2)]
    y = [rng.standard_normal((8, 2)).astype("float32") for _ in range(2)]
    theirs = twin.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(theirs) == ["loss", "sd_loss", "sd_mae", "sd_mae_1"]
    assert len(twin.evaluate(x, y, verbose=0)) == 5
    ours = model.evaluate(x, y, verbose=0, return_dict=True)
    for key in theirs:
        assert ours[key] == pytest.approx(theirs[key], rel=1e-6), key
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), twin.evaluate(x, y, verbose=0),
                               rtol=1e-6)


def test_sample_weights_per_output_as_keras():
    """One sample_weight array weighs every output; a list weighs each output: [ones,
    zeros] zeroes out2_loss and leaves loss = out1_loss (Keras's measured behaviour)."""
    model, twin = _compiled_two_outputs(weights=(1.0, 1.0))
    x, y = data("two_outputs", n=16)
    w = np.linspace(0.1, 2.0, 16)
    for sample_weight in (w, [np.ones(16), np.zeros(16)], [w, w[::-1].copy()]):
        ours = model.evaluate(x, y, sample_weight=sample_weight, verbose=0, return_dict=True)
        theirs = twin.evaluate(x, y, sample_weight=sample_weight, verbose=0, return_dict=True)
        for key in ours:
            assert ours[key] == pytest.approx(theirs[key], rel=1e-6, abs=1e-7), key
        _, g_ours = model.compute_gradients(x, y, sample_weight=sample_weight)
        _, g_theirs = keras_gradients(twin, x, y, sample_weight=sample_weight)
        assert_grads_close(g_ours, g_theirs, weight_names(model))
    zeroed = model.evaluate(x, y, sample_weight=[np.ones(16), np.zeros(16)], verbose=0,
                            return_dict=True)
    assert zeroed["out2_loss"] == 0.0 and zeroed["loss"] == pytest.approx(zeroed["out1_loss"])


def _progress_lines(text: str) -> list[str]:
    """Each printed line as it finally stands (the last of its carriage-return rewrites),
    without ANSI styles and with the timings ("0s 688us/step", "- 0s - 24ms/step") blanked."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text).replace("\x08", "")
    lines = [line.split("\r")[-1].rstrip() for line in text.split("\n")]
    lines = [re.sub(r"\d+s \d+(ms|us|s)/step", "<time>", line) for line in lines]
    lines = [re.sub(r"- \d+s - \d+(ms|us|s)/step", "- <time>", line) for line in lines]
    return [line for line in lines if line]


@pytest.mark.parametrize("verbose", [1, 2])
def test_progress_lines_of_a_two_output_model_are_kerass(verbose, capfd):
    """verbose=1: `Epoch 1/2`, then `4/4 ━━━━━━━━━━━━━━━━━━━━ <time> - loss: ... -
    out1_accuracy: ... - out1_loss: ... - out2_loss: ... - out2_mae: ... - val_...`;
    verbose=2: `4/4 - <time> - loss: ...`, one line per epoch. Keys in sorted order, values
    with 4 decimals, the same numbers."""
    model, twin = _compiled_two_outputs()
    x, y = data("two_outputs", n=64)
    printed = {}
    for name, m in (("keras", twin), ("scratchnn", model)):
        m.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=verbose,
              validation_data=(x, y))
        printed[name] = _progress_lines(capfd.readouterr().out)
    assert printed["scratchnn"] == printed["keras"]
    last = printed["keras"][-1]
    start = "4/4 ━━━━━━━━━━━━━━━━━━━━ <time> - " if verbose == 1 else "4/4 - <time> - "
    assert last.startswith(start + "loss: ") and " - out1_accuracy: " in last
    assert [key for key in re.findall(r"(\w+): ", last)] == [
        "loss", "out1_accuracy", "out1_loss", "out2_loss", "out2_mae", "val_loss",
        "val_out1_accuracy", "val_out1_loss", "val_out2_loss", "val_out2_mae"]


# -- the same seed, the same initial weights -----------------------------------------------------
@pytest.mark.parametrize("name", [*GRAPHS, "max_ties"])
def test_the_same_graph_code_after_the_same_seed_gives_kerass_initial_weights(name):
    """snn.utils.set_random_seed(s), then the graph code, gives the weights Keras's own
    initializers draw after keras.utils.set_random_seed(s), bit for bit: each layer draws
    its seeds when it is created, so creation order decides (concatenating creates bx, by,
    bz but lists bz first; the weights follow the creation)."""
    build = (lambda m: ties(m, "Maximum")) if name == "max_ties" else GRAPHS[name]
    for seed in (0, 7, 2**31 + 11):
        snn.utils.set_random_seed(seed)
        ours = build(snn).get_weights()
        keras.utils.set_random_seed(seed)
        theirs = build(keras).get_weights()
        assert len(ours) == len(theirs)
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert a.dtype == b.dtype and np.array_equal(a, b), (name, seed, i)


def test_to_keras_without_weights_draws_the_same_when_created_in_layer_order():
    """to_keras(copy_weights=False) creates the twin's layers in `model.layers` order:
    for a graph whose layers were created in that order (the residual one) the twin's own
    initial weights are scratchnn's; for one created in another order (concatenating)
    they are not, and only the copied weights make the twins equal."""
    for name, same in (("residual", True), ("concatenating", False)):
        model = snn_graph(name, seed=21)
        keras.utils.set_random_seed(21)
        twin = to_keras(model, copy_weights=False)
        equal = all(np.array_equal(a, b) for a, b in zip(model.get_weights(),
                                                          twin.get_weights()))
        assert equal is same, name


# -- the logits path, per output -----------------------------------------------------------------
def saturated(m):
    """Output o1: a softmax whose logits are (50, 0); output o2: two such softmaxes
    concatenated (the merge loses the logits)."""
    L = m.layers
    i = m.Input((1,), name="i")
    heads = [L.Dense(2, activation="softmax", use_bias=False, name=n) for n in ("o1", "a", "b")]
    o1, a, b = (head(i) for head in heads)
    model = m.Model(i, [o1, L.Concatenate(name="o2")([a, b])], name="saturated")
    model.set_weights([np.array([[50.0, 0.0]], snn.config.floatx())] * 3)
    return model


def test_a_softmax_output_keeps_its_logits_and_a_merged_one_loses_them():
    """Keras computes crossentropy from the logits of a softmax that IS an output
    (o1_loss = logsumexp(50, 0) - 0 = 50.0), but from the clipped probabilities after a
    Concatenate (o2_loss = 2 * -log(1e-7) = 32.24, as measured); gradients agree too (o2's
    clipped probabilities pass no gradient)."""
    model = saturated(snn)
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x = np.ones((1, 1), "float32")
    y = [np.array([[0.0, 1.0]]), np.array([[0.0, 1.0, 0.0, 1.0]])]
    ours = model.evaluate(x, y, verbose=0, return_dict=True)
    twin = to_keras(model)
    theirs = twin.evaluate(x, y, verbose=0, return_dict=True)
    assert ours["o1_loss"] == pytest.approx(50.0, rel=1e-6)
    assert ours["o2_loss"] == pytest.approx(32.236, abs=1e-3)
    for key in ("loss", "o1_loss", "o2_loss"):
        assert ours[key] == pytest.approx(theirs[key], rel=1e-6), key
    _, g_ours = model.compute_gradients(x, y)
    _, g_theirs = keras_gradients(twin, x, y)
    assert_grads_close(g_ours, g_theirs, weight_names(model))
    grads = dict(zip(weight_names(model), g_ours))
    np.testing.assert_array_equal(grads["o1/kernel"], [[1.0, -1.0]])     # softmax(z) - y
    assert not grads["a/kernel"].any() and not grads["b/kernel"].any()


def test_dict_output_keys_name_losses_and_logs_as_keras():
    """For outputs given as a dict, Keras names the losses and log keys by the DICT KEYS
    (`first_loss`, `second_loss`), and a loss dict must use them."""
    def build(m):
        L = m.layers
        i = m.Input((4,), name="i")
        t = L.Dense(5, activation="relu", name="trunk")(i)
        return m.Model(i, {"first": L.Dense(3, activation="softmax", name="out1")(t),
                           "second": L.Dense(1, name="out2")(t)})
    snn.utils.set_random_seed(0)
    model = build(snn)
    (x, _), (y1, y2) = data("two_outputs", n=16)
    y = {"first": y1, "second": y2}
    keras.utils.set_random_seed(0)
    twin = build(keras)
    twin.compile(optimizer="sgd", loss={"first": "sparse_categorical_crossentropy",
                                        "second": "mse"})
    theirs = twin.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(theirs) == ["first_loss", "loss", "second_loss"]
    model.compile(optimizer="sgd", loss={"first": "sparse_categorical_crossentropy",
                                         "second": "mse"})
    ours = model.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(ours) == sorted(theirs)
    for key in ours:                           # the same graph code, the same seed
        assert ours[key] == pytest.approx(theirs[key], rel=1e-6), key


def test_the_twin_of_a_dict_output_model_compiles_with_dict_keys():
    """to_keras passes a dict-output model's losses, loss_weights and metrics keyed by the
    dict's keys; the twin logs the same keys and values."""
    snn.utils.set_random_seed(0)
    L = snn.layers
    i = snn.Input((4,), name="i")
    t = L.Dense(5, activation="relu", name="trunk")(i)
    model = snn.Model(i, {"first": L.Dense(3, activation="softmax", name="out1")(t),
                          "second": L.Dense(1, name="out2")(t)})
    model.compile(optimizer="adam", loss={"first": "sparse_categorical_crossentropy",
                                          "second": "mse"},
                  loss_weights={"second": 0.5}, metrics={"first": ["accuracy"]},
                  weighted_metrics={"second": ["mae"]})
    twin = to_keras(model)
    cfg = twin.get_compile_config()
    assert cfg["loss_weights"] == {"first": None, "second": 0.5}
    assert cfg["metrics"] == {"first": ["accuracy"]}
    (x, _), (y1, y2) = data("two_outputs", n=16)
    y, w = {"first": y1, "second": y2}, np.linspace(0.5, 1.5, 16)
    ours = model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    theirs = twin.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    assert sorted(ours) == sorted(theirs) == ["first_accuracy", "first_loss", "loss",
                                              "second_loss", "second_mae"]
    for key in ours:
        assert ours[key] == pytest.approx(theirs[key], rel=1e-6), key
