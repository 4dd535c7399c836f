"""T2 "TensorFlow: Multiclass Classification Model": Flatten-Dense(4)-Dense(4)-Dense(10),
the LR finder over 40 epochs (lr = 1e-3 * 10**(epoch/20), test set as validation), then
the refit with Adam(0.005) for 13 epochs, predictions and a confusion matrix.
python examples/t2_fashion_multiclass.py [--engine keras] [--finder-epochs 40]"""

import os

import numpy as np

from _engine import load, parse

args = parse(__doc__, **{"finder-epochs": (int, 40, "LR-finder epochs"),
                         "epochs": (int, 13, "refit epochs")})
keras = load(args.engine)
from scratchnn import plots                                     # noqa: E402
from scratchnn.datasets.fashion_mnist import CLASS_NAMES         # noqa: E402

(train_data, train_labels), (test_data, test_labels) = keras.datasets.fashion_mnist.load_data()
train_data, test_data = train_data / 255.0, test_data / 255.0


def make_model():
    keras.utils.set_random_seed(42)
    return keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)),
                             keras.layers.Dense(4, activation="relu"),
                             keras.layers.Dense(4, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")])


model = make_model()
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
finder = keras.callbacks.LearningRateScheduler(lambda epoch: 1e-3 * 10 ** (epoch / 20))
history = model.fit(train_data, train_labels, epochs=args.finder_epochs, verbose=2,
                    validation_data=(test_data, test_labels), callbacks=[finder])
lrs = 1e-3 * 10 ** (np.arange(args.finder_epochs) / 20)
best = int(np.argmin(history.history["loss"]))
print(f"lowest loss at epoch {best}, lr {lrs[best]:.4f}")
plots.lr_finder(lrs, history.history["loss"], path=os.path.join(args.out, "t2_lr_finder.png"))

model = make_model()
model.compile(loss="sparse_categorical_crossentropy",
              optimizer=keras.optimizers.Adam(learning_rate=0.005), metrics=["accuracy"])
model.fit(train_data, train_labels, epochs=args.epochs, verbose=2,
          validation_data=(test_data, test_labels))
predictions = model.predict(test_data, verbose=0).argmax(axis=1)
print("first ten predictions:", predictions[:10].tolist())
print("layer 1 weights:", [w.shape for w in model.layers[1].get_weights()])
plots.confusion_matrix(test_labels, predictions, CLASS_NAMES,
                       path=os.path.join(args.out, "t2_confusion.png"), figsize=(15, 15))
