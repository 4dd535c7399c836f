"""`model.summary()`: Keras's table of layers, output shapes and parameter counts.

    Model: "sequential"
    ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
    ┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
    ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
    │ dense (Dense)                   │ (None, 4)              │            12 │
    └─────────────────────────────────┴────────────────────────┴───────────────┘
     Total params: 12 (48.00 B)
     ...

Sizes count 4 bytes per float32 parameter (8 in float64), as Keras's `summary_utils`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import config
from .layers.base import _fmt_shape, size_str

WIDTHS = (33, 24, 15)


def _rule(left: str, mid: str, right: str, fill: str) -> str:
    return left + mid.join(fill * w for w in WIDTHS) + right


def _row(name: str, shape: str, params: str) -> str:
    return ("│ " + name.ljust(WIDTHS[0] - 2) + " │ " + shape.ljust(WIDTHS[1] - 2)
            + " │ " + params.rjust(WIDTHS[2] - 2) + " │")


def _wrap(text: str, width: int) -> list[str]:
    """Keras's (rich's) cell wrapping: words fill lines greedily; a word longer than the
    line is cut to fit, ending in '…'."""
    lines, line = [], ""
    for word in text.split(" "):
        if len(word) > width:
            word = word[:width - 1] + "…"
        if line and len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            if line:
                lines.append(line)
            line = word
    return lines + [line]


def _rows(name: str, shape: str, params: str) -> list[str]:
    """A table row, over as many lines as its longest wrapped cell."""
    names, shapes = _wrap(name, WIDTHS[0] - 2), _wrap(shape, WIDTHS[1] - 2)
    height = max(len(names), len(shapes))
    names += [""] * (height - len(names))
    shapes += [""] * (height - len(shapes))
    counts = [params] + [""] * (height - 1)
    return [_row(*cells) for cells in zip(names, shapes, counts)]


def summary_lines(model) -> list[str]:
    """The lines of `model.summary()`."""
    lines = [f'Model: "{model.name}"', _rule("┏", "┳", "┓", "━"),
             _row("Layer (type)", "Output Shape", "Param #").replace("│", "┃"),
             _rule("┡", "╇", "┩", "━")]
    for i, layer in enumerate(model.layers):
        name = f"{layer.name} ({type(layer).__name__})"
        if layer.built:
            lines += _rows(name, _fmt_shape(layer.output_shape), f"{layer.count_params():,}")
        else:
            lines += _rows(name, "?", "0 (unbuilt)")
        lines.append(_rule("├", "┼", "┤", "─") if i < len(model.layers) - 1
                     else _rule("└", "┴", "┘", "─"))
    if not model.layers:
        lines.append(_rule("└", "┴", "┘", "─"))
    n_bytes = np.dtype(config.floatx()).itemsize
    built = [layer for layer in model.layers if layer.built]
    trainable = sum(w.size for layer in built for w in layer.trainable_weights)
    frozen = sum(w.size for layer in built for w in layer.non_trainable_weights)
    optimizer = model.optimizer
    optimizer_built = optimizer is not None and optimizer.iterations > 0
    # Keras counts the optimizer's slots plus its `iterations` and `learning_rate`.
    opt_params = optimizer.variables_count() + 2 if optimizer_built else 0
    total = trainable + frozen + opt_params
    lines += [f" Total params: {total:,} ({size_str(total * n_bytes)})",
              f" Trainable params: {trainable:,} ({size_str(trainable * n_bytes)})",
              f" Non-trainable params: {frozen:,} ({size_str(frozen * n_bytes)})"]
    if optimizer_built:
        lines.append(f" Optimizer params: {opt_params:,} ({size_str(opt_params * n_bytes)})")
    return lines


def print_summary(model, print_fn: Callable[[str], Any] | None = None) -> None:
    """Print `summary_lines(model)` one line at a time through `print_fn` (default print)."""
    for line in summary_lines(model):
        (print_fn or print)(line)
