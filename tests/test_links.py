"""What the documents point at exists, inside this repository.

The documents: README.md, docs/*.md, notebooks/*.md and the markdown cells of
notebooks/*.ipynb. Every relative link (and image) must resolve to a file or folder
inside the repository; a link to a heading of a .md file must name one of its headings
(GitHub's anchors: the heading's text in lower case, punctuation dropped, spaces as
hyphens, "-1", "-2" ... for repeats). Nothing may point outside the repository: no
absolute paths, no `..` above its root, none into the notes folder that sat beside the
repository while it was written (a clone has none of that).
http(s) links are listed, never fetched (tests use no network).

A link whose text is code, like [`Conv2D.backward_z`](../scratchnn/layers/convolution.py),
promises that those names are defined in that Python file (def, class or assignment), and
`tests/x.py::test_name` promises that test: both are checked, so the derivations and the
reading order cannot name functions or tests that were renamed or removed.

Last, what the README tells a learner to type works as written: `snn.plots` right
after `import scratchnn as snn`, with matplotlib still not imported by `import scratchnn`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

FENCE = re.compile(r"^( {0,3})(```|~~~).*?^\1\2[^\n]*$", re.S | re.M)
CODE_SPAN = re.compile(r"(`+)((?:(?!\n[ \t]*\n).)+?)\1", re.S)   # within a paragraph
INLINE_LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]"          # [text], nested [..] ok
                         r"\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")  # (target "title")
REFERENCE_DEF = re.compile(r"^ {0,3}\[(?!\^)[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)  # no [^1]:
HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)=[\"']([^\"']+)[\"']", re.I)
HTML_ANCHOR = re.compile(r"<a\b[^>]*?\b(?:id|name)=[\"']([^\"']+)[\"']", re.I)
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$", re.M)
TEST_REFERENCE = re.compile(r"((?:tests|parity_tests)/[\w/]+\.py)::(\w+)")
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
# The notes folder beside the repository where it was written, as a relative and as an
# absolute path (spelled in pieces, so that this file does not name it either).
OUTSIDE_NOTES = ("/".join(["..", "shared"]), "/".join(["", "work", "shared"]))


# -- reading the documents ----------------------------------------------------------------------
def documents() -> list[Path]:
    found = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")),
             *sorted((ROOT / "notebooks").glob("*.md")),
             *sorted((ROOT / "notebooks").glob("*.ipynb"))]
    return [path for path in found if path.is_file()]


def markdown_of(path: Path) -> str:
    """A .md file's text, or a notebook's markdown cells joined."""
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n\n".join("".join(cell["source"]) if isinstance(cell["source"], list)
                       else cell["source"] for cell in cells if cell["cell_type"] == "markdown")


def prose(markdown: str) -> str:
    """The markdown without its fenced code blocks (links there are code, not links)."""
    return FENCE.sub("", markdown)


def links(markdown: str) -> list[tuple[str, str]]:
    """(text, target) of every link and image outside code (inline, reference, HTML)."""
    text = prose(markdown)
    spans = [m.span() for m in CODE_SPAN.finditer(text)]

    def in_code(position: int) -> bool:
        return any(start <= position < end for start, end in spans)

    found = [(m.group(1), m.group(2)) for m in INLINE_LINK.finditer(text)
             if not in_code(m.start())]
    found += [("", m.group(1)) for m in REFERENCE_DEF.finditer(text) if not in_code(m.start())]
    found += [("", m.group(1)) for m in HTML_LINK.finditer(text) if not in_code(m.start())]
    return found


def github_anchor(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)     # links: their text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Every anchor a document offers: its headings' (with GitHub's -1, -2 for repeats)
    and explicit <a id=...> / <a name=...>."""
    seen: dict[str, int] = {}
    out = set(HTML_ANCHOR.findall(markdown))
    for _, heading in HEADING.findall(prose(markdown)):
        base = github_anchor(heading)
        count = seen.get(base, 0)
        out.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return out


def relative_links() -> list[tuple[Path, str, str]]:
    """(document, link text, target) for every link that is not a URL or mail address."""
    out = []
    for doc in documents():
        for text, target in links(markdown_of(doc)):
            scheme = urlparse(target).scheme
            if scheme in ("http", "https", "mailto") or target.startswith("attachment:"):
                continue
            out.append((doc, text, target))
    return out


def _id(item) -> str:
    doc, _, target = item
    return f"{doc.relative_to(ROOT)}->{target}"


def _inside_repository(path: Path) -> bool:
    try:
        path.resolve().relative_to(ROOT)
    except ValueError:
        return False
    return True


# -- links ------------------------------------------------------------------------------------
def test_the_documents_are_found():
    names = [str(path.relative_to(ROOT)) for path in documents()]
    assert "README.md" in names and "docs/README.md" in names and "docs/backprop.md" in names


@pytest.mark.parametrize("item", relative_links(), ids=_id)
def test_every_relative_link_resolves_inside_the_repository(item):
    doc, _, target = item
    where = f"{doc.relative_to(ROOT)}: link {target!r}"
    path_part, _, anchor = target.partition("#")
    path_part = unquote(path_part)
    assert not any(notes in path_part for notes in OUTSIDE_NOTES), (
        f"{where}: that folder is not in a clone")
    assert not path_part.startswith(("/", "~", "file:")) and urlparse(target).scheme == "", (
        f"{where} is absolute or a URL scheme other than http(s): point inside the repository")
    resolved = (doc.parent / path_part) if path_part else doc
    assert _inside_repository(resolved), f"{where} leaves the repository"
    assert resolved.exists(), f"{where}: {resolved.relative_to(ROOT)} does not exist"
    if anchor and resolved.suffix == ".md":
        offered = anchors(markdown_of(resolved))
        assert unquote(anchor) in offered, (
            f"{where}: no heading of {resolved.relative_to(ROOT)} has the anchor #{anchor}; "
            f"it has {sorted(offered)}")


def test_no_document_points_at_files_outside_the_repository():
    """The notes beside the repository exist on the machine the project was written on,
    not in a clone: no document may name them, linked or not."""
    for doc in documents():
        text = markdown_of(doc)
        for outside in OUTSIDE_NOTES:
            assert outside not in text, f"{doc.relative_to(ROOT)} mentions {outside}"


def test_http_links_are_listed_not_fetched(capsys):
    urls = sorted({(str(doc.relative_to(ROOT)), target) for doc in documents()
                   for _, target in links(markdown_of(doc))
                   if urlparse(target).scheme in ("http", "https")})
    for doc, url in urls:
        parsed = urlparse(url)
        assert parsed.netloc and " " not in url, f"{doc}: malformed URL {url!r}"
        print(f"{doc}: {url} (not fetched)")


# -- names the links promise ------------------------------------------------------------------
def code_links() -> list[tuple[Path, str, Path]]:
    """(document, code in the link text, target .py file) for links like
    [`Conv2D.backward_z`](../scratchnn/layers/convolution.py)."""
    out = []
    for doc, text, target in relative_links():
        path_part = unquote(target.partition("#")[0])
        match = re.fullmatch(r"`([^`]+)`", text.strip())
        if match and path_part.endswith(".py") and not match.group(1).endswith(".py"):
            out.append((doc, match.group(1), (doc.parent / path_part).resolve()))
    return out


def _defines(source: str, name: str) -> bool:
    return re.search(rf"^\s*(?:async\s+)?(?:def|class)\s+{name}\b|^\s*{name}\s*[:=]",
                     source, re.M) is not None


@pytest.mark.parametrize("item", code_links(),
                         ids=lambda item: f"{item[0].relative_to(ROOT)}:{item[1]}")
def test_every_name_a_code_link_shows_is_defined_in_its_file(item):
    doc, code, target = item
    assert target.is_file(), f"{doc.relative_to(ROOT)}: {target} does not exist"
    source = target.read_text(encoding="utf-8")
    for name in IDENTIFIER.findall(code):
        assert _defines(source, name), (
            f"{doc.relative_to(ROOT)}: [`{code}`] links to {target.relative_to(ROOT)}, "
            f"which defines no {name!r}")


def test_every_test_the_documents_name_exists():
    named = {(doc, m.group(1), m.group(2)) for doc in documents()
             for m in TEST_REFERENCE.finditer(markdown_of(doc))}
    for doc, file, test in sorted(named):
        path = ROOT / file
        assert path.is_file(), f"{doc.relative_to(ROOT)} names {file}, which does not exist"
        assert re.search(rf"^\s*def {test}\(", path.read_text(encoding="utf-8"), re.M), (
            f"{doc.relative_to(ROOT)} names {file}::{test}, which does not exist")


def test_the_checker_catches_broken_links_and_anchors(tmp_path):
    """The parsing above, on a document made to fail: a missing file, a missing heading,
    a link out of the repository; and a link inside code is no link."""
    outside = OUTSIDE_NOTES[0] + "/X.md"
    text = ("# Real heading\n[a](missing.md) [b](#real-heading) [c](#no-such) "
            f"[d]({outside}) `[e](in_code.md)`\n```\n[f](fenced.md)\n```\n")
    assert links(text) == [("a", "missing.md"), ("b", "#real-heading"), ("c", "#no-such"),
                           ("d", outside)]
    assert anchors(text) == {"real-heading"}
    assert github_anchor("Dense: y = x W + b") == "dense-y--x-w--b"
    assert github_anchor("`snn.plots` and [the tour](x.md)") == "snnplots-and-the-tour"
    assert anchors("# A\n## A\n") == {"a", "a-1"}
    assert links("a ` stray backtick\n\n[g](kept.md) `b`") == [("g", "kept.md")]


# -- what the README tells a learner to type ---------------------------------------------------
def test_snn_plots_works_right_after_import_scratchnn_as_snn():
    import matplotlib

    matplotlib.use("Agg")
    import scratchnn as snn

    figure = snn.plots.history_curves({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]})
    assert type(figure).__name__ == "Figure"
    assert np.allclose(figure.axes[0].lines[0].get_ydata(), [1.0, 0.5])


def test_import_scratchnn_does_not_import_matplotlib_or_the_plots_package():
    """snn.plots is imported on first access (scratchnn.__getattr__), not by the import."""
    code = ("import sys, scratchnn as snn; "
            "assert 'scratchnn.plots' not in sys.modules and 'matplotlib' not in sys.modules; "
            "snn.plots.history_curves; "
            "assert 'matplotlib' not in sys.modules, 'scratchnn.plots imported matplotlib'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
