"""`scratchnn parity`: compare scratchnn with TensorFlow and write a report.

reports/parity/index.md (and index.html): the worst error of every check, in tables;
curves_<run>.png: scratchnn's and Keras's training curves overlaid.
"""

from __future__ import annotations

import html
import json
import os
import time

import keras
import numpy as np

import scratchnn as snn

from .convert import to_keras
from .reference import keras_gradients, train_both

L = snn.layers


def _set_floatx(value: str) -> None:
    """Both engines in `value`; Keras's session is cleared, or layers built later may
    keep the previous float type."""
    keras.backend.clear_session()
    snn.config.set_floatx(value)
    keras.config.set_floatx(value)


def _relative(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def forward_checks(precision: str) -> list[dict]:
    cases = {
        "Dense relu": ((6,), [L.Dense(5, activation="relu")]),
        "Dense softmax": ((6,), [L.Dense(5, activation="softmax")]),
        "Dense sigmoid/tanh": ((6,), [L.Dense(5, activation="sigmoid"), L.Dense(3, activation="tanh")]),
        "Conv2D same, even kernel, stride 2": ((11, 11, 2), [L.Conv2D(3, 4, strides=2, padding="same")]),
        "Conv2D rectangular, strides (3,1)": ((10, 7, 3), [L.Conv2D(4, (3, 2), strides=(3, 1))]),
        "MaxPooling2D 3/2 same": ((7, 8, 2), [L.MaxPooling2D(3, strides=2, padding="same")]),
        "seed CNN (T4)": ((28, 28, 1), [L.Conv2D(32, 5, activation="relu"), L.MaxPooling2D(),
                                        L.Conv2D(32, 4, activation="relu", padding="same"),
                                        L.MaxPooling2D(), L.Conv2D(32, 3, activation="relu"),
                                        L.Flatten(), L.Dropout(0.5), L.Dense(10),
                                        L.Activation("softmax")]),
    }
    rows = []
    for name, (shape, layers) in cases.items():
        model = snn.Sequential([snn.Input(shape), *layers])
        x = np.random.default_rng(0).random((8, *shape)).astype(precision)
        err = _relative(model.predict(x, verbose=0), to_keras(model).predict(x, verbose=0))
        rows.append({"check": f"forward: {name}", "precision": precision, "worst": err,
                     "measure": "max |diff| / max |keras|"})
    return rows


def gradient_checks(precision: str, x28: np.ndarray, y28: np.ndarray) -> list[dict]:
    models = {
        "circles 4-4-1": ((2,), [L.Dense(4, activation="relu"), L.Dense(4, activation="relu"),
                                 L.Dense(1, activation="sigmoid")], "binary_crossentropy"),
        "Fashion 350-10": ((28, 28), [L.Flatten(), L.Dense(350, activation="relu"),
                                      L.Dense(10, activation="softmax")],
                           "sparse_categorical_crossentropy"),
        "Fashion CNN 542,230": ((28, 28, 1), [L.Conv2D(32, 3, activation="relu"),
                                              L.MaxPooling2D(), L.Flatten(),
                                              L.Dense(100, activation="relu"),
                                              L.Dense(10, activation="softmax")],
                                "sparse_categorical_crossentropy"),
    }
    rows = []
    rng = np.random.default_rng(0)
    for name, (shape, layers, loss) in models.items():
        model = snn.Sequential([snn.Input(shape), *layers])
        model.compile(optimizer="adam", loss=loss)
        if shape == (2,):
            x, y = rng.normal(size=(32, 2)), rng.integers(0, 2, 32).astype(float)
        elif len(shape) == 3 and precision == "float32":
            x, y = rng.random((32, *shape)), y28[:32]   # see parity_tests: pooling near-ties
        else:
            x, y = x28[:32].reshape(32, *shape), y28[:32]
        _, ours = model.compute_gradients(x.astype(precision), y)
        _, theirs = keras_gradients(to_keras(model), x.astype(precision), y)
        rows.append({"check": f"gradients: {name}", "precision": precision,
                     "worst": max(_relative(a, b) for a, b in zip(ours, theirs)),
                     "measure": "max over weights of max |diff| / max |keras|"})
    return rows


def optimizer_checks(precision: str) -> list[dict]:
    rows = []
    for name, ours, theirs in [
        ("SGD nesterov", snn.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
         keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True)),
        ("Adam", snn.optimizers.Adam(0.01), keras.optimizers.Adam(0.01)),
        ("Adam amsgrad", snn.optimizers.Adam(0.01, amsgrad=True),
         keras.optimizers.Adam(0.01, amsgrad=True))]:
        rng = np.random.default_rng(0)
        w = rng.normal(size=(50,)).astype(precision)
        v = keras.Variable(w.copy(), dtype=precision)
        for _ in range(100):
            g = (rng.normal(size=50) * 10.0 ** rng.integers(-9, 1, 50)).astype(precision)
            ours.apply([g], [w])
            theirs.apply_gradients([(g, v)])
        rows.append({"check": f"optimizer: {name}, 100 steps", "precision": precision,
                     "worst": float(np.abs(w - v.numpy()).max()), "measure": "max |w diff|"})
    return rows


def curve_runs(x, y, xt, yt) -> list[tuple[str, str, dict]]:
    """(name, precision, train_both kwargs) of the training runs compared."""
    circles = snn.datasets.circles.load_data()
    (cx, cy), (cxt, cyt) = circles
    dense = [L.Dense(4, activation="relu"), L.Dense(4, activation="relu"),
             L.Dense(1, activation="sigmoid")]
    fashion_4 = [L.Flatten(), L.Dense(4, activation="relu"), L.Dense(4, activation="relu"),
                 L.Dense(10, activation="softmax")]
    def mlp_100_50_10() -> dict:      # fresh layers for each precision
        return dict(
            layers=[L.Flatten(), L.Dense(100, activation="relu"), L.Dense(50, activation="relu"),
                    L.Dense(10, activation="softmax")], input_shape=(28, 28), x=x[:3000],
            y=y[:3000], epochs=5, validation_data=(xt[:1000], yt[:1000]),
            compile_kwargs=dict(optimizer="adam", loss="sparse_categorical_crossentropy",
                                metrics=["accuracy"]))

    return [
        ("circles model_7, Adam(0.02), shuffled", "float32", dict(
            layers=dense, input_shape=(2,), x=cx, y=cy, epochs=20, shuffle=True,
            validation_data=(cxt, cyt), compile_kwargs=dict(
                optimizer=snn.optimizers.Adam(0.02), loss="binary_crossentropy",
                metrics=["accuracy"]))),
        ("Fashion 4-4-10, all 60,000 images", "float32", dict(
            layers=fashion_4, input_shape=(28, 28), x=x, y=y, epochs=5,
            validation_data=(xt, yt), compile_kwargs=dict(
                optimizer=snn.optimizers.Adam(0.005), loss="sparse_categorical_crossentropy",
                metrics=["accuracy"]))),
        *[("Fashion 100-50-10 (3,000 images)", precision, mlp_100_50_10())
          for precision in ("float64", "float32")],
        ("CNN 542,230 (2,000 images)", "float32", dict(
            layers=[L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(), L.Flatten(),
                    L.Dense(100, activation="relu"), L.Dense(10, activation="softmax")],
            input_shape=(28, 28, 1), x=x[:2000, ..., None], y=y[:2000], epochs=2,
            validation_data=(xt[:500, ..., None], yt[:500]), compile_kwargs=dict(
                optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]))),
    ]


def _plot_curves(path: str, title: str, ours: dict, theirs: dict) -> None:
    """Both engines' History curves overlaid, one panel per metric (train and val_)."""
    from scratchnn import plots
    plots.history_curves({"scratchnn": ours, "keras": theirs}, title=title, path=path)


def run(out_dir: str = "reports/parity") -> list[dict]:
    """Run every check and write index.md, index.html, results.json and the curve PNGs."""
    os.makedirs(out_dir, exist_ok=True)
    start = time.perf_counter()
    (x, y), (xt, yt) = snn.datasets.fashion_mnist.load_data()
    x, xt = x / np.float32(255), xt / np.float32(255)
    rows: list[dict] = []
    for precision in ("float32", "float64"):
        _set_floatx(precision)
        rows += forward_checks(precision) + gradient_checks(precision, x, y)
        rows += optimizer_checks(precision)
    curve_rows, figures = [], []
    for index, (name, precision, kwargs) in enumerate(curve_runs(x, y, xt, yt)):
        _set_floatx(precision)
        snn.utils.set_random_seed(0)
        print(f"training both engines: {name} ({precision})", flush=True)
        ours, theirs, _, _ = train_both(**kwargs)
        worst = {k: float(np.abs(np.array(ours[k]) - np.array(theirs[k])).max()) for k in ours}
        figure = f"curves_{index}.png"
        _plot_curves(os.path.join(out_dir, figure), f"{name} ({precision})", ours, theirs)
        figures.append((name, precision, figure))
        curve_rows.append({"check": f"curves: {name}", "precision": precision,
                           "epochs": len(ours["loss"]), **{f"worst {k}": v
                                                          for k, v in worst.items()}})
    _set_floatx("float32")
    _write(out_dir, rows, curve_rows, figures, time.perf_counter() - start)
    return rows + curve_rows


def _write(out_dir, rows, curve_rows, figures, seconds) -> None:
    md = ["# scratchnn vs TensorFlow/Keras: parity report", "",
          f"Produced by `scratchnn parity` (`make parity`) in {seconds:.0f} s, keras "
          f"{keras.__version__}. Every number is the WORST difference found in that check.", "",
          "## Forward passes, gradients, optimizer steps", "",
          "| check | precision | worst | measure |", "|---|---|---|---|"]
    md += [f"| {r['check']} | {r['precision']} | {r['worst']:.2e} | {r['measure']} |" for r in rows]
    md += ["", "## Training curves (worst absolute difference over all epochs)", "",
           "| run | precision | epochs | key: worst |", "|---|---|---|---|"]
    for r in curve_rows:
        keys = ", ".join(f"{k[6:]}: {v:.1e}" for k, v in r.items() if k.startswith("worst "))
        md.append(f"| {r['check'][8:]} | {r['precision']} | {r['epochs']} | {keys} |")
    md += ["", "float32 runs of wide ReLU networks drift apart by chaos (a ReLU input within "
           "rounding of 0 flips in one engine); float64 runs agree to ~1e-15. See README.", ""]
    md += [f"![{name} ({precision})]({figure})" for name, precision, figure in figures]
    with open(os.path.join(out_dir, "index.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    body = []
    for line in md:
        if line.startswith("|---"):
            continue
        if line.startswith("|"):
            cells = [html.escape(c.strip()) for c in line.strip("|").split("|")]
            body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        elif line.startswith("!["):
            src = line[line.index("(") + 1:-1]
            body.append(f'<p><img src="{src}" alt="{html.escape(line[2:line.index("]")])}"></p>')
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line.lstrip('# '))}</h{level}>")
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
    with open(os.path.join(out_dir, "index.html"), "w") as f:
        f.write("<!doctype html><meta charset='utf-8'><title>scratchnn parity</title>"
                "<style>td{border:1px solid #ccc;padding:2px 6px}</style>\n"
                + _tables(body) + "\n")
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"checks": rows, "curves": curve_rows}, f, indent=2)
    print("\n".join(md))


def _tables(body: list[str]) -> str:
    """Group consecutive <tr> lines into <table> elements."""
    out, in_table = [], False
    for line in body:
        if line.startswith("<tr>") and not in_table:
            out.append("<table>")
            in_table = True
        elif not line.startswith("<tr>") and in_table:
            out.append("</table>")
            in_table = False
        out.append(line)
    if in_table:
        out.append("</table>")
    return "\n".join(out)
