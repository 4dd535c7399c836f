"""Fashion-MNIST: the same uint8 arrays `keras.datasets.fashion_mnist.load_data()` returns.

Where the four files are looked for, in order:
  1. `path=` given to load_data (a folder holding the four .gz files),
  2. `$SCRATCHNN_DATA` (a folder holding them, or its `fashion-mnist/` subfolder),
  3. the Keras cache: `$KERAS_HOME` or `~/.keras`, then `datasets/fashion-mnist/`,
  4. `/usr/share/datasets/fashion-mnist/` (Debian's `dataset-fashion-mnist` package).
If none has all four, they are downloaded from Keras's mirror into the Keras cache,
so Keras itself finds them there afterwards.

Every file is verified by the SHA-256 of its DECOMPRESSED content: the gzip wrapper
differs between copies (Debian's are recompressed), the IDX bytes do not.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"
FILES = {   # name -> SHA-256 of the uncompressed IDX file
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
}
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def keras_cache_dir() -> Path:
    """`<KERAS_HOME or ~/.keras>/datasets/fashion-mnist`, where Keras keeps the files."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets" / "fashion-mnist"


def candidate_dirs(path: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched, in order."""
    dirs = []
    if path is not None:
        dirs.append(Path(path))
    if os.environ.get("SCRATCHNN_DATA"):
        base = Path(os.environ["SCRATCHNN_DATA"])
        dirs += [base, base / "fashion-mnist"]
    return dirs + [keras_cache_dir(), Path(SYSTEM_DIR)]


def locate(path: str | os.PathLike | None = None) -> Path | None:
    """The first candidate folder holding all four files, or None."""
    for folder in candidate_dirs(path):
        if all((folder / name).is_file() for name in FILES):
            return folder
    return None


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse an IDX file: magic (0, 0, dtype code, ndim), ndim big-endian uint32 sizes, data."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{source} is not an IDX file (bad magic number {data[:4]!r}: an IDX "
                         "file starts with two zero bytes, a type code and the number of "
                         "dimensions)")
    dtype_code, ndim = data[2], data[3]
    if dtype_code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(f"{source}: unknown IDX type code 0x{dtype_code:02x} or ndim {ndim}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{source}: IDX header truncated")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[dtype_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(f"{source}: IDX header announces shape {shape} ({expected} bytes of "
                         f"data) but the file holds {len(data) - header} bytes")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx_gz(file: str | os.PathLike, sha256: str | None = None) -> np.ndarray:
    """Read a gzipped IDX file, checking the SHA-256 of its content when given.

    A damaged file (truncated or corrupt gzip, not an IDX file, other content than
    expected) raises ValueError naming the file and the problem; a missing one,
    FileNotFoundError."""
    import gzip                                  # here, not at import time (import speed)
    import hashlib
    import zlib

    try:
        with gzip.open(file, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise
    except EOFError:
        raise ValueError(f"{file} is truncated: its gzip stream ends before the end "
                         "(an interrupted download or copy?)") from None
    except (OSError, zlib.error) as err:      # gzip.BadGzipFile is an OSError
        raise ValueError(f"{file} is not a readable gzip file ({err})") from None
    array = parse_idx(data, str(file))        # structural damage first: the clearer message
    if sha256 is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != sha256:
            raise ValueError(f"{file}: content SHA-256 {digest} does not match the expected "
                             f"{sha256} (the file is damaged, or is not this data set's file)")
    return array


def _advice(folder: Path) -> str:
    """What to do about a damaged file found in `folder`."""
    if folder == keras_cache_dir():
        return ("Delete it and load again: load_data() downloads a fresh copy into the Keras "
                "cache")
    if folder == Path(SYSTEM_DIR):
        return ("Reinstall the Debian package: apt-get install --reinstall "
                "dataset-fashion-mnist")
    return "Replace it with an intact copy, or delete it so that load_data() looks elsewhere"


def download(dest: str | os.PathLike | None = None, base_url: str = BASE_URL) -> Path:
    """Fetch the missing files of the four into `dest` (default: the Keras cache).

    Each file goes to a hidden temporary file beside its destination and takes its name
    only once verified (gzip intact, IDX header sound, SHA-256 of the content as
    expected). A failed, damaged or interrupted (Ctrl-C) download leaves nothing behind:
    no partial file ever sits in the cache under a real name."""
    import shutil                                # here, not at import time (import speed)
    import tempfile
    import urllib.request

    dest = Path(dest) if dest is not None else keras_cache_dir()
    dest.mkdir(parents=True, exist_ok=True)
    for name, sha256 in FILES.items():
        target = dest / name
        if target.is_file():
            continue
        url = base_url + name
        fd, tmp = tempfile.mkstemp(dir=dest, prefix=f".{name}.", suffix=".part")
        try:
            try:
                with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url) as response:
                    shutil.copyfileobj(response, out)
            except OSError as err:                 # urllib's URLError is an OSError
                reason = getattr(err, "reason", err)
                raise OSError(f"Could not download {url} ({reason}); nothing was saved in "
                              f"{dest}. Check the connection, or copy the four Fashion-MNIST "
                              "files there by hand") from None
            try:
                read_idx_gz(tmp, sha256)
            except ValueError as err:
                problem = str(err).replace(f"{tmp}: ", "").replace(tmp, "the file")
                raise ValueError(f"Downloaded {url} is damaged: {problem}. Nothing was saved "
                                 f"in {dest}; try again later, or copy an intact {name} "
                                 "there by hand") from None
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    return dest


def load_data(path: str | os.PathLike | None = None, download_if_missing: bool = True):
    """((x_train, y_train), (x_test, y_test)): uint8 (60000, 28, 28), (60000,), (10000, 28, 28),
    (10000,), exactly as Keras returns them."""
    folder = locate(path)
    if folder is None:
        if not download_if_missing:
            raise FileNotFoundError(
                "Fashion-MNIST not found in " + ", ".join(str(d) for d in candidate_dirs(path))
                + "; install the Debian package dataset-fashion-mnist, set SCRATCHNN_DATA, "
                  "or allow the download")
        folder = download()
    arrays = {}
    for name, sha256 in FILES.items():
        try:
            arrays[name] = read_idx_gz(folder / name, sha256)
        except ValueError as err:
            raise ValueError(f"Fashion-MNIST: {err}. {_advice(folder)}.") from None
    x_train, y_train = arrays["train-images-idx3-ubyte.gz"], arrays["train-labels-idx1-ubyte.gz"]
    x_test, y_test = arrays["t10k-images-idx3-ubyte.gz"], arrays["t10k-labels-idx1-ubyte.gz"]
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError(f"Fashion-MNIST in {folder}: image and label counts differ")
    return (x_train, y_train), (x_test, y_test)
