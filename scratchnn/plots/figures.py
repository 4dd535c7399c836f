"""The matplotlib side of every figure: pyplot, imported on first use, and saving.

scratchnn's engine never imports matplotlib; these two functions are the only way the
plotting modules reach it, and they are public so that you can compose figures of your
own from the same pieces (`fig, axes = pyplot().subplots(1, 2)`, draw with the
`ax=` argument of the plotting functions, then `save_figure(fig, "both.png")`).
"""

from __future__ import annotations

import os
import tempfile


def pyplot():
    """`matplotlib.pyplot`, imported now (not when scratchnn is imported).

    matplotlib picks its backend itself: a window where there is a display, files
    only (Agg) on a headless machine, inline figures in a notebook."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover (matplotlib is an optional extra)
        raise ImportError("scratchnn's figures need matplotlib: pip install matplotlib "
                          "(or pip install -e '.[plots]')") from err
    return plt


def save_figure(fig, path: str | os.PathLike | None = None, dpi: int = 100):
    """Write `fig` to `path` when one is given, then close it in pyplot; return it.

    The format follows the suffix (.png, .pdf, .svg, ...; PNG when there is none).
    The image goes to a temporary file in the same folder and is renamed into place,
    so an interrupted save never leaves a half-written file. Closing the figure only
    releases pyplot's reference (scripts drawing many figures do not pile them up):
    the returned Figure can still be saved again, or displayed in a notebook.
    Returns `fig`."""
    if path is None:
        return fig
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format=suffix, dpi=dpi)
        os.chmod(tmp, 0o666 & ~_umask())        # mkstemp made it private (0600)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    pyplot().close(fig)
    return fig


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def new_figure(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (8, 5),
               **kwargs):
    """`(fig, axes)` from pyplot.subplots with constrained layout (labels never overlap);
    `axes` is always a 2-D array, so `axes[0, 0]` works whatever the grid."""
    fig, axes = pyplot().subplots(nrows, ncols, figsize=figsize, squeeze=False,
                                  layout="constrained", **kwargs)
    return fig, axes
