"""Data: the IDX reader, the file locator's order, the verified download (from a
local file:// mirror: tests never touch the network), and make_circles."""

import gzip
import hashlib
import shutil

import numpy as np
import pytest

from scratchnn.datasets import circles, fashion_mnist as fm


def _idx(array: np.ndarray, code: int = 0x08) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def test_parse_idx_reads_magic_and_dimensions():
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(fm.parse_idx(_idx(a)), a)


@pytest.mark.parametrize("data, match", [
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x07", "bad magic number"),
    (b"\x00\x00\x42\x01\x00\x00\x00\x01\x07", "unknown IDX type"),
    (b"\x00\x00\x08\x02\x00\x00\x00\x02\x00\x00\x00\x02\x07", r"announces shape \(2, 2\)"),
])
def test_parse_idx_rejects_bad_files_clearly(data, match):
    with pytest.raises(ValueError, match=match):
        fm.parse_idx(data, "x.idx")


def test_read_idx_gz_checks_the_content_hash(tmp_path):
    raw = _idx(np.arange(5, dtype=np.uint8))
    path = tmp_path / "a.gz"
    path.write_bytes(gzip.compress(raw))
    assert fm.read_idx_gz(path, hashlib.sha256(raw).hexdigest()).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="does not match the expected"):
        fm.read_idx_gz(path, "0" * 64)
    (tmp_path / "b.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="not a readable gzip file"):
        fm.read_idx_gz(tmp_path / "b.gz")


def _fake_set(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name in fm.FILES:
        (folder / name).write_bytes(b"")


def test_locator_order_explicit_path_env_keras_cache_system(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(fm, "SYSTEM_DIR", str(tmp_path / "system"))
    monkeypatch.delenv("SCRATCHNN_DATA", raising=False)
    assert fm.locate() is None
    _fake_set(tmp_path / "system")
    assert fm.locate() == tmp_path / "system"
    _fake_set(tmp_path / "keras" / "datasets" / "fashion-mnist")
    assert fm.locate() == tmp_path / "keras" / "datasets" / "fashion-mnist"
    _fake_set(tmp_path / "env" / "fashion-mnist")
    monkeypatch.setenv("SCRATCHNN_DATA", str(tmp_path / "env"))
    assert fm.locate() == tmp_path / "env" / "fashion-mnist"
    _fake_set(tmp_path / "explicit")
    assert fm.locate(tmp_path / "explicit") == tmp_path / "explicit"


def test_download_fills_the_keras_cache_from_a_mirror_and_verifies(tmp_path, monkeypatch, fashion):
    source = fm.locate()
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in fm.FILES:
        shutil.copy(source / name, mirror / name)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    dest = fm.download(base_url=mirror.as_uri() + "/")
    assert dest == tmp_path / "keras" / "datasets" / "fashion-mnist"
    assert sorted(p.name for p in dest.iterdir()) == sorted(fm.FILES)


def test_download_refuses_a_corrupt_file_and_leaves_nothing_behind(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in fm.FILES:
        (mirror / name).write_bytes(gzip.compress(_idx(np.zeros(3, np.uint8))))
    dest = tmp_path / "dest"
    with pytest.raises(ValueError, match="does not match"):
        fm.download(dest, base_url=mirror.as_uri() + "/")
    assert list(dest.iterdir()) == []


def test_load_data_returns_what_keras_returns(fashion):
    (x_train, y_train), (x_test, y_test) = fashion
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert x_train[0].min() == 0 and x_train[0].max() == 255


def test_load_data_without_files_or_download_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "k"))
    monkeypatch.setattr(fm, "SYSTEM_DIR", str(tmp_path / "none"))
    monkeypatch.delenv("SCRATCHNN_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        fm.load_data(download_if_missing=False)


def test_make_circles_equals_scikit_learn_bit_for_bit():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    x_ref, y_ref = sklearn_datasets.make_circles(1000, noise=0.03, random_state=42)
    x, y = circles.make_circles(1000, noise=0.03, random_state=42)
    np.testing.assert_array_equal(x, x_ref)
    np.testing.assert_array_equal(y, y_ref)


def test_circles_load_data_is_the_800_200_split():
    (x_train, y_train), (x_test, y_test) = circles.load_data()
    x, y = circles.make_circles(1000, noise=0.03, random_state=42)
    assert x_train.shape == (800, 2) and x_test.shape == (200, 2)
    np.testing.assert_array_equal(x_test, x[800:])
    np.testing.assert_array_equal(y_train, y[:800])
