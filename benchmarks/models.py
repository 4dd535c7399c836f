"""The six seed models the benchmark times, built from the same code on either engine.

`build(spec, module)` takes `scratchnn` or `keras` as `module` (their APIs agree), so the
two engines run the same architecture, loss, optimizer and data. `data(spec, n)` gives the
training slice: circles (T1's 800 points) or Fashion-MNIST images, shaped and scaled as the
tutorial has them (T4 keeps raw 0-255 pixels).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Spec:
    """One seed model: its layers (as a function of the engine module), input, loss."""
    name: str
    title: str
    layers: Callable
    input_shape: tuple
    loss: str
    dataset: str = "fashion"          # "fashion" or "circles"
    scale: float = 1 / 255            # pixel scaling (T4: raw pixels)
    optimizer: tuple = ("adam", {})   # (name, kwargs)
    train_samples: int = 3200         # full benchmark slice
    targets: dict = field(default_factory=dict)   # the speed-up targets
    # ... where TensorFlow runs its oneDNN kernels (CPUs with AVX512_VNNI, AVX512_BF16 or
    # AMX): the CNN targets were lowered for those (Keras's convolutions beat OpenBLAS's
    # own products there); None: the same as `targets`.
    targets_onednn: dict | None = None

    def target(self, what: str, onednn: bool):
        """The speed-up target of `what` ("train", "predict") on this machine, or None."""
        table = self.targets_onednn if onednn and self.targets_onednn is not None \
            else self.targets
        return table.get(what)


def _circles(m):
    return [m.layers.Dense(4, activation="relu"), m.layers.Dense(4, activation="relu"),
            m.layers.Dense(1, activation="sigmoid")]


def _mlp(*hidden):
    def layers(m):
        return ([m.layers.Flatten()] + [m.layers.Dense(h, activation="relu") for h in hidden]
                + [m.layers.Dense(10, activation="softmax")])
    return layers


def _conv32(m):
    return [m.layers.Conv2D(32, (3, 3), activation="relu"), m.layers.MaxPooling2D((2, 2)),
            m.layers.Flatten(), m.layers.Dense(100, activation="relu"),
            m.layers.Dense(10, activation="softmax")]


def _t4(m):
    return [m.layers.Conv2D(32, 5, activation="relu"), m.layers.MaxPooling2D(),
            m.layers.Conv2D(32, 4, activation="relu", padding="same"), m.layers.MaxPooling2D(),
            m.layers.Conv2D(32, 3, activation="relu"), m.layers.Flatten(),
            m.layers.Dropout(0.5), m.layers.Dense(10), m.layers.Activation("softmax")]


SPECS: dict[str, Spec] = {s.name: s for s in [
    Spec("circles", "circles 4-4-1 (T1 model_7)", _circles, (2,), "binary_crossentropy",
         dataset="circles", optimizer=("adam", {"learning_rate": 0.02}), train_samples=800,
         targets={"train": 20}),
    Spec("mlp-4-4-10", "Fashion 4-4-10 (T1, T2)", _mlp(4, 4), (28, 28),
         "sparse_categorical_crossentropy", train_samples=12800, targets={"train": 8}),
    Spec("mlp-350-10", "Fashion 350-10 (T3)", _mlp(350), (28, 28),
         "sparse_categorical_crossentropy", train_samples=6400,
         targets={"train": 3, "predict": 3}),
    Spec("mlp-100-50-10", "Fashion 100-50-10 (T1)", _mlp(100, 50), (28, 28),
         "sparse_categorical_crossentropy", train_samples=6400,
         targets={"train": 3, "predict": 3}),
    Spec("cnn-conv32", "CNN conv32-pool-100-10 (T3)", _conv32, (28, 28, 1),
         "sparse_categorical_crossentropy", train_samples=1600,
         targets={"train": 1.3, "predict": 1.3}),
    Spec("cnn-t4", "CNN T4 (raw pixels, Dropout)", _t4, (28, 28, 1),
         "categorical_crossentropy", scale=1.0, train_samples=1600,
         targets={"train": 1.2, "predict": 1.2}, targets_onednn={"train": 0.8, "predict": 0.8}),
]}


def build(spec: Spec, module, width: int | None = None):
    """The compiled model of `spec` on `module` (scratchnn or keras). `width` replaces the
    hidden width of a one-hidden-layer MLP (the scaling sweep)."""
    layers = _mlp(width)(module) if width is not None else spec.layers(module)
    model = module.Sequential([module.Input(spec.input_shape), *layers])
    name, kwargs = spec.optimizer
    optimizer = {"adam": module.optimizers.Adam}[name](**kwargs)
    model.compile(optimizer=optimizer, loss=spec.loss)
    return model


_CACHE: dict = {}


def data(spec: Spec, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) for `n` training samples of `spec`, float32, as the tutorial feeds them."""
    import scratchnn as snn
    if spec.dataset == "circles":
        x, y = snn.datasets.circles.make_circles(1000, noise=0.03, random_state=42)
        reps = -(-n // len(x))
        return (np.tile(x, (reps, 1))[:n].astype(np.float32),
                np.tile(y, reps)[:n].astype(np.float32))
    if "fashion" not in _CACHE:
        _CACHE["fashion"] = snn.datasets.fashion_mnist.load_data(download_if_missing=False)[0]
    images, labels = _CACHE["fashion"]
    reps = -(-n // len(images))
    x = np.tile(images, (reps, 1, 1))[:n].reshape(n, *spec.input_shape)
    y = np.tile(labels, reps)[:n]
    if spec.loss == "categorical_crossentropy":
        y = np.eye(10, dtype=np.float32)[y]
    return (x * np.float32(spec.scale)).astype(np.float32), y
