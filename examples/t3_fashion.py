"""T3 "Create Image Classification Models With Tensorflow in 10 minutes": the MLP
(278,260 params) and the CNN (542,230 params) on Fashion-MNIST with a 5% stratified
validation split and EarlyStopping(patience=5, restore_best_weights=True).
python examples/t3_fashion.py [--engine keras] [--epochs 100]"""

import numpy as np
from sklearn.model_selection import train_test_split

from _engine import load, parse

args = parse(__doc__, epochs=(int, 100, "maximum epochs (EarlyStopping usually stops ~10)"))
keras = load(args.engine)

(train_images, train_labels), (test_images, test_labels) = keras.datasets.fashion_mnist.load_data()
x_train, x_val, y_train, y_val = train_test_split(train_images, train_labels, stratify=train_labels,
                                                  random_state=48, test_size=0.05)
x_train, x_val, x_test = x_train / 255.0, x_val / 255.0, test_images / 255.0
y_train, y_val = keras.utils.to_categorical(y_train), keras.utils.to_categorical(y_val)
y_test = keras.utils.to_categorical(test_labels)

for name, layers in [
    ("MLP", [keras.layers.Flatten(input_shape=(28, 28)), keras.layers.Dense(350, activation="relu"),
             keras.layers.Dense(10, activation="softmax")]),
    ("CNN", [keras.layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
             keras.layers.MaxPooling2D((2, 2)), keras.layers.Flatten(),
             keras.layers.Dense(100, activation="relu"), keras.layers.Dense(10, activation="softmax")]),
]:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(layers)
    model.summary()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    shape = (-1, 28, 28) if name == "MLP" else (-1, 28, 28, 1)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", restore_best_weights=True, patience=5)
    history = model.fit(x_train.reshape(shape), y_train, epochs=args.epochs, batch_size=32,
                        validation_data=(x_val.reshape(shape), y_val), callbacks=[stop], verbose=2)
    accuracies = [model.evaluate(x.reshape(shape), y, verbose=0)[1]
                  for x, y in [(x_train, y_train), (x_val, y_val), (x_test, y_test)]]
    print(f"{name}: stopped after {len(history.history['loss'])} epochs; best epoch "
          f"{int(np.argmin(history.history['val_loss'])) + 1}; train/val/test accuracy "
          + " / ".join(f"{a:.3f}" for a in accuracies))
