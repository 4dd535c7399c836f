"""The `scratchnn` command line: its commands, their options, and one-line errors."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

import scratchnn as snn
from scratchnn import cli


@pytest.mark.parametrize("command", ["demo", "train", "data", "parity"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main([command, "--help"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: scratchnn {command}")


@pytest.mark.parametrize("argv, mentions", [
    (["dance"], "invalid choice: 'dance'"),
    (["train", "resnet"], "invalid choice: 'resnet'"),
    (["train", "circles", "--epochs", "0"], "--epochs: must be positive"),
    (["train", "circles", "--learning-rate", "fast"], "expected a float, got 'fast'"),
])
def test_a_user_mistake_is_one_line_on_stderr_and_exit_code_2(argv, mentions, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and mentions in err


def test_train_circles_saves_weights_and_figures(tmp_path, capsys):
    """`scratchnn train circles` trains T1's model_7, reports the test accuracy, and saves
    its weights as Keras 3's .weights.h5, which load back into the same model."""
    assert cli.main(["train", "circles", "--epochs", "2", "--out", str(tmp_path)]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "circles.weights.h5", "circles_boundaries.png", "circles_history.png"]
    model = snn.Sequential(cli.SEED_MODELS["circles"].layers(snn))
    model.load_weights(tmp_path / "circles.weights.h5")
    assert [w.shape for w in model.get_weights()] == [(2, 4), (4,), (4, 4), (4,), (4, 1), (1,)]


def test_train_is_seeded(tmp_path):
    """The same --seed gives the same trained weights, bit for bit."""
    weights = []
    for run in ("a", "b"):
        assert cli.main(["train", "circles", "--epochs", "1", "--out", str(tmp_path / run)]) == 0
        model = snn.Sequential(cli.SEED_MODELS["circles"].layers(snn))
        model.load_weights(tmp_path / run / "circles.weights.h5")
        weights.append(model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*weights))


def test_train_on_keras_without_tensorflow_says_how_to_install_it(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "keras", None)          # import keras -> ImportError
    assert cli.main(["train", "circles", "--engine", "keras", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install -e '.[tf]'" in err


def test_data_reports_the_folder_and_verifies_every_file(fashion, capsys):
    assert cli.main(["data"]) == 0
    out = capsys.readouterr().out
    assert "Fashion-MNIST found in" in out and out.count("... OK") == 4


def test_data_missing_says_exactly_how_to_get_it(monkeypatch, capsys):
    from scratchnn.datasets import fashion_mnist
    monkeypatch.setattr(fashion_mnist, "locate", lambda path=None: None)
    assert cli.main(["data"]) == 1
    err = capsys.readouterr().err
    for way in ("apt-get install dataset-fashion-mnist", "scratchnn data --download",
                "SCRATCHNN_DATA="):
        assert way in err


def test_parity_without_tensorflow_is_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tf_reference", None)
    assert cli.main(["parity"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install -e '.[tf]'" in err


def test_demo_runs_the_demo_with_its_options(monkeypatch):
    calls = []
    import scratchnn.demo
    monkeypatch.setattr(scratchnn.demo, "run", lambda out, **kw: calls.append((out, kw)))
    assert cli.main(["demo", "--out", "somewhere", "--epochs", "3", "--scratchnn-only"]) == 0
    assert calls == [("somewhere", {"epochs": 3, "with_keras": False, "update_readme": None})]


def test_bench_passes_its_arguments_to_the_benchmark_suite(monkeypatch):
    seen = []
    fake = types.ModuleType("benchmarks.bench")
    fake.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "benchmarks.bench", fake)
    assert cli.main(["bench", "--quick", "--help"]) == 0
    assert seen == [["--quick", "--help"]]
