"""The demo's figures: both engines' curves overlaid, the circles' decision boundaries
(scratchnn's model and Keras's twin on the test points) and the MLP's confusion matrix."""

from __future__ import annotations

import os

from . import plots
from .datasets.fashion_mnist import CLASS_NAMES


def draw(spec, ours, theirs, data, out_dir: str) -> list[str]:
    """Write the figures of one demo model; return their paths."""
    (_, _), (x_test, y_test) = data
    runs = {"scratchnn": ours.history} if theirs is None else {
        "scratchnn": ours.history, "keras": theirs.history}
    written = []

    def path(name: str) -> str:
        written.append(os.path.join(out_dir, name))
        return written[-1]

    if spec.lr_schedule is not None:
        plots.lr_finder(ours.history["learning_rate"],
                        {label: h["loss"] for label, h in runs.items()},
                        title=f"{spec.short}: loss against learning rate",
                        path=path(f"{spec.key}.png"))
        return written
    plots.history_curves(runs, title=f"{spec.short}, {spec.epochs} epochs",
                         path=path(f"{spec.key}_history.png"))
    if spec.data == "circles":
        models = {"scratchnn": ours.model} if theirs is None else {
            "scratchnn": ours.model, "keras": theirs.model}
        plots.decision_boundaries(models, {f"{label}: test points": (x_test, y_test)
                                           for label in models},
                                  title=spec.short, path=path(f"{spec.key}_boundaries.png"))
    elif spec.key == "fashion_mlp":
        predictions = ours.model.predict(x_test, verbose=0)
        plots.confusion_matrix(y_test, predictions, CLASS_NAMES,
                               title=f"{spec.short}: scratchnn on the test set",
                               path=path(f"{spec.key}_confusion.png"))
    return written
