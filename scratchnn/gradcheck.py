"""Finite-difference gradient checking: the test oracle for every backward pass.

Central differences, (f(w + h) - f(w - h)) / 2h, are exact to O(h^2); run them in
float64 (`config.set_floatx("float64")`) and an analytic gradient that is right
agrees to a relative error far below 1e-7.

In float32 they mean nothing: a step h = 1e-6 is a few float32 ulps of a weight near 1,
so f(w + h) - f(w - h) is mostly rounding, and a CORRECT backward pass shows relative
errors of 3e-3 to 3e-2 for a Dense layer and about 0.3 for a small model's loss (measured;
a layer built in float32 and run with floatx float64 still shows 4e-3 on its kernel). So
`check_layer` and `check_model` warn unless the computation is float64: floatx set to
"float64" BEFORE the layer or model was built (weights keep the dtype they were built
in, and a layer casts its input to floatx).
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from . import config
from .layers.base import Layer


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """d f / d x by central differences, perturbing `x` IN PLACE one entry at a time."""
    return numerical_gradient_at(f, x, range(x.size), h).reshape(x.shape)


def numerical_gradient_at(f: Callable[[], float], x: np.ndarray, indices,
                          h: float = 1e-6) -> np.ndarray:
    """Central differences (f(x + h e_i) - f(x - h e_i)) / 2h for the entries `indices`
    of x.ravel() only (for big weights); x is restored after each entry."""
    flat = x.reshape(-1)                                # a view: x must be contiguous
    out = []
    for i in indices:
        old = flat[i]
        flat[i] = old + h
        f_plus = f()
        flat[i] = old - h
        f_minus = f()
        flat[i] = old
        out.append((f_plus - f_minus) / (2 * h))
    return np.array(out, dtype=np.float64)


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """||a - n|| / (||a|| + ||n||), 0 when both vanish."""
    analytic, numeric = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    denom = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return 0.0 if denom == 0 else float(np.linalg.norm(analytic - numeric) / denom)


def check_layer(layer: Layer, x: np.ndarray, training: bool = False,
                seed: int = 0) -> dict[str, float]:
    """Relative errors of a layer's dL/dx and dL/d(param) for L = sum(R * layer(x)),
    R a fixed random array. Returns {"input": err, "<param>": err, ...}.

    Needs float64 (see the module docstring): warns otherwise."""
    _warn_unless_float64("check_layer", f"{type(layer).__name__} '{layer.name}'",
                         layer.weights, "layer")
    x = np.array(x, dtype=np.float64)
    out = layer(x, training=training)
    r = np.random.default_rng(seed).standard_normal(out.shape)

    def loss() -> float:
        return float(np.sum(r * layer(x, training=training)))

    layer(x, training=training)
    dx = layer.backward(r)                              # dL/dy = R
    errors = {"input": relative_error(dx, numerical_gradient(loss, x))}
    analytic = {name: g.copy() for name, g in layer.grads.items()}
    for name, param in layer.params.items():
        errors[name] = relative_error(analytic[name], numerical_gradient(loss, param))
    return errors


def check_model(model, x: np.ndarray, y: np.ndarray, sample_weight=None,
                training: bool = False) -> dict[str, float]:
    """Relative errors of `model.compute_gradients` against finite differences of
    the compiled loss, per weight ("<layer>/<param>").

    Needs float64 (see the module docstring): warns otherwise."""
    _warn_unless_float64("check_model", f"{type(model).__name__} '{model.name}'",
                         model.weights if model.built else [], "model")
    x = np.asarray(x, dtype=np.float64)
    _, grads = model.compute_gradients(x, y, training=training, sample_weight=sample_weight)

    def loss() -> float:
        y_pred = model(x, training=training)
        return float(model._compute_loss(y, y_pred, sample_weight, training, need_grad=False)[0])

    names = [f"{layer.name}/{name}" for layer in model.layers for name in layer.params]
    return {name: relative_error(g, numerical_gradient(loss, w))
            for name, g, w in zip(names, grads, model.trainable_weights)}


def _warn_unless_float64(function: str, what: str, weights: list[np.ndarray],
                         kind: str) -> None:
    """A UserWarning when `what` would not compute in float64: floatx is not float64
    (inputs are cast to floatx), or some weights were built in another dtype."""
    built_in = sorted({str(w.dtype) for w in weights if w.dtype != np.float64})
    if config.floatx() == "float64" and not built_in:
        return
    why = (f"floatx is '{config.floatx()}'" if config.floatx() != "float64"
           else f"its weights were built in {', '.join(built_in)}")
    warnings.warn(
        f"{function}: finite differences need float64, but {what} computes in lower "
        f"precision ({why}): its relative errors (1e-3 and more, measured) say nothing "
        f"about its backward pass. Call snn.config.set_floatx(\"float64\") before building the "
        f"{kind} (build it again if it exists), then check it.", UserWarning, stacklevel=3)
