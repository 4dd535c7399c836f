"""T5 "Tensorflow Neural Network Classification", every step (circles, named layers).

Six models on make_circles, each with named layers in a model named "model_circles":
five that fail or half-work and Dense(4, relu)-Dense(1, sigmoid), which separates the
circles (trained with EarlyStopping(val_loss, min_delta=1e-5, patience=100,
restore_best_weights=True)); a decision boundary for each; hand-written linear,
sigmoid and relu on range(-10, 10). Train on the first 800 points, test on the rest.

    python examples/t5_circles_named.py [--engine keras] [--quick] [--out FOLDER]
"""

import numpy as np
from sklearn.datasets import make_circles

from _engine import setup

run = setup(__doc__)
keras = run.keras
from scratchnn import plots                       # noqa: E402 (figures, for either engine)

X, y = make_circles(1000, noise=0.03, random_state=42)
X_train, y_train, X_test, y_test = X[:800], y[:800], X[800:], y[800:]


def named_model(*layers):
    """The tutorial's naming: an input called "input_layer", a model called "model_circles".
    (The seed is set before the layers are made: a layer draws its initial weights' seed
    when it is constructed.)"""
    return keras.Sequential([keras.Input(shape=(2,), name="input_layer"), *layers],
                            name="model_circles")


def fit_and_report(title, model, optimizer, epochs, labels=y_train, test_labels=y_test,
                   metrics=("accuracy",), callbacks=()):
    model.compile(loss=keras.losses.BinaryCrossentropy(), optimizer=optimizer,
                  metrics=list(metrics))
    history = model.fit(X_train, labels, epochs=epochs, verbose=0, callbacks=list(callbacks),
                        validation_data=(X_test, test_labels))
    loss, accuracy = model.evaluate(X_test, test_labels, verbose=0)
    print(f"{title}: {len(history.history['loss'])} epochs, test loss {loss:.4f}, "
          f"accuracy {accuracy:.4f}")
    return model


models = {}
keras.utils.set_random_seed(42)
models["Dense(1), Adam(0.01)"] = fit_and_report(
    "1. Dense(1), Adam(0.01), 10 epochs (the tutorial: about 50%)",
    named_model(keras.layers.Dense(1, name="output_layer")),
    keras.optimizers.Adam(learning_rate=0.01), run.pick(10, 5))
keras.utils.set_random_seed(42)
models["ReLU net, relu output"] = fit_and_report(
    "2. Dense(100, relu)-Dense(10, relu)-Dense(1, relu), Adam(1e-4), 100 epochs "
    "(the tutorial: still about 50%)",
    named_model(keras.layers.Dense(100, activation="relu", name="hidden_layer_1"),
                keras.layers.Dense(10, activation="relu", name="hidden_layer_2"),
                keras.layers.Dense(1, activation="relu", name="output_layer")),
    keras.optimizers.Adam(learning_rate=1e-4), run.pick(100, 5))
keras.utils.set_random_seed(42)
models["Dense(1, linear)"] = fit_and_report(
    "3. Dense(1, linear), Adam(0.001), 150 epochs (the tutorial: 46%)",
    named_model(keras.layers.Dense(1, activation="linear", name="output_layer")),
    keras.optimizers.Adam(learning_rate=0.001), run.pick(150, 5))
# 4. Dense(4, relu) alone: four outputs for one label. TensorFlow 2 broadcast the labels
# (N,) against the outputs (N, 4); Keras 3 (and scratchnn) refuse the mismatch, so the
# labels are repeated into the four columns, which is the same arithmetic.
keras.utils.set_random_seed(42)
models["Dense(4, relu) alone"] = fit_and_report(
    "4. Dense(4, relu) alone, 2000 epochs (the tutorial: 50%)",
    named_model(keras.layers.Dense(4, activation="relu", name="output_layer")),
    keras.optimizers.Adam(), run.pick(2000, 5), labels=np.tile(y_train[:, None], 4),
    test_labels=np.tile(y_test[:, None], 4),
    metrics=[keras.metrics.BinaryAccuracy(name="accuracy")])
keras.utils.set_random_seed(42)
models["Dense(4, relu)-Dense(1)"] = fit_and_report(
    "5. Dense(4, relu)-Dense(1) linear output, 2000 epochs (the tutorial: loss 0.34, "
    "accuracy 0.83)",
    named_model(keras.layers.Dense(4, activation="relu", name="hidden_layer_1"),
                keras.layers.Dense(1, name="output_layer")),
    keras.optimizers.Adam(), run.pick(2000, 5))
early_stop = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-5, patience=100,
                                           restore_best_weights=True)
keras.utils.set_random_seed(42)
model_6 = named_model(keras.layers.Dense(4, activation="relu", name="hidden_layer_1"),
                      keras.layers.Dense(1, activation="sigmoid", name="output_layer"))
models["Dense(4, relu)-Dense(1, sigmoid)"] = fit_and_report(
    "6. Dense(4, relu)-Dense(1, sigmoid), Adam(0.001), up to 2000 epochs with EarlyStopping "
    "(the tutorial: loss 0.024, accuracy 1.0)",
    model_6, keras.optimizers.Adam(learning_rate=0.001), run.pick(2000, 5),
    callbacks=[early_stop])
print(f"EarlyStopping: stopped_epoch {early_stop.stopped_epoch} (0 = ran every epoch)")
model_6.summary()
print("layer names:", [layer.name for layer in model_6.layers], "model name:", model_6.name)

fig, axes = plots.new_figure(2, 3, figsize=(15, 9.5))
for ax, (title, model) in zip(axes.ravel(), models.items()):
    plots.decision_boundary(model, X_test, y_test, ax=ax, title=title)
fig.suptitle("Decision boundaries on the test points")
plots.save_figure(fig, run.figure("t5_boundaries.png"))


# Activation functions written by hand, as the tutorial does.
def linear(x):
    return x


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def relu(x):
    return np.maximum(0, x)


A = np.arange(-10, 10, dtype=float)
for function in (linear, sigmoid, relu):
    print(f"{function.__name__}(range(-10, 10)):", np.round(function(A), 4).tolist())
plots.activation_functions({"linear": linear, "sigmoid": sigmoid, "relu": relu}, x=A,
                           path=run.figure("t5_activations.png"))
