"""Small shared helpers for the parity tests."""

from __future__ import annotations

import numpy as np

from .tolerances import FORWARD_F32, FORWARD_F64, GRAD_F32, GRAD_F64


def forward_tol(precision: str) -> dict:
    return FORWARD_F32 if precision == "float32" else FORWARD_F64


def assert_grads_close(ours: list, theirs: list, names: list[str], precision: str = "float32"):
    """Each gradient within rtol, and atol scaled by that gradient's largest entry."""
    tol = GRAD_F32 if precision == "float32" else GRAD_F64
    for name, a, b in zip(names, ours, theirs):
        b = np.asarray(b)
        assert a.shape == b.shape, name
        scale = max(float(np.abs(b).max()), 1e-30)
        np.testing.assert_allclose(a, b, rtol=tol["rtol"], atol=tol["atol"] * scale,
                                   err_msg=f"gradient of {name}")


def weight_names(model) -> list[str]:
    return [f"{layer.name}/{name}" for layer in model.layers for name in layer.params]


def assert_curves_close(ours: dict, theirs: dict, tol: float, keys=None, epochs=None,
                        relative: bool = False, counts: dict[str, int] | None = None):
    """Every History key (or `keys`), every epoch (or the first `epochs`), within `tol`
    absolute, or relative to max(1, |value|) when `relative`.

    counts: {accuracy key: number of samples}. An accuracy is a count: one sample
    sitting on a decision boundary within float32 rounding flips it in one engine
    only. Such a key may differ by ONE sample (1/N) per epoch, never more."""
    counts = counts or {}
    keys = keys or sorted(ours)
    assert sorted(ours) == sorted(theirs), (sorted(ours), sorted(theirs))
    assert set(keys) <= set(theirs), (sorted(ours), sorted(theirs))
    for key in keys:
        a, b = np.asarray(ours[key]), np.asarray(theirs[key])
        assert a.shape == b.shape, (key, a.shape, b.shape)
        a, b = a[:epochs], b[:epochs]
        scale = np.maximum(1.0, np.abs(b)) if relative else 1.0
        worst = float((np.abs(a - b) / scale).max())
        allowed = max(tol, 1.0 / counts[key] + 1e-6) if key in counts else tol
        assert worst <= allowed, f"History['{key}'] differs by {worst:.3g} > {allowed:g}: {a} vs {b}"
