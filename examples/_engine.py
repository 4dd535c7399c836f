"""What every tutorial script shares: its command line and the engine it runs on.

    python examples/t1_circles.py                    # on scratchnn
    python examples/t1_circles.py --engine keras     # the same code on Keras
    python examples/t1_circles.py --quick            # fewer epochs and images (a smoke test)

`setup(__doc__)` parses those options and returns them with `run.keras`, the `keras`
module of the chosen engine: the scripts then say `keras.Sequential`,
`keras.layers.Dense`, ... and run unchanged on either, because scratchnn's API is
tf.keras's. Figures go to `--out` (default `reports/examples/<engine>/`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings


class Run:
    """The parsed options of one script run."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.engine: str = args.engine
        self.quick: bool = args.quick
        self.out: str = args.out or os.path.join("reports", "examples", args.engine)
        self.args = args
        os.makedirs(self.out, exist_ok=True)
        self.keras = load(args.engine)

    def pick(self, full, quick):
        """`full` normally, `quick` with --quick (epochs, numbers of images)."""
        return quick if self.quick else full

    def figure(self, name: str) -> str:
        """The path of figure `name` in the output folder (printed as it is written)."""
        path = os.path.join(self.out, name)
        print(f"[figure] {path}")
        return path


def setup(description: str, **extra: tuple) -> Run:
    """Parse --engine, --out, --quick and the script's own options
    (name=(type, default, help)); load the engine."""
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=["scratchnn", "keras"], default="scratchnn",
                        help="run on scratchnn (default) or on Keras/TensorFlow")
    parser.add_argument("--out", default=None,
                        help="folder for the figures (default reports/examples/<engine>)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer epochs and images: checks every step runs, not the results")
    for name, (kind, default, help_) in extra.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default,
                            help=help_)
    return Run(parser.parse_args())


def load(engine: str):
    """The `keras` module of the chosen engine."""
    if engine == "keras":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        # Quiet two harmless notices: TensorFlow's retracing hint (predict on grids of
        # new sizes) and Keras 3's advice against the tutorials' `input_shape=` argument.
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", message="Do not pass an `input_shape`")
        _link_fashion_mnist_into_keras_cache()
        try:
            import keras
        except ImportError:
            sys.exit("--engine keras needs TensorFlow and Keras: pip install -e '.[tf]'")
        return keras
    import scratchnn
    return scratchnn


def _link_fashion_mnist_into_keras_cache() -> None:
    """Let Keras load Fashion-MNIST offline from the copy scratchnn finds (e.g. Debian's)."""
    from scratchnn.datasets import fashion_mnist
    cache = fashion_mnist.keras_cache_dir()
    found = fashion_mnist.locate()
    if found is None or found == cache:
        return
    cache.mkdir(parents=True, exist_ok=True)
    for name in fashion_mnist.FILES:
        if not (cache / name).exists():
            (cache / name).symlink_to(found / name)


def fashion_subset(data, quick: bool, n_train: int = 2000, n_test: int = 500):
    """Fashion-MNIST as load_data returns it, cut to n_train/n_test images with --quick."""
    (x_train, y_train), (x_test, y_test) = data
    if quick:
        return (x_train[:n_train], y_train[:n_train]), (x_test[:n_test], y_test[:n_test])
    return (x_train, y_train), (x_test, y_test)


def architecture(run: Run, model, name: str) -> None:
    """Draw `model` with scratchnn.utils.plot_model into figure `name` (a graph model of
    either engine is drawn as its graph; keras.utils.plot_model needs pydot and Graphviz)."""
    from scratchnn.utils import plot_model

    plot_model(model, to_file=run.figure(name), show_shapes=True)
