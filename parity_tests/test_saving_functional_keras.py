"""Functional models' files and configs both ways with Keras 3.15.1: scratchnn writes, Keras
loads and trains on; Keras writes, scratchnn loads and trains on. Five graphs: a residual
connection, two inputs with a shared layer and Add/Concatenate, two outputs compiled with
per-output losses, loss_weights and metrics, dict inputs and outputs, and a layer shared at
two depths, A(B(A(x))).

Each graph is built by the same code in both engines (`ARCHS[name](lib)`, lib = keras or
scratchnn), so after the same `set_random_seed` the two models have the same names and the
same weights, and their configs can be compared key for key.

What "the same" means (as in test_saving_keras.py):
- configs and to_json(): equal key for key, once Keras's `shared_object_id` (a Python id()
  it adds to repeated dtype policies) is left out; nothing else is left out;
- weights and optimizer state after loading: EXACTLY equal (the same float32 numbers);
- predictions: rtol 1e-6; the next training step in each engine from the loaded state:
  weights within OPTIMIZER_F32, the same History keys, the values within 1e-5.
"""

from __future__ import annotations

import json
import warnings

import keras
import numpy as np
import pytest

import scratchnn as snn

from .tolerances import OPTIMIZER_F32

PREDICT = dict(rtol=1e-6, atol=1e-7)


# -- the graphs, in either engine ------------------------------------------------------------
def residual(lib):
    L = lib.layers
    x = lib.Input((8,), name="x")
    h = L.Dense(8, name="d2")(L.Dense(8, activation="relu", name="d1")(x))
    h = L.Activation("relu", name="act")(L.Add(name="res")([x, h]))
    model = lib.Model(x, L.Dense(3, activation="softmax", name="cls")(h), name="residual")
    model.compile(optimizer=lib.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def two_in(lib):
    """Two inputs through one shared Dense (a layer with two calls), Add and Concatenate."""
    L = lib.layers
    a, b = lib.Input((4,), name="in_a"), lib.Input((4,), name="in_b")
    shared = L.Dense(3, name="shared")
    s_a, s_b = shared(a), shared(b)
    cat = L.Concatenate(name="concat")([s_a, L.Add(name="add")([s_a, s_b])])
    model = lib.Model([a, b], L.Dense(2, name="head")(cat), name="two_in")
    model.compile(optimizer=lib.optimizers.SGD(0.05, momentum=0.9), loss="mean_squared_error",
                  metrics=["mae"])
    return model


def two_out(lib):
    """Two outputs, a loss each with weights, metrics per output, a weighted metric."""
    L = lib.layers
    x = lib.Input((4,), name="x")
    trunk = L.Dense(5, activation="relu", name="trunk")(x)
    model = lib.Model(x, [L.Dense(3, activation="softmax", name="out1")(trunk),
                          L.Dense(1, name="out2")(trunk)], name="two_out")
    model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"],
                  loss_weights=[1.0, 0.5], metrics={"out1": ["accuracy"], "out2": ["mae"]},
                  weighted_metrics=[None, [lib.metrics.MeanSquaredError(name="wmse")]])
    return model


def dicts(lib):
    """Dict inputs and outputs (keys given unsorted, outputs' keys not their layers' names:
    compile's dicts and the log keys use the keys), a loss dict with weights, a Dropout."""
    L = lib.layers
    a, b = lib.Input((2,), name="zeta"), lib.Input((3,), name="alpha")
    cat = L.Concatenate(name="cat")([a, b])
    first = L.Dense(1, name="o_first")(cat)
    dropped = L.Dropout(0.0, name="drop")(cat)
    second = L.Dense(2, activation="softmax", name="o_second")(dropped)
    model = lib.Model({"zeta": a, "alpha": b}, {"second": second, "first": first},
                      name="dicts")
    model.compile(optimizer=lib.optimizers.RMSprop(0.01),
                  loss={"second": lib.losses.SparseCategoricalCrossentropy(), "first": "mse"},
                  loss_weights={"second": 1.0, "first": 0.25},
                  metrics={"second": ["accuracy"]})
    return model


def aba(lib):
    """A(B(A(x))): A's second call needs B's output, though the file lists A before B."""
    L = lib.layers
    x = lib.Input((3,), name="si")
    A, B = L.Dense(3, activation="tanh", name="A"), L.Dense(3, activation="relu", name="B")
    model = lib.Model(x, A(B(A(x))), name="aba")
    model.compile(optimizer=lib.optimizers.Adam(0.01, amsgrad=True), loss="mean_squared_error",
                  metrics=[lib.metrics.MeanAbsoluteError(name="m64", dtype="float64")])
    return model


ARCHS = {"residual": residual, "two_in": two_in, "two_out": two_out, "dicts": dicts, "aba": aba}


def data(name, n=16):
    rng = np.random.default_rng(0)

    def normal(*shape):
        return rng.normal(size=(n, *shape)).astype("float32")

    return {"residual": (normal(8), np.arange(n) % 3),
            "two_in": ([normal(4), normal(4)], normal(2)),
            "two_out": (normal(4), [np.arange(n) % 3, normal(1)]),
            "dicts": ({"zeta": normal(2), "alpha": normal(3)},
                      {"first": normal(1), "second": np.arange(n) % 2}),
            "aba": (normal(3), normal(3))}[name]


def build(lib, name):
    (keras.utils if lib is keras else snn.utils).set_random_seed(0)
    return ARCHS[name](lib)


# -- comparisons ------------------------------------------------------------------------------
def without_object_ids(value):
    """A config as JSON has it (tuples as lists), without Keras's shared_object_id keys."""
    value = json.loads(json.dumps(value))

    def strip(v):
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if k != "shared_object_id"}
        return [strip(x) for x in v] if isinstance(v, list) else v
    return strip(value)


def flat(outputs) -> list:
    if isinstance(outputs, dict):
        return [np.asarray(outputs[key]) for key in sorted(outputs)]
    if isinstance(outputs, (list, tuple)):
        return [np.asarray(o) for o in outputs]
    return [np.asarray(outputs)]


def assert_exactly_equal(ours: list, theirs: list, what: str):
    assert len(ours) == len(theirs), f"{what}: {len(ours)} arrays against {len(theirs)}"
    for i, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=f"{what} {i}")


def assert_same_predictions(model, k, x):
    for a, b in zip(flat(model.predict(x, verbose=0)), flat(k.predict(x, verbose=0))):
        np.testing.assert_allclose(a, b, **PREDICT)


def assert_same_state(model, k):
    assert_exactly_equal(model.get_weights(), k.get_weights(), "weight")
    assert_exactly_equal(model.optimizer.variables, k.optimizer.variables, "optimizer var")


def step(model, x, y) -> dict:
    return model.fit(x, y, batch_size=len(y if not isinstance(y, (list, dict)) else
                                          flat(y)[0]), epochs=1, shuffle=False,
                     verbose=0).history


def assert_same_step(model, k, x, y):
    """One more step in each engine: the same History keys and values, the same weights."""
    ours, theirs = step(model, x, y), step(k, x, y)
    assert list(ours) == list(theirs)
    for key in ours:
        assert ours[key] == pytest.approx(theirs[key], rel=1e-5, abs=1e-6), key
    for a, b in zip(model.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, **OPTIMIZER_F32)


# -- configs ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(ARCHS))
def test_get_config_and_to_json_are_keras_key_for_key(name):
    """Top-level keys module, class_name, config, registered_name, build_config,
    compile_config; config keys name, trainable, layers, input_layers, output_layers; each
    layer's name and inbound_nodes (keras_history re-counted per model), merge layers'
    build_config as the list of their input shapes: all as Keras writes them."""
    ours, theirs = build(snn, name), build(keras, name)
    assert ours.get_config() == without_object_ids(theirs.get_config())
    assert json.loads(ours.to_json()) == without_object_ids(json.loads(theirs.to_json()))
    assert_exactly_equal(ours.get_weights(), theirs.get_weights(), "initial weight")


def test_compile_config_with_a_loss_none_and_dict_metrics_is_keras():
    """A None loss in a dict, per-output metrics with a None, a partial dict of weighted
    metrics, loss weights. One difference: Keras writes loss_weights exactly as given, the
    weight of an output WITHOUT a loss included; scratchnn's compile keeps no weight for
    such an output (it weighs nothing), so its file says None there."""
    models = []
    for lib in (snn, keras):
        model = build(lib, "two_out")
        model.compile(optimizer=lib.optimizers.SGD(0.1),
                      loss={"out1": "sparse_categorical_crossentropy", "out2": None},
                      loss_weights={"out1": 2.0, "out2": 0.5},
                      metrics=[["accuracy"], None], weighted_metrics={"out2": ["mae"]})
        models.append(model)
    ours, theirs = (json.loads(m.to_json())["compile_config"] for m in models)
    assert theirs["loss_weights"] == {"out1": 2.0, "out2": 0.5}
    assert ours.pop("loss_weights") == {"out1": 2.0, "out2": None}
    assert ours == without_object_ids({k: v for k, v in theirs.items() if k != "loss_weights"})


def test_a_file_with_a_none_loss_trains_on_in_keras_as_here(tmp_path):
    """Keras reads the None weight of the loss-less output and trains the same step (the
    output without a loss gets no gradient in either engine)."""
    x, y = data("two_out")
    model = build(snn, "two_out")
    model.compile(optimizer="sgd", loss={"out1": "sparse_categorical_crossentropy", "out2": None},
                  loss_weights={"out1": 2.0}, metrics=[["accuracy"], None])
    step(model, x, y)
    model.save(tmp_path / "m.keras")
    k = keras.models.load_model(tmp_path / "m.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # Keras: "Gradients do not exist for out2/..."
        assert_same_step(model, k, x, y)


# -- files both ways ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(ARCHS))
def test_files_both_ways_and_training_resumes_as_in_keras(name, tmp_path):
    x, y = data(name)
    model = build(snn, name)
    step(model, x, y)                                  # optimizer state exists: 1 step

    # scratchnn writes .keras -> Keras loads it: predictions, weights, optimizer state.
    model.save(tmp_path / "ours.keras")
    k = keras.models.load_model(tmp_path / "ours.keras")
    assert [layer.name for layer in k.layers] == [layer.name for layer in model.layers]
    assert_same_predictions(model, k, x)
    assert_same_state(model, k)

    # scratchnn writes .weights.h5 -> Keras's load_weights into the same graph built by Keras.
    model.save_weights(tmp_path / "ours.weights.h5")
    twin = build(keras, name)
    twin.optimizer.build(twin.trainable_variables)
    twin.load_weights(tmp_path / "ours.weights.h5")
    assert_same_state(model, twin)

    # Both take the next step, compiled alike (same losses, weights, metrics).
    assert_same_step(model, k, x, y)

    # Keras writes .keras and .weights.h5 -> scratchnn loads them exactly...
    k.save(tmp_path / "theirs.keras")
    k.save_weights(tmp_path / "theirs.weights.h5")
    loaded = snn.models.load_model(tmp_path / "theirs.keras")
    assert type(loaded).__name__ == "Functional"
    assert loaded.get_config() == without_object_ids(k.get_config())
    assert_same_predictions(loaded, k, x)
    assert_same_state(loaded, k)
    fresh = build(snn, name)
    fresh.load_weights(tmp_path / "theirs.weights.h5")
    assert_same_state(fresh, k)

    # ... and goes on from Keras's state as Keras does.
    assert_same_step(loaded, k, x, y)


def test_a_frozen_graph_keeps_its_flags_both_ways(tmp_path):
    """Measured: Keras reloads a model saved with model.trainable = False with the model
    frozen and each layer as its entry says (the InputLayer trainable, Dense frozen)."""
    ours = build(snn, "residual")
    ours.trainable = False
    ours.save(tmp_path / "ours.keras")
    theirs = build(keras, "residual")
    theirs.trainable = False
    theirs.save(tmp_path / "theirs.keras")
    for loaded in (keras.models.load_model(tmp_path / "ours.keras"),
                   snn.models.load_model(tmp_path / "theirs.keras")):
        assert loaded.trainable is False and len(loaded.trainable_weights) == 0
        assert [layer.trainable for layer in loaded.layers] == [True] + [False] * 5


# -- model_from_json and clone_model ------------------------------------------------------------
@pytest.mark.parametrize("name", ["two_in", "dicts", "aba"])
def test_model_from_json_both_ways_compiles_as_keras_does(name):
    """Keras's model_from_json compiles the model when the JSON holds a compile_config."""
    ours, theirs = build(snn, name), build(keras, name)
    from_ours = keras.models.model_from_json(ours.to_json())
    from_theirs = snn.models.model_from_json(theirs.to_json())
    assert from_ours.compiled and from_theirs.compiled
    assert from_theirs.get_config() == without_object_ids(from_ours.get_config())
    assert json.loads(from_theirs.to_json()) == without_object_ids(
        json.loads(from_ours.to_json()))


@pytest.mark.parametrize("name", list(ARCHS))
def test_clone_model_keeps_names_and_draws_the_weights_keras_draws(name):
    """After the same seed, the clones' NEW weights are Keras's clone's, bit for bit: the
    layers are re-created in the same order, each initializer drawing a new seed (from
    Python's generator, which both engines share: each builds and clones in turn)."""
    ours = build(snn, name)
    ours_clone = snn.models.clone_model(ours)
    theirs = build(keras, name)
    theirs_clone = keras.models.clone_model(theirs)
    assert [layer.name for layer in ours_clone.layers] == [layer.name for layer in ours.layers]
    assert ours_clone.get_config() == without_object_ids(theirs_clone.get_config())
    assert_exactly_equal(ours_clone.get_weights(), theirs_clone.get_weights(), "clone weight")
    assert any(not np.array_equal(a, b)
               for a, b in zip(ours.get_weights(), ours_clone.get_weights()))
    assert ours_clone.compiled and ours_clone.optimizer.iterations == 0


def sequential(lib):
    model = lib.Sequential([lib.Input((5,), name="inp"), lib.layers.Dense(4, name="d1"),
                            lib.layers.Dropout(0.5, name="drop"),
                            lib.layers.Dense(2, activation="softmax", name="d2")], name="seq")
    model.compile(optimizer=lib.optimizers.Adam(0.01), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_a_sequentials_config_json_and_clone_are_kerass():
    """Sequential's get_config/to_json key for key, Sequential.from_config and
    model_from_json both ways, and its clone's new weights (Input and names kept)."""
    snn.utils.set_random_seed(0)
    ours = sequential(snn)
    ours_clone = snn.models.clone_model(ours)
    keras.utils.set_random_seed(0)
    theirs = sequential(keras)
    theirs_clone = keras.models.clone_model(theirs)
    assert ours.get_config() == without_object_ids(theirs.get_config())
    assert json.loads(ours.to_json()) == without_object_ids(json.loads(theirs.to_json()))
    assert ours_clone.get_config() == without_object_ids(theirs_clone.get_config())
    assert_exactly_equal(ours_clone.get_weights(), theirs_clone.get_weights(), "clone weight")
    assert snn.Sequential.from_config(theirs.get_config()).get_config() == ours.get_config()
    from_ours = keras.models.model_from_json(ours.to_json())
    assert from_ours.compiled and json.loads(ours.to_json()) == without_object_ids(
        json.loads(from_ours.to_json()))
    assert json.loads(snn.models.model_from_json(theirs.to_json()).to_json()) == \
        json.loads(ours.to_json())


def test_an_unnamed_inputs_clone_takes_the_tensors_name_as_keras():
    models = []
    for lib in (snn, keras):
        (keras.utils if lib is keras else snn.utils).set_random_seed(1)
        x = lib.Input((3,))
        models.append(lib.models.clone_model(lib.Model(x, lib.layers.Dense(2, name="d")(x))))
    assert [layer.name for layer in models[0].layers] == \
        [layer.name for layer in models[1].layers] == ["keras_tensor", "d"]


# -- what scratchnn refuses, in graph files Keras wrote -----------------------------------------
def _with_dot():
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    return keras.Model([a, b], keras.layers.Dot(axes=1, name="dot")([a, b]))


def _nested():
    i = keras.Input((3,), name="i")
    inner = keras.Model(i, keras.layers.Dense(2, name="d")(i), name="inner")
    j = keras.Input((3,), name="j")
    return keras.Model(j, inner(j), name="outer")


def _raw_op():
    i = keras.Input((3,), name="i")
    return keras.Model(i, keras.layers.Dense(2, name="d")(keras.ops.relu(i)))


@pytest.mark.parametrize("make, says", [
    (_with_dot, r"layer 2 'dot' \(Dot\): scratchnn has no Dot layer"),
    (_nested, r"layer 1 'inner' \(Functional\) is a model \(Functional\) used as a layer; "
              "nested models are not supported"),
    (_raw_op, r"\(Relu\) is a raw keras.ops operation \(Relu from keras.src.ops.nn\)"),
])
def test_graphs_scratchnn_cannot_run_are_refused_naming_the_entry(make, says, tmp_path):
    make().save(tmp_path / "k.keras")
    with pytest.raises(ValueError, match=says) as info:
        snn.models.load_model(tmp_path / "k.keras")
    assert "k.keras" in str(info.value)


def every_layer(lib):
    """Every layer class scratchnn has, in one graph (merge layers on two pooled branches)."""
    L = lib.layers
    x = lib.Input((6, 6, 2), name="img")
    h = x
    for layer in (L.Conv2D(3, 3, padding="same", activation="relu", name="conv"),
                  L.ZeroPadding2D(1, name="pad"), L.MaxPooling2D(2, name="max_pool"),
                  L.AveragePooling2D(1, name="avg_pool"), L.BatchNormalization(name="bn"),
                  L.Dropout(0.25, name="drop"), L.ReLU(max_value=6.0, name="relu"),
                  L.LeakyReLU(0.1, name="leaky"), L.ELU(0.5, name="elu"),
                  L.Activation("tanh", name="tanh"), L.Reshape((4, 4, 3), name="reshape")):
        h = layer(h)
    g1 = L.GlobalAveragePooling2D(name="gap")(h)
    g2 = L.GlobalMaxPooling2D(name="gmp")(h)
    merged = [cls(name=cls.__name__.lower())([g1, g2]) for cls in (
        L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum)]
    cat = L.Concatenate(axis=-1, name="cat")([*merged, L.Flatten(name="flat")(h)])
    return lib.Model(x, L.Dense(2, name="out")(cat), name="every_layer")


def test_every_layer_class_in_a_graph_is_keras_config_and_keras_file_loads(tmp_path):
    """Each class's config, build_config and call kwargs (BatchNormalization's mask=None,
    Dropout's training=False) as Keras writes them; Keras's file of the graph loads here
    with the same weights and predictions."""
    keras.utils.set_random_seed(0)
    theirs = every_layer(keras)
    snn.utils.set_random_seed(0)
    ours = every_layer(snn)
    assert ours.get_config() == without_object_ids(theirs.get_config())
    theirs.save(tmp_path / "theirs.keras")
    loaded = snn.models.load_model(tmp_path / "theirs.keras")
    x = np.random.default_rng(0).normal(size=(4, 6, 6, 2)).astype("float32")
    assert_exactly_equal(loaded.get_weights(), theirs.get_weights(), "weight")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
