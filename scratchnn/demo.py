"""The main job: train the tutorials' seed models on scratchnn and show the results.

`scratchnn demo` (or `make demo`) runs each model below, prints a results table and
writes it, with the tutorials' figures, to `reports/demo/`.
"""

from __future__ import annotations

import json
import os
import time
from typing import Callable

import numpy as np

from . import callbacks, datasets, layers, optimizers, utils
from .model import Sequential


def _circles_model() -> dict:
    """T1 model_7: Dense(4,relu)-Dense(4,relu)-Dense(1,sigmoid), Adam(0.02), 20 epochs."""
    (x_train, y_train), (x_test, y_test) = datasets.circles.load_data()
    utils.set_random_seed(42)
    model = Sequential([layers.Dense(4, activation="relu"), layers.Dense(4, activation="relu"),
                        layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer=optimizers.Adam(learning_rate=0.02),
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=20, verbose=0)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return {"model": model, "history": history.history, "test_loss": loss,
            "test_accuracy": accuracy, "data": (x_train, y_train, x_test, y_test)}


def _lr_finder() -> dict:
    """T1 model 6: Dense(4,relu)-Dense(4,relu)-Dense(1,sigmoid), Adam, 100 epochs with
    LearningRateScheduler(1e-4 * 10**(epoch/20)); the loss minimum suggests the rate."""
    (x_train, y_train), _ = datasets.circles.load_data()
    utils.set_random_seed(42)
    model = Sequential([layers.Dense(4, activation="relu"), layers.Dense(4, activation="relu"),
                        layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    scheduler = callbacks.LearningRateScheduler(lambda epoch: 1e-4 * 10 ** (epoch / 20))
    history = model.fit(x_train, y_train, epochs=100, verbose=0, callbacks=[scheduler])
    lrs, loss = history.history["learning_rate"], history.history["loss"]
    best = int(np.argmin(loss))
    return {"history": history.history, "lr_at_min_loss": lrs[best], "min_loss": loss[best],
            "suggested_lr": lrs[best] / 10}


def _fashion_mlp(epochs: int) -> dict:
    """T3 MLP: Flatten-Dense(350,relu)-Dense(10,softmax), Adam, one-hot labels."""
    (x_train, y_train), (x_test, y_test) = datasets.fashion_mnist.load_data()
    x_train, x_test = x_train / 255.0, x_test / 255.0
    utils.set_random_seed(0)
    model = Sequential([layers.Flatten(input_shape=(28, 28)), layers.Dense(350, activation="relu"),
                        layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x_train, utils.to_categorical(y_train), epochs=epochs, verbose=2,
                        validation_data=(x_test, utils.to_categorical(y_test)))
    seconds = time.perf_counter() - start
    predictions = model.predict(x_test, verbose=0).argmax(axis=1)
    return {"model": model, "history": history.history, "seconds": seconds,
            "test_accuracy": float((predictions == y_test).mean()), "predictions": predictions,
            "y_test": y_test, "x_test": x_test, "params": model.count_params()}


def _fashion_cnn(epochs: int) -> dict:
    """T3 CNN: Conv2D(32,3,relu)-MaxPooling2D-Flatten-Dense(100,relu)-Dense(10,softmax)."""
    (x_train, y_train), (x_test, y_test) = datasets.fashion_mnist.load_data()
    x_train, x_test = x_train[..., None] / 255.0, x_test[..., None] / 255.0
    utils.set_random_seed(0)
    model = Sequential([layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
                        layers.MaxPooling2D((2, 2)), layers.Flatten(),
                        layers.Dense(100, activation="relu"), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=epochs, verbose=2,
                        validation_data=(x_test, y_test))
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return {"history": history.history, "seconds": seconds, "test_accuracy": accuracy,
            "params": model.count_params()}


def _figures(out_dir: str, results: dict) -> list[str]:
    from . import plots
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is not installed: skipping figures")
        return []
    written = []
    circles = results["circles"]
    x_train, y_train, x_test, y_test = circles["data"]
    written.append(os.path.join(out_dir, "circles_decision_boundary.png"))
    plots.decision_boundaries(circles["model"], {"Train": (x_train, y_train),
                                                 "Test": (x_test, y_test)}, path=written[-1])
    written.append(os.path.join(out_dir, "circles_history.png"))
    plots.history_curves(circles["history"], "circles model_7", written[-1])
    lr = results["lr_finder"]["history"]
    written.append(os.path.join(out_dir, "circles_lr_finder.png"))
    plots.lr_finder(lr["learning_rate"], lr["loss"], written[-1])
    mlp = results["fashion_mlp"]
    written.append(os.path.join(out_dir, "fashion_mlp_confusion_matrix.png"))
    plots.confusion_matrix(mlp["y_test"], mlp["predictions"],
                           datasets.fashion_mnist.CLASS_NAMES, path=written[-1], figsize=(13, 13))
    written.append(os.path.join(out_dir, "fashion_mlp_history.png"))
    plots.history_curves(mlp["history"], "Fashion-MNIST MLP 350-10", written[-1])
    written.append(os.path.join(out_dir, "fashion_cnn_history.png"))
    plots.history_curves(results["fashion_cnn"]["history"], "Fashion-MNIST CNN", written[-1])
    return written


def run(out_dir: str = "reports/demo", epochs: int = 2) -> dict:
    """Train every demo model, print the table, write results.md/.json and figures."""
    os.makedirs(out_dir, exist_ok=True)
    steps: list[tuple[str, Callable[[], dict]]] = [
        ("circles", _circles_model), ("lr_finder", _lr_finder),
        ("fashion_mlp", lambda: _fashion_mlp(epochs)),
        ("fashion_cnn", lambda: _fashion_cnn(epochs)),
    ]
    results = {}
    for name, step in steps:
        print(f"== {name}")
        results[name] = step()
    rows = [
        ("circles model_7 (T1): Dense 4-4-1, Adam(0.02), 20 epochs, 800/200 split",
         "test accuracy", f"{results['circles']['test_accuracy']:.3f}"),
        ("circles LR finder (T1): 100 epochs, lr = 1e-4 * 10^(epoch/20)",
         "lr at minimum loss", f"{results['lr_finder']['lr_at_min_loss']:.4f}"),
        (f"Fashion-MNIST MLP (T3): Flatten-Dense(350)-Dense(10), Adam, {epochs} epochs",
         "test accuracy", f"{results['fashion_mlp']['test_accuracy']:.4f}"),
        ("Fashion-MNIST MLP (T3)", "parameters", f"{results['fashion_mlp']['params']:,}"),
        ("Fashion-MNIST MLP (T3)", "training time (s)", f"{results['fashion_mlp']['seconds']:.1f}"),
        (f"Fashion-MNIST CNN (T3): Conv2D(32,3)-MaxPool-Dense(100)-Dense(10), Adam, {epochs} epochs",
         "test accuracy", f"{results['fashion_cnn']['test_accuracy']:.4f}"),
        ("Fashion-MNIST CNN (T3)", "parameters", f"{results['fashion_cnn']['params']:,}"),
        ("Fashion-MNIST CNN (T3)", "training time (s)", f"{results['fashion_cnn']['seconds']:.1f}"),
    ]
    table = ["| model | measure | value |", "|---|---|---|"] + [f"| {a} | {b} | {c} |"
                                                             for a, b, c in rows]
    figures = _figures(out_dir, results)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write("# scratchnn demo results\n\nProduced by `make demo` (`scratchnn demo`).\n\n")
        f.write("\n".join(table) + "\n\n")
        f.writelines(f"![{os.path.basename(p)}]({os.path.basename(p)})\n" for p in figures)
    summary = {"rows": [{"model": a, "measure": b, "value": c} for a, b, c in rows]}
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print("\n".join(table))
    print(f"\nwritten to {out_dir}/: results.md, results.json"
          + "".join(f", {os.path.basename(p)}" for p in figures))
    return results
