"""T1 "Neural network classification with TensorFlow", the circles part:
model_7 (Adam(0.02), 20 epochs on 800 points), the LR finder, decision boundaries and
a confusion matrix.   python examples/t1_circles.py [--engine keras]"""

import os

import numpy as np

from _engine import load, parse

args = parse(__doc__)
keras = load(args.engine)
from scratchnn import plots                                     # noqa: E402 (figures only)
from scratchnn.datasets.circles import make_circles             # noqa: E402 (== sklearn's)

X, y = make_circles(1000, noise=0.03, random_state=42)
X_train, y_train, X_test, y_test = X[:800], y[:800], X[800:], y[800:]

# LR finder: lr = 1e-4 * 10**(epoch/20); pick about 10x below the loss minimum
keras.utils.set_random_seed(42)
model_6 = keras.Sequential([keras.layers.Dense(4, activation="relu"),
                            keras.layers.Dense(4, activation="relu"),
                            keras.layers.Dense(1, activation="sigmoid")])
model_6.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
lr_scheduler = keras.callbacks.LearningRateScheduler(lambda epoch: 1e-4 * 10 ** (epoch / 20))
history = model_6.fit(X_train, y_train, epochs=100, callbacks=[lr_scheduler], verbose=0)
lrs = 1e-4 * 10 ** (np.arange(100) / 20)
print(f"loss is lowest at lr = {lrs[np.argmin(history.history['loss'])]:.4f}")
plots.lr_finder(lrs, history.history["loss"], path=os.path.join(args.out, "t1_lr_finder.png"))

# model_7: the same net with Adam(0.02), 20 epochs
keras.utils.set_random_seed(42)
model_7 = keras.Sequential([keras.layers.Dense(4, activation="relu"),
                            keras.layers.Dense(4, activation="relu"),
                            keras.layers.Dense(1, activation="sigmoid")])
model_7.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(learning_rate=0.02),
                metrics=["accuracy"])
history = model_7.fit(X_train, y_train, epochs=20, verbose=0)
loss, accuracy = model_7.evaluate(X_test, y_test, verbose=0)
print(f"model_7 on the test set: loss {loss:.4f}, accuracy {100 * accuracy:.2f}%")

plt = plots._plt()
fig, axes = plt.subplots(1, 2, figsize=(12, 6))
plots.decision_boundary(model_7, X_train, y_train, ax=axes[0], title="Train")
plots.decision_boundary(model_7, X_test, y_test, ax=axes[1], title="Test")
plots._finish(fig, os.path.join(args.out, f"t1_boundaries_{args.engine}.png"))
y_pred = np.round(model_7.predict(X_test, verbose=0)).ravel()
plots.confusion_matrix(y_test, y_pred, path=os.path.join(args.out, "t1_confusion.png"),
                       figsize=(6, 6))
print(f"figures in {args.out}/")
