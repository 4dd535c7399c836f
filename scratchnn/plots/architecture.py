"""`plot_model`: Keras's architecture diagram, drawn with matplotlib (no Graphviz needed).

Each layer is a box, as `keras.utils.plot_model` draws it: a black header with the
layer's name and type, optionally a row with its activation, and a row of cells with
its input and output shapes (and dtype, trainable). Every text is measured first (in
points, at 72 dpi, where one pixel is one point), the boxes are sized around their text,
and the figure is exactly as large as the drawing, in a data space of points.

A Sequential model is a column (or a row, rankdir="LR") of boxes joined by arrows; like
Keras, its input layer is not drawn. A Functional model (snn.Model) is drawn as its graph:
one box per layer, InputLayers included (showing only their output shape), a shared layer
once with its first call's shapes; an arrow from producer to consumer for every call (drawn
once when repeated), as Keras draws it. Keras has Graphviz lay the graph out;
`graph_layout` does that job here the same way: boxes in ranks, arrows that skip ranks
routed beside the boxes in between.
"""

from __future__ import annotations

import functools
import os
from typing import NamedTuple

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
            tensor = getattr(layer, which)
            if isinstance(tensor, (list, tuple)):               # a merge layer's inputs
                return "[" + ", ".join(str(tuple(t.shape)) for t in tensor) + "]"
            shape = tensor.shape
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
        if not is_input_layer(layer):                      # Keras: an Input shows its output
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

    Works for a built scratchnn Sequential or Functional model and for Keras models: a
    Functional model of either engine is drawn as its graph, a Sequential as a chain. `to_file`'s suffix
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
        edges, rank_gap = graph_edges(model, layers), RANK_GAP
    elif getattr(model, "_nodes_by_depth", None) and type(model).__name__ == "Functional":
        edges, rank_gap = keras_graph_edges(model, layers), RANK_GAP   # Keras's graph
    else:                                                # a chain: each layer feeds the next
        edges, rank_gap = [(i, i + 1) for i in range(len(layers) - 1)], GAP
    return save_figure(_draw_graph(boxes, edges, rankdir == "TB", rank_gap), to_file, dpi=dpi)


def _canvas(width: float, height: float):
    """A figure exactly width x height points, whose data space is those points."""
    fig = pyplot().figure(figsize=(width / 72, height / 72))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    return fig, ax


# -- graphs -------------------------------------------------------------------------------
# The layout works in a space of (across, along) points: `along` runs from rank to rank
# (down the page for rankdir TB, to the right for LR), `across` runs within a rank.
# A path is a list of pieces: ("M", point) starts it, ("L", point) draws a line to point,
# ("C", control1, control2, point) a cubic Bezier curve.
Point = tuple[float, float]
RANK_GAP = 2 * GAP        # between two ranks, where the arrows bend
PORT_STEP = 22.0          # between two arrows meeting one side of a box


class GraphLayout(NamedTuple):
    """Where `graph_layout` puts the boxes and the arrows."""
    centres: list[float]          # per box: its centre across
    tops: list[float]             # per box: its top along (the start of its rank)
    paths: list[list[tuple]]      # per edge, in the order given: the arrow's path
    size: Point                   # the whole drawing, margins included: (across, along)


def keras_graph_edges(model, layers: list) -> list[tuple[int, int]]:
    """The same pairs for a Keras Functional model, from its nodes' parents."""
    index = {id(layer): i for i, layer in enumerate(layers)}
    edges = []
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            for parent in node.parent_nodes:
                pair = (index.get(id(parent.operation)), index.get(id(node.operation)))
                if None not in pair and pair not in edges:
                    edges.append(pair)
    return edges


def graph_edges(model, layers: list) -> list[tuple[int, int]]:
    """(producer, consumer) positions in `layers`, one per pair, in call order: an arrow
    for each input of each call in the model, drawn once when repeated (as Keras)."""
    index = {id(layer): i for i, layer in enumerate(layers)}
    edges = []
    for node in model.nodes:
        for tensor in node.inputs:
            edge = (index[id(tensor.history.layer)], index[id(node.layer)])
            if edge not in edges:
                edges.append(edge)
    return edges


def graph_layout(sizes: list[Point], edges: list[tuple[int, int]],
                 rank_gap: float = RANK_GAP) -> GraphLayout:
    """Boxes in ranks and arrows between them, in the manner of Graphviz's `dot`.

    `sizes`: per box (across, along) extent, boxes listed in `model.layers` order (Keras's,
    producers before consumers); `edges`: (producer, consumer) pairs; `rank_gap`: the
    room between two ranks, where arrows bend (a Sequential's straight ones need less).
    1. Ranks: a box sits one rank after the furthest of its producers listed before it.
       An edge back up the list (a layer shared at two depths, fed by a layer it feeds) is
       laid out upside down and drawn from the lower box up; a layer feeding itself gets
       a loop on its side.
    2. An edge that skips ranks gets a waypoint in every rank it crosses, which takes room
       in that rank like a box of no width, so the arrow passes beside the boxes.
    3. Within each rank, boxes and waypoints are ordered by the mean position of their
       neighbours (three sweeps: down, up, down), which uncrosses most arrows.
    4. Each rank is placed under the centres of its producers, pushed apart where they
       would overlap (waypoints move out of the way of boxes first).
    5. Arrows leave the bottom of a box and enter the top of the next, side by side where
       several meet one side, and bend in the gap between ranks."""
    n = len(sizes)
    rank = [0] * n
    for a, b in sorted((edge for edge in edges if edge[0] < edge[1]), key=lambda e: e[1]):
        rank[b] = max(rank[b], rank[a] + 1)          # (its producers are ranked by then)
    loops = {a for a, b in edges if a == b}
    across = [w + (2 * GAP if i in loops else 0.0) for i, (w, _) in enumerate(sizes)]
    chains = {}                           # edge -> [upper box, waypoints..., lower box]
    for a, b in edges:
        if rank[a] != rank[b]:
            upper, lower = (a, b) if rank[a] < rank[b] else (b, a)
            waypoints = list(range(len(rank), len(rank) + rank[lower] - rank[upper] - 1))
            rank += range(rank[upper] + 1, rank[lower])
            across += [0.0] * len(waypoints)
            chains[(a, b)] = [upper, *waypoints, lower]
    centre = _place(rank, across, list(chains.values()), n)
    depth = [max(size for size, r in zip((h for _, h in sizes), rank) if r == k)
             for k in range(max(rank) + 1)]
    top = [MARGIN + sum(depth[:r]) + r * rank_gap for r in rank]
    out_port = _ports(chains, centre, across, end=0)
    in_port = _ports(chains, centre, across, end=-1)
    paths, far = {}, max(c + w / 2 for c, w in zip(centre, across))
    for (a, b), chain in chains.items():
        upper, lower = chain[0], chain[-1]
        points = [(out_port[(a, b)], top[upper] + sizes[upper][1]),
                  (out_port[(a, b)], top[upper] + depth[rank[upper]])]
        for w in chain[1:-1]:                         # down through each waypoint's rank
            points += [(centre[w], top[w]), (centre[w], top[w] + depth[rank[w]])]
        points.append((in_port[(a, b)], top[lower]))
        paths[(a, b)] = _path(points, upwards=a != upper)
    for a, b in edges:
        if rank[a] == rank[b]:                        # a loop, or an arc over one rank
            paths[(a, b)], reach = _same_rank_path(a, b, centre, sizes, top, rank_gap)
            far = max(far, reach)
    return GraphLayout(centre[:n], top[:n], [paths[edge] for edge in edges],
                       (far + MARGIN, max(top) + depth[-1] + MARGIN))


def _place(rank: list[int], across: list[float], chains: list[list[int]], n: int
           ) -> list[float]:
    """The centre across of every box (the first n items) and waypoint: ranks ordered
    (`_order_ranks`), then each placed under its producers (`_spread`), starting at MARGIN."""
    preds: list[list[int]] = [[] for _ in rank]
    succs: list[list[int]] = [[] for _ in rank]
    for chain in chains:
        for p, q in zip(chain, chain[1:]):
            preds[q].append(p)
            succs[p].append(q)
    order: list[list[int]] = [[] for _ in range(max(rank) + 1)]
    for item, r in enumerate(rank):
        order[r].append(item)
    _order_ranks(order, preds, succs)
    centre = [0.0] * len(rank)
    for items in order:
        want = [_under(preds[i], centre, n) for i in items]
        for i, x in zip(items, _spread(want, [across[i] for i in items], [i < n for i in items])):
            centre[i] = x
    want = [_under(succs[i], centre, n) for i in order[0]]
    for i, x in zip(order[0], _spread(want, [across[i] for i in order[0]], [True] * len(want))):
        centre[i] = x                            # the first rank again, above what it feeds
    shift = MARGIN - min(c - w / 2 for c, w in zip(centre, across))
    return [c + shift for c in centre]


def _path(points: list[Point], upwards: bool) -> list[tuple]:
    """Down through `points`, lines (inside a rank) and curves (across the gap between two
    ranks) alternating, a line first; a curve leaves and enters along the ranks' axis.
    `upwards`: the arrow runs the other way, from the last point to the first."""
    pieces = [(k % 2 == 1, p, q) for k, (p, q) in enumerate(zip(points, points[1:])) if p != q]
    if upwards:
        pieces = [(curve, q, p) for curve, p, q in reversed(pieces)]
    path = [("M", pieces[0][1])]
    for curve, (u0, v0), (u1, v1) in pieces:
        middle = (v0 + v1) / 2
        path.append(("C", (u0, middle), (u1, middle), (u1, v1)) if curve else ("L", (u1, v1)))
    return path


def _under(items: list[int], centre: list[float], n: int) -> float | None:
    """Where a box goes: under (or above) the mean centre of the boxes among `items`, its
    neighbours in the rank before (after), so that a chain stays straight; under the
    waypoints there when there is no box; None when there is nothing."""
    boxes = [centre[i] for i in items if i < n] or [centre[i] for i in items]
    return sum(boxes) / len(boxes) if boxes else None


def _order_ranks(order: list[list[int]], preds: list, succs: list) -> None:
    """Sort each rank by the mean position of its neighbours in the rank before (down
    sweeps) or after (up sweep); items without neighbours keep their place."""
    position = {i: k for items in order for k, i in enumerate(items)}
    last = len(order) - 1
    for ranks, neighbours in ((range(1, last + 1), preds), (range(last - 1, -1, -1), succs),
                              (range(1, last + 1), preds)):
        for r in ranks:
            key = {i: (sum(position[p] for p in neighbours[i]) / len(neighbours[i])
                       if neighbours[i] else position[i]) for i in order[r]}
            order[r].sort(key=key.__getitem__)
            position.update({i: k for k, i in enumerate(order[r])})


def _spread(want: list, widths: list[float], boxes: list[bool]) -> list[float]:
    """Centres close to `want` (None: one after another) with GAP between neighbours.
    Where two overlap they move apart, a waypoint 20 times more than a box."""
    x, edge = [], 0.0
    for w, width in zip(want, widths):
        x.append(edge + width / 2 if w is None else w)
        edge = x[-1] + width / 2 + GAP
    mobility = [0.05 if box else 1.0 for box in boxes]
    for _ in range(50 * len(x)):
        moved = False
        for i in range(len(x) - 1):
            overlap = (widths[i] + widths[i + 1]) / 2 + GAP - (x[i + 1] - x[i])
            if overlap > 0.01:
                share = mobility[i] / (mobility[i] + mobility[i + 1])
                x[i] -= overlap * share
                x[i + 1] += overlap * (1 - share)
                moved = True
        if not moved:
            break
    for i in range(1, len(x)):                         # no overlap left, whatever happened
        x[i] = max(x[i], x[i - 1] + (widths[i - 1] + widths[i]) / 2 + GAP)
    return x


def _ports(chains: dict, centre: list, across: list, end: int) -> dict:
    """Where each arrow meets a box (end=0: the bottom of the upper box, -1: the top of
    the lower one): arrows sharing a side sit PORT_STEP apart, ordered like the points
    they come from, so they neither cross there nor share an arrowhead."""
    side: dict[int, list] = {}
    for edge, chain in chains.items():
        box, neighbour = chain[end], chain[1 if end == 0 else -2]
        side.setdefault(box, []).append((centre[neighbour], edge))
    ports = {}
    for box, arrows in side.items():
        step = min(PORT_STEP, across[box] / (len(arrows) + 1))
        for k, (_, edge) in enumerate(sorted(arrows)):
            ports[edge] = centre[box] + (k - (len(arrows) - 1) / 2) * step
    return ports


def _same_rank_path(a: int, b: int, centre: list, sizes: list, top: list, rank_gap: float
                    ) -> tuple[list[tuple], float]:
    """A layer feeding itself: a loop out of its far side and back in (its box was given
    2 * GAP more room for it). Two boxes of one rank: an arc through the gap above them.
    Returns the path and how far across it reaches."""
    side = centre[a] + sizes[a][0] / 2
    if a == b:
        middle, quarter = top[a] + sizes[a][1] / 2, sizes[a][1] / 4
        bulge = side + GAP * 4 / 3                   # a cubic curve peaks at 3/4 of it
        return [("M", (side, middle + quarter)), ("C", (bulge, middle + quarter),
                (bulge, middle - quarter), (side, middle - quarter))], side + GAP
    rise = max(top[a] - rank_gap * 2 / 3, 0.0)           # (top[a] == top[b])
    return [("M", (centre[a], top[a])), ("C", (centre[a], rise), (centre[b], rise),
            (centre[b], top[b]))], side


def _draw_graph(boxes: list[dict], edges: list[tuple[int, int]], vertical: bool,
                rank_gap: float):
    """`graph_layout`'s boxes and arrows, turned to the page (TB: ranks go down; LR: right)."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path

    sizes = [(b["width"], b["height"]) if vertical else (b["height"], b["width"]) for b in boxes]
    layout = graph_layout(sizes, edges, rank_gap)
    size_across, size_along = layout.size
    width, height = (size_across, size_along) if vertical else (size_along, size_across)

    def page(point: Point) -> Point:                 # (across, along) -> (x, y), y upwards
        u, v = point
        return (u, height - v) if vertical else (v, height - u)

    fig, ax = _canvas(width, height)
    for box, (w, _), centre, top in zip(boxes, sizes, layout.centres, layout.tops):
        _draw_box(ax, box, *page((centre - w / 2, top)))       # its top-left corner
    codes = {"M": [Path.MOVETO], "L": [Path.LINETO], "C": [Path.CURVE4] * 3}
    for path in layout.paths:
        vertices = [page(point) for kind, *points in path for point in points]
        kinds = [code for kind, *_ in path for code in codes[kind]]
        ax.add_patch(FancyArrowPatch(path=Path(vertices, kinds), arrowstyle="-|>",
                                     mutation_scale=14, linewidth=2, color="black"))
    return fig
