"""T4 "CNN on Fashion-MNIST": first 1000 training images to train, next 1000 to test,
raw 0-255 pixels, one-hot labels, the 31,626-parameter CNN with Dropout, Adam.
python examples/t4_cnn.py [--engine keras] [--epochs 100]"""

import os

import numpy as np

from _engine import load, parse

args = parse(__doc__, epochs=(int, 100, "epochs"))
keras = load(args.engine)
from scratchnn import plots                                     # noqa: E402
from scratchnn.datasets.fashion_mnist import CLASS_NAMES         # noqa: E402

(images, labels), _ = keras.datasets.fashion_mnist.load_data()
x_train, x_test = images[:1000, ..., None].astype("float32"), images[1000:2000, ..., None].astype("float32")
y_train, y_test = keras.utils.to_categorical(labels[:1000], 10), keras.utils.to_categorical(labels[1000:2000], 10)

keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.layers.Conv2D(32, 5, activation="relu", input_shape=(28, 28, 1)), keras.layers.MaxPooling2D(),
    keras.layers.Conv2D(32, 4, activation="relu", padding="same"), keras.layers.MaxPooling2D(),
    keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.Flatten(), keras.layers.Dropout(0.5),
    keras.layers.Dense(10), keras.layers.Activation("softmax")])
model.summary()
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=args.epochs, validation_data=(x_test, y_test), verbose=2)
probabilities = model.predict(x_test, verbose=0)
predicted, truth = probabilities.argmax(axis=1), y_test.argmax(axis=1)
print(f"test accuracy {np.mean(predicted == truth):.3f}")
plots.history_curves({k: v for k, v in history.history.items() if "accuracy" in k},
                     "T4 accuracy", path=os.path.join(args.out, "t4_accuracy.png"))
plots.confusion_matrix(truth, predicted, CLASS_NAMES, normalize=True, cmap="gray",
                       path=os.path.join(args.out, "t4_confusion.png"), figsize=(12, 12))
least = np.argsort(probabilities.max(axis=1))[:6]
plots.image_grid(x_test[least], [f"{CLASS_NAMES[predicted[i]]} {probabilities[i].max():.2f}"
                                 for i in least], cols=2,
                 path=os.path.join(args.out, "t4_least_confident.png"))
print(f"figures in {args.out}/")
