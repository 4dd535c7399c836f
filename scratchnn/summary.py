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
from .layers.base import _fmt_shape

WIDTHS = (33, 24, 15)


def size_str(n_bytes: int) -> str:
    """Keras's summary sizes: '1.06 MB' for 278,260 float32 params (1,113,040 bytes)."""
    size = float(n_bytes)
    for unit in ["B", "KB", "MB", "GB", "TB"]:
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


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
    # Frozen layers' weights count as non-trainable (model.trainable_weights, as Keras).
    trainable = sum(w.size for w in model.trainable_weights)
    frozen = sum(w.size for w in model.non_trainable_weights)
    optimizer = model.optimizer
    optimizer_built = optimizer is not None and optimizer.built
    # Keras counts every optimizer variable: iterations (an int64: 8 bytes), the learning
    # rate, the slots. Measured: Adam on 28 trainable params, "58 (236.00 B)".
    variables = [np.asarray(v) for v in optimizer.variables] if optimizer_built else []
    opt_params, opt_bytes = sum(v.size for v in variables), sum(v.nbytes for v in variables)
    total = trainable + frozen + opt_params
    total_bytes = (trainable + frozen) * n_bytes + opt_bytes
    lines += [f" Total params: {total:,} ({size_str(total_bytes)})",
              f" Trainable params: {trainable:,} ({size_str(trainable * n_bytes)})",
              f" Non-trainable params: {frozen:,} ({size_str(frozen * n_bytes)})"]
    if optimizer_built:
        lines.append(f" Optimizer params: {opt_params:,} ({size_str(opt_bytes)})")
    return lines


def print_summary(model, print_fn: Callable[[str], Any] | None = None) -> None:
    """Print `summary_lines(model)` one line at a time through `print_fn` (default print)."""
    for line in summary_lines(model):
        (print_fn or print)(line)
