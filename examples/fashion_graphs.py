"""Beyond the tutorials: models that are graphs (Keras's Functional API) on Fashion-MNIST.

1. A small residual CNN: a stem Conv2D, then a block of two Conv2D whose output is ADDED to
   its input (the skip connection: the stem's output feeds the block and the Add, so its
   gradient is the sum of both), ReLU, max pooling, a softmax Dense. Built with
   `keras.Input`, layers called on tensors and `keras.Model(inputs, outputs)`.
2. A model with two inputs and two outputs: the image, and a second view of it (its 28 row
   means and 28 column means, a "profile"); a convolutional branch and a Dense branch joined
   by Concatenate into one trunk, which predicts the class (softmax) and, as an auxiliary
   target, whether the item is footwear (sigmoid: sandal, sneaker or ankle boot). Compiled
   with one loss per output (dicts keyed by the output layers' names), loss_weights and
   per-output metrics; data given as dicts keyed by the inputs' and outputs' names.

Prints each summary, the History keys Keras gives a two-output model, the weighted total
loss checked against its parts, and predict's structure; draws each architecture
(plot_model: a skip connection is a second arrow) and the training curves.

    python examples/fashion_graphs.py [--engine keras] [--quick] [--out FOLDER]
"""

import numpy as np

from _engine import architecture, setup

run = setup(__doc__)
keras = run.keras
layers = keras.layers
from scratchnn import plots                       # noqa: E402 (figures, for either engine)

(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
n_train, n_test = run.pick(20000, 1000), run.pick(10000, 500)    # the first n of each
x_train, y_train, x_test, y_test = x_train[:n_train], y_train[:n_train], x_test[:n_test], \
    y_test[:n_test]
x_train = (x_train / 255.0).reshape(-1, 28, 28, 1)
x_test = (x_test / 255.0).reshape(-1, 28, 28, 1)
print(f"train {x_train.shape}, test {x_test.shape}")
epochs = run.pick(3, 1)

# -- 1. a residual CNN ---------------------------------------------------------------------
keras.utils.set_random_seed(42)
image = keras.Input((28, 28, 1), name="image")
stem = layers.Conv2D(16, 3, padding="same", activation="relu", name="stem")(image)
branch = layers.Conv2D(16, 3, padding="same", activation="relu", name="block_conv1")(stem)
branch = layers.Conv2D(16, 3, padding="same", name="block_conv2")(branch)
block = layers.Add(name="skip")([stem, branch])           # stem fans out: block and skip
block = layers.Activation("relu", name="block_relu")(block)
pooled = layers.MaxPooling2D(name="pool")(block)
label = layers.Dense(10, activation="softmax", name="label")(layers.Flatten(name="flat")(pooled))
residual = keras.Model(image, label, name="residual_cnn")
residual.summary()
architecture(run, residual, "graphs_residual_model.png")

residual.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = residual.fit(x_train, y_train, epochs=epochs, batch_size=64, validation_split=0.1,
                       verbose=2)
loss, accuracy = residual.evaluate(x_test, y_test, verbose=0)
print(f"residual CNN: test accuracy {accuracy:.4f}, test loss {loss:.4f}")
plots.history_curves(history, title="Residual CNN",
                     path=run.figure("graphs_residual_history.png"))


# -- 2. two inputs, two outputs --------------------------------------------------------------
def profile(images):
    """A second view of each image: its 28 row means then its 28 column means (N, 56)."""
    return np.concatenate([images.mean(axis=2)[..., 0], images.mean(axis=1)[..., 0]], axis=1)


FOOTWEAR = [5, 7, 9]                                       # sandal, sneaker, ankle boot
x_two = {"image": x_train, "profile": profile(x_train)}
y_two = {"label": y_train, "footwear": np.isin(y_train, FOOTWEAR).astype("float32")}
x_two_test = {"image": x_test, "profile": profile(x_test)}
y_two_test = {"label": y_test, "footwear": np.isin(y_test, FOOTWEAR).astype("float32")}

keras.utils.set_random_seed(42)
image = keras.Input((28, 28, 1), name="image")
side = keras.Input((56,), name="profile")
seen = layers.Flatten(name="conv_flat")(layers.MaxPooling2D(name="conv_pool")(
    layers.Conv2D(16, 3, activation="relu", name="conv")(image)))
read = layers.Dense(32, activation="relu", name="profile_dense")(side)
trunk = layers.Dense(64, activation="relu", name="trunk")(
    layers.Concatenate(name="join")([seen, read]))
two_views = keras.Model(
    inputs=[image, side],
    outputs=[layers.Dense(10, activation="softmax", name="label")(trunk),
             layers.Dense(1, activation="sigmoid", name="footwear")(trunk)],
    name="two_views")
two_views.summary()
print(f"inputs {[t.name for t in two_views.inputs]}, output layers {two_views.output_names}")
architecture(run, two_views, "graphs_two_views_model.png")

two_views.compile(optimizer="adam",
                  loss={"label": "sparse_categorical_crossentropy",
                        "footwear": "binary_crossentropy"},
                  loss_weights={"label": 1.0, "footwear": 0.5},
                  metrics={"label": ["accuracy"], "footwear": ["accuracy"]})
history = two_views.fit(x_two, y_two, epochs=epochs, batch_size=64,
                        validation_data=(x_two_test, y_two_test), verbose=2)
print(f"History keys: {sorted(history.history)}")
# Batches of one size here: Keras's fit and evaluate average each `<output>_loss` over the
# batches without weighting them by their sizes (its traced step does not know them), while
# `loss` is weighted; with a partial last batch Keras's parts no longer add up to its total.
logs = two_views.evaluate(x_two_test, y_two_test, batch_size=100, verbose=0, return_dict=True)
print("test: " + ", ".join(f"{key} {value:.4f}" for key, value in sorted(logs.items())))
print(f"loss = label_loss + 0.5 * footwear_loss: {logs['loss']:.4f} = "
      f"{logs['label_loss']:.4f} + 0.5 * {logs['footwear_loss']:.4f} "
      f"({logs['label_loss'] + 0.5 * logs['footwear_loss']:.4f})")
probabilities, footwear = two_views.predict(x_two_test, verbose=0)
print(f"predict returns a list: class probabilities {probabilities.shape}, "
      f"footwear probabilities {footwear.shape}")
agree = np.mean((footwear[:, 0] > 0.5) == np.isin(probabilities.argmax(axis=1), FOOTWEAR))
print(f"the two heads agree on footwear for {agree:.1%} of the test images")
plots.history_curves(history, title="Two inputs, two outputs",
                     keys=["loss", "val_loss", "label_accuracy", "val_label_accuracy",
                           "footwear_accuracy", "val_footwear_accuracy"],
                     path=run.figure("graphs_two_views_history.png"))
