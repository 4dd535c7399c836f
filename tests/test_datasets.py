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


# -- damaged files: clear errors naming the file, nothing partial left in the cache -----
def _small_set(monkeypatch) -> dict[str, bytes]:
    """Four small valid gzipped IDX files, registered as the expected ones (their
    content hashes replace the real Fashion-MNIST hashes for the test)."""
    rng = np.random.default_rng(0)
    raw = {name: _idx(rng.integers(0, 255, size=(3, 4, 4) if "images" in name else (3,),
                                   dtype=np.uint8)) for name in fm.FILES}
    monkeypatch.setattr(fm, "FILES", {name: hashlib.sha256(r).hexdigest()
                                      for name, r in raw.items()})
    return {name: gzip.compress(r) for name, r in raw.items()}


def _damage(kind: str, gz: bytes) -> bytes:
    if kind == "truncated gzip":
        return gz[:len(gz) // 2]
    if kind == "corrupt gzip":                     # a flipped byte in the deflate stream
        return gz[:12] + bytes([gz[12] ^ 0xFF]) + gz[13:]
    if kind == "wrong magic number":
        return gzip.compress(b"\x01\x02" + gzip.decompress(gz)[2:])
    if kind == "wrong checksum":                   # a sound IDX file, other content
        return gzip.compress(_idx(np.arange(3, dtype=np.uint8)))
    raise AssertionError(kind)


DAMAGES = {"truncated gzip": "is truncated", "corrupt gzip": "not a readable gzip file",
           "wrong magic number": "bad magic number", "wrong checksum": "does not match"}


@pytest.mark.parametrize("kind", DAMAGES)
def test_read_idx_gz_names_the_file_and_the_damage(tmp_path, monkeypatch, kind):
    files = _small_set(monkeypatch)
    name = "train-labels-idx1-ubyte.gz"
    path = tmp_path / name
    path.write_bytes(_damage(kind, files[name]))
    with pytest.raises(ValueError, match=DAMAGES[kind]) as err:
        fm.read_idx_gz(path, fm.FILES[name])
    assert str(path) in str(err.value)


@pytest.mark.parametrize("kind", DAMAGES)
def test_download_of_a_damaged_file_names_it_and_leaves_nothing_in_the_cache(
        tmp_path, monkeypatch, kind):
    files = _small_set(monkeypatch)
    mirror, dest = tmp_path / "mirror", tmp_path / "dest"
    mirror.mkdir()
    for name, gz in files.items():
        (mirror / name).write_bytes(gz)
    bad = "t10k-labels-idx1-ubyte.gz"               # the third file of the four
    (mirror / bad).write_bytes(_damage(kind, files[bad]))
    with pytest.raises(ValueError, match=DAMAGES[kind]) as err:
        fm.download(dest, base_url=mirror.as_uri() + "/")
    assert f"Downloaded {mirror.as_uri()}/{bad} is damaged" in str(err.value)
    # The two files verified before it are complete; no partial or temporary file remains.
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz"])


def test_download_of_a_missing_file_says_what_failed_and_leaves_nothing(tmp_path, monkeypatch):
    files = _small_set(monkeypatch)
    mirror, dest = tmp_path / "mirror", tmp_path / "dest"
    mirror.mkdir()
    (mirror / "train-labels-idx1-ubyte.gz").write_bytes(files["train-labels-idx1-ubyte.gz"])
    with pytest.raises(OSError, match="Could not download .*train-images-idx3-ubyte.gz"):
        fm.download(dest, base_url=mirror.as_uri() + "/")
    assert [p.name for p in dest.iterdir()] == ["train-labels-idx1-ubyte.gz"]


def test_an_interrupted_download_leaves_no_partial_file(tmp_path, monkeypatch):
    files = _small_set(monkeypatch)
    mirror, dest = tmp_path / "mirror", tmp_path / "dest"
    mirror.mkdir()
    for name, gz in files.items():
        (mirror / name).write_bytes(gz)

    def copy_then_ctrl_c(src, dst):
        dst.write(src.read(10))
        raise KeyboardInterrupt

    monkeypatch.setattr(shutil, "copyfileobj", copy_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        fm.download(dest, base_url=mirror.as_uri() + "/")
    assert list(dest.iterdir()) == []


def test_a_good_download_verifies_and_places_all_four(tmp_path, monkeypatch):
    files = _small_set(monkeypatch)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name, gz in files.items():
        (mirror / name).write_bytes(gz)
    dest = fm.download(tmp_path / "dest", base_url=mirror.as_uri() + "/")
    assert sorted(p.name for p in dest.iterdir()) == sorted(fm.FILES)
    (x, y), (xt, yt) = fm.load_data(dest, download_if_missing=False)
    assert x.shape == (3, 4, 4) and y.shape == (3,)


@pytest.mark.parametrize("where, advice", [
    ("explicit", "Replace it with an intact copy"),
    ("keras", "Delete it and load again"),
    ("system", "apt-get install --reinstall dataset-fashion-mnist"),
])
def test_load_data_with_a_damaged_local_copy_names_it_and_says_what_to_do(
        tmp_path, monkeypatch, where, advice):
    files = _small_set(monkeypatch)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(fm, "SYSTEM_DIR", str(tmp_path / "system"))
    monkeypatch.delenv("SCRATCHNN_DATA", raising=False)
    folder = {"explicit": tmp_path / "explicit", "keras": fm.keras_cache_dir(),
              "system": tmp_path / "system"}[where]
    folder.mkdir(parents=True)
    for name, gz in files.items():
        (folder / name).write_bytes(gz)
    bad = folder / "train-images-idx3-ubyte.gz"
    bad.write_bytes(_damage("truncated gzip", files[bad.name]))
    with pytest.raises(ValueError, match=advice) as err:
        fm.load_data(folder if where == "explicit" else None)
    assert str(bad) in str(err.value) and "is truncated" in str(err.value)
