"""T3 "Create Image Classification Models With Tensorflow in 10 minutes", every step.

Fashion-MNIST with a 5% stratified validation split (57000/3000), pixels /255, one-hot
labels; the MLP Flatten-Dense(350)-Dense(10) (278,260 params) and the CNN
Conv2D(32,3)-MaxPooling2D-Flatten-Dense(100)-Dense(10) (542,230 params), each trained
with Adam, batch 32, up to 100 epochs, EarlyStopping(val_loss, patience=5,
restore_best_weights=True); train/val/test accuracy and the loss/accuracy curves.

    python examples/t3_fashion.py [--engine keras] [--quick] [--out FOLDER]
"""

import math

import numpy as np
from sklearn.model_selection import train_test_split

from _engine import fashion_subset, setup

run = setup(__doc__)
keras = run.keras
from scratchnn import plots                       # noqa: E402 (figures, for either engine)

(train_images, train_labels), (test_images, test_labels) = fashion_subset(
    keras.datasets.fashion_mnist.load_data(), run.quick)
class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
x_train, x_val, y_train, y_val = train_test_split(train_images, train_labels,
                                                  stratify=train_labels, random_state=48,
                                                  test_size=0.05)
print(f"train {x_train.shape}, validation {x_val.shape}, test {test_images.shape}")
plots.image_grid(x_train[:25], [class_names[label] for label in y_train[:25]], cols=5,
                 path=run.figure("t3_samples.png"))
x_train, x_val, x_test = x_train / 255.0, x_val / 255.0, test_images / 255.0
y_train, y_val = keras.utils.to_categorical(y_train), keras.utils.to_categorical(y_val)
y_test = keras.utils.to_categorical(test_labels)


def train(name, model, shape):
    """Compile, fit with EarlyStopping, print what the tutorial prints, draw the curves."""
    model.summary()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    early_stop = keras.callbacks.EarlyStopping(monitor="val_loss", restore_best_weights=True,
                                               patience=5)
    print(f"{name}: {math.ceil(len(x_train) / 32)} steps per epoch")
    history = model.fit(x_train.reshape(shape), y_train, epochs=run.pick(100, 2), batch_size=32,
                        validation_data=(x_val.reshape(shape), y_val), callbacks=[early_stop],
                        verbose=2)
    epochs_run = len(history.history["loss"])
    best = int(np.argmin(history.history["val_loss"])) + 1
    print(f"{name}: {epochs_run} epochs (stopped early: {early_stop.stopped_epoch > 0}), best "
          f"epoch {best}, val accuracy there {history.history['val_accuracy'][best - 1]:.4f}")
    accuracies = [model.evaluate(x.reshape(shape), y, verbose=0)[1]
                  for x, y in [(x_train, y_train), (x_val, y_val), (x_test, y_test)]]
    print(f"{name}: train / val / test accuracy " + " / ".join(f"{a:.3f}" for a in accuracies))
    plots.history_curves(history, title=f"{name} training history", single_panel=True,
                         figsize=(10, 8), fontsize=16, ylim=(0, 1),
                         path=run.figure(f"t3_{name.lower()}_history.png"))


keras.utils.set_random_seed(42)
mlp = keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)),
                        keras.layers.Dense(350, activation="relu"),
                        keras.layers.Dense(10, activation="softmax")])
train("MLP", mlp, (-1, 28, 28))            # the tutorial: 278,260 params; 0.916 / 0.89 / 0.882

keras.utils.set_random_seed(42)
cnn = keras.Sequential([keras.layers.Conv2D(32, (3, 3), activation="relu",
                                            input_shape=(28, 28, 1)),
                        keras.layers.MaxPooling2D((2, 2)),
                        keras.layers.Flatten(),
                        keras.layers.Dense(100, activation="relu"),
                        keras.layers.Dense(10, activation="softmax")])
train("CNN", cnn, (-1, 28, 28, 1))         # the tutorial: 542,230 params; 0.938 / 0.91 / 0.908
