"""Shared fixtures for the engine tests (no TensorFlow needed here, except in the notebook
kernels that tests/test_notebooks.py starts: the tour's check cells compare with TensorFlow)."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnn as snn


@pytest.fixture(autouse=True)
def _fresh_state():
    """Every test starts in float32 with fresh names and a fixed seed."""
    snn.config.set_floatx("float32")
    snn.utils.clear_session()
    snn.utils.set_random_seed(1234)
    yield
    snn.config.set_floatx("float32")


@pytest.fixture
def float64():
    """Run the test in float64, the precision finite differences need."""
    snn.config.set_floatx("float64")
    yield
    snn.config.set_floatx("float32")


@pytest.fixture(scope="session")
def fashion():
    """Fashion-MNIST from local files only; a missing data set FAILS the test."""
    folder = snn.datasets.fashion_mnist.locate()
    if folder is None:
        pytest.fail("Fashion-MNIST files not found (install the Debian package "
                    "dataset-fashion-mnist or set SCRATCHNN_DATA); tests never download")
    return snn.datasets.fashion_mnist.load_data(download_if_missing=False)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)
