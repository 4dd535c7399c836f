"""The same seed gives the same run on scratchnn and on Keras, with nothing transferred.

The model code below runs twice, once with `engine = scratchnn` and once with
`engine = keras`: T2's refit (Flatten-Dense(4)-Dense(4)-Dense(10), Adam(0.005), seed 42),
every Fashion-MNIST training image, the test set as validation data, shuffled epochs.
Each engine draws its own initial weights and sample order from `set_random_seed(42)`;
scratchnn draws Keras's numbers (see scratchnn/random.py), so both print the same History.

    python examples/same_seed.py                 # 4 epochs, a markdown table of both runs
    python examples/same_seed.py --epochs 5 --floatx float64 --seed 7
(needs TensorFlow, like tf_reference/)

In float32 the two runs are the same computation up to rounding, and stay equal to the
digits shown until rounding flips a ReLU input sitting within an ulp of zero in one
engine only: a 4-unit layer then parts the runs (with seed 42, in epoch 5: val_accuracy
0.7153 vs 0.7090, measured). In float64 they agree to about 1e-15 at every epoch."""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import scratchnn  # noqa: E402


def t2_refit(engine, seed: int, epochs: int, data) -> tuple[dict, list]:
    """T2's refit on `engine` (the scratchnn or the keras module): History and first weights."""
    (x, y), (xt, yt) = data
    engine.utils.set_random_seed(seed)
    model = engine.Sequential([engine.Input((28, 28)), engine.layers.Flatten(),
                               engine.layers.Dense(4, activation="relu"),
                               engine.layers.Dense(4, activation="relu"),
                               engine.layers.Dense(10, activation="softmax")])
    initial = [np.asarray(w) for w in model.get_weights()]
    model.compile(optimizer=engine.optimizers.Adam(learning_rate=0.005),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=epochs, validation_data=(xt, yt), verbose=0)
    return history.history, initial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--floatx", choices=["float32", "float64"], default="float32")
    args = parser.parse_args()
    scratchnn.config.set_floatx(args.floatx)
    keras.config.set_floatx(args.floatx)
    (x, y), (xt, yt) = scratchnn.datasets.fashion_mnist.load_data()
    data = (x / 255.0, y), (xt / 255.0, yt)
    ours, ours_w = t2_refit(scratchnn, args.seed, args.epochs, data)
    theirs, theirs_w = t2_refit(keras, args.seed, args.epochs, data)
    same = all(np.array_equal(a, b) for a, b in zip(ours_w, theirs_w))
    print(f"T2 refit, seed {args.seed}, Adam(0.005), 60,000 images, test set as validation, "
          f"{args.floatx}. "
          f"Initial weights bit-identical: {'yes' if same else 'NO'}.\n")
    print("| epoch | engine | loss | accuracy | val_loss | val_accuracy |")
    print("|---|---|---|---|---|---|")
    for epoch in range(args.epochs):
        for name, h in (("scratchnn", ours), ("keras", theirs)):
            print(f"| {epoch + 1} | {name} | {h['loss'][epoch]:.4f} | {h['accuracy'][epoch]:.4f}"
                  f" | {h['val_loss'][epoch]:.4f} | {h['val_accuracy'][epoch]:.4f} |")
    worst = max(abs(a - b) for k in ours for a, b in zip(ours[k], theirs[k]))
    print(f"\nlargest difference between the engines, any key, any epoch: {worst:.1e}")


if __name__ == "__main__":
    main()
