"""The tutorial scripts in examples/ (and those beyond them: fashion_cnn_bn.py,
fine_tune_frozen.py, fashion_graphs.py) run, every step, and write every figure.

Each script runs as a user runs it (`python examples/tN_....py --quick --out DIR`, on
scratchnn, in a subprocess), with --quick cutting epochs and images: this checks that
every step works and every figure is drawn, not the tutorials' results (the full
runs are for people). BLAS is held to one thread so the CPU used stays what it is.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# script -> (the figures it must write, lines its output must contain)
EXAMPLES = {
    "t1_circles.py": (
        ["t1_circles.png", "t1_model_3_boundary.png", "t1_regression.png", "t1_activations.png",
         "t1_model_4_boundary.png", "t1_model_5_boundaries.png", "t1_model_5_history.png",
         "t1_model_6_lr_finder.png", "t1_model_7_boundaries.png", "t1_model_7_confusion.png",
         "t1_fashion_image.png", "t1_fashion_4_images.png", "t1_fashion_histories.png",
         "t1_model_9_lr_finder.png", "t1_model_10_confusion.png",
         "t1_model_10_random_image.png", "t1_model_10_architecture.png"],
        ["model_1 after 5 epochs", "f1-score", "confusion matrix:",
         "layers[1].get_weights(): weights (784, 100), biases (100,)"]),
    "t2_fashion_multiclass.py": (
        ["t2_random_images.png", "t2_lr_finder.png", "t2_history.png", "t2_confusion.png"],
        ["train_data[0]: min 0, max 255", "first ten predictions:",
         "layers[1].get_weights(): weights (784, 4), biases (4,)"]),
    "t3_fashion.py": (
        ["t3_samples.png", "t3_mlp_history.png", "t3_cnn_history.png"],
        ["Total params: 278,260", "Total params: 542,230", "(None, 26, 26, 32)",
         "train / val / test accuracy"]),
    "t4_cnn.py": (
        ["t4_examples.png", "t4_accuracy.png", "t4_predictions.png", "t4_confusion.png",
         "t4_confidence.png", "t4_least_confident.png"],
        ["Total params: 31,626", "(None, 4, 4, 32)", "most confused"]),
    "t5_circles_named.py": (
        ["t5_boundaries.png", "t5_activations.png"],
        ['Model: "model_circles"', "['hidden_layer_1', 'output_layer']",
         "6. Dense(4, relu)-Dense(1, sigmoid)"]),
    "fashion_cnn_bn.py": (
        ["cnn_bn_history.png", "cnn_bn_confusion.png"],
        ["Non-trainable params: 192 (768.00 B)", "(GlobalAveragePooling2D)",
         "learning_rate: 0.0020", "test accuracy"]),
    "fine_tune_frozen.py": (
        ["fine_tune_flips.png", "fine_tune_schedule.png", "fine_tune_history.png"],
        ["Trainable params: 51,589 (201.52 KB)", "Non-trainable params: 4,800 (18.75 KB)",
         "trainable weights: 4 arrays, frozen: 4 arrays",
         "learning rate: step 0 0.0001, peak 0.003",
         "conv1 unchanged while frozen: True", "after unfreezing conv2: 6 trainable arrays",
         "test accuracy, from scratch, same data and epochs"]),
    "fashion_graphs.py": (
        ["graphs_residual_model.png", "graphs_residual_history.png",
         "graphs_two_views_model.png", "graphs_two_views_history.png"],
        ["Total params: 36,170 (141.29 KB)", "Total params: 177,867 (694.79 KB)",
         "inputs ['image', 'profile'], output layers ['label', 'footwear']",
         "History keys: ['footwear_accuracy', 'footwear_loss', 'label_accuracy', 'label_loss', "
         "'loss', 'val_footwear_accuracy', 'val_footwear_loss', 'val_label_accuracy', "
         "'val_label_loss', 'val_loss']",
         "predict returns a list: class probabilities (500, 10), footwear probabilities (500, 1)"]),
}
# Files other than figures that a script writes: (name, its first line).
OTHER_FILES = {"fashion_cnn_bn.py": [
    ("cnn_bn_log.csv", "epoch,accuracy,learning_rate,loss,val_accuracy,val_loss")]}


def run_example(script: str, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, str(ROOT / "examples" / script), "--quick",
                           "--out", str(out)], cwd=out, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_example_runs_every_step_and_writes_every_figure(script, tmp_path, fashion):
    """`python examples/<script> --quick` exits 0, prints the tutorial's structural facts
    (parameter counts, weight shapes, names) and writes exactly its figures, each a
    non-empty PNG."""
    result = run_example(script, tmp_path)
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-5000:])
    figures, expected_lines = EXAMPLES[script]
    for line in expected_lines:
        assert line in result.stdout, f"{script} did not print {line!r}"
    others = OTHER_FILES.get(script, [])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        figures + [name for name, _ in others])
    for name, first_line in others:
        assert (tmp_path / name).read_text().splitlines()[0] == first_line
    for name in figures:
        data = (tmp_path / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE and len(data) > 1000, name
