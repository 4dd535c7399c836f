"""Parity tests: scratchnn against TensorFlow/Keras.

They FAIL when TensorFlow is missing. To skip them on purpose (e.g. on a machine
without TensorFlow), set SCRATCHNN_SKIP_PARITY=1.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

if os.environ.get("SCRATCHNN_SKIP_PARITY") == "1":
    collect_ignore_glob = ["test_*.py"]

    def pytest_report_header(config):
        return "parity_tests SKIPPED on request (SCRATCHNN_SKIP_PARITY=1): nothing was compared"
else:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import keras
        import tensorflow  # noqa: F401
    except ImportError as err:                    # fail loudly: parity is half the product
        raise ImportError("parity_tests need TensorFlow 2.21 and Keras 3.15 "
                          "(pip install -e '.[tf]'); set SCRATCHNN_SKIP_PARITY=1 to skip them "
                          "explicitly") from err

    import scratchnn as snn

    @pytest.fixture(autouse=True)
    def _fresh_state():
        """float32 in both engines, fresh names, fixed seeds."""
        for set_floatx in (snn.config.set_floatx, keras.config.set_floatx):
            set_floatx("float32")
        snn.utils.clear_session()
        keras.backend.clear_session()
        snn.utils.set_random_seed(0)
        keras.utils.set_random_seed(0)
        yield
        for set_floatx in (snn.config.set_floatx, keras.config.set_floatx):
            set_floatx("float32")

    @pytest.fixture(params=["float32", "float64"])
    def precision(request):
        """Run the test once per float type, set in BOTH engines."""
        snn.config.set_floatx(request.param)
        keras.config.set_floatx(request.param)
        return request.param

    @pytest.fixture
    def float64():
        snn.config.set_floatx("float64")
        keras.config.set_floatx("float64")

    @pytest.fixture(scope="session")
    def fashion():
        if snn.datasets.fashion_mnist.locate() is None:
            pytest.fail("Fashion-MNIST files not found (install dataset-fashion-mnist); "
                        "tests never download")
        (x, y), (xt, yt) = snn.datasets.fashion_mnist.load_data(download_if_missing=False)
        return (x / np.float32(255), y), (xt / np.float32(255), yt)
