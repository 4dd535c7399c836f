"""Activation functions and their derivatives, as the engine computes them."""

from __future__ import annotations

import os
from typing import Callable, Mapping, Sequence

import numpy as np

from .. import activations
from .figures import new_figure, save_figure


def activation_functions(functions: Sequence[str] | Mapping[str, Callable] = ("linear", "sigmoid",
                                                                              "relu"),
                         x=None, path: str | os.PathLike | None = None):
    """One panel per activation: f(x) solid, f'(x) dashed, on `x` (default the
    tutorials' `range(-10, 10)`).

    functions: scratchnn activation names ("relu", "sigmoid", "tanh", "linear"), whose
    derivative is the engine's own backward (`activations.backward_of`), or a dict
    {name: function} of your own (e.g. T5's hand-written ones), whose derivative is
    taken numerically (np.gradient). softmax is not elementwise and is refused.
    Returns the Figure; `path=` saves it."""
    x = np.arange(-10, 10, dtype=float) if x is None else np.asarray(x, dtype=float)
    if isinstance(functions, Mapping):
        panels = [(name, f, None) for name, f in functions.items()]
    else:
        panels = []
        for name in functions:
            if name == "softmax":
                raise ValueError("activation_functions: softmax is not elementwise (each output "
                                 "depends on every input); plot the elementwise ones")
            f = activations.get(name)
            panels.append((name, f, activations.backward_of(f)))
    fig, axes = new_figure(1, len(panels), figsize=(4.2 * len(panels), 3.8))
    for ax, (name, f, backward) in zip(axes[0], panels):
        y = np.asarray(f(x), dtype=float)
        if backward is not None:        # dL/dx for dL/dy = 1 is the derivative f'(x)
            dy = np.asarray(backward(np.ones_like(x), x, y), dtype=float)
            derivative_label = "f'(x)"
        else:
            dy = np.gradient(y, x)
            derivative_label = "f'(x) (numerical)"
        ax.plot(x, y, "-", marker=".", label="f(x)")
        ax.plot(x, dy, "--", marker="x", markersize=4, label=derivative_label)
        ax.axhline(0, color="grey", linewidth=0.6)
        ax.axvline(0, color="grey", linewidth=0.6)
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
        ax.legend()
    return save_figure(fig, path)
