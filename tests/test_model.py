"""Sequential: the Keras-shaped API, end-to-end gradients, determinism, persistence."""

import numpy as np
import pytest

import scratchnn as snn
from scratchnn.gradcheck import check_model

layers = snn.layers


def _data(n=40, d=3, seed=0):
    r = np.random.default_rng(seed)
    x = r.normal(size=(n, d))
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).astype(float)


def _binary_model(d=3):
    return snn.Sequential([snn.Input((d,)), layers.Dense(4, activation="relu"),
                           layers.Dense(1, activation="sigmoid")])


# -- whole-model gradients in float64 ----------------------------------------------------
@pytest.mark.parametrize("config", [
    ("sigmoid_bce", [layers.Dense(5, activation="tanh"), layers.Dense(1, activation="sigmoid")],
     "binary_crossentropy", "binary"),
    ("softmax_scce", [layers.Dense(6, activation="relu"), layers.Dense(4, activation="softmax")],
     "sparse_categorical_crossentropy", "sparse"),
    ("activation_layer_cce", [layers.Dense(6, activation="sigmoid"), layers.Dense(4),
                              layers.Activation("softmax")], "categorical_crossentropy", "onehot"),
    ("linear_mse", [layers.Dense(5, activation="tanh"), layers.Dense(2)], "mse", "regression"),
    ("linear_mae", [layers.Dense(5, activation="tanh"), layers.Dense(2)], "mae", "regression"),
    ("logits_loss", [layers.Dense(5, activation="tanh"), layers.Dense(4)],
     snn.losses.SparseCategoricalCrossentropy(from_logits=True), "sparse"),
    ("dropout_inference_keeps_logits", [layers.Dense(5, activation="relu"),
                                        layers.Dense(4, activation="softmax"), layers.Dropout(0.5)],
     "sparse_categorical_crossentropy", "sparse"),
    ("softmax_without_logits_path", [layers.Dense(4, activation="softmax"), layers.Dense(3),
                                     layers.Activation("sigmoid")], "mse", "regression3"),
], ids=lambda c: c[0])
def test_model_gradients_match_finite_differences(config, float64):
    _, stack, loss, kind = config
    r = np.random.default_rng(1)
    x = r.normal(size=(7, 3))
    y = {"binary": (r.random(7) > 0.5) * 1.0, "sparse": r.integers(0, 4, 7),
         "onehot": np.eye(4)[r.integers(0, 4, 7)], "regression": r.normal(size=(7, 2)),
         "regression3": r.random((7, 3))}[kind]
    model = snn.Sequential([snn.Input((3,)), *stack])
    model.compile(optimizer="sgd", loss=loss)
    errors = check_model(model, x, y, sample_weight=r.uniform(0.5, 1.5, 7))
    assert max(errors.values()) < 1e-7, errors


def test_training_mode_dropout_gradients_with_a_fixed_mask(float64):
    r = np.random.default_rng(2)
    drop = layers.Dropout(0.3)
    mask = r.random((6, 5)) >= 0.3
    drop.draw_keep_mask = lambda shape: mask
    model = snn.Sequential([snn.Input((3,)), layers.Dense(5, activation="tanh"), drop,
                            layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    errors = check_model(model, r.normal(size=(6, 3)), r.integers(0, 2, 6), training=True)
    assert max(errors.values()) < 1e-7, errors


def test_training_mode_dropout_after_softmax_loses_the_logits_path():
    model = snn.Sequential([snn.Input((3,)), layers.Dense(4, activation="softmax"),
                            layers.Dropout(0.5)])
    assert model.logits_carrier(training=True) is None
    assert model.logits_carrier(training=False) is model.layers[0]


# -- the API --------------------------------------------------------------------------------
def test_fit_returns_history_with_one_value_per_epoch_and_val_keys():
    x, y = _data()
    model = _binary_model()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=3, verbose=0, validation_data=(x[:10], y[:10]))
    assert isinstance(h, snn.callbacks.History) and model.history is h
    assert list(h.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(v) == 3 for v in h.history.values()) and h.epoch == [0, 1, 2]


def test_validation_split_takes_the_last_fraction_before_shuffling():
    x, y = _data(n=50)
    model = _binary_model()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=1, verbose=0, validation_split=0.2)
    # val metrics after the epoch equal evaluate() on x[40:] with the final weights
    loss, acc = model.evaluate(x[40:], y[40:], verbose=0)
    assert h.history["val_loss"][0] == pytest.approx(loss) and h.history["val_accuracy"][0] == acc


def test_evaluate_returns_float_list_or_dict():
    x, y = _data()
    model = _binary_model()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "mae"])
    out = model.evaluate(x, y, verbose=0)
    assert isinstance(out, list) and len(out) == 3
    d = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(d) == {"loss", "accuracy", "mae"} and d["loss"] == out[0]


def test_predict_returns_float32_in_batches_equal_to_a_single_call():
    x, _ = _data(n=70)
    model = _binary_model()
    p = model.predict(x, verbose=0)
    assert p.dtype == np.float32 and p.shape == (70, 1)
    np.testing.assert_allclose(p, model(x), rtol=1e-6)


def test_compute_gradients_is_aligned_with_get_weights_and_changes_nothing():
    x, y = _data()
    model = _binary_model()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    before = model.get_weights()
    loss, grads = model.compute_gradients(x, y)
    assert isinstance(loss, float)
    assert [g.shape for g in grads] == [w.shape for w in before]
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_train_on_batch_takes_one_step():
    x, y = _data()
    model = _binary_model()
    model.compile(optimizer=snn.optimizers.SGD(0.1), loss="binary_crossentropy",
                  metrics=["accuracy"])
    loss, grads = model.compute_gradients(x, y)
    expected = [w - np.float32(0.1) * g for w, g in zip(model.get_weights(), grads)]
    out = model.train_on_batch(x, y)
    assert out[0] == pytest.approx(loss) and model.optimizer.iterations == 1
    for a, b in zip(expected, model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_model_builds_from_data_when_no_input_shape_is_given():
    model = snn.Sequential([layers.Dense(1)])
    assert not model.built
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 3)), np.ones(8), verbose=0)
    assert model.built and model.layers[0].get_weights()[0].shape == (3, 1)


def test_input_shape_on_the_first_layer_builds_immediately():
    model = snn.Sequential([layers.Flatten(input_shape=(28, 28)), layers.Dense(350, activation="relu"),
                            layers.Dense(10, activation="softmax")])
    assert model.count_params() == 278_260
    assert model.layers[1].get_weights()[0].shape == (784, 350)


def test_summary_has_keras_layout_and_counts():
    model = snn.Sequential([snn.Input((28, 28)), layers.Flatten(),
                            layers.Dense(350, activation="relu"),
                            layers.Dense(10, activation="softmax")])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert lines[0] == 'Model: "sequential"'
    assert "┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃" in text
    assert "│ dense (Dense)                   │ (None, 350)            │       274,750 │" in text
    assert "│ flatten (Flatten)               │ (None, 784)            │             0 │" in text
    assert " Total params: 278,260 (1.06 MB)" in lines
    assert " Trainable params: 278,260 (1.06 MB)" in lines
    assert " Non-trainable params: 0 (0.00 B)" in lines


def test_summary_of_an_unbuilt_model():
    lines = []
    snn.Sequential([layers.Dense(1)]).summary(print_fn=lines.append)
    assert any("?" in line and "0 (unbuilt)" in line for line in lines)


def test_same_seed_gives_bit_identical_training():
    def run():
        snn.utils.clear_session()
        snn.utils.set_random_seed(7)
        x, y = _data(n=64)
        model = snn.Sequential([snn.Input((3,)), layers.Dense(8, activation="relu"),
                                layers.Dropout(0.2), layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        h = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
        return h.history, model.get_weights()

    (h1, w1), (h2, w2) = run(), run()
    assert h1 == h2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)


def test_save_and_load_weights_round_trip_exactly(tmp_path):
    x, y = _data()
    model = _binary_model()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "model.weights.npz"
    model.save_weights(path)
    other = _binary_model()
    other.load_weights(path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype


def test_load_weights_refuses_an_incompatible_file(tmp_path):
    model = _binary_model()
    model.save_weights(tmp_path / "w.npz")
    wider = snn.Sequential([snn.Input((3,)), layers.Dense(5, activation="relu"),
                            layers.Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError, match=r"weight 'kernel' has shape \(3, 5\), got \(3, 4\)"):
        wider.load_weights(tmp_path / "w.npz")


def test_float64_works_end_to_end(float64):
    x, y = _data()
    model = _binary_model()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    assert all(w.dtype == np.float64 for w in model.get_weights())
    assert model.predict(x, verbose=0).dtype == np.float64


def test_last_partial_batch_is_kept():
    model = _binary_model()
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    x, y = _data(n=70)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert model.optimizer.iterations == 3


def test_verbose_1_prints_keras_style_progress(capsys):
    x, y = _data(n=64)
    model = _binary_model()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "2/2 ━━━━━━━━━━━━━━━━━━━━" in out and " - accuracy: " in out and " - loss: " in out
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("call, match", [
    (lambda m, x, y: m.fit(x, y[:-1], verbose=0), "same number of samples, got 40 and 39"),
    (lambda m, x, y: m.fit(x, y, batch_size=0, verbose=0), "batch_size must be a positive int"),
    (lambda m, x, y: m.fit(x, y, validation_split=1.5, verbose=0), "validation_split"),
    (lambda m, x, y: m.fit(x[:, :2], y, verbose=0), r"expects inputs with last dimension 3"),
    (lambda m, x, y: m.evaluate(x, None, verbose=0), "needs both x and y"),
])
def test_bad_input_gets_a_clear_error(call, match):
    x, y = _data()
    model = _binary_model()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    with pytest.raises(ValueError, match=match):
        call(model, x, y)


def test_fit_before_compile_is_refused():
    with pytest.raises(ValueError, match="must be compiled before fit"):
        _binary_model().fit(*_data(), verbose=0)


def test_duplicate_layer_names_are_refused():
    with pytest.raises(ValueError, match="'same' is already used"):
        snn.Sequential([layers.Dense(2, name="same"), layers.Dense(2, name="same")])


def test_get_layer_and_layers_list_exclude_the_input():
    model = _binary_model()
    assert len(model.layers) == 2 and model.get_layer("dense_1") is model.layers[1]
    with pytest.raises(ValueError, match="No such layer"):
        model.get_layer("nope")


def test_weights_and_gradients_live_in_one_flat_buffer_each():
    model = _binary_model()
    assert np.shares_memory(model.layers[0].params["kernel"], model.flat_weights)
    assert model.flat_weights.size == model.count_params()
    x, y = _data()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    _, grads = model.compute_gradients(x, y)
    np.testing.assert_array_equal(np.concatenate([g.ravel() for g in grads]),
                                  model.flat_gradients())


def test_a_layer_that_assigns_a_new_gradient_array_still_trains_correctly():
    """A user's layer may write `self.grads[name] = ...`; it is copied into place."""
    x, y = _data()
    ref, mine = _binary_model(), _binary_model()
    mine.set_weights(ref.get_weights())
    dense = mine.layers[1]
    original = dense.backward_z

    def assigning_backward_z(dz):
        dx = original(dz)
        dense.grads["kernel"] = dense.grads["kernel"].copy()      # a fresh array
        return dx
    dense.backward_z = assigning_backward_z
    for model in (ref, mine):
        model.compile(optimizer=snn.optimizers.Adam(0.1), loss="binary_crossentropy")
        model.fit(x, y, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(ref.get_weights(), mine.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_predict_in_cache_sized_slices_gives_what_one_forward_pass_gives(monkeypatch):
    """predict splits each batch into slices (PREDICT_SLICE_BYTES); same numbers."""
    from scratchnn import trainer
    snn.utils.set_random_seed(3)
    model = snn.Sequential([snn.Input((8, 8, 2)), snn.layers.Conv2D(3, 3, activation="relu"),
                            snn.layers.MaxPooling2D(), snn.layers.Flatten(),
                            snn.layers.Dense(4, activation="softmax")])
    x = np.random.default_rng(0).normal(size=(50, 8, 8, 2)).astype("float32")
    monkeypatch.setattr(trainer, "PREDICT_SLICE_BYTES", 7 * 6 * 6 * 3 * 4)   # 7 samples
    assert model._predict_slice_rows(32) == 7
    np.testing.assert_allclose(model.predict(x, batch_size=20, verbose=0), model(x),
                               rtol=1e-6, atol=1e-7)


def test_predict_with_sizes_known_only_at_run_time_and_keeps_the_model_dtype():
    snn.utils.set_random_seed(3)
    model = snn.Sequential([snn.Input((None, None, 1)), snn.layers.Conv2D(2, 3),
                            snn.layers.MaxPooling2D()])
    assert model.predict(np.ones((5, 10, 10, 1)), verbose=0).shape == (5, 4, 4, 2)
    snn.config.set_floatx("float64")
    try:
        wide = snn.Sequential([snn.Input((3,)), snn.layers.Dense(2)])
    finally:
        snn.config.set_floatx("float32")
    assert wide.predict(np.ones((4, 3)), verbose=0).dtype == np.float64


def test_predict_on_no_samples_gives_an_empty_array_of_the_output_shape():
    """Sizes known only at run time come from x (the model's output_shape has None there)."""
    dynamic = snn.Sequential([snn.Input((None, None, 1)), snn.layers.Conv2D(2, 3),
                              snn.layers.Flatten()])
    out = dynamic.predict(np.zeros((0, 8, 8, 1), np.float32), verbose=0)
    assert out.shape == (0, 72) and out.dtype == np.float32
    fixed = snn.Sequential([snn.Input((4,)), snn.layers.Dense(3)])
    assert fixed.predict(np.zeros((0, 4)), verbose=0).shape == (0, 3)


def test_no_layer_computes_an_input_gradient_nothing_below_it_needs():
    """dL/dx is only needed when a layer below has weights that learn: a Dense after a
    Flatten (no weights) skips it, as the first layer does; a frozen layer below does not
    need it either. (Computing it anyway cost the 350-10 MLP's step 0.2 ms.)"""
    model = snn.Sequential([snn.layers.Flatten(input_shape=(4, 4)), snn.layers.Dense(3),
                            snn.layers.Dense(2), snn.layers.Dense(1)])
    assert [layer.input_grad_needed for layer in model.layers] == [False, False, True, True]
    model.layers[1].trainable = False
    model.compile(optimizer="sgd", loss="mse")
    model.train_on_batch(np.ones((2, 4, 4)), np.ones((2, 1)))
    assert [layer.input_grad_needed for layer in model.layers] == [False, False, False, True]
    i = snn.Input((4, 4))
    graph = snn.Model(i, snn.layers.Dense(1)(snn.layers.Dense(2)(snn.layers.Flatten()(i))))
    needs = [graph._needs_dx[node] for node in graph.nodes]
    assert needs == [False, False, True]
