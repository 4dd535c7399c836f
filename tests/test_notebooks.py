"""The learner's tour (notebooks/*.ipynb): every notebook runs, and reads well unrun.

Each notebook is EXECUTED here, one test per file (parametrized over the glob, so
pytest-xdist spreads them over the cores and a new chapter is picked up by itself): a copy
runs in a temporary folder with a fresh python3 kernel, so nothing is written into the
repository, and the first cell that raises fails the test with that cell's source and
traceback. Their check cells compare with TensorFlow, so these tests FAIL (never skip)
when TensorFlow is missing, as the parity tests do.

The committed files are checked too: GitHub shows them without running them, so each must
hold its outputs (every code cell executed, in order, none with an error), name the python3
kernel, end with a "## Where this lives" section, and link only to files that exist in
the repository; notebooks/README.md lists every chapter.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
MIN_NOTEBOOKS = 8               # chapters 1-8
CELL_TIMEOUT_S = 180            # one cell; a whole notebook should take well under a minute
LAST_SECTION = "## Where this lives"

ANSI = re.compile(r"\x1b\[[0-9;]*m")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} \S.*$", re.MULTILINE)
FENCED_CODE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)   # its '#' are comments


def _require(module: str, why: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.fail(f"the notebooks need {module} ({why}); install everything with "
                    "`pip install -e '.[all]'` (make test does)", pytrace=False)


def _read(path: Path):
    _require("nbformat", "to read notebooks")
    import nbformat

    return nbformat.read(path, as_version=4)


def _ids(paths: list[Path]) -> list[str]:
    return [path.name for path in paths]


# -- the tour is there ------------------------------------------------------------------------
def test_the_tour_has_at_least_seven_notebooks():
    """An empty glob would give no notebook tests at all (pytest exit code 5, or a silent
    pass beside the other tests): the count is pinned instead."""
    assert len(NOTEBOOKS) >= MIN_NOTEBOOKS, (
        f"expected at least {MIN_NOTEBOOKS} notebooks in {NOTEBOOK_DIR}, found "
        f"{len(NOTEBOOKS)}: {_ids(NOTEBOOKS)}")


def test_notebooks_are_numbered_chapters():
    """01_..., 02_...: the file names give the reading order, one notebook per number."""
    numbers = [path.name[:2] for path in NOTEBOOKS]
    bad = [path.name for path in NOTEBOOKS if not re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb",
                                                                path.name)]
    assert not bad, f"notebook names must look like 01_dense_layer.ipynb, got {bad}"
    assert len(set(numbers)) == len(numbers), f"two notebooks share a number: {numbers}"


def test_the_index_lists_every_notebook():
    """notebooks/README.md links every notebook, and its links lead to files that exist."""
    index = (NOTEBOOK_DIR / "README.md").read_text(encoding="utf-8")
    linked = set(MARKDOWN_LINK.findall(index))
    missing = [path.name for path in NOTEBOOKS if path.name not in linked]
    assert not missing, f"notebooks/README.md does not link {missing}"
    assert not _broken_links(index, NOTEBOOK_DIR), "notebooks/README.md: broken links"


def test_tensorflow_is_installed_for_the_check_cells():
    """Every chapter checks itself against TensorFlow: without it the tour is unverified,
    which must show as a failure, not as a skip."""
    _require("tensorflow", "their check cells compare with TensorFlow")
    _require("keras", "their check cells compare with Keras")


# -- each committed notebook reads well without running it -------------------------------
def _code_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code" and cell.source.strip()]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_notebook_holds_its_outputs(path):
    """Every code cell was executed, in order from a fresh kernel (execution counts
    1, 2, 3, ...), none ended in an error, and the notebook shows some output."""
    nb = _read(path)
    cells = _code_cells(nb)
    assert cells, f"{path.name} has no code"
    counts = [cell.get("execution_count") for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"{path.name}: execution counts {counts}; run the whole notebook once from a "
        "fresh kernel and commit it with its outputs")
    errors = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
              and any(out.get("output_type") == "error" for out in cell.get("outputs", []))]
    assert not errors, f"{path.name}: committed with errors in cells {errors}"
    assert any(cell.get("outputs") for cell in cells), f"{path.name} has no outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_notebook_names_the_python3_kernel(path):
    kernelspec = _read(path).metadata.get("kernelspec", {})
    assert kernelspec.get("name") == "python3", (
        f"{path.name}: kernelspec {kernelspec!r}; the tests run the python3 kernel")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_ends_with_where_this_lives(path):
    """The last section is '## Where this lives' (markdown only after it), and it links
    into scratchnn."""
    nb = _read(path)
    prose = [FENCED_CODE.sub("", cell.source) if cell.cell_type == "markdown" else ""
             for cell in nb.cells]
    last_heading_cell = max((i for i, text in enumerate(prose) if HEADING.search(text)),
                            default=None)
    assert last_heading_cell is not None, f"{path.name} has no markdown headings"
    section = nb.cells[last_heading_cell].source
    last_heading = HEADING.findall(prose[last_heading_cell])[-1].strip()
    assert last_heading == LAST_SECTION, (
        f"{path.name}: the last section is {last_heading!r}, expected {LAST_SECTION!r}")
    after = nb.cells[last_heading_cell + 1:]
    assert all(cell.cell_type == "markdown" for cell in after), (
        f"{path.name}: code after the {LAST_SECTION!r} section")
    text = section[section.rindex(LAST_SECTION):] + "".join(cell.source for cell in after)
    assert any(link.startswith("../scratchnn/") for link in MARKDOWN_LINK.findall(text)), (
        f"{path.name}: {LAST_SECTION!r} links no file of scratchnn (../scratchnn/...)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_links_resolve_inside_the_repository(path):
    """Relative links (`../scratchnn/layers/core.py`) lead to files of this repository,
    as a clone has them: no absolute paths, nothing outside the repository."""
    nb = _read(path)
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert not _broken_links(text, NOTEBOOK_DIR), f"{path.name}: broken links"


def _broken_links(markdown: str, folder: Path) -> list[str]:
    broken = []
    for target in MARKDOWN_LINK.findall(markdown):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue                                   # https://..., mailto:, #anchor
        file = (folder / target.split("#")[0]).resolve()
        if target.startswith("/") or not file.is_relative_to(ROOT) or not file.exists():
            broken.append(target)
    if broken:
        print(f"broken or outside the repository: {broken}")
    return broken


# -- each notebook runs ------------------------------------------------------------------------
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs(path, tmp_path):
    """Execute a copy of the notebook from a fresh python3 kernel in an empty temporary
    folder; the first cell that raises fails the test with its source and traceback."""
    _require("tensorflow", "their check cells compare with TensorFlow")
    run_copy(path, tmp_path)


def test_a_failing_cell_fails_the_run_with_its_source_and_traceback(tmp_path):
    """The runner itself: a notebook whose second cell raises is reported by that cell's
    index, source, exception and traceback, and nothing after it runs."""
    import nbformat

    broken = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    broken.cells = [nbformat.v4.new_code_cell("x = 1"),
                    nbformat.v4.new_code_cell("y = x / 0  # the broken cell"),
                    nbformat.v4.new_code_cell("open('must_not_exist', 'w')")]
    path = tmp_path / "source" / "99_broken.ipynb"
    path.parent.mkdir()
    nbformat.write(broken, path)
    with pytest.raises(pytest.fail.Exception) as failure:
        run_copy(path, tmp_path / "run")
    message = str(failure.value)
    assert "99_broken.ipynb: cell 1 raised ZeroDivisionError" in message
    assert "y = x / 0  # the broken cell" in message
    assert "ZeroDivisionError" in message.split("--- traceback ---")[1]
    assert "----> 1 y = x / 0" in message
    assert not (tmp_path / "run" / "must_not_exist").exists()


def run_copy(path: Path, folder: Path) -> None:
    """Run a copy of notebook `path` in `folder` (its working directory too); pytest.fail
    with the failing cell's index, source and traceback on the first error."""
    _require("nbclient", "to execute notebooks")
    _require("ipykernel", "the python3 kernel")
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / path.name
    shutil.copyfile(path, copy)
    nb = _read(copy)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
           # scratchnn and tf_reference from this checkout, wherever the kernel runs
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                      os.environ.get("PYTHONPATH")]))}
    client = NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT_S,
                            record_timing=False, resources={"metadata": {"path": str(folder)}})
    try:
        client.execute(env=env)
    except CellTimeoutError as err:
        pytest.fail(f"{path.name}: a cell ran longer than {CELL_TIMEOUT_S} s\n{err}",
                    pytrace=False)
    except CellExecutionError as err:
        index, source, traceback = _failing_cell(nb)
        pytest.fail(f"{path.name}: cell {index} raised {err.ename}: {err.evalue}\n"
                    f"--- cell source ---\n{source}\n"
                    f"--- traceback ---\n{ANSI.sub('', traceback or err.traceback)}",
                    pytrace=False)


def _failing_cell(nb) -> tuple[int | None, str, str | None]:
    """(index, source, traceback) of the cell whose outputs hold the error."""
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "error":
                return index, cell.source, "\n".join(out.get("traceback", []))
    return None, "(not found)", None
