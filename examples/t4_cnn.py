"""T4 "CNN on Fashion-MNIST", every step and its six figures.

The first 1000 training images train, the next 1000 test; raw 0-255 pixels, one-hot
labels; the 31,626-parameter CNN Conv2D(32,5)-MaxPool-Conv2D(32,4,same)-MaxPool-
Conv2D(32,3)-Flatten-Dropout-Dense(10)-Activation(softmax), Adam, 100 epochs.
Figures: tfds-style examples, accuracy curves, six random test images with predicted
class and confidence, the normalised confusion matrix, the confidence histogram and
the six least confident predictions.

    python examples/t4_cnn.py [--engine keras] [--quick] [--out FOLDER]
"""

import random

import numpy as np

from _engine import setup

run = setup(__doc__)
keras = run.keras
from scratchnn import plots                       # noqa: E402 (figures, for either engine)

# The tutorial loads Fashion-MNIST with tensorflow_datasets; these are the same images.
(images, labels), _ = keras.datasets.fashion_mnist.load_data()
class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
plots.show_examples(images[:9, ..., None], labels[:9], class_names,
                    path=run.figure("t4_examples.png"))
n = run.pick(1000, 200)
x_train = images[:n, ..., None].astype("float32")              # (n, 28, 28, 1), 0-255
x_test = images[n:2 * n, ..., None].astype("float32")
y_train = keras.utils.to_categorical(labels[:n], 10)
y_test = keras.utils.to_categorical(labels[n:2 * n], 10)
print(f"train {x_train.shape}, test {x_test.shape}, pixels {x_train.min():.0f}-"
      f"{x_train.max():.0f}")

keras.utils.set_random_seed(42)
model = keras.Sequential([
    keras.layers.Conv2D(32, 5, activation="relu", input_shape=(28, 28, 1)),
    keras.layers.MaxPooling2D(),
    keras.layers.Conv2D(32, 4, activation="relu", padding="same"),
    keras.layers.MaxPooling2D(),
    keras.layers.Conv2D(32, 3, activation="relu"),
    keras.layers.Flatten(),
    keras.layers.Dropout(0.5),
    keras.layers.Dense(10),
    keras.layers.Activation("softmax"),
])
model.summary()                           # the tutorial: 31,626 params
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=run.pick(100, 3), verbose=2,
                    validation_data=(x_test, y_test))
print("the tutorial's first epochs: loss 11.10 -> 0.76, val accuracy 0.447 -> 0.754 by epoch 5")
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f} (the tutorial: above 0.80)")
plots.history_curves(history, keys=["accuracy", "val_accuracy"], title="Accuracy (val = test)",
                     path=run.figure("t4_accuracy.png"))

probabilities = model.predict(x_test, verbose=0)                 # (n, 10)
truth = y_test.argmax(axis=1)
keras.utils.set_random_seed(42)
six = random.sample(range(len(x_test)), 6)
plots.prediction_grid(x_test[six], probabilities[six], truth[six], class_names, cols=2,
                      title="Six random test images", path=run.figure("t4_predictions.png"))
plots.confusion_matrix(truth, probabilities, class_names, normalize=True, cmap="gray",
                       title="Normalised confusion matrix", path=run.figure("t4_confusion.png"))
counts = plots.confusion_counts(truth, probabilities.argmax(axis=1), 10)
np.fill_diagonal(counts, 0)
print("most confused (true -> predicted: count):")
for flat in np.argsort(counts, axis=None)[::-1][:5]:
    i, j = divmod(int(flat), 10)
    print(f"  {class_names[i]} -> {class_names[j]}: {counts[i, j]}")
plots.confidence_histogram(probabilities, truth, path=run.figure("t4_confidence.png"))
plots.least_confident(x_test, probabilities, truth, class_names, n=6,
                      path=run.figure("t4_least_confident.png"))
