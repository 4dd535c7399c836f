"""The tutorials' figures, one call each.

Every function draws a new matplotlib Figure and returns it; `path=` (`to_file=` for
plot_model) also writes it as a PNG, atomically, and closes it in pyplot. matplotlib
is imported only when a figure is drawn: `import scratchnn` never imports it.
Functions that call the model (`decision_boundary`) work with Keras models too.

Training:
    history_curves(history, ...)            per-epoch curves; {"scratchnn": h1, "keras": h2}
                                            overlays several runs
    lr_finder(learning_rates, losses)       loss against learning rate, suggestion marked
2-D data:
    data_scatter(x, y)                      the points, coloured by class
    decision_boundary(model, x, y, ax=None) the predicted class over the plane
    decision_boundaries(model, {"Train": (x, y), "Test": (x, y)})   side by side
    regression_predictions(x_train, y_train, x_test, y_test, predictions)
Classification results:
    confusion_matrix(y_true, y_pred, classes, normalize=False)
    confidence_histogram(probabilities, y_true)
Images:
    image_grid(images, titles, correct=None)        titles green/red by correctness
    show_examples(images, labels, class_names)      as tfds.show_examples
    prediction_grid(images, probabilities, y_true, class_names)
    least_confident(images, probabilities, y_true, class_names, n=6)
The network:
    activation_functions(["linear", "sigmoid", "relu"])   each with its derivative
    plot_model(model, to_file, show_shapes=True)    the architecture diagram
                                                    (also scratchnn.utils.plot_model)
Your own figures:
    pyplot(), new_figure(rows, cols), save_figure(fig, path)
"""

from .activation_plots import activation_functions
from .architecture import plot_model
from .boundaries import (data_scatter, decision_boundaries, decision_boundary,
                         predicted_classes, regression_predictions)
from .classification import confidence_histogram, confusion_counts, confusion_matrix
from .figures import new_figure, pyplot, save_figure
from .images import image_grid, least_confident, prediction_grid, show_examples
from .training import history_curves, lr_finder

__all__ = ["history_curves", "lr_finder", "data_scatter", "decision_boundary",
           "decision_boundaries", "predicted_classes", "regression_predictions",
           "confusion_matrix", "confusion_counts", "confidence_histogram", "image_grid",
           "show_examples", "prediction_grid", "least_confident", "activation_functions",
           "plot_model", "pyplot", "new_figure", "save_figure"]
