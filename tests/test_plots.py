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
    assert len(fig.axes[0].patches) == 2 * 3              # header + two shape cells per layer
    assert (tmp_path / "model.png").stat().st_size > 0


def test_plot_model_refuses_an_unbuilt_model():
    with pytest.raises(ValueError, match="not built"):
        plots.plot_model(snn.Sequential([snn.layers.Dense(2)]), to_file=None)
