"""The README's same-seed table is what `examples/same_seed.py` gives today.

The scratchnn rows are recomputed here (the run is bit-for-bit deterministic) and must
match the README to the digits shown; the Keras rows must equal the scratchnn rows to
those digits, as the README claims. Keras itself is retrained by the same-seed parity
tests (test_random_runs.py), not again here."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

import scratchnn

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


def _readme_rows() -> dict[tuple[int, str], list[str]]:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- same-seed:begin -->(.*?)<!-- same-seed:end -->", text, re.S)
    assert match, "README.md must hold one <!-- same-seed:begin --> ... :end --> block"
    block = match.group(1)
    assert "examples/same_seed.py" in block and "Initial weights bit-identical: yes" in block
    rows = {}
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].isdigit():
            rows[(int(cells[0]), cells[1])] = cells[2:]
    return rows


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("same_seed", ROOT / "examples" / "same_seed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_same_seed_rows_are_what_scratchnn_gives_today(example):
    rows = _readme_rows()
    epochs = max(epoch for epoch, _ in rows)
    assert epochs >= 1 and len(rows) == 2 * epochs
    (x, y), (xt, yt) = scratchnn.datasets.fashion_mnist.load_data()
    history, _ = example.t2_refit(scratchnn, 42, epochs, ((x / 255.0, y), (xt / 255.0, yt)))
    for epoch in range(1, epochs + 1):
        today = [f"{history[k][epoch - 1]:.4f}" for k in KEYS]
        assert rows[(epoch, "scratchnn")] == today, f"epoch {epoch}: run the example again"
        assert rows[(epoch, "keras")] == rows[(epoch, "scratchnn")], f"epoch {epoch}"
