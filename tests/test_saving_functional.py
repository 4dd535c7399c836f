"""Functional models in files and configs: get_config/from_config, to_json/model_from_json,
clone_model, .keras/.weights.h5/.weights.npz, exact resumption, and the graph files refused
by name. The Keras 3.15.1 facts pinned here were read off Keras's own files and objects;
parity_tests/test_saving_functional_keras.py checks them against Keras itself."""

from __future__ import annotations

import copy
import json
import zipfile

import h5py
import numpy as np
import pytest

import scratchnn as snn
from scratchnn import nodes

L = snn.layers


# -- the graphs -------------------------------------------------------------------------------
def residual():
    x = snn.Input((6,), name="x")
    h = L.Dense(6, name="d2")(L.Dense(6, activation="relu", name="d1")(x))
    h = L.Activation("relu", name="act")(L.Add(name="res")([x, h]))
    return snn.Model(x, L.Dense(3, activation="softmax", name="cls")(h), name="residual")


def two_in():
    a, b = snn.Input((4,), name="in_a"), snn.Input((4,), name="in_b")
    shared = L.Dense(3, name="shared")
    s_a, s_b = shared(a), shared(b)
    cat = L.Concatenate(name="concat")([s_a, L.Add(name="add")([s_a, s_b])])
    return snn.Model([a, b], L.Dense(2, name="head")(cat), name="two_in")


def two_out():
    x = snn.Input((4,), name="x")
    trunk = L.Dense(5, activation="relu", name="trunk")(x)
    return snn.Model(x, [L.Dense(3, activation="softmax", name="out1")(trunk),
                         L.Dense(1, name="out2")(trunk)], name="two_out")


def dicts():
    a, b = snn.Input((2,), name="zeta"), snn.Input((3,), name="alpha")
    cat = L.Concatenate(name="cat")([a, b])
    dropped = L.Dropout(0.0, name="drop")(cat)
    second = L.Dense(2, activation="softmax", name="o_second")(dropped)
    first = L.Dense(1, name="o_first")(cat)
    return snn.Model({"zeta": a, "alpha": b}, {"second": second, "first": first}, name="dicts")


def aba():
    x = snn.Input((3,), name="si")
    A, B = L.Dense(3, activation="tanh", name="A"), L.Dense(3, activation="relu", name="B")
    return snn.Model(x, A(B(A(x))), name="aba")


GRAPHS = {"residual": residual, "two_in": two_in, "two_out": two_out, "dicts": dicts, "aba": aba}


def compiled(name):
    model = GRAPHS[name]()
    kwargs = {
        "residual": dict(optimizer=snn.optimizers.Adam(0.01),
                         loss="sparse_categorical_crossentropy", metrics=["accuracy"]),
        "two_in": dict(optimizer=snn.optimizers.SGD(0.05, momentum=0.9), loss="mse",
                       metrics=["mae"]),
        "two_out": dict(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"],
                        loss_weights=[1.0, 0.5], metrics={"out1": ["accuracy"], "out2": ["mae"]},
                        weighted_metrics=[None, [snn.metrics.MeanSquaredError(name="wmse")]]),
        "dicts": dict(optimizer=snn.optimizers.RMSprop(0.01),
                      loss={"second": snn.losses.SparseCategoricalCrossentropy(), "first": "mse"},
                      loss_weights={"second": 1.0, "first": 0.25},
                      metrics={"second": ["accuracy"]}),
        "aba": dict(optimizer=snn.optimizers.Adam(0.01, amsgrad=True), loss="mse",
                    metrics=[snn.metrics.MeanAbsoluteError(name="m64", dtype="float64")]),
    }[name]
    model.compile(**kwargs)
    return model


def data(name, n=12):
    rng = np.random.default_rng(0)

    def normal(*shape):
        return rng.normal(size=(n, *shape)).astype("float32")

    return {"residual": (normal(6), np.arange(n) % 3),
            "two_in": ([normal(4), normal(4)], normal(2)),
            "two_out": (normal(4), [np.arange(n) % 3, normal(1)]),
            "dicts": ({"zeta": normal(2), "alpha": normal(3)},
                      {"first": normal(1), "second": np.arange(n) % 2}),
            "aba": (normal(3), normal(3))}[name]


def step(model, x, y):
    return model.fit(x, y, batch_size=6, epochs=1, shuffle=False, verbose=0).history


def flat(outputs) -> list:
    if isinstance(outputs, dict):
        return [outputs[key] for key in sorted(outputs)]
    return list(outputs) if isinstance(outputs, list) else [outputs]


def assert_same_state(a, b):
    for x, y in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(a.optimizer.variables, b.optimizer.variables, strict=True):
        np.testing.assert_array_equal(x, y)


# -- get_config / from_config -------------------------------------------------------------------
@pytest.mark.parametrize("name", list(GRAPHS))
def test_from_config_rebuilds_the_same_graph_with_new_weights(name):
    """Keras's from_config: same layers, names, calls and structures; weights drawn anew;
    not compiled; the config given is left as it was (Keras's pops its keys)."""
    model = compiled(name)
    config = model.get_config()
    kept = copy.deepcopy(config)
    rebuilt = snn.Model.from_config(config)
    assert config == kept
    assert type(rebuilt) is type(model) and rebuilt.name == model.name
    assert rebuilt.get_config() == config
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]
    assert not rebuilt.compiled
    assert any(not np.array_equal(a, b) for a, b in zip(model.get_weights(),
                                                        rebuilt.get_weights()))
    x, _ = data(name)
    rebuilt.set_weights(model.get_weights())
    for a, b in zip(flat(rebuilt.predict(x, verbose=0)), flat(model.predict(x, verbose=0))):
        np.testing.assert_array_equal(a, b)


def test_config_keys_and_calls_are_keras():
    """Keras 3.15's Functional.get_config: keys name, trainable, layers, input_layers,
    output_layers; entry keys module, class_name, config, registered_name, [build_config],
    name, inbound_nodes; a shared layer's second call refers to its first call's
    producer; a merge call takes one LIST argument and its build_config is the list of its
    input shapes; an InputLayer has no calls."""
    config = two_in().get_config()
    assert list(config) == ["name", "trainable", "layers", "input_layers", "output_layers"]
    entries = {entry["name"]: entry for entry in config["layers"]}
    assert list(entries) == ["in_a", "in_b", "shared", "add", "concat", "head"]
    assert list(entries["shared"]) == ["module", "class_name", "config", "registered_name",
                                       "build_config", "name", "inbound_nodes"]
    assert list(entries["in_a"]) == ["module", "class_name", "config", "registered_name",
                                     "name", "inbound_nodes"]
    assert entries["in_a"]["inbound_nodes"] == []

    def history(arg):
        assert arg["class_name"] == "__keras_tensor__"
        return arg["config"]["keras_history"]
    shared_calls = entries["shared"]["inbound_nodes"]
    assert [history(call["args"][0]) for call in shared_calls] == [["in_a", 0, 0],
                                                                  ["in_b", 0, 0]]
    add_args = entries["add"]["inbound_nodes"][0]["args"]
    assert len(add_args) == 1 and [history(a) for a in add_args[0]] == [["shared", 0, 0],
                                                                        ["shared", 1, 0]]
    assert entries["add"]["build_config"] == {"input_shape": [[None, 3], [None, 3]]}
    assert config["input_layers"] == [["in_a", 0, 0], ["in_b", 0, 0]]
    assert config["output_layers"] == ["head", 0, 0]


def test_structures_of_inputs_and_outputs_and_node_kwargs():
    """A dict keeps its own key order; Dropout's call records training=False and
    BatchNormalization's mask=None, as Keras records them."""
    config = dicts().get_config()
    assert config["input_layers"] == {"zeta": ["zeta", 0, 0], "alpha": ["alpha", 0, 0]}
    assert config["output_layers"] == {"second": ["o_second", 0, 0],
                                       "first": ["o_first", 0, 0]}
    assert config["layers"][3]["inbound_nodes"][0]["kwargs"] == {"training": False}
    x = snn.Input((3,), name="x")
    model = snn.Model([x], [L.BatchNormalization(name="bn")(x)])
    config = model.get_config()
    assert config["input_layers"] == [["x", 0, 0]] and config["output_layers"] == [["bn", 0, 0]]
    assert config["layers"][1]["inbound_nodes"][0]["kwargs"] == {"mask": None}


def test_every_merge_layer_round_trips_and_a_shared_layers_second_call_is_an_output():
    a, b = snn.Input((3,), name="a"), snn.Input((1, 3), name="b")
    merged = [cls(name=cls.__name__.lower())([a, b]) for cls in (
        L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum)]
    model = snn.Model([a, b], L.Concatenate(axis=1, name="cat")(merged))
    config = model.get_config()
    assert config["layers"][2]["build_config"] == {"input_shape": [[None, 3], [None, 1, 3]]}
    again = snn.Model.from_config(config)
    assert [type(layer) for layer in again.layers] == [type(layer) for layer in model.layers]
    assert again.get_config() == config and again.get_layer("cat").axis == 1
    assert aba().get_config()["output_layers"] == ["A", 1, 0]


def test_node_indices_count_only_the_calls_of_this_model():
    """A layer called outside the model first: inside it, its call is call 0 (Keras
    re-counts node indices per model)."""
    shared = L.Dense(2, name="shared")
    shared(snn.Input((3,), name="elsewhere"))            # call 0 of the layer, not ours
    x = snn.Input((3,), name="x")
    model = snn.Model(x, L.Dense(1, name="head")(shared(x)))
    entries = {entry["name"]: entry for entry in model.get_config()["layers"]}
    assert len(entries["shared"]["inbound_nodes"]) == 1
    assert (entries["head"]["inbound_nodes"][0]["args"][0]["config"]["keras_history"]
            == ["shared", 0, 0])
    assert snn.Model.from_config(model.get_config()).get_config() == model.get_config()


def test_a_frozen_model_keeps_its_flag_and_each_layers_own():
    """Measured in Keras: from_config of a model saved with trainable=False gives the model
    frozen, its InputLayer trainable and its layers as their entries say."""
    model = residual()
    model.trainable = False
    rebuilt = snn.Model.from_config(model.get_config())
    assert rebuilt.trainable is False and rebuilt.trainable_weights == []
    assert [layer.trainable for layer in rebuilt.layers] == [True] + [False] * 5


def test_sequential_config_round_trips_and_each_kind_refuses_the_other():
    seq = snn.Sequential([snn.Input((3,), name="inp"), L.Dense(2, name="d")], name="seq")
    config = seq.get_config()
    assert list(config) == ["name", "trainable", "dtype", "layers", "build_input_shape"]
    again = snn.Sequential.from_config(config)
    assert type(again) is snn.Sequential and again.get_config() == config
    with pytest.raises(ValueError, match=r"Functional model's config .* use "
                                         r"snn.Model.from_config"):
        snn.Sequential.from_config(residual().get_config())
    with pytest.raises(ValueError, match=r"needs \['input_layers', 'output_layers'\] \(a "
                                         r"Sequential's config goes to snn.Sequential"):
        snn.Model.from_config(config)


# -- to_json / model_from_json -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["two_out", "dicts", "aba"])
def test_model_from_json_gives_the_same_json_compiled_as_keras_does(name):
    """Keras's JSON is the .keras file's config.json; model_from_json compiles the model when
    it holds a compile_config (measured in Keras 3.15), with NEW weights."""
    model = compiled(name)
    text = model.to_json()
    assert json.loads(text)["class_name"] == "Functional"
    again = snn.models.model_from_json(text)
    assert again.to_json() == text and again.compiled and again.optimizer.iterations == 0
    x, y = data(name)
    assert list(step(again, x, y)) == list(step(model, x, y))
    assert model.to_json(indent=2) == json.dumps(json.loads(text), indent=2)


def test_model_from_json_refuses_what_is_not_a_model():
    with pytest.raises(ValueError, match=r"model_from_json\(json_string\)': it is not valid"):
        snn.models.model_from_json("{not json")
    with pytest.raises(ValueError, match="holds a Keras 'Dense', not a Sequential or a "
                                         "Functional"):
        snn.models.model_from_json(json.dumps({"module": "keras.layers", "class_name": "Dense",
                                               "config": {}}))


# -- clone_model --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(GRAPHS))
def test_clone_model_keeps_names_draws_new_weights_and_compiles_anew(name):
    model = compiled(name)
    x, y = data(name)
    step(model, x, y)
    clone = snn.models.clone_model(model)
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    assert clone.get_config() == model.get_config()
    assert all(new is not old for new, old in zip(clone.layers, model.layers))
    assert any(not np.array_equal(a, b) for a, b in zip(model.get_weights(),
                                                        clone.get_weights()))
    assert clone.compiled and clone.optimizer is not model.optimizer
    assert clone.optimizer.iterations == 0
    assert clone.optimizer.get_config() == model.optimizer.get_config()
    assert list(step(clone, x, y)) == list(step(model, x, y))


def test_a_shared_layer_is_cloned_once_and_called_as_often():
    clone = snn.models.clone_model(aba())
    a = clone.get_layer("A")
    assert len([node for node in clone.nodes if node.layer is a]) == 2
    assert len(clone.weights) == 4


def test_clone_of_a_sequential_keeps_its_input_and_frozen_flag():
    seq = snn.Sequential([snn.Input((3,), name="inp"), L.Dense(2, name="d")], name="seq")
    seq.trainable = False
    clone = snn.models.clone_model(seq)
    assert clone.name == "seq" and clone.input_spec.name == "inp"
    assert clone.trainable is False and [layer.name for layer in clone.layers] == ["d"]


def test_an_unnamed_input_is_cloned_under_its_tensors_name():
    """Keras re-creates each Input with the input TENSOR's name: for an unnamed Input that is
    'keras_tensor...', not the layer's 'input_layer...' (measured)."""
    x = snn.Input((3,))
    model = snn.Model(x, L.Dense(2, name="d")(x))
    assert model.layers[0].name != x.name
    clone = snn.models.clone_model(model)
    assert [layer.name for layer in clone.layers] == [x.name, "d"]


def test_clone_model_refuses_keras_arguments_it_lacks():
    with pytest.raises(ValueError, match="clone_function=.* is not supported by scratchnn"):
        snn.models.clone_model(residual(), clone_function=lambda layer: layer)


# -- weights files ------------------------------------------------------------------------------
def test_weights_h5_groups_follow_model_layers_with_inputs_and_merge_layers(tmp_path):
    """Keras's layout for graphs: snake_case(class)[_N] over model.layers, InputLayers and
    merge layers with empty vars groups, a shared layer once; each group's name attribute
    is the layer's name."""
    model = two_in()
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5") as f:
        groups = {key: (f[f"layers/{key}/vars"].attrs["name"], len(f[f"layers/{key}/vars"]))
                  for key in f["layers"]}
    assert groups == {"input_layer": ("in_a", 0), "input_layer_1": ("in_b", 0),
                      "dense": ("shared", 2), "add": ("add", 0),
                      "concatenate": ("concat", 0), "dense_1": ("head", 2)}


def test_sequential_weights_files_have_no_input_layer_group(tmp_path):
    seq = snn.Sequential([snn.Input((3,)), L.Dense(2)])
    seq.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5") as f:
        assert list(f["layers"]) == ["dense"]


@pytest.mark.parametrize("file", ["m.keras", "w.weights.h5", "w.weights.npz"])
@pytest.mark.parametrize("name", list(GRAPHS))
def test_resuming_from_a_file_gives_the_uninterrupted_run_bit_for_bit(tmp_path, name, file):
    x, y = data(name)
    snn.utils.set_random_seed(3)
    straight = compiled(name)
    step(straight, x, y)
    step(straight, x, y)

    snn.utils.set_random_seed(3)
    first = compiled(name)
    step(first, x, y)
    path = tmp_path / file
    (first.save if file.endswith(".keras") else first.save_weights)(path)
    if file.endswith(".keras"):
        resumed = snn.models.load_model(path)
    else:
        resumed = compiled(name)
        resumed.load_weights(path)
    assert_same_state(resumed, first)
    assert step(resumed, x, y) == step(first, x, y)
    assert_same_state(resumed, straight)


def test_a_schedule_never_stepped_saves_iterations_alone(tmp_path):
    """Keras lists [iterations] before the first step when the rate is a schedule (no
    learning-rate variable), [iterations, learning_rate] otherwise."""
    model = residual()
    schedule = snn.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    model.compile(optimizer=snn.optimizers.Adam(schedule), loss="mse")
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5") as f:
        assert list(f["optimizer/vars"]) == ["0"] and f["optimizer/vars/0"].dtype == np.int64


# -- compile_config ------------------------------------------------------------------------------
def _compile_config(model):
    return json.loads(model.to_json())["compile_config"]


def test_multi_output_compile_config_keeps_compiles_structures():
    cfg = _compile_config(compiled("two_out"))
    assert cfg["loss"] == ["sparse_categorical_crossentropy", "mse"]
    assert cfg["loss_weights"] == [1.0, 0.5]
    assert cfg["metrics"] == {"out1": ["accuracy"], "out2": ["mae"]}
    assert cfg["weighted_metrics"] == [None, [{
        "module": "keras.metrics", "class_name": "MeanSquaredError",
        "config": {"name": "wmse", "dtype": "float32"}, "registered_name": None}]]
    cfg = _compile_config(compiled("dicts"))
    assert cfg["loss"]["first"] == "mse" and cfg["loss"]["second"]["class_name"] == \
        "SparseCategoricalCrossentropy"
    assert cfg["loss_weights"] == {"second": 1.0, "first": 0.25}


def test_a_metric_is_written_with_its_own_dtype_and_read_back_with_it(tmp_path):
    model = compiled("aba")
    assert _compile_config(model)["metrics"][0]["config"]["dtype"] == "float64"
    model.save(tmp_path / "m.keras")
    loaded = snn.models.load_model(tmp_path / "m.keras")
    x, y = data("aba")
    loaded.evaluate(x, y, verbose=0)
    (metric,) = loaded._compile_metrics.metrics
    assert metric.name == "m64" and metric.dtype == np.float64


def test_a_none_loss_and_weights_read_back_into_the_same_training():
    model = two_out()
    model.compile(optimizer="sgd", loss={"out1": "sparse_categorical_crossentropy", "out2": None},
                  loss_weights={"out1": 2.0}, metrics=[["accuracy"], None])
    again = snn.models.model_from_json(model.to_json())
    again.set_weights(model.get_weights())
    x, y = data("two_out")
    assert step(again, x, y) == step(model, x, y)


def test_a_single_loss_for_two_outputs_with_weights_is_written_per_output():
    """Keras refuses one loss with a list of weights ("loss_weights must match the number of
    losses"): the file lists the loss once per output."""
    model = two_out()
    model.compile(optimizer="sgd", loss="mse", loss_weights=[1.0, 2.0])
    assert _compile_config(model)["loss"] == ["mse", "mse"]


# -- refused by name, nothing built --------------------------------------------------------------
def graph_file(tmp_path, edit, make=two_in):
    """A scratchnn .keras file of a graph whose config.json `edit` changes."""
    path = tmp_path / "g.keras"
    model = make()
    model.compile(optimizer="adam", loss="mse")
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    cfg = json.loads(members["config.json"])
    edit(cfg["config"], {entry["name"]: entry for entry in cfg["config"]["layers"]})
    members["config.json"] = json.dumps(cfg).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for member, data_ in members.items():
            zf.writestr(member, data_)
    return path


def _history(entry, call=0, arg=0):
    args = entry["inbound_nodes"][call]["args"][0]
    return (args[arg] if isinstance(args, list) else args)["config"]["keras_history"]


def _set_history(name, value, call=0, arg=0):
    def edit(cfg, by_name):
        _history(by_name[name], call, arg)[:] = value
    return edit


@pytest.mark.parametrize("edit, says", [
    (_set_history("head", ["nowhere", 0, 0]),
     r"layer 5 'head' \(Dense\) call 0 refers to layer 'nowhere', which does not exist"),
    (_set_history("add", ["shared", 2, 0], arg=1),
     r"layer 3 'add' \(Add\) call 0 refers to call 2 of 'shared', which is called 2 time"),
    (_set_history("shared", ["head", 0, 0]),
     r"the graph has a cycle, or calls whose inputs are never made: layer 2 'shared' "
     r"\(Dense\) call 0"),
    (_set_history("head", ["concat", 0, 1]), r"tensor index 1 of 'concat': scratchnn's layers "
                                             r"make one output"),
    (lambda cfg, by: by["concat"].update(class_name="Dot"),
     r"layer 4 'concat' \(Dot\): scratchnn has no Dot layer"),
    (lambda cfg, by: by["add"].update(class_name="Add", module="keras.src.ops.numpy"),
     r"layer 3 'add' \(Add\) is a raw keras.ops operation \(Add from keras.src.ops.numpy\)"),
    (lambda cfg, by: by["head"].update(class_name="Functional"),
     r"layer 5 'head' \(Functional\) is a model \(Functional\) used as a layer"),
    (lambda cfg, by: by["in_b"].update(inbound_nodes=by["add"]["inbound_nodes"]),
     r"layer 1 'in_b' \(InputLayer\): an InputLayer is never called"),
    (lambda cfg, by: by["head"].update(name="top"),
     r"layer 5 'head' \(Dense\): the entry is named 'top', its config 'head'"),
    (lambda cfg, by: [by["head"].update(name="shared"), by["head"]["config"].update(
        name="shared")], r"layer 5 'shared' \(Dense\): two layers are named 'shared'"),
    (lambda cfg, by: by["head"]["inbound_nodes"][0]["kwargs"].update(mask=[1]),
     r"layer 5 'head' \(Dense\) call 0: keyword argument mask=\[1\] is not supported"),
    (lambda cfg, by: by["head"]["inbound_nodes"][0]["args"].append(1.0),
     r"'head' \(Dense\) call 0 has 2 positional arguments"),
    (lambda cfg, by: cfg.update(input_layers=[["shared", 0, 0], ["in_b", 0, 0]]),
     r"input_layers\[0\]: model inputs must be InputLayers; 'shared' is Dense"),
    (lambda cfg, by: cfg.update(output_layers=["head", 1, 0]),
     r"output_layers refers to call 1 of 'head', which is called 1 time"),
    (lambda cfg, by: by["head"].update(inbound_nodes=[]),
     r"layer 5 'head' \(Dense\) is never called in the graph"),
    (lambda cfg, by: by["head"]["config"].update(units=10**9),
     r"describes .* weights .* but the weights file holds only"),
])
def test_damaged_or_unsupported_graph_files_are_refused_by_name_with_nothing_built(
        tmp_path, edit, says, monkeypatch):
    path = graph_file(tmp_path, edit)
    calls = []
    real_init = nodes.Node.__init__
    monkeypatch.setattr(nodes.Node, "__init__",
                        lambda self, *a, **k: calls.append(1) or real_init(self, *a, **k))
    with pytest.raises(ValueError, match=says) as info:
        snn.models.load_model(path)
    assert "g.keras" in str(info.value)
    assert calls == []                                  # not one Input, not one call made


def test_a_shape_that_does_not_fit_names_the_call(tmp_path):
    def edit(cfg, by):
        by["in_b"]["config"]["batch_shape"] = [None, 5]
    with pytest.raises(ValueError, match=r"layer 2 'shared' \(Dense\) call 1: Dense 'shared' "
                                         r"was built for inputs \(None, 4\)"):
        snn.models.load_model(graph_file(tmp_path, edit))


# -- Keras's order of the calls, Keras 2's form -------------------------------------------------
def test_a_layer_shared_at_two_depths_loads_whichever_order_the_file_lists(tmp_path):
    """A(B(A(x))): the file lists A before B; A's second call waits for B's first (Keras
    re-queues it). Listing B first works too."""
    model = aba()
    config = model.get_config()
    reordered = copy.deepcopy(config)
    reordered["layers"] = [reordered["layers"][0], reordered["layers"][2], reordered["layers"][1]]
    for cfg in (config, reordered):
        again = snn.Model.from_config(cfg)
        assert [layer.name for layer in again.layers] == ["si", "A", "B"]
        again.set_weights(model.get_weights())
        x, _ = data("aba")
        np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_keras_2_node_lists_are_read():
    """Keras 2 wrote a call as [[layer name, node index, tensor index, kwargs], ...] and the
    InputLayer's shape as batch_input_shape."""
    model = two_in()
    config = model.get_config()
    for entry in config["layers"]:
        entry.pop("module"), entry.pop("registered_name"), entry.pop("build_config", None)
        if entry["class_name"] == "InputLayer":
            entry["config"]["batch_input_shape"] = entry["config"].pop("batch_shape")
        calls = []
        for node in entry["inbound_nodes"]:
            args = node["args"][0]
            calls.append([[*arg["config"]["keras_history"], {}]
                          for arg in (args if isinstance(args, list) else [args])])
        entry["inbound_nodes"] = calls
    config["output_layers"] = [config["output_layers"]]
    again = snn.Model.from_config(config)
    assert [layer.name for layer in again.layers] == [layer.name for layer in model.layers]
    again.set_weights(model.get_weights())
    x, _ = data("two_in")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_users_own_loss_class_is_left_out_with_a_warning_and_the_graph_saved_uncompiled(
        tmp_path):
    class Halved(snn.losses.MeanSquaredError):
        pass

    model = two_out()
    model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", Halved()])
    with pytest.warns(UserWarning, match=r"Saving Functional 'two_out': loss <.*Halved.*> has no Keras "
                                         "equivalent; the file records the model uncompiled"):
        model.save(tmp_path / "m.keras")
    assert not snn.models.load_model(tmp_path / "m.keras").compiled
    with pytest.warns(UserWarning, match="Cloning Functional 'two_out': .* the clone is not "
                                         "compiled"):
        assert not snn.models.clone_model(model).compiled
