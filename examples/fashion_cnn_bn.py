"""Beyond the tutorials: a Fashion-MNIST CNN with BatchNormalization, GlobalAveragePooling2D
and AdamW, the next model a learner builds after T3 and T4.

Two blocks of Conv2D (no bias: BatchNormalization's beta plays its part) -> BatchNormalization
-> ReLU, max-pooling between them, then GlobalAveragePooling2D (one value per channel
instead of a Flatten into a large Dense) and a softmax Dense. AdamW (decoupled weight
decay), a 10% validation split, ReduceLROnPlateau, EarlyStopping with the best weights
restored, and the epochs logged by CSVLogger. Prints the summary (BatchNormalization's
moving statistics are its non-trainable parameters), the test accuracy, and draws the
training curves and the confusion matrix.

    python examples/fashion_cnn_bn.py [--engine keras] [--quick] [--out FOLDER]
"""

import os

import numpy as np

from _engine import fashion_subset, setup

run = setup(__doc__)
keras = run.keras
from scratchnn import plots                       # noqa: E402 (figures, for either engine)

(x_train, y_train), (x_test, y_test) = fashion_subset(
    keras.datasets.fashion_mnist.load_data(), run.quick, n_train=3000, n_test=500)
class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
x_train = (x_train / 255.0).reshape(-1, 28, 28, 1)
x_test = (x_test / 255.0).reshape(-1, 28, 28, 1)
print(f"train {x_train.shape}, test {x_test.shape}")

keras.utils.set_random_seed(42)
layers = keras.layers
model = keras.Sequential([
    keras.Input((28, 28, 1)),
    layers.Conv2D(32, 3, padding="same", use_bias=False),
    layers.BatchNormalization(),
    layers.Activation("relu"),
    layers.MaxPooling2D(),
    layers.Conv2D(64, 3, padding="same", use_bias=False),
    layers.BatchNormalization(),
    layers.Activation("relu"),
    layers.GlobalAveragePooling2D(),
    layers.Dense(10, activation="softmax"),
], name="fashion_cnn_bn")
model.summary()
model.compile(optimizer=keras.optimizers.AdamW(learning_rate=2e-3, weight_decay=1e-4),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])

callbacks = [
    keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, verbose=1),
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=4, restore_best_weights=True),
    keras.callbacks.CSVLogger(os.path.join(run.out, "cnn_bn_log.csv")),
]
history = model.fit(x_train, y_train, epochs=run.pick(20, 2), batch_size=64,
                    validation_split=0.1, callbacks=callbacks, verbose=2)
print(f"epochs run: {len(history.history['loss'])}, last learning rate "
      f"{history.history['learning_rate'][-1]:.6g}")

bn = model.layers[1]
print(f"{bn.name}: moving mean of the first 4 channels "
      f"{np.round(np.asarray(bn.get_weights()[2][:4]), 4)}")
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy {accuracy:.4f}, test loss {loss:.4f}")

predictions = model.predict(x_test, verbose=0).argmax(axis=1)
plots.history_curves(history, title="CNN with BatchNormalization and AdamW",
                     path=run.figure("cnn_bn_history.png"))
plots.confusion_matrix(y_test, predictions, classes=class_names, figsize=(12, 12),
                       path=run.figure("cnn_bn_confusion.png"))
