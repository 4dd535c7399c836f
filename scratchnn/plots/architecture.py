"""`plot_model`: Keras's architecture diagram, drawn with matplotlib (no Graphviz needed).

Each layer is a box, as `keras.utils.plot_model` draws it: a black header with the
layer's name and type, optionally a row with its activation, and a row of cells with
its input and output shapes (and dtype, trainable); arrows join consecutive layers.
Like Keras, a Sequential model's input layer is not drawn.

Layout: every text is measured first (in points, at 72 dpi, where one pixel is one
point), the boxes are sized around their text, and the figure is made exactly as
large as the column (or row, rankdir="LR") of boxes, in a data space of points.

A Functional model (snn.Model) is drawn as its graph: one box per layer, InputLayers
included, a shared layer once; one arrow from producer to consumer for every call (drawn
once when repeated), as Keras draws it. Boxes go in ranks: a layer sits one rank below the
lowest of the layers that feed it; arrows that skip ranks (a residual connection) curve
around the boxes in between.
"""

from __future__ import annotations

import functools
import os

from .. import config
from .figures import pyplot, save_figure

HEADER_SIZE, BODY_SIZE = 13, 11        # font sizes in points
PAD, GAP, MARGIN = 7.0, 28.0, 10.0     # cell padding, space for an arrow, figure margin
Segments = list[tuple[str, bool]]      # pieces of one line of text: (text, bold)


@functools.lru_cache(maxsize=None)
def _renderer():
    from matplotlib.backends.backend_agg import RendererAgg
    return RendererAgg(1, 1, 72)


def _width(segments: Segments, size: float) -> float:
    """Width in points of a line made of regular and bold pieces."""
    from matplotlib.font_manager import FontProperties
    total = 0.0
    for text, bold in segments:
        font = FontProperties(size=size, weight="bold" if bold else "normal")
        total += _renderer().get_text_width_height_descent(text, font, ismath=False)[0]
    return total


def _graph_shape(layer, which: str) -> str:
    """A graph layer's first call's input or output shape ("[...]" for a merge layer's
    list of inputs), as Keras's `layer.input` / `layer.output`."""
    from ..nodes import inbound_nodes
    node = inbound_nodes(layer)[0]
    if which == "output":
        return str(tuple(node.output.shape))
    shapes = [str(tuple(t.shape)) for t in node.inputs]
    return "[" + ", ".join(shapes) + "]" if node.merge else shapes[0]


def _shape(layer, which: str) -> str:
    """"(None, 26, 26, 32)": a scratchnn layer's input_shape/output_shape, or a Keras
    layer's `layer.input.shape` / `layer.output.shape`; "?" if unknown."""
    shape = getattr(layer, f"{which}_shape", None) if not hasattr(layer, "_inbound_nodes") \
        else None
    if shape is None:
        try:
            shape = getattr(layer, which).shape
        except (AttributeError, ValueError):
            return "?"
    return str(tuple(shape))


def _activation_name(layer) -> str | None:
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    return getattr(activation, "__name__", None) or getattr(activation, "name", str(activation))


def _box(layer, show_shapes: bool, show_dtype: bool, show_layer_names: bool,
         show_layer_activations: bool, show_trainable: bool) -> dict:
    """The rows of one layer's box: header segments, optional activation, cells."""
    kind = type(layer).__name__
    header = [(layer.name, True), (f" ({kind})", False)] if show_layer_names else [(kind, True)]
    activation = _activation_name(layer) if show_layer_activations else None
    cells: list[tuple[Segments, str, str]] = []       # (segments, background, text colour)
    if show_shapes:
        from ..nodes import inbound_nodes, is_input_layer
        graph = bool(inbound_nodes(layer)) if hasattr(layer, "params") else False
        shape = functools.partial(_graph_shape if graph else _shape, layer)
        if not (graph and is_input_layer(layer)):          # Keras: an Input shows its output
            cells.append(([("Input shape: ", False), (shape("input"), True)], "white", "black"))
        cells.append(([("Output shape: ", False), (shape("output"), True)], "white", "black"))
    if show_dtype:
        dtype = str(getattr(layer, "dtype", None) or config.floatx())
        cells.append(([("Output dtype: ", False), (dtype, True)], "white", "black"))
    if show_trainable and getattr(layer, "weights", None):
        cells.append(([("Trainable", True)], "forestgreen", "white") if layer.trainable
                     else ([("Non-trainable", True)], "firebrick", "white"))
    rows = [(header, HEADER_SIZE, [(header, "black", "white")])]
    if activation is not None:
        line = [("Activation: ", False), (activation, True)]
        rows.append((line, BODY_SIZE, [(line, "white", "black")]))
    if cells:
        rows.append((None, BODY_SIZE, cells))
    widths = []
    for _, size, row_cells in rows:
        widths.append(sum(_width(segments, size) + 2 * PAD for segments, _, _ in row_cells))
    heights = [size + 2 * PAD for _, size, _ in rows]
    return {"rows": rows, "width": max(widths), "heights": heights, "height": sum(heights)}


def _draw_segments(ax, segments: Segments, x_center: float, y_center: float, size: float,
                   color: str) -> None:
    x = x_center - _width(segments, size) / 2
    for text, bold in segments:
        ax.text(x, y_center, text, fontsize=size, color=color, ha="left", va="center_baseline",
                fontweight="bold" if bold else "normal")
        x += _width([(text, bold)], size)


def _draw_box(ax, box: dict, left: float, top: float) -> None:
    from matplotlib.patches import Rectangle
    y = top
    for (_, size, cells), height in zip(box["rows"], box["heights"]):
        natural = [_width(segments, size) + 2 * PAD for segments, _, _ in cells]
        extra = (box["width"] - sum(natural)) / len(cells)     # share the spare width
        x = left
        for (segments, background, color), width in zip(cells, natural):
            width += extra
            ax.add_patch(Rectangle((x, y - height), width, height, facecolor=background,
                                   edgecolor="black", linewidth=1))
            _draw_segments(ax, segments, x + width / 2, y - height / 2, size, color)
            x += width
        y -= height


def plot_model(model, to_file: str | os.PathLike | None = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = True, rankdir: str = "TB",
               dpi: int = 200, show_layer_activations: bool = False,
               show_trainable: bool = False):
    """Draw `model` layer by layer, as `keras.utils.plot_model`, and save it to `to_file`.

    Works for a built scratchnn Sequential and for Keras models. `to_file`'s suffix
    picks the format (PNG when there is none); `to_file=None` only returns the figure.
    rankdir: "TB" (top to bottom) or "LR" (left to right). Keras 3's own default is
    show_layer_names=False; scratchnn shows them unless told not to.
    Returns the matplotlib Figure (Keras returns an IPython image in notebooks)."""
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"plot_model: rankdir must be 'TB' or 'LR', got {rankdir!r}")
    layers = list(getattr(model, "layers", []))
    if not layers:
        raise ValueError(f"plot_model: model {getattr(model, 'name', model)!r} has no layers")
    if getattr(model, "built", True) is False:
        raise ValueError(f"plot_model: model '{model.name}' is not built yet; give the first "
                         "layer input_shape=..., start with Input(shape), or call it on data")
    boxes = [_box(layer, show_shapes, show_dtype, show_layer_names, show_layer_activations,
                  show_trainable) for layer in layers]
    if getattr(model, "nodes", None) is not None:        # a Functional model: its graph
        fig = _draw_graph(model, layers, boxes, rankdir == "TB")
        return save_figure(fig, to_file, dpi=dpi)
    vertical = rankdir == "TB"
    if vertical:
        width = max(b["width"] for b in boxes) + 2 * MARGIN
        height = sum(b["height"] for b in boxes) + GAP * (len(boxes) - 1) + 2 * MARGIN
    else:
        width = sum(b["width"] for b in boxes) + GAP * (len(boxes) - 1) + 2 * MARGIN
        height = max(b["height"] for b in boxes) + 2 * MARGIN
    fig = pyplot().figure(figsize=(width / 72, height / 72))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    position = MARGIN if not vertical else height - MARGIN     # running edge of the next box
    for index, box in enumerate(boxes):
        if vertical:
            left, top = (width - box["width"]) / 2, position
            end = (width / 2, top - box["height"])              # bottom centre, arrow start
            position = top - box["height"] - GAP
            nxt = (width / 2, position)
        else:
            left, top = position, (height + box["height"]) / 2
            end = (left + box["width"], height / 2)
            position = left + box["width"] + GAP
            nxt = (position, height / 2)
        _draw_box(ax, box, left, top)
        if index < len(boxes) - 1:
            ax.annotate("", xy=nxt, xytext=end, arrowprops=dict(
                arrowstyle="-|>", color="black", linewidth=2, mutation_scale=14,
                shrinkA=0, shrinkB=0))
    return save_figure(fig, to_file, dpi=dpi)


def _draw_graph(model, layers: list, boxes: list[dict], vertical: bool):
    """A Functional model: boxes in ranks, an arrow for every (producer, consumer) pair."""
    from matplotlib.patches import FancyArrowPatch

    index = {id(layer): i for i, layer in enumerate(layers)}
    edges = []
    for node in model.nodes:
        for tensor in node.inputs:
            edge = (index[id(tensor.history.layer)], index[id(node.layer)])
            if edge not in edges:
                edges.append(edge)
    rank = [0] * len(layers)
    for _ in layers:                                 # longest path from the inputs
        for a, b in edges:
            rank[b] = max(rank[b], rank[a] + 1)
    levels: list[list[int]] = [[] for _ in range(max(rank) + 1)]
    for i in range(len(layers)):
        levels[rank[i]].append(i)
    along = (lambda b: b["height"]) if vertical else (lambda b: b["width"])
    across = (lambda b: b["width"]) if vertical else (lambda b: b["height"])
    depth = [max(along(boxes[i]) for i in level) for level in levels]
    breadth = [sum(across(boxes[i]) for i in level) + GAP * (len(level) - 1) for level in levels]
    size_along = sum(depth) + 2 * GAP * (len(levels) - 1) + 2 * MARGIN
    size_across = max(breadth) + 2 * MARGIN
    width, height = (size_across, size_along) if vertical else (size_along, size_across)
    fig = pyplot().figure(figsize=(width / 72, height / 72))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    places = {}                                      # box index -> (left, top)
    edge_along = MARGIN
    for level, level_depth, level_breadth in zip(levels, depth, breadth):
        edge_across = (size_across - level_breadth) / 2
        for i in level:
            box = boxes[i]
            if vertical:
                places[i] = (edge_across, height - edge_along)
            else:
                places[i] = (edge_along, (height + size_across) / 2 - edge_across)
            edge_across += across(box) + GAP
        edge_along += level_depth + 2 * GAP
    for i, (left, top) in places.items():
        _draw_box(ax, boxes[i], left, top)
    for a, b in edges:
        (la, ta), (lb, tb) = places[a], places[b]
        if vertical:
            start = (la + boxes[a]["width"] / 2, ta - boxes[a]["height"])
            end = (lb + boxes[b]["width"] / 2, tb)
        else:
            start = (la + boxes[a]["width"], ta - boxes[a]["height"] / 2)
            end = (lb, tb - boxes[b]["height"] / 2)
        skips = rank[b] - rank[a] > 1
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14,
                                     linewidth=2, color="black", shrinkA=0, shrinkB=0,
                                     connectionstyle=f"arc3,rad={0.35 if skips else 0}"))
    return fig
