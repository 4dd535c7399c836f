"""T5 "Tensorflow Neural Network Classification": named layers and model on the circles;
Dense(4, relu)-Dense(1, sigmoid) with Adam(0.001) separates them (the tutorial runs 2000
epochs; --epochs sets it), with EarlyStopping(min_delta=1e-5, patience=100,
restore_best_weights=True) on val_loss.   python examples/t5_circles_named.py [--engine keras]"""

from _engine import load, parse

args = parse(__doc__, epochs=(int, 2000, "maximum epochs"))
keras = load(args.engine)
from scratchnn.datasets.circles import make_circles             # noqa: E402

X, y = make_circles(1000, noise=0.03, random_state=42)
keras.utils.set_random_seed(42)
model = keras.Sequential([keras.Input((2,), name="input_layer"),
                          keras.layers.Dense(4, activation="relu", name="hidden_layer"),
                          keras.layers.Dense(1, activation="sigmoid", name="output_layer")],
                         name="model_circles")
model.compile(loss=keras.losses.BinaryCrossentropy(), optimizer=keras.optimizers.Adam(0.001),
              metrics=["accuracy"])
model.summary()
stop = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-5, patience=100,
                                     restore_best_weights=True)
history = model.fit(X[:800], y[:800], epochs=args.epochs, verbose=0,
                    validation_data=(X[800:], y[800:]), callbacks=[stop])
loss, accuracy = model.evaluate(X[800:], y[800:], verbose=0)
print(f"{len(history.history['loss'])} epochs; test loss {loss:.4f}, accuracy {accuracy:.3f}")
