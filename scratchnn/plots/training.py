"""Figures of training: History curves (several runs overlaid) and the LR finder."""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import numpy as np

from .figures import new_figure, save_figure

RUN_MARKERS = ("o", "x", "^", "s", "D", "v")


def _as_runs(history) -> dict[str, dict[str, list[float]]]:
    """{run label: {key: values per epoch}} from one History (or its dict) or from a
    mapping of labelled runs, e.g. {"scratchnn": history, "keras": keras_history}."""
    if hasattr(history, "history"):
        history = history.history
    if not isinstance(history, Mapping) or not history:
        raise ValueError("history_curves expects a History, its .history dict, or a dict of "
                         f"labelled runs {{label: History}}; got {history!r}")
    values = list(history.values())
    if all(hasattr(v, "history") or isinstance(v, Mapping) for v in values):
        return {str(label): dict(getattr(run, "history", run)) for label, run in history.items()}
    if any(hasattr(v, "history") or isinstance(v, Mapping) for v in values):
        raise ValueError("history_curves: mix of runs and metric lists in one dict; pass "
                         "either one History or {label: History, ...}")
    return {"": dict(history)}


def _metric_names(runs: dict, keys: Sequence[str] | None) -> list[str]:
    """Panel names: 'loss' first, then the other metrics, each panel holding its val_ twin."""
    names: list[str] = []
    for run in runs.values():
        for key in run:
            if keys is not None and key not in keys:
                continue
            name = key.removeprefix("val_")
            if name != "learning_rate" and name not in names:
                names.append(name)
    if not names:
        available = sorted({key for run in runs.values() for key in run})
        raise ValueError(f"history_curves: none of keys={keys!r} in the history; "
                         f"available: {available}")
    return sorted(names, key=lambda n: n != "loss")


def history_curves(history, title: str | None = None, keys: Sequence[str] | None = None,
                   single_panel: bool = False, ylim: tuple[float, float] | None = None,
                   figsize: tuple[float, float] | None = None, fontsize: float | None = None,
                   path: str | os.PathLike | None = None):
    """Training curves per epoch: one panel per metric, training solid, validation dashed.

    history: a History, its `.history` dict, or several labelled runs to overlay,
        e.g. `{"scratchnn": ours, "keras": theirs}` (one colour and marker per run).
    keys: the History keys to draw (default: all but learning_rate), e.g.
        `["accuracy", "val_accuracy"]`.
    single_panel: every key on one axes, like `pd.DataFrame(history.history).plot()`.
    ylim, figsize, fontsize: as T3's plot_history (`ylim=(0, 1)`, (10, 8), 16).
    Returns the Figure; `path=` saves it."""
    runs = _as_runs(history)
    names = _metric_names(runs, keys)
    panels = ["all"] if single_panel else names
    fig, axes = new_figure(1, len(panels), figsize=figsize or (5.2 * len(panels), 4.2))
    several = len(runs) > 1
    for ax, panel in zip(axes[0], panels):
        for index, (label, run) in enumerate(runs.items()):
            color = f"C{index}" if several else None
            for key, values in run.items():
                name = key.removeprefix("val_")
                if name == "learning_rate" or (keys is not None and key not in keys):
                    continue
                if panel != "all" and name != panel:
                    continue
                epochs = np.arange(1, len(values) + 1)
                style = "--" if key.startswith("val_") else "-"
                ax.plot(epochs, values, style, color=color,
                        marker=RUN_MARKERS[index % len(RUN_MARKERS)] if several or len(values) < 3
                        else None, markevery=max(1, len(values) // 25), markersize=5,
                        fillstyle="none" if index else "full",
                        label=f"{label} {key}".strip())
        ax.set_xlabel("epoch", fontsize=fontsize)
        # One panel takes the figure's title; several keep their metric names under it.
        ax.set_title((title or ("History" if panel == "all" else panel)) if len(panels) == 1
                     else panel, fontsize=fontsize)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.tick_params(labelsize=fontsize)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=fontsize)
    if title and len(panels) > 1:
        fig.suptitle(title, fontsize=fontsize)
    return save_figure(fig, path)


def lr_finder(learning_rates, losses=None, suggested: float | str | None = "auto",
              title: str = "Learning rate vs. loss", path: str | os.PathLike | None = None):
    """Loss against learning rate on a log axis, with the suggested rate marked.

    learning_rates, losses: one value per epoch of a LearningRateScheduler run, or
        `lr_finder(history)` for a History that logged "learning_rate". `losses` may
        be a dict of labelled runs over the same rates ({"scratchnn": ..., "keras": ...}).
    suggested: "auto" marks the tutorials' rule of thumb, 10x below the rate of the
        lowest loss (of the first run); a number marks that rate; None marks nothing.
    Returns the Figure; `path=` saves it."""
    if hasattr(learning_rates, "history"):
        learning_rates, losses = (learning_rates.history["learning_rate"],
                                  learning_rates.history["loss"])
    if losses is None:
        raise ValueError("lr_finder expects learning_rates and losses (or one History)")
    runs = dict(losses) if isinstance(losses, Mapping) else {"loss": losses}
    lrs = np.asarray(learning_rates, dtype=float)
    fig, axes = new_figure(1, 1, figsize=(8, 5))
    ax = axes[0, 0]
    for index, (label, values) in enumerate(runs.items()):
        values = np.asarray(values, dtype=float)
        if values.shape != lrs.shape:
            raise ValueError(f"lr_finder: {len(lrs)} learning rates but {len(values)} losses "
                             f"for {label!r}")
        ax.semilogx(lrs, values, "-" if index == 0 else "--", label=label,
                    marker=RUN_MARKERS[index] if len(runs) > 1 else None,
                    markevery=max(1, len(lrs) // 20), fillstyle="none" if index else "full")
    first = np.asarray(next(iter(runs.values())), dtype=float)
    best = int(np.nanargmin(first))
    ax.plot(lrs[best], first[best], "o", color="black", markersize=8,
            label=f"lowest loss {first[best]:.3g} at lr {lrs[best]:.3g}")
    if suggested == "auto":
        suggested = lrs[best] / 10
    if suggested is not None:
        ax.axvline(float(suggested), color="green", linestyle=":", linewidth=2,
                   label=f"suggested lr {float(suggested):.3g}")
    ax.set_xlabel("Learning rate")
    ax.set_ylabel("Loss")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return save_figure(fig, path)
