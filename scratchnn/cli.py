"""`scratchnn <command>`: the command line.

    scratchnn demo      the main job: the seed models on scratchnn and on Keras, side by side
    scratchnn train M   train one seed model (circles, fashion-mlp, ..., t4-cnn), save it
    scratchnn data      where Fashion-MNIST is, its checksums, or how to get it
    scratchnn parity    compare with TensorFlow/Keras and write a report
    scratchnn bench     time both engines (benchmarks/bench.py)

A user's mistake (an unknown model, a negative epoch count, missing data or
TensorFlow) ends with one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from dataclasses import dataclass
from typing import Callable


class UsageError(Exception):
    """Something the user can fix; reported as one line, exit code 1."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (usage stays behind --help)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}")
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    parse.__name__ = kind.__name__
    return parse


# -- the seed models ----------------------------------------------------------------------
@dataclass
class SeedModel:
    """A tutorial model by name: its layers (for either engine's module `k`), how the
    tutorial trains it, and its data ("circles", "fashion" (/255), or "t4" (raw pixels,
    first 1000 images to train, next 1000 to test, one-hot labels))."""
    about: str
    layers: Callable
    loss: str
    learning_rate: float
    epochs: int
    data: str


SEED_MODELS = {
    "circles": SeedModel(
        "T1 model_7: Dense(4,relu)-Dense(4,relu)-Dense(1,sigmoid), Adam(0.02), 800/200 split",
        lambda k: [k.Input((2,)), k.layers.Dense(4, activation="relu"),
                   k.layers.Dense(4, activation="relu"), k.layers.Dense(1, activation="sigmoid")],
        "binary_crossentropy", 0.02, 20, "circles"),
    "fashion-mlp": SeedModel(
        "T3 MLP: Flatten-Dense(350,relu)-Dense(10,softmax), Adam (278,260 params)",
        lambda k: [k.Input((28, 28)), k.layers.Flatten(), k.layers.Dense(350, activation="relu"),
                   k.layers.Dense(10, activation="softmax")],
        "sparse_categorical_crossentropy", 0.001, 10, "fashion"),
    "fashion-mlp-small": SeedModel(
        "T2: Flatten-Dense(4,relu)-Dense(4,relu)-Dense(10,softmax), Adam(0.005)",
        lambda k: [k.Input((28, 28)), k.layers.Flatten(), k.layers.Dense(4, activation="relu"),
                   k.layers.Dense(4, activation="relu"),
                   k.layers.Dense(10, activation="softmax")],
        "sparse_categorical_crossentropy", 0.005, 13, "fashion"),
    "fashion-mlp-100": SeedModel(
        "T1 model 10: Flatten-Dense(100,relu)-Dense(50,relu)-Dense(10,softmax), Adam(0.001)",
        lambda k: [k.Input((28, 28)), k.layers.Flatten(), k.layers.Dense(100, activation="relu"),
                   k.layers.Dense(50, activation="relu"),
                   k.layers.Dense(10, activation="softmax")],
        "sparse_categorical_crossentropy", 0.001, 50, "fashion"),
    "fashion-cnn": SeedModel(
        "T3 CNN: Conv2D(32,3)-MaxPooling2D-Flatten-Dense(100)-Dense(10), Adam (542,230 params)",
        lambda k: [k.Input((28, 28, 1)), k.layers.Conv2D(32, (3, 3), activation="relu"),
                   k.layers.MaxPooling2D((2, 2)), k.layers.Flatten(),
                   k.layers.Dense(100, activation="relu"),
                   k.layers.Dense(10, activation="softmax")],
        "sparse_categorical_crossentropy", 0.001, 10, "fashion"),
    "t4-cnn": SeedModel(
        "T4 CNN (31,626 params) on 1000 raw images, tested on the next 1000",
        lambda k: [k.Input((28, 28, 1)), k.layers.Conv2D(32, 5, activation="relu"),
                   k.layers.MaxPooling2D(), k.layers.Conv2D(32, 4, activation="relu",
                                                            padding="same"),
                   k.layers.MaxPooling2D(), k.layers.Conv2D(32, 3, activation="relu"),
                   k.layers.Flatten(), k.layers.Dropout(0.5), k.layers.Dense(10),
                   k.layers.Activation("softmax")],
        "categorical_crossentropy", 0.001, 100, "t4"),
}


def _engine(name: str):
    if name == "scratchnn":
        import scratchnn
        return scratchnn
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras
    except ImportError as err:
        raise UsageError(f"--engine keras needs TensorFlow and Keras (pip install -e '.[tf]'): "
                         f"{err}") from None
    return keras


def _data(kind: str, input_shape: tuple, k):
    """((x, y), (x_test, y_test)) for a seed model."""
    from .datasets import circles, fashion_mnist
    if kind == "circles":
        return circles.load_data()
    try:
        (x, y), (xt, yt) = fashion_mnist.load_data(download_if_missing=False)
    except FileNotFoundError:
        raise UsageError("Fashion-MNIST not found; `scratchnn data` says where it looks and "
                         "how to get it") from None
    if kind == "t4":
        x, y, xt, yt = x[:1000], y[:1000], x[1000:2000], y[1000:2000]
        return ((x[..., None].astype("float32"), k.utils.to_categorical(y, 10)),
                (xt[..., None].astype("float32"), k.utils.to_categorical(yt, 10)))
    return ((x.reshape(-1, *input_shape) / 255.0, y), (xt.reshape(-1, *input_shape) / 255.0, yt))


def train(args) -> int:
    """Train one seed model; save its weights and figures in --out."""
    spec = SEED_MODELS[args.model]
    k = _engine(args.engine)
    from . import plots
    from .datasets.fashion_mnist import CLASS_NAMES
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot create --out folder {args.out!r}: {err.strerror}") from None
    k.utils.set_random_seed(args.seed)
    model = k.Sequential(spec.layers(k), name=args.model.replace("-", "_"))
    input_shape = tuple(model.input_shape[1:])
    (x, y), (xt, yt) = _data(spec.data, input_shape, k)
    epochs = args.epochs or spec.epochs
    model.compile(optimizer=k.optimizers.Adam(learning_rate=args.learning_rate
                                              or spec.learning_rate),
                  loss=spec.loss, metrics=["accuracy"])
    print(f"{args.model}: {spec.about}\n{args.engine}, {epochs} epochs, batch size "
          f"{args.batch_size}, seed {args.seed}, {len(x)} training / {len(xt)} test samples")
    history = model.fit(x, y, epochs=epochs, batch_size=args.batch_size,
                        validation_data=(xt, yt), verbose=1)
    loss, accuracy = model.evaluate(xt, yt, verbose=0)
    print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")
    # Keras 3's weights file, which either engine loads; without h5py, scratchnn writes
    # the same layout as a NumPy archive.
    suffix = ".weights.h5"
    if args.engine == "scratchnn" and importlib.util.find_spec("h5py") is None:
        suffix = ".weights.npz"
    written = [os.path.join(args.out, args.model + suffix)]
    model.save_weights(written[-1])
    written.append(os.path.join(args.out, f"{args.model}_history.png"))
    plots.history_curves(history, title=f"{args.model} ({args.engine})", path=written[-1])
    if spec.data == "circles":
        written.append(os.path.join(args.out, f"{args.model}_boundaries.png"))
        plots.decision_boundaries(model, {"Train": (x, y), "Test": (xt, yt)}, path=written[-1])
    else:
        written.append(os.path.join(args.out, f"{args.model}_confusion.png"))
        plots.confusion_matrix(yt, model.predict(xt, verbose=0), CLASS_NAMES, path=written[-1])
    print("written:", ", ".join(written))
    return 0


# -- data, demo, parity -------------------------------------------------------------------
def data(args) -> int:
    """Say where Fashion-MNIST is and verify it, or exactly how to get it."""
    from .datasets import fashion_mnist as fm
    if args.download:
        try:
            folder = fm.download()
        except OSError as err:
            raise UsageError(f"download failed ({err}); see `scratchnn data` for the other "
                             "ways to get Fashion-MNIST") from None
        print(f"downloaded into {folder}")
    folder = fm.locate(args.path)
    if folder is None:
        looked = "\n".join(f"  {d}" for d in fm.candidate_dirs(args.path))
        print(f"Fashion-MNIST not found. scratchnn looked in, in order:\n{looked}\n"
              "Get it in one of these ways:\n"
              "  sudo apt-get install dataset-fashion-mnist   (Debian/Ubuntu: "
              f"{fm.SYSTEM_DIR})\n"
              "  scratchnn data --download                    (Keras's mirror into "
              f"{fm.keras_cache_dir()}, each file verified)\n"
              "  export SCRATCHNN_DATA=/a/folder/holding/the/four/.gz/files", file=sys.stderr)
        return 1
    print(f"Fashion-MNIST found in {folder}")
    bad = 0
    for name, sha256 in fm.FILES.items():
        try:
            array = fm.read_idx_gz(folder / name, sha256)
            print(f"  {name:28s} {str(array.shape):16s} content sha256 {sha256[:16]}... OK")
        except ValueError as err:
            bad += 1
            print(f"  {name:28s} FAILED: {err}", file=sys.stderr)
    if bad:
        print(f"{bad} file(s) failed verification: delete them and get them again "
              "(`scratchnn data --download` or the Debian package)", file=sys.stderr)
        return 1
    print("All four files verified (SHA-256 of the decompressed IDX content).")
    return 0


def demo(args) -> int:
    from . import demo as demo_module
    if args.update_readme:                 # check the README before minutes of training
        try:
            with open(args.update_readme) as f:
                demo_module.readme_block(f.read())
        except (OSError, ValueError) as err:
            raise UsageError(f"--update-readme {args.update_readme}: {err}") from None
    try:
        demo_module.run(args.out, epochs=args.epochs, with_keras=not args.scratchnn_only,
                        update_readme=args.update_readme)
    except FileNotFoundError as err:
        raise UsageError(f"{err}; `scratchnn data` says how to get Fashion-MNIST") from None
    return 0


def parity(args) -> int:
    try:
        from tf_reference import report
    except ImportError as err:
        raise UsageError(f"needs TensorFlow and Keras (pip install -e '.[tf]'): {err}") from None
    report.run(args.out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="scratchnn", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("demo", help="the seed models on scratchnn and Keras, side by side")
    p.add_argument("--out", default="reports/demo", help="folder for the report and figures")
    p.add_argument("--epochs", type=_positive(int), default=2,
                   help="Fashion-MNIST epochs per model (default 2)")
    p.add_argument("--scratchnn-only", action="store_true", help="skip the Keras comparison")
    p.add_argument("--update-readme", metavar="README", default=None,
                   help="also rewrite the results block of this README (between its markers)")
    p.set_defaults(handler=demo)
    p = sub.add_parser("train", help="train one seed model and save its weights and figures",
                       description="Train one of the tutorials' seed models:\n" + "\n".join(
                           f"  {name:18s} {m.about} ({m.epochs} epochs)"
                           for name, m in SEED_MODELS.items()),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", choices=list(SEED_MODELS), metavar="MODEL",
                   help="one of " + ", ".join(SEED_MODELS))
    p.add_argument("--epochs", type=_positive(int), default=None,
                   help="default: the tutorial's (listed above)")
    p.add_argument("--batch-size", type=_positive(int), default=32)
    p.add_argument("--learning-rate", type=_positive(float), default=None,
                   help="Adam's learning rate (default: the tutorial's)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--engine", choices=["scratchnn", "keras"], default="scratchnn")
    p.add_argument("--out", default="reports/train", help="folder for weights and figures")
    p.set_defaults(handler=train)
    p = sub.add_parser("data", help="where Fashion-MNIST is (checksums verified), or how to "
                                    "get it")
    p.add_argument("--path", default=None, help="also look in this folder first")
    p.add_argument("--download", action="store_true",
                   help="download it from Keras's mirror into the Keras cache")
    p.set_defaults(handler=data)
    p = sub.add_parser("parity", help="compare with TensorFlow/Keras and write a report")
    p.add_argument("--out", default="reports/parity", help="folder for the report")
    p.set_defaults(handler=parity)
    sub.add_parser("bench", add_help=False,
                   help="time scratchnn and Keras side by side (benchmarks/bench.py; "
                        "`scratchnn bench --help` for its options)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        # The benchmark suite parses its own options (it lives in benchmarks/).
        from benchmarks.bench import main as bench_main
        return bench_main(argv[1:])
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as err:
        print(f"scratchnn {args.command}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"scratchnn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
