"""The README's results come from `scratchnn demo`, and are not stale.

The block between `<!-- results:begin -->` and `<!-- results:end -->` is written by
`scratchnn demo --update-readme README.md` (the same text as reports/demo/results.md).
Three checks keep it honest:
- the cheap, deterministic scratchnn cells (circles model_7's test accuracy, the LR
  finder's answer, every parameter count and epoch count) are recomputed here;
- the block names the fingerprint of the engine code it was produced with, so a change
  to that code fails this test until the demo is run again (the Fashion-MNIST and Keras
  cells cost minutes and TensorFlow, too much to recompute here);
- the table has both engines' columns filled in.
Times are never compared: they are measurements of one run on one machine.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import scratchnn as snn
from scratchnn import demo

README = Path(__file__).resolve().parent.parent / "README.md"
REGENERATE = "run `scratchnn demo --update-readme README.md` (make demo, with TensorFlow)"


@pytest.fixture(scope="module")
def block() -> str:
    return demo.readme_block(README.read_text())


@pytest.fixture(scope="module")
def rows(block) -> dict:
    return demo.parse_block(block)


@pytest.fixture(scope="module")
def specs() -> dict:
    return {spec.title: spec for spec in demo.demo_models()}


def test_readme_results_come_from_the_current_engine_code(block):
    match = re.search(r"engine fingerprint `([0-9a-f]{12})`", block)
    assert match, f"the README's results block names no engine fingerprint; {REGENERATE}"
    assert match.group(1) == demo.engine_fingerprint(), (
        "the README's results were produced by other engine code than this; " + REGENERATE)


def test_readme_table_lists_every_demo_model_with_both_engines(rows, specs):
    assert list(rows) == list(specs)
    for title, row in rows.items():
        assert re.fullmatch(r"\d\.\d{4}", row["Keras test accuracy"]), (title, REGENERATE)


def test_readme_parameter_and_epoch_counts_match_the_models(rows, specs):
    for title, spec in specs.items():
        model = demo.build(spec)
        assert rows[title]["params"] == f"{model.count_params():,}", title
        assert rows[title]["epochs"] == str(spec.epochs), title


def test_readme_circles_accuracy_is_what_scratchnn_gives_today(rows, specs):
    """T1 model_7, 20 epochs on 800 points, seed 42: recomputed (about a second)."""
    spec = next(s for s in specs.values() if s.key == "circles")
    run = demo.train_scratchnn(spec)
    assert rows[spec.title]["scratchnn test accuracy"] == f"{run.test_accuracy:.4f}", REGENERATE


def test_readme_lr_finder_answer_is_what_scratchnn_gives_today(block, specs):
    spec = next(s for s in specs.values() if s.key == "lr_finder")
    run = demo.train_scratchnn(spec)
    expected = f"lowest training loss at lr {demo.lowest_loss_rate(run.history):.4f} on scratchnn"
    assert expected in block, REGENERATE
