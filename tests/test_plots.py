"""scratchnn.plots: every figure is one public call returning a Figure, `path=` saves it,
and each draws what the tutorials draw."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import plots

import matplotlib  # noqa: E402 (the [plots] extra; CI installs it)
import matplotlib.text  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

from scratchnn.plots import architecture  # noqa: E402

matplotlib.use("Agg")

CLASSES = ["T-shirt/top", "Trouser", "Pullover"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plots.pyplot().close("all")


def circles_model():
    model = snn.Sequential([snn.Input((2,)), snn.layers.Dense(4, activation="relu"),
                            snn.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def arrows(fig) -> list[FancyArrowPatch]:
    return [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]


def test_importing_scratchnn_and_its_plots_does_not_import_matplotlib():
    code = "import sys, scratchnn, scratchnn.plots; sys.exit('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def _calls():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 2)), rng.integers(0, 2, 40)
    images, labels = rng.integers(0, 255, (6, 28, 28)), np.array([0, 1, 2, 0, 1, 2])
    probs = rng.dirichlet(np.ones(3), size=6)
    history = {"loss": [0.7, 0.5], "accuracy": [0.5, 0.8], "val_loss": [0.6, 0.55],
               "val_accuracy": [0.6, 0.7]}
    return {
        "history_curves": lambda path: plots.history_curves(history, path=path),
        "lr_finder": lambda path: plots.lr_finder([1e-3, 1e-2, 1e-1], [0.7, 0.2, 0.9], path=path),
        "data_scatter": lambda path: plots.data_scatter(x, y, path=path),
        "decision_boundary": lambda path: plots.decision_boundary(circles_model(), x, y,
                                                                  path=path),
        "decision_boundaries": lambda path: plots.decision_boundaries(
            circles_model(), {"Train": (x, y), "Test": (x, y)}, path=path),
        "regression_predictions": lambda path: plots.regression_predictions(
            [0, 1], [1, 2], [2, 3], [3, 4], [3.1, 4.2], path=path),
        "confusion_matrix": lambda path: plots.confusion_matrix(labels, probs, CLASSES,
                                                                path=path),
        "confidence_histogram": lambda path: plots.confidence_histogram(probs, labels,
                                                                        path=path),
        "image_grid": lambda path: plots.image_grid(images, ["a"] * 6, path=path),
        "show_examples": lambda path: plots.show_examples(images, labels, CLASSES, 2, 3,
                                                          path=path),
        "prediction_grid": lambda path: plots.prediction_grid(images, probs, labels, CLASSES,
                                                              path=path),
        "least_confident": lambda path: plots.least_confident(images, probs, labels, CLASSES,
                                                              n=4, path=path),
        "activation_functions": lambda path: plots.activation_functions(path=path),
        "plot_model": lambda path: plots.plot_model(circles_model(), to_file=path),
    }


@pytest.mark.parametrize("name", sorted(_calls()))
def test_each_figure_is_one_call_returning_a_figure_and_path_saves_a_png(name, tmp_path):
    path = tmp_path / f"{name}.png"
    fig = _calls()[name](path)
    assert isinstance(fig, Figure)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]        # no temporary left


def test_save_figure_follows_the_suffix_and_the_umask(tmp_path):
    fig, _ = plots.new_figure()
    plots.save_figure(fig, tmp_path / "f.pdf")
    assert (tmp_path / "f.pdf").read_bytes()[:4] == b"%PDF"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "f.pdf").stat().st_mode) == 0o666 & ~mask


def test_history_curves_overlays_labelled_runs_train_solid_val_dashed():
    run = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]}
    fig = plots.history_curves({"scratchnn": run, "keras": run})
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert set(lines) == {"scratchnn loss", "scratchnn val_loss", "keras loss", "keras val_loss"}
    assert lines["keras val_loss"].get_linestyle() == "--"
    assert lines["keras loss"].get_linestyle() == "-"


def test_history_curves_takes_a_history_object_and_one_panel_per_metric():
    model = circles_model()
    history = model.fit(np.zeros((4, 2)), np.zeros(4), epochs=2, verbose=0)
    fig = plots.history_curves(history)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]


def test_history_curves_refuses_something_that_is_not_a_history():
    with pytest.raises(ValueError, match="expects a History"):
        plots.history_curves([0.5, 0.4])


def test_lr_finder_marks_the_rate_10x_below_the_lowest_loss():
    fig = plots.lr_finder([1e-3, 1e-2, 1e-1], [0.7, 0.2, 0.9])
    suggested = [line for line in fig.axes[0].get_lines() if line.get_linestyle() == ":"]
    assert suggested[0].get_xdata()[0] == pytest.approx(1e-3)


def test_predicted_classes_thresholds_one_output_and_argmaxes_several():
    assert plots.predicted_classes(np.array([[0.2], [0.7], [0.5]])).tolist() == [0, 1, 0]
    assert plots.predicted_classes(np.array([[0.2, 0.5, 0.3]])).tolist() == [1]


def test_decision_boundary_draws_on_the_axes_it_is_given():
    fig, axes = plots.new_figure(1, 2)
    returned = plots.decision_boundary(circles_model(), np.random.default_rng(0).normal(
        size=(10, 2)), np.arange(10) % 2, ax=axes[0, 1], title="mine")
    assert returned is fig and axes[0, 1].get_title() == "mine" and not axes[0, 0].collections


def test_confusion_counts_rows_are_true_labels_columns_predictions():
    cm = plots.confusion_counts(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1]))
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]


def test_confusion_matrix_cells_show_counts_and_row_percentages_or_fractions():
    y_true, y_pred = np.array([0, 0, 0, 1]), np.array([0, 0, 1, 1])
    assert "2\n(66.7%)" in texts(plots.confusion_matrix(y_true, y_pred))
    assert "0.67" in texts(plots.confusion_matrix(y_true, y_pred, normalize=True))


def test_prediction_grid_titles_are_green_when_right_and_red_when_wrong():
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1]])
    fig = plots.prediction_grid(np.zeros((2, 28, 28)), probs, [0, 0], CLASSES)
    titles = {ax.get_title(): ax.title.get_color() for ax in fig.axes if ax.get_title()}
    assert titles == {"Pred: T-shirt/top 90%\nTrue: T-shirt/top": "green",
                      "Pred: Trouser 70%\nTrue: T-shirt/top": "red"}


def test_least_confident_shows_the_lowest_confidence_first():
    probs = np.array([[0.9, 0.1, 0.0], [0.4, 0.35, 0.25], [0.6, 0.3, 0.1]])
    fig = plots.least_confident(np.zeros((3, 28, 28)), probs, [0, 0, 0], CLASSES, n=2)
    assert [ax.get_title()[:20] for ax in fig.axes if ax.get_title()] == [
        "Pred: T-shirt/top 40", "Pred: T-shirt/top 60"]


def test_show_examples_labels_each_image_like_tfds():
    fig = plots.show_examples(np.zeros((2, 28, 28, 1)), [2, 0], CLASSES, rows=1, cols=2)
    assert [ax.get_xlabel() for ax in fig.axes] == ["Pullover (2)", "T-shirt/top (0)"]


def test_activation_functions_plot_the_engines_derivatives():
    fig = plots.activation_functions(["relu"], x=np.array([-1.0, 2.0]))
    function, derivative = fig.axes[0].get_lines()[:2]
    assert derivative.get_ydata().tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="softmax is not elementwise"):
        plots.activation_functions(["softmax"])


def test_plot_model_draws_a_box_per_layer_with_name_type_and_shapes(tmp_path):
    model = snn.Sequential([snn.Input((28, 28)), snn.layers.Flatten(name="flatten"),
                            snn.layers.Dense(100, activation="relu", name="hidden")])
    fig = snn.utils.plot_model(model, to_file=tmp_path / "model.png", show_shapes=True)
    drawn = texts(fig)
    for piece in ["flatten", " (Flatten)", "hidden", " (Dense)", "(None, 28, 28)", "(None, 784)",
                  "(None, 100)"]:
        assert piece in drawn
    cells = [p for p in fig.axes[0].patches if not isinstance(p, FancyArrowPatch)]
    assert len(cells) == 2 * 3                            # header + two shape cells per layer
    assert len(arrows(fig)) == 1
    assert (tmp_path / "model.png").stat().st_size > 0


def test_plot_model_refuses_an_unbuilt_model():
    with pytest.raises(ValueError, match="not built"):
        plots.plot_model(snn.Sequential([snn.layers.Dense(2)]), to_file=None)


# -- plot_model of graphs (snn.Model) -------------------------------------------------------
L = snn.layers


def residual():
    x = snn.Input((8,), name="x")
    h = L.Dense(8, name="d2")(L.Dense(8, name="d1")(x))
    y = L.Activation("relu", name="act")(L.Add(name="res")([x, h]))
    return snn.Model(x, L.Dense(3, name="cls")(y), name="residual")


def two_in_two_out():
    """in_a and in_b through one shared Dense; outputs head and add."""
    a, b = snn.Input((4,), name="in_a"), snn.Input((4,), name="in_b")
    shared = L.Dense(3, name="shared")
    s_a, s_b = shared(a), shared(b)
    added = L.Add(name="add")([s_a, s_b])
    out = L.Dense(2, name="head")(L.Concatenate(name="concat")([s_a, added]))
    return snn.Model([a, b], [out, added], name="two_in")


def frozen():
    fi = snn.Input((5,), name="fi")
    base = L.Dense(4, name="base")
    h = L.Add(name="sum")([L.Dense(4, name="side")(fi), base(fi)])
    base.trainable = False
    return snn.Model(fi, L.Dense(2, name="top")(h), name="frozen")


def shared_at_two_depths():
    si = snn.Input((3,), name="si")
    a, b = L.Dense(3, name="A"), L.Dense(3, name="B")
    return snn.Model(si, a(b(a(si))), name="aba")


def feeds_itself():
    y = snn.Input((3,), name="y")
    twice = L.Dense(3, name="twice")
    return snn.Model(y, L.Dense(2, name="after")(twice(twice(y))), name="loop")


def layout_of(model, width: float = 120.0, height: float = 40.0):
    """graph_layout for boxes of one size, with the model's edges (indices in layers)."""
    names = [layer.name for layer in model.layers]
    edges = architecture.graph_edges(model, model.layers)
    sizes = [(width, height)] * len(names)
    return names, edges, sizes, architecture.graph_layout(sizes, edges)


def rectangles(layout, sizes) -> list[tuple[float, float, float, float]]:
    """(across low, along low, across high, along high) of each box."""
    return [(c - w / 2, t, c + w / 2, t + h)
            for c, t, (w, h) in zip(layout.centres, layout.tops, sizes)]


def path_points(path, per_piece: int = 24) -> np.ndarray:
    """Points along a layout path: its lines and cubic Bezier curves, sampled."""
    points, here = [], np.array(path[0][1], float)
    for kind, *rest in path[1:]:
        t = np.linspace(0, 1, per_piece)[:, None]
        if kind == "L":
            end = np.array(rest[0], float)
            points.append(here + t * (end - here))
        else:
            c1, c2, end = (np.array(p, float) for p in rest)
            points.append((1 - t) ** 3 * here + 3 * (1 - t) ** 2 * t * c1
                          + 3 * (1 - t) * t ** 2 * c2 + t ** 3 * end)
        here = end
    return np.concatenate(points)


def on_boundary(point, rect, tol: float = 1e-6) -> bool:
    u, v = point
    u0, v0, u1, v1 = rect
    inside = u0 - tol <= u <= u1 + tol and v0 - tol <= v <= v1 + tol
    return inside and min(u - u0, u1 - u, v - v0, v1 - v) <= tol


def assert_readable(layout, sizes, edges) -> None:
    """No two boxes overlap; every arrow starts on its producer's edge, ends on its
    consumer's, and passes through no box on the way (it may run along its own two)."""
    rects = rectangles(layout, sizes)
    for i, (a0, b0, a1, b1) in enumerate(rects):
        for (c0, d0, c1, d1) in rects[i + 1:]:
            assert a1 <= c0 or c1 <= a0 or b1 <= d0 or d1 <= b0, "boxes overlap"
    for (a, b), path in zip(edges, layout.paths):
        points = path_points(path)
        assert on_boundary(points[0], rects[a]) and on_boundary(points[-1], rects[b])
        for k, (u0, v0, u1, v1) in enumerate(rects):
            strictly = (points[:, 0] > u0 + 0.5) & (points[:, 0] < u1 - 0.5) \
                & (points[:, 1] > v0 + 0.5) & (points[:, 1] < v1 - 0.5)
            assert not strictly.any(), f"arrow {a}->{b} crosses box {k}"
        assert (points >= 0).all() and (points <= np.array(layout.size)).all()


def test_plot_model_draws_a_graph_a_box_per_layer_and_an_arrow_per_connection(tmp_path):
    """Keras's plot_model of a Functional model: every layer once, InputLayer included
    (with only its output shape), one arrow per producer/consumer pair."""
    fig = snn.utils.plot_model(residual(), to_file=tmp_path / "residual.png", show_shapes=True)
    drawn = texts(fig)
    for name in ["x", "d1", "d2", "res", "act", "cls"]:
        assert drawn.count(name) == 1
    assert drawn.count("Output shape: ") == 6 and drawn.count("Input shape: ") == 5
    assert "[(None, 8), (None, 8)]" in drawn                  # the Add's list of inputs
    assert len(arrows(fig)) == 6                              # x->d1->d2->res, x->res, ...
    assert (tmp_path / "residual.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_skip_connection_passes_beside_the_boxes_it_skips():
    names, edges, sizes, layout = layout_of(residual())
    assert_readable(layout, sizes, edges)
    skip = layout.paths[edges.index((names.index("x"), names.index("res")))]
    d1 = rectangles(layout, sizes)[names.index("d1")]
    assert path_points(skip)[:, 0].max() > d1[2]           # out beyond d1's side
    chain = [layout.centres[names.index(n)] for n in ["d1", "d2", "res", "act", "cls"]]
    assert max(chain) - min(chain) < 1e-9                  # the main path stays straight


def test_two_inputs_and_two_outputs_share_the_first_rank_and_read_cleanly():
    names, edges, sizes, layout = layout_of(two_in_two_out())
    assert names == ["in_a", "in_b", "shared", "add", "concat", "head"]
    assert layout.tops[0] == layout.tops[1] < layout.tops[2]
    assert_readable(layout, sizes, edges)
    fig = plots.plot_model(two_in_two_out(), to_file=None)
    assert len(arrows(fig)) == len(edges) == 6


def test_a_shared_layer_is_one_box_with_an_arrow_from_each_caller():
    """`shared` is called on in_a and in_b: one box, two arrows in, ending apart on its
    top edge; its two calls both feed `add`: one arrow (Keras drops repeated edges)."""
    model = two_in_two_out()
    assert texts(plots.plot_model(model, to_file=None)).count("shared") == 1
    names, edges, sizes, layout = layout_of(model)
    index = names.index
    assert edges == [(index("in_a"), index("shared")), (index("in_b"), index("shared")),
                     (index("shared"), index("add")), (index("shared"), index("concat")),
                     (index("add"), index("concat")), (index("concat"), index("head"))]
    ends = [layout.paths[edges.index((i, index("shared")))][-1][-1] for i in (0, 1)]
    assert ends[0][1] == ends[1][1] == layout.tops[index("shared")]   # both on the top edge
    assert abs(ends[0][0] - ends[1][0]) >= architecture.PORT_STEP - 1e-9


def test_a_layer_shared_at_two_depths_gets_an_arrow_back_up_and_a_self_loop_a_side_loop():
    """A(B(A(x))): Keras lists si, A, B; B's output feeds A's second call, an arrow drawn
    from B up into A's bottom. twice(twice(y)): a loop on the box's side."""
    names, edges, sizes, layout = layout_of(shared_at_two_depths())
    assert names == ["si", "A", "B"]
    assert_readable(layout, sizes, edges)
    back = layout.paths[edges.index((2, 1))]
    a_bottom = layout.tops[1] + sizes[1][1]
    assert back[-1][-1][1] == a_bottom and back[0][1][1] == layout.tops[2]
    names, edges, sizes, layout = layout_of(feeds_itself())
    assert (1, 1) in edges
    assert_readable(layout, sizes, edges)
    loop = path_points(layout.paths[edges.index((1, 1))])
    side = layout.centres[1] + sizes[1][0] / 2
    assert np.allclose(loop[[0, -1], 0], side) and loop[:, 0].max() > side + 10
    for model in (shared_at_two_depths(), feeds_itself()):
        assert len(arrows(plots.plot_model(model, to_file=None))) == 3


def test_rankdir_lr_puts_ranks_left_to_right():
    fig = plots.plot_model(two_in_two_out(), to_file=None, rankdir="LR")
    x = {t.get_text(): t.get_position()[0] for t in fig.findobj(matplotlib.text.Text)}
    y = {t.get_text(): t.get_position()[1] for t in fig.findobj(matplotlib.text.Text)}
    assert x["in_a"] == pytest.approx(x["in_b"], abs=40) and y["in_a"] != y["in_b"]
    assert x["in_a"] < x["shared"] < x["add"] < x["concat"] < x["head"]
    width, height = fig.get_size_inches()
    assert width > height and len(arrows(fig)) == 6


def test_show_shapes_and_show_trainable_on_a_graph():
    """Keras: an InputLayer shows its output shape only; a layer its first call's shapes;
    Trainable / Non-trainable only for layers with weights."""
    drawn = texts(plots.plot_model(frozen(), to_file=None, show_shapes=True,
                                   show_trainable=True))
    assert drawn.count("Non-trainable") == 1 and drawn.count("Trainable") == 2  # side, top
    assert drawn.count("Input shape: ") == 4
    p, q = snn.Input((5, 4), name="p"), snn.Input((4,), name="q")
    d = L.Dense(2, name="sd")
    drawn = texts(plots.plot_model(snn.Model([p, q], [d(p), d(q)]), to_file=None,
                                   show_shapes=True))
    assert "(None, 5, 2)" in drawn and "(None, 2)" not in drawn    # sd's first call


@pytest.mark.parametrize("seed", range(40))
def test_graph_layout_of_random_graphs_reads_cleanly(seed):
    """Random boxes and edges (forward, some back up the list, some loops): no box
    overlaps another, no arrow crosses a box."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 10))
    edges = []
    for b in range(1, n):
        for a in rng.choice(b, size=min(b, int(rng.integers(1, 4))), replace=False):
            edges.append((int(a), b))
    for _ in range(int(rng.integers(0, 3))):
        a, b = sorted(int(i) for i in rng.integers(0, n, 2))
        edges.append((b, a))                                  # back up the list, or a loop
    edges = list(dict.fromkeys(edges))
    sizes = [(float(rng.uniform(40, 300)), float(rng.uniform(20, 80))) for _ in range(n)]
    assert_readable(architecture.graph_layout(sizes, edges), sizes, edges)
