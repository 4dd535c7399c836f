"""T1 "Neural network classification with TensorFlow", every step, models 1 to 10.

Circles: three linear models that fail (about 50%), the MAE regression side trip that
shows they do fit lines, the non-linear model that separates the circles, the 800/200
split, the learning-rate finder, model_7 with its metrics from scikit-learn.
Fashion-MNIST: unnormalised against normalised inputs, the LR finder, the 100-50-10
network with its confusion matrix, a random-image check and its architecture diagram.

    python examples/t1_circles.py [--engine keras] [--quick] [--out FOLDER]
"""

import random

import numpy as np
import pandas as pd
from sklearn.datasets import make_circles
from sklearn.metrics import (accuracy_score, classification_report, confusion_matrix,
                             f1_score, precision_score, recall_score)

from _engine import fashion_subset, setup

run = setup(__doc__)
keras = run.keras
from scratchnn import plots                       # noqa: E402 (figures, for either engine)
from scratchnn.utils import plot_model            # noqa: E402 (no Graphviz needed)

# -- The data: 1000 points on two circles, label 1 = inner circle --------------------------
X, y = make_circles(1000, noise=0.03, random_state=42)
circles = pd.DataFrame({"X0": X[:, 0], "X1": X[:, 1], "label": y})
print(circles.head(), "\n")
print(circles.label.value_counts(), "\n")
plots.data_scatter(X, y, title="make_circles(1000, noise=0.03, random_state=42)",
                   path=run.figure("t1_circles.png"))


def report(name, model, x, labels):
    loss, accuracy = model.evaluate(x, labels, verbose=0)
    print(f"{name}: loss {loss:.4f}, accuracy {accuracy:.2%}")
    return loss, accuracy


# -- model_1: one neuron, SGD: 5 epochs, then 200 more -------------------------------------
keras.utils.set_random_seed(42)
model_1 = keras.Sequential([keras.layers.Dense(1)])
model_1.compile(loss=keras.losses.BinaryCrossentropy(), optimizer=keras.optimizers.SGD(),
                metrics=["accuracy"])
model_1.fit(X, y, epochs=5, verbose=0)
report("model_1 after 5 epochs", model_1, X, y)
model_1.fit(X, y, epochs=run.pick(200, 10), verbose=0)
report("model_1 after 200 more", model_1, X, y)

# -- model_2: two layers, still linear -----------------------------------------------------
keras.utils.set_random_seed(42)
model_2 = keras.Sequential([keras.layers.Dense(1), keras.layers.Dense(1)])
model_2.compile(loss=keras.losses.BinaryCrossentropy(), optimizer=keras.optimizers.SGD(),
                metrics=["accuracy"])
model_2.fit(X, y, epochs=run.pick(100, 10), verbose=0)
report("model_2 (Dense 1-1, SGD)", model_2, X, y)

# -- model_3: more neurons, Adam: still linear, the boundary is a straight line -------------
keras.utils.set_random_seed(42)
model_3 = keras.Sequential([keras.layers.Dense(100), keras.layers.Dense(10),
                            keras.layers.Dense(1)])
model_3.compile(loss=keras.losses.BinaryCrossentropy(), optimizer=keras.optimizers.Adam(),
                metrics=["accuracy"])
model_3.fit(X, y, epochs=run.pick(100, 10), verbose=0)
report("model_3 (Dense 100-10-1, Adam)", model_3, X, y)
plots.decision_boundary(model_3, X, y, title="model_3: a straight line",
                        path=run.figure("t1_model_3_boundary.png"))

# Side trip: the same model with MAE on a regression problem does fit a line.
X_regression = np.arange(0, 1000, 5).reshape(-1, 1)      # (200, 1)
y_regression = np.arange(100, 1100, 5)                   # y = x + 100
X_reg_train, X_reg_test = X_regression[:150], X_regression[150:]
y_reg_train, y_reg_test = y_regression[:150], y_regression[150:]
keras.utils.set_random_seed(42)
model_3_reg = keras.Sequential([keras.layers.Dense(100), keras.layers.Dense(10),
                                keras.layers.Dense(1)])
model_3_reg.compile(loss=keras.losses.MeanAbsoluteError(), optimizer=keras.optimizers.Adam(),
                    metrics=["mae"])
model_3_reg.fit(X_reg_train, y_reg_train, epochs=run.pick(100, 10), verbose=0)
y_reg_preds = model_3_reg.predict(X_reg_test, verbose=0)
print(f"regression side trip (MAE loss): test MAE "
      f"{np.mean(np.abs(y_reg_preds.ravel() - y_reg_test)):.2f}")
plots.regression_predictions(X_reg_train, y_reg_train, X_reg_test, y_reg_test, y_reg_preds,
                             title="model_3 with MAE: a line fits",
                             path=run.figure("t1_regression.png"))

# -- model_4: non-linearity --------------------------------------------------------------
plots.activation_functions(["linear", "sigmoid", "relu"],
                           path=run.figure("t1_activations.png"))
keras.utils.set_random_seed(42)
model_4 = keras.Sequential([keras.layers.Dense(10, activation="relu"),
                            keras.layers.Dense(5, activation="relu"),
                            keras.layers.Dense(1, activation="sigmoid")])
model_4.compile(loss=keras.losses.BinaryCrossentropy(), optimizer=keras.optimizers.Adam(),
                metrics=["accuracy"])
model_4.fit(X, y, epochs=run.pick(100, 10), verbose=0)
report("model_4 (Dense 10-5-1 relu/sigmoid, Adam)", model_4, X, y)
plots.decision_boundary(model_4, X, y, title="model_4: non-linear",
                        path=run.figure("t1_model_4_boundary.png"))

# -- model_5: train on 800, test on 200 --------------------------------------------------
X_train, y_train, X_test, y_test = X[:800], y[:800], X[800:], y[800:]
keras.utils.set_random_seed(42)
model_5 = keras.Sequential([keras.layers.Dense(10, activation="relu"),
                            keras.layers.Dense(5, activation="relu"),
                            keras.layers.Dense(1, activation="sigmoid")])
model_5.compile(loss=keras.losses.BinaryCrossentropy(),
                optimizer=keras.optimizers.Adam(learning_rate=0.01), metrics=["accuracy"])
history_5 = model_5.fit(X_train, y_train, epochs=run.pick(25, 5), verbose=0)
report("model_5 on the test set", model_5, X_test, y_test)
plots.decision_boundaries(model_5, {"Train": (X_train, y_train), "Test": (X_test, y_test)},
                          path=run.figure("t1_model_5_boundaries.png"))
plots.history_curves(history_5, title="model_5 loss curves", single_panel=True,
                     path=run.figure("t1_model_5_history.png"))

# -- model_6: the learning-rate finder: lr = 1e-4 * 10**(epoch/20) -------------------------
keras.utils.set_random_seed(42)
model_6 = keras.Sequential([keras.layers.Dense(4, activation="relu"),
                            keras.layers.Dense(4, activation="relu"),
                            keras.layers.Dense(1, activation="sigmoid")])
model_6.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
lr_scheduler = keras.callbacks.LearningRateScheduler(lambda epoch: 1e-4 * 10 ** (epoch / 20))
history_6 = model_6.fit(X_train, y_train, epochs=run.pick(100, 20), callbacks=[lr_scheduler],
                        verbose=0)
lrs = 1e-4 * 10 ** (np.arange(len(history_6.history["loss"])) / 20)
lowest = int(np.argmin(history_6.history["loss"]))
print(f"LR finder: lowest loss {history_6.history['loss'][lowest]:.4f} at lr {lrs[lowest]:.4f}; "
      f"rule of thumb, about 10x lower: {lrs[lowest] / 10:.4f} (the tutorial takes 0.02)")
plots.lr_finder(lrs, history_6.history["loss"], path=run.figure("t1_model_6_lr_finder.png"))

# -- model_7: Adam(0.02), 20 epochs --------------------------------------------------------
keras.utils.set_random_seed(42)
model_7 = keras.Sequential([keras.layers.Dense(4, activation="relu"),
                            keras.layers.Dense(4, activation="relu"),
                            keras.layers.Dense(1, activation="sigmoid")])
model_7.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(learning_rate=0.02),
                metrics=["accuracy"])
history_7 = model_7.fit(X_train, y_train, epochs=run.pick(20, 5), verbose=0)
report("model_7 on the test set", model_7, X_test, y_test)
plots.decision_boundaries(model_7, {"Train": (X_train, y_train), "Test": (X_test, y_test)},
                          path=run.figure("t1_model_7_boundaries.png"))
y_preds = np.round(model_7.predict(X_test, verbose=0)).ravel().astype(int)
print("\nmodel_7 on the test set, measured by scikit-learn:")
print(pd.Series({"accuracy": accuracy_score(y_test, y_preds),
                 "precision": precision_score(y_test, y_preds, zero_division=0),
                 "recall": recall_score(y_test, y_preds, zero_division=0),
                 "F1": f1_score(y_test, y_preds, zero_division=0)}).round(4).to_string())
print("confusion matrix:\n", confusion_matrix(y_test, y_preds))
print(classification_report(y_test, y_preds, zero_division=0))
plots.confusion_matrix(y_test, y_preds, classes=["outer (0)", "inner (1)"],
                       path=run.figure("t1_model_7_confusion.png"))

# == Fashion-MNIST =======================================================================
(train_data, train_labels), (test_data, test_labels) = fashion_subset(
    keras.datasets.fashion_mnist.load_data(), run.quick)
class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
print(f"\nFashion-MNIST: train {train_data.shape}, test {test_data.shape}; first label "
      f"{train_labels[0]} = {class_names[train_labels[0]]}")
keras.utils.set_random_seed(42)
index = random.choice(range(len(train_data)))
plots.image_grid(train_data[index:index + 1], [class_names[train_labels[index]]], cols=1,
                 cell=(4, 4.3), path=run.figure("t1_fashion_image.png"))
picks = [random.choice(range(len(train_data))) for _ in range(4)]
plots.image_grid(train_data[picks], [class_names[train_labels[i]] for i in picks], cols=2,
                 path=run.figure("t1_fashion_4_images.png"))


def fashion_4_4_10():
    keras.utils.set_random_seed(42)
    return keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)),
                             keras.layers.Dense(4, activation="relu"),
                             keras.layers.Dense(4, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")])


# -- model_8: unnormalised pixels (0-255) ------------------------------------------------
model_8 = fashion_4_4_10()
model_8.compile(loss=keras.losses.SparseCategoricalCrossentropy(),
                optimizer=keras.optimizers.Adam(), metrics=["accuracy"])
history_8 = model_8.fit(train_data, train_labels, epochs=run.pick(10, 2), verbose=2,
                        validation_data=(test_data, test_labels))
print(f"model_8 (unnormalised): val accuracy {history_8.history['val_accuracy'][-1]:.2%} "
      "(the tutorial: about 35%)")

# -- model_9: normalised pixels (/255), with the LR finder lr = 1e-3 * 10**(epoch/20) -------
train_data_norm, test_data_norm = train_data / 255.0, test_data / 255.0
model_9 = fashion_4_4_10()
model_9.compile(loss=keras.losses.SparseCategoricalCrossentropy(),
                optimizer=keras.optimizers.Adam(), metrics=["accuracy"])
lr_scheduler = keras.callbacks.LearningRateScheduler(lambda epoch: 1e-3 * 10 ** (epoch / 20))
history_9 = model_9.fit(train_data_norm, train_labels, epochs=run.pick(40, 4), verbose=2,
                        validation_data=(test_data_norm, test_labels), callbacks=[lr_scheduler])
lrs = 1e-3 * 10 ** (np.arange(len(history_9.history["loss"])) / 20)
lowest = int(np.argmin(history_9.history["loss"]))
print(f"model_9 (normalised): lowest loss {history_9.history['loss'][lowest]:.4f} at epoch "
      f"{lowest}, lr {lrs[lowest]:.4f}")
plots.history_curves({"unnormalised (model_8)": history_8, "normalised (model_9)": history_9},
                     keys=["loss", "accuracy"], title="Unnormalised vs normalised inputs",
                     path=run.figure("t1_fashion_histories.png"))
plots.lr_finder(lrs, history_9.history["loss"], title="model_9: learning rate vs. loss",
                path=run.figure("t1_model_9_lr_finder.png"))

# -- model_10: Flatten-Dense(100)-Dense(50)-Dense(10), Adam(0.001) --------------------------
keras.utils.set_random_seed(42)
model_10 = keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)),
                             keras.layers.Dense(100, activation="relu"),
                             keras.layers.Dense(50, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")])
model_10.compile(loss=keras.losses.SparseCategoricalCrossentropy(),
                 optimizer=keras.optimizers.Adam(learning_rate=0.001), metrics=["accuracy"])
model_10.fit(train_data_norm, train_labels, epochs=run.pick(50, 3), verbose=2,
             validation_data=(test_data_norm, test_labels))
report("model_10 on the test set", model_10, test_data_norm, test_labels)
y_probs = model_10.predict(test_data_norm, verbose=0)
y_preds = y_probs.argmax(axis=1)
print("first ten predictions:", y_preds[:10].tolist(), "labels:", test_labels[:10].tolist())
plots.confusion_matrix(test_labels, y_preds, class_names,
                       path=run.figure("t1_model_10_confusion.png"))
index = random.choice(range(len(test_data)))
plots.prediction_grid(test_data[index:index + 1], y_probs[index:index + 1],
                      test_labels[index:index + 1], class_names, cols=1,
                      path=run.figure("t1_model_10_random_image.png"))
print("model_10.layers:", [f"{layer.name} ({type(layer).__name__})" for layer in model_10.layers])
weights, biases = model_10.layers[1].get_weights()
print(f"layers[1].get_weights(): weights {weights.shape}, biases {biases.shape}")
model_10.summary()
plot_model(model_10, to_file=run.figure("t1_model_10_architecture.png"), show_shapes=True)
