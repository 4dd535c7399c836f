"""The main job: the tutorials' seed models, trained by scratchnn and by Keras side by side.

`scratchnn demo` (`make demo`) trains each model below on scratchnn, then trains its
Keras twin from the same initial weights on the same batches (`tf_reference.train_both`),
and prints one table: scratchnn's test accuracy and time, Keras's, and the largest
difference between the two engines' History values. The table, the figures (both
engines' curves overlaid) and results.json go to `reports/demo/`.

Without TensorFlow it trains on scratchnn alone and says how to add the comparison;
TensorFlow is imported only for the comparison, through tf_reference.

Times are the seconds between `on_train_begin` and `on_train_end` of fit (the training
loop with its validation passes), summed over the fit calls of a run: Keras replays
scratchnn's shuffled order one epoch per fit call, so its set-up before each call is
left out, and its first call includes tracing the training step.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import callbacks, config, datasets, layers, optimizers, utils
from .model import Model
from .sequential import Sequential

SEED = 42
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
HEADER = ["model", "params", "epochs", "scratchnn test accuracy", "scratchnn time (s)",
          "Keras test accuracy", "Keras time (s)", "largest History difference"]


@dataclass
class DemoModel:
    """One row of the demo: a seed model, its data and how the tutorial trains it."""
    key: str
    title: str                                 # the table's description
    short: str                                 # figure titles
    input_shape: tuple
    make_layers: Callable[[], list | Model]    # layers stacked on Input, or a whole graph
    make_compile: Callable[[], dict]
    data: str                                  # "circles" or "fashion" (x /255, sparse labels)
    epochs: int
    lr_schedule: Callable[[int], float] | None = None


def _dense_4_4_1() -> list:
    return [layers.Dense(4, activation="relu"), layers.Dense(4, activation="relu"),
            layers.Dense(1, activation="sigmoid")]


def _lr_finder_schedule(epoch: int) -> float:
    return 1e-4 * 10 ** (epoch / 20)


def demo_models(fashion_epochs: int = 2) -> list[DemoModel]:
    """The demo's models, in the order of the table."""
    return [
        DemoModel("circles", "circles model_7 (T1): Dense 4-4-1, Adam(0.02), 800/200 split",
                  "circles model_7",
                  (2,), _dense_4_4_1, lambda: dict(
                      optimizer=optimizers.Adam(learning_rate=0.02),
                      loss="binary_crossentropy", metrics=["accuracy"]), "circles", 20),
        DemoModel("lr_finder", "circles LR finder (T1): Dense 4-4-1, Adam, "
                  "lr = 1e-4 * 10^(epoch/20)", "circles LR finder", (2,), _dense_4_4_1, lambda: dict(
                      optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"]),
                  "circles", 100, _lr_finder_schedule),
        DemoModel("fashion_mlp", "Fashion-MNIST MLP (T3): Flatten-Dense(350)-Dense(10), Adam",
                  "Fashion-MNIST MLP 350-10", (28, 28), lambda: [layers.Flatten(), layers.Dense(350, activation="relu"),
                                     layers.Dense(10, activation="softmax")],
                  lambda: dict(optimizer="adam", loss="sparse_categorical_crossentropy",
                               metrics=["accuracy"]), "fashion", fashion_epochs),
        DemoModel("fashion_cnn", "Fashion-MNIST CNN (T3): Conv2D(32,3)-MaxPool-Dense(100)-"
                  "Dense(10), Adam", "Fashion-MNIST CNN conv32", (28, 28, 1),
                  lambda: [layers.Conv2D(32, (3, 3), activation="relu"),
                           layers.MaxPooling2D((2, 2)), layers.Flatten(),
                           layers.Dense(100, activation="relu"),
                           layers.Dense(10, activation="softmax")],
                  lambda: dict(optimizer="adam", loss="sparse_categorical_crossentropy",
                               metrics=["accuracy"]), "fashion", fashion_epochs),
        DemoModel("fashion_cnn_bn", "Fashion-MNIST CNN with BatchNormalization (beyond the "
                  "tutorials): 2x [Conv2D-BatchNorm-ReLU], MaxPool, GlobalAveragePooling2D, "
                  "AdamW", "Fashion-MNIST CNN, batch norm", (28, 28, 1), _cnn_bn,
                  lambda: dict(optimizer=optimizers.AdamW(learning_rate=2e-3,
                                                          weight_decay=1e-4),
                               loss="sparse_categorical_crossentropy", metrics=["accuracy"]),
                  "fashion", 1),               # one epoch: the demo stays well under 5 minutes
        DemoModel("fashion_residual", "Fashion-MNIST residual CNN, a graph model (beyond the "
                  "tutorials): Conv2D-MaxPool, a block of 2 Conv2D added to its input, "
                  "Dense(10), Adam", "Fashion-MNIST residual CNN", (28, 28, 1), _residual_cnn,
                  lambda: dict(optimizer="adam", loss="sparse_categorical_crossentropy",
                               metrics=["accuracy"]), "fashion", 1),
    ]


def _cnn_bn() -> list:
    """examples/fashion_cnn_bn.py's model, narrower (16 and 32 filters) to keep the demo short."""
    return [layers.Conv2D(16, 3, padding="same", use_bias=False), layers.BatchNormalization(),
            layers.Activation("relu"), layers.MaxPooling2D(),
            layers.Conv2D(32, 3, padding="same", use_bias=False), layers.BatchNormalization(),
            layers.Activation("relu"), layers.GlobalAveragePooling2D(),
            layers.Dense(10, activation="softmax")]


def _residual_cnn() -> Model:
    """examples/fashion_graphs.py's residual CNN, its block after the first pooling (13 x 13
    pixels) to keep the demo short: a Functional model, snn.Model(inputs, outputs)."""
    image = layers.Input((28, 28, 1))
    h = layers.MaxPooling2D()(layers.Conv2D(16, 3, activation="relu")(image))   # (13, 13, 16)
    r = layers.Conv2D(16, 3, padding="same", activation="relu")(h)
    r = layers.Conv2D(16, 3, padding="same")(r)
    h = layers.Activation("relu")(layers.Add()([h, r]))      # the skip connection
    return Model(image, layers.Dense(10, activation="softmax")(layers.Flatten()(h)))


def build(spec: DemoModel):
    """The demo model of `spec`, fresh: its layers on Input(input_shape) in a Sequential, or
    the graph model its make_layers returns."""
    made = spec.make_layers()
    return made if isinstance(made, Model) else Sequential([layers.Input(spec.input_shape),
                                                            *made])


_DATA: dict = {}


def load(kind: str, input_shape: tuple):
    """((x, y), (x_test, y_test)) for a demo model: the circles' 800/200 split, or
    Fashion-MNIST's 60,000/10,000 with pixels / 255 in float32."""
    if kind not in _DATA:
        if kind == "circles":
            _DATA[kind] = datasets.circles.load_data()
        else:
            (x, y), (xt, yt) = datasets.fashion_mnist.load_data(download_if_missing=False)
            _DATA[kind] = ((x / np.float32(255), y), (xt / np.float32(255), yt))
    (x, y), (xt, yt) = _DATA[kind]
    return (x.reshape(-1, *input_shape), y), (xt.reshape(-1, *input_shape), yt)


class Timer(callbacks.Callback):
    """Seconds spent in fit's training loop (on_train_begin to on_train_end), summed."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds, self._start = 0.0, 0.0

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_train_end(self, logs=None):
        self.seconds += time.perf_counter() - self._start


@dataclass
class Run:
    """One engine's run of one demo model."""
    history: dict
    test_accuracy: float
    seconds: float
    model: object = field(repr=False)


def train_scratchnn(spec: DemoModel) -> Run:
    """scratchnn alone: seed 42, build, compile, fit with shuffling (as the tutorials)."""
    (x, y), (xt, yt) = load(spec.data, spec.input_shape)
    utils.set_random_seed(SEED)
    model = build(spec)
    model.compile(**spec.make_compile())
    timer = Timer()
    extra = [callbacks.LearningRateScheduler(spec.lr_schedule)] if spec.lr_schedule else []
    history = model.fit(x, y, epochs=spec.epochs, verbose=0, validation_data=(xt, yt),
                        callbacks=[timer, *extra]).history
    accuracy = model.evaluate(xt, yt, verbose=0)[1]
    return Run(history, float(accuracy), timer.seconds, model)


def train_both_engines(spec: DemoModel) -> tuple[Run, Run]:
    """scratchnn and its Keras twin, same initial weights, same batches (train_both)."""
    import keras                                    # only here: the comparison needs it

    from tf_reference import train_both
    (x, y), (xt, yt) = load(spec.data, spec.input_shape)
    utils.set_random_seed(SEED)
    ours_timer, keras_timer = Timer(), _keras_timer(keras)
    snn_extra, keras_extra = [], []
    if spec.lr_schedule:
        snn_extra = [callbacks.LearningRateScheduler(spec.lr_schedule)]
        keras_extra = [keras.callbacks.LearningRateScheduler(spec.lr_schedule)]
    made = spec.make_layers()                       # a graph model comes with its inputs
    ours, theirs, model, twin = train_both(
        made, None if isinstance(made, Model) else spec.input_shape, spec.make_compile(), x, y,
        epochs=spec.epochs, shuffle=True, snn_callbacks=[ours_timer, *snn_extra],
        keras_callbacks=[keras_timer, *keras_extra], validation_data=(xt, yt))
    ours_accuracy = model.evaluate(xt, yt, verbose=0)[1]
    keras_accuracy = twin.evaluate(xt, yt, verbose=0, return_dict=True)["accuracy"]
    return (Run(ours, float(ours_accuracy), ours_timer.seconds, model),
            Run(theirs, float(keras_accuracy), keras_timer.seconds, twin))


def _keras_timer(keras):
    """The Keras twin of `Timer` (a Keras callback, so it is defined only once Keras is)."""
    class KerasTimer(keras.callbacks.Callback):
        seconds, _start = 0.0, 0.0

        def on_train_begin(self, logs=None):
            self._start = time.perf_counter()

        def on_train_end(self, logs=None):
            self.seconds += time.perf_counter() - self._start

    return KerasTimer()


def largest_difference(ours: dict, theirs: dict) -> tuple[float, str]:
    """(max |scratchnn - Keras| over every History key and epoch, the key where it is)."""
    worst, where = 0.0, ""
    for key in sorted(set(ours) & set(theirs)):
        diff = float(np.max(np.abs(np.asarray(ours[key], float) - np.asarray(theirs[key], float))))
        if diff >= worst:
            worst, where = diff, key
    return worst, where


def epochs_in_agreement(ours: dict, theirs: dict, tolerance: float = 1e-4) -> int:
    """How many epochs, from the first, every shared History value agrees within tolerance."""
    keys = sorted(set(ours) & set(theirs))
    diffs = np.max([np.abs(np.asarray(ours[k], float) - np.asarray(theirs[k], float))
                    for k in keys], axis=0)                    # (epochs,)
    bad = np.flatnonzero(diffs > tolerance)
    return int(bad[0]) if bad.size else len(diffs)


def lowest_loss_rate(history: dict) -> float:
    """The learning rate of the epoch with the lowest training loss (an LR-finder run)."""
    return float(history["learning_rate"][int(np.argmin(history["loss"]))])


# -- the table ----------------------------------------------------------------------------
def table_row(spec: DemoModel, ours: Run, theirs: Run | None) -> list[str]:
    params = f"{ours.model.count_params():,}"
    row = [spec.title, params, str(spec.epochs), f"{ours.test_accuracy:.4f}",
           f"{ours.seconds:.1f}"]
    if theirs is None:
        return row + ["not run", "", ""]
    worst, key = largest_difference(ours.history, theirs.history)
    return row + [f"{theirs.test_accuracy:.4f}", f"{theirs.seconds:.1f}", f"{worst:.1e} ({key})"]


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def engine_fingerprint(root: str | os.PathLike | None = None) -> str:
    """sha256 (first 12 hex digits) of the code the demo's numbers depend on: every
    scratchnn module but the figures and the command line, and tf_reference's runner.
    The README's results quote it, so a test can tell when they come from other code."""
    root = pathlib.Path(root) if root else pathlib.Path(__file__).resolve().parent.parent
    files = sorted(p for p in (root / "scratchnn").rglob("*.py")
                   if "plots" not in p.parts and p.name not in ("cli.py", "demo_figures.py"))
    files += sorted(p for p in (root / "tf_reference").glob("*.py") if p.name != "report.py")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def results_block(rows: list[list[str]], notes: list[str], versions: str) -> str:
    """The text between the README's results markers (also in reports/demo/results.md)."""
    return "\n".join([
        f"Produced by `make demo` (`scratchnn demo`, written to `reports/demo/results.md`), "
        f"{versions}, float32, seed {SEED}, engine fingerprint `{engine_fingerprint()}`. "
        "Both engines start from the same weights and see the same batches "
        "(`tf_reference.train_both`; Keras replays scratchnn's shuffled order, one fit call "
        "per epoch). Times are seconds inside fit's training loop on the machine that ran "
        "it; they vary from run to run.", "", markdown_table(rows), "", *notes])


def parse_block(block: str) -> dict[str, dict[str, str]]:
    """{model title: {column: cell}} from a results block (for the README check)."""
    rows = {}
    for line in block.splitlines():
        if line.startswith("| ") and not line.startswith("| model |"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            rows[cells[0]] = dict(zip(HEADER, cells))
    return rows


def readme_block(readme: str) -> str:
    """The README text between the results markers."""
    if readme.count(BEGIN) != 1 or readme.count(END) != 1:
        raise ValueError(f"README.md must hold one {BEGIN} ... {END} block")
    return readme.split(BEGIN)[1].split(END)[0].strip("\n")


def replace_readme_block(readme: str, block: str) -> str:
    readme_block(readme)                                   # checks the markers
    head, rest = readme.split(BEGIN)
    return head + BEGIN + "\n" + block + "\n" + END + rest.split(END)[1]


# -- running it ---------------------------------------------------------------------------
def keras_available() -> str | None:
    """None if the Keras comparison can run, else why not."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")      # TensorFlow's start-up chatter
    try:
        import keras  # noqa: F401
        import tf_reference  # noqa: F401
    except ImportError as err:
        return str(err)
    return None


def run(out_dir: str = "reports/demo", epochs: int = 2, with_keras: bool = True,
        update_readme: str | None = None) -> dict:
    """Train every demo model (both engines when possible); print and write the table,
    results.json and the figures; optionally rewrite the README's results block."""
    from . import demo_figures
    os.makedirs(out_dir, exist_ok=True)
    config.set_floatx("float32")
    missing = keras_available() if with_keras else "scratchnn only, as asked"
    if missing and with_keras:
        print(f"Keras comparison skipped: TensorFlow/Keras cannot be imported ({missing}).\n"
              "To add it: pip install -e '.[tf]', then run `scratchnn demo` again.\n")
    results, rows, figures = {}, [], []
    for spec in demo_models(epochs):
        print(f"== {spec.title}, {spec.epochs} epochs: "
              + ("scratchnn, then Keras" if not missing else "scratchnn"), flush=True)
        ours, theirs = (train_scratchnn(spec), None) if missing else train_both_engines(spec)
        results[spec.key] = (ours, theirs)
        rows.append(table_row(spec, ours, theirs))
        print("   " + ", ".join(f"{h}: {c}" for h, c in zip(HEADER[1:], rows[-1][1:]) if c))
        figures += demo_figures.draw(spec, ours, theirs, load(spec.data, spec.input_shape),
                                     out_dir)
    notes = _notes(results)
    versions = _versions(missing)
    block = results_block(rows, notes, versions)
    report = os.path.join(out_dir, "results.md")
    with open(report, "w") as f:
        f.write("# scratchnn demo: the seed models on both engines\n\n" + block + "\n\n"
                + "".join(f"![{os.path.basename(p)}]({os.path.basename(p)})\n" for p in figures))
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"header": HEADER, "rows": rows, "notes": notes, "versions": versions,
                   "fingerprint": engine_fingerprint(),
                   "histories": {k: {"scratchnn": o.history, "keras": t and t.history}
                                 for k, (o, t) in results.items()}}, f, indent=1)
    print("\n" + markdown_table(rows) + "\n\n" + "\n".join(notes))
    if update_readme:
        _update_readme(update_readme, block, missing)
    print(f"\nReport: {report} (with results.json and {len(figures)} figures in {out_dir}/)")
    return results


def _notes(results: dict) -> list[str]:
    """The LR finder's answer, and how long its two runs agree."""
    ours, theirs = results["lr_finder"]
    note = f"LR finder: lowest training loss at lr {lowest_loss_rate(ours.history):.4f} on scratchnn"
    if theirs is None:
        return [note + "; the tutorial's rule of thumb takes about 10x less."]
    agree = epochs_in_agreement(ours.history, theirs.history)
    note += (f", {lowest_loss_rate(theirs.history):.4f} on Keras; the rule of thumb takes about "
             f"10x less. Both engines' LR-finder curves agree within 1e-4 for {agree} epochs ")
    if agree < len(ours.history["loss"]):
        note += (f"(lr up to {ours.history['learning_rate'][agree - 1]:.2g}); beyond that, "
                 "rates that make training chaotic amplify float32 rounding differences.")
    else:
        note += "(all of them)."
    return [note]


def _versions(missing: str | None) -> str:
    if missing:
        return "scratchnn only"
    import keras
    import tensorflow as tf
    return f"keras {keras.__version__} / tensorflow {tf.__version__}"


def _update_readme(path: str, block: str, missing: str | None) -> None:
    if missing:
        raise ValueError("--update-readme needs the Keras columns: install TensorFlow "
                         "(pip install -e '.[tf]') and run with both engines")
    with open(path) as f:
        readme = f.read()
    updated = replace_readme_block(readme, block)
    tmp = f"{path}.part"                          # never leave a half-written README
    with open(tmp, "w") as f:
        f.write(updated)
    os.replace(tmp, path)
    print(f"README results block updated: {path}")
