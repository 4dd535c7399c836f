"""T2 "TensorFlow: Multiclass Classification Model", every step (Fashion-MNIST).

The data and five random images; Flatten-Dense(4)-Dense(4)-Dense(10) with the
learning-rate finder over 40 epochs (lr = 1e-3 * 10**(epoch/20), the test set as
validation); the refit with Adam(0.005) for 13 epochs; predictions, the confusion
matrix with class names, and the first Dense layer's weights.

    python examples/t2_fashion_multiclass.py [--engine keras] [--quick] [--out FOLDER]
"""

import random

import numpy as np

from _engine import fashion_subset, setup

run = setup(__doc__)
keras = run.keras
from scratchnn import plots                       # noqa: E402 (figures, for either engine)

(train_data, train_labels), (test_data, test_labels) = fashion_subset(
    keras.datasets.fashion_mnist.load_data(), run.quick)
print(f"train_data {train_data.shape}, test_data {test_data.shape}")
print(f"train_data[0]: min {train_data[0].min()}, max {train_data[0].max()}; "
      f"train_labels[0] = {train_labels[0]}")
class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
keras.utils.set_random_seed(42)
picks = random.sample(range(len(train_data)), 5)
plots.image_grid(train_data[picks], [class_names[train_labels[i]] for i in picks], cols=5,
                 path=run.figure("t2_random_images.png"))

train_data, test_data = train_data / 255.0, test_data / 255.0


def make_model():
    keras.utils.set_random_seed(42)
    return keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)),
                             keras.layers.Dense(4, activation="relu"),
                             keras.layers.Dense(4, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")])


# -- The learning-rate finder -----------------------------------------------------------
model = make_model()
model.compile(loss=keras.losses.SparseCategoricalCrossentropy(),
              optimizer=keras.optimizers.Adam(), metrics=["accuracy"])
finder = keras.callbacks.LearningRateScheduler(lambda epoch: 1e-3 * 10 ** (epoch / 20))
history = model.fit(train_data, train_labels, epochs=run.pick(40, 4), verbose=2,
                    validation_data=(test_data, test_labels), callbacks=[finder])
lrs = 1e-3 * 10 ** (np.arange(len(history.history["loss"])) / 20)
best = int(np.argmin(history.history["loss"]))
print(f"lowest loss {history.history['loss'][best]:.4f} at epoch {best}, lr {lrs[best]:.4f}, "
      f"accuracy there {history.history['accuracy'][best]:.4f} "
      "(the tutorial: epoch 13, lr about 0.0045, accuracy about 0.78)")
plots.lr_finder(lrs, history.history["loss"], suggested=None,
                title="Finding the ideal learning rate", path=run.figure("t2_lr_finder.png"))

# -- The refit with the rate found: Adam(0.005), 13 epochs ---------------------------------
model = make_model()
model.compile(loss=keras.losses.SparseCategoricalCrossentropy(),
              optimizer=keras.optimizers.Adam(learning_rate=0.005), metrics=["accuracy"])
history = model.fit(train_data, train_labels, epochs=run.pick(13, 2), verbose=2,
                    validation_data=(test_data, test_labels))
loss, accuracy = model.evaluate(test_data, test_labels, verbose=0)
print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")
plots.history_curves(history, title=f"Adam(0.005), {len(history.history['loss'])} epochs",
                     path=run.figure("t2_history.png"))

y_probs = model.predict(test_data, verbose=0)
print("y_probs[0]:", np.round(y_probs[0].astype(float), 3).tolist())
y_preds = y_probs.argmax(axis=1)
print("first ten predictions:", y_preds[:10].tolist(),
      "(the tutorial: [9, 4, 1, 1, 6, 1, 6, 6, 5, 7])")
plots.confusion_matrix(test_labels, y_preds, class_names, figsize=(13, 13), text_size=9,
                       path=run.figure("t2_confusion.png"))
weights, biases = model.layers[1].get_weights()
print(f"layers[1].get_weights(): weights {weights.shape}, biases {biases.shape}")
