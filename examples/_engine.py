"""Pick the engine the tutorial scripts run on: `--engine scratchnn` (default) or `keras`.

The scripts then say `keras.Sequential`, `keras.layers.Dense`, ... and run unchanged
on either: scratchnn's API is tf.keras's.
"""

from __future__ import annotations

import argparse
import os


def parse(description: str, **extra):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--engine", choices=["scratchnn", "keras"], default="scratchnn")
    parser.add_argument("--out", default="reports/examples", help="folder for figures")
    for name, (kind, default, help_) in extra.items():
        parser.add_argument(f"--{name}", type=kind, default=default, help=help_)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    return args


def load(engine: str):
    """The `keras` module of the chosen engine."""
    if engine == "keras":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        _link_fashion_mnist_into_keras_cache()
        import keras
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
