"""The make_circles data of the circles tutorials, without scikit-learn.

`make_circles(1000, noise=0.03, random_state=42)` reproduces
`sklearn.datasets.make_circles` bit for bit (same RandomState draws in the same
order: shuffle, then noise); the tests check this against scikit-learn.
"""

from __future__ import annotations

import numpy as np


def make_circles(n_samples: int = 100, shuffle: bool = True, noise: float | None = None,
                 random_state: int | None = None,
                 factor: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles: X (n_samples, 2) float64, y (n_samples,) int (1 = inner)."""
    if not 0 < factor < 1:
        raise ValueError(f"make_circles: factor must be in (0, 1), got {factor!r}")
    n_out = n_samples // 2
    n_in = n_samples - n_out
    generator = np.random.RandomState(random_state)
    # endpoint=False so the first and last points of a circle do not coincide
    angles_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    angles_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    x = np.vstack([np.append(np.cos(angles_out), np.cos(angles_in) * factor),
                   np.append(np.sin(angles_out), np.sin(angles_in) * factor)]).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    if shuffle:
        order = np.arange(n_samples)
        generator.shuffle(order)
        x, y = x[order], y[order]
    if noise is not None:
        x += generator.normal(scale=noise, size=x.shape)
    return x, y


def load_data(n_samples: int = 1000, noise: float = 0.03, random_state: int = 42,
              n_train: int = 800) -> tuple[tuple[np.ndarray, np.ndarray],
                                           tuple[np.ndarray, np.ndarray]]:
    """The tutorials' split: ((X[:800], y[:800]), (X[800:], y[800:]))."""
    x, y = make_circles(n_samples, noise=noise, random_state=random_state)
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
