"""`model.summary()`: Keras's table of layers, output shapes and parameter counts.

    Model: "sequential"
    ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
    ┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
    ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
    │ dense (Dense)                   │ (None, 4)              │            12 │
    └─────────────────────────────────┴────────────────────────┴───────────────┘
     Total params: 12 (48.00 B)
     ...

Two tables, as Keras 3.15 (keras/src/utils/summary_utils.py, drawn there by the `rich`
library, whose layout rules are reproduced here):

- three columns (Layer (type), Output Shape, Param #) for a Sequential and for a graph that
  is "sequential-like" (summary_graph.py says when); 88 characters wide at most;
- four columns, adding "Connected to", for any other graph (snn.Model); 108 at most.

The width is min(that default, terminal columns - 4), as in Keras. Without a terminal
(output to a file or a pipe, or captured by pytest) Python assumes 80 columns, hence
76-character tables; the COLUMNS environment variable sets another width.

Sizes count 4 bytes per float32 parameter (8 in float64), as Keras's `summary_utils`.
"""

from __future__ import annotations

import shutil
from typing import Any, Callable

import numpy as np

from . import config
from .summary_graph import connected_to, is_sequential_like, last_output_shape, model_nodes

# (header, position of the column's right edge as a fraction of the width, alignment)
SEQUENTIAL_COLUMNS = (("Layer (type)", 0.45, "left"), ("Output Shape", 0.80, "left"),
                      ("Param #", 1.0, "right"))
GRAPH_COLUMNS = (("Layer (type)", 0.3, "left"), ("Output Shape", 0.56, "left"),
                 ("Param #", 0.74, "right"), ("Connected to", 1.0, "left"))
DEFAULT_LENGTH = {len(SEQUENTIAL_COLUMNS): 88, len(GRAPH_COLUMNS): 108}


def size_str(n_bytes: int) -> str:
    """Keras's summary sizes: '1.06 MB' for 278,260 float32 params (1,113,040 bytes)."""
    size = float(n_bytes)
    for unit in ["B", "KB", "MB", "GB", "TB"]:
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def shape_str(shape: tuple) -> str:
    """Keras's way of writing a shape in the table: '(None, 8)', and '(None)' for rank 1."""
    return "(" + ", ".join(str(d) for d in shape) + ")"


def default_line_length(columns: int) -> int:
    """The table's width: Keras's default for that many columns, or the terminal's width
    minus 4 when that is less (shutil reads COLUMNS, then the terminal, else 80)."""
    return min(DEFAULT_LENGTH[columns], shutil.get_terminal_size().columns - 4)


def column_widths(positions: list[float], length: int) -> list[int]:
    """Each column's width between two border characters, padding included.

    Keras asks for int(position * length) minus the previous edge per column, and for a
    table `length` wide. rich adds one space of padding on each side of every column and
    n + 1 border characters, which makes the table 3n + 1 characters too wide; it takes
    them back from the columns left to right, each a rounded equal share of what is left
    (rich's `ratio_reduce`, Python's round: halves to even).
    At 76 characters, 3 columns: asked 34/26/16, drawn 33/24/15; 4 columns: asked
    22/20/14/20, drawn 21/19/12/19."""
    asked, edge = [], 0
    for position in positions:
        width = int(position * length) - edge
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        asked.append(width)
        edge += width
    room = length - (len(asked) + 1)                  # the width inside the borders
    widths = [min(width + 2, room) for width in asked]
    excess, left, drawn = sum(widths) - room, len(widths), []
    for width in widths:
        take = min(width, round(excess / left)) if excess > 0 else 0
        drawn.append(width - take)
        excess, left = excess - take, left - 1
    return drawn


def wrap(text: str, width: int) -> list[str]:
    """rich's cell wrapping: words (split at spaces) fill lines greedily; a word longer
    than the line gets a line of its own, cut to fit and ending in '…'."""
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


def _rule(widths: list[int], left: str, mid: str, right: str, fill: str) -> str:
    return left + mid.join(fill * w for w in widths) + right


def _row_lines(cells: list[str], widths: list[int], aligns: list[str],
               header: bool = False) -> list[str]:
    """One table row, over as many lines as its tallest wrapped cell. Cells sit at the top
    of a row, and at the bottom of the header row (rich's rule: a header "Param #" that
    wraps in a narrow table leaves "Layer (type)" beside its last line)."""
    wrapped = [wrap(text, width - 2) for text, width in zip(cells, widths)]
    height = max(len(lines) for lines in wrapped)
    bar = "┃" if header else "│"
    if header:
        wrapped = [[""] * (height - len(lines)) + lines for lines in wrapped]
    out = []
    for i in range(height):
        pieces = []
        for lines, width, align in zip(wrapped, widths, aligns):
            text = lines[i] if i < len(lines) else ""
            pieces.append(" " + (text.rjust if align == "right" else text.ljust)(width - 2)
                          + " ")
        out.append(bar + bar.join(pieces) + bar)
    return out


def table_lines(columns: tuple, rows: list[list[str]], length: int) -> list[str]:
    """The bordered table of `rows` (lists of cell texts) under `columns`' headers."""
    headers, positions, aligns = zip(*columns)
    widths = column_widths(list(positions), length)
    lines = [_rule(widths, "┏", "┳", "┓", "━"),
             *_row_lines(list(headers), widths, aligns, header=True),
             _rule(widths, "┡", "╇", "┩", "━")]
    for i, row in enumerate(rows):
        lines += _row_lines(row, widths, aligns)
        if i < len(rows) - 1:
            lines.append(_rule(widths, "├", "┼", "┤", "─"))
    return lines + [_rule(widths, "└", "┴", "┘", "─")]


def _name_and_count(layer) -> list[str]:
    return [f"{layer.name} ({type(layer).__name__})", f"{layer.count_params():,}"]


def sequential_rows(model) -> list[list[str]]:
    """A Sequential's rows: name (type), output shape, parameter count; an unbuilt layer
    shows '?' and '0 (unbuilt)'."""
    rows = []
    for layer in model.layers:
        name, count = _name_and_count(layer)
        if layer.built:
            rows.append([name, shape_str(layer.output_shape), count])
        else:
            rows.append([name, "?", "0 (unbuilt)"])
    return rows


def graph_rows(model, connections: bool) -> list[list[str]]:
    """A graph's rows (summary_graph.py has the rules): name (type), its last call's output
    shape, parameter count and, in the four-column table, what it is connected to."""
    nodes = model_nodes(model)
    rows = []
    for layer in model.layers:
        name, count = _name_and_count(layer)
        rows.append([name, shape_str(last_output_shape(layer)), count]
                    + ([connected_to(layer, nodes)] if connections else []))
    return rows


def footer_lines(model) -> list[str]:
    """Total / Trainable / Non-trainable params, and the optimizer's once it is built."""
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
    lines = [f" Total params: {total:,} ({size_str(total_bytes)})",
             f" Trainable params: {trainable:,} ({size_str(trainable * n_bytes)})",
             f" Non-trainable params: {frozen:,} ({size_str(frozen * n_bytes)})"]
    if optimizer_built:
        lines.append(f" Optimizer params: {opt_params:,} ({size_str(opt_bytes)})")
    return lines


def summary_lines(model, length: int | None = None) -> list[str]:
    """The lines of `model.summary()`; `length`: the table's width (Keras's line_length),
    by default Keras's rule (`default_line_length`)."""
    from .functional import Functional           # (functional.py imports this module)

    if not isinstance(model, Functional):
        columns, rows = SEQUENTIAL_COLUMNS, sequential_rows(model)
    elif is_sequential_like(model):
        columns, rows = SEQUENTIAL_COLUMNS, graph_rows(model, connections=False)
    else:
        columns, rows = GRAPH_COLUMNS, graph_rows(model, connections=True)
    length = length or default_line_length(len(columns))
    return [f'Model: "{model.name}"', *table_lines(columns, rows, length), *footer_lines(model)]


def print_summary(model, print_fn: Callable[[str], Any] | None = None,
                  line_length: int | None = None) -> None:
    """Print `summary_lines(model)` one line at a time through `print_fn` (default print)."""
    for line in summary_lines(model, line_length):
        (print_fn or print)(line)
