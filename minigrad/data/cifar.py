"""CIFAR-10 in either official format: the python-pickle archive or the binary archive.

Binary format: records of 3073 bytes — 1 label byte (0-9), then the 1024 red, 1024 green
and 1024 blue bytes of a 32x32 image, row-major. Pickle format: per batch a dict with
b"data" (10000, 3072) uint8 in the same channel-plane order, and b"labels".

Looked for, in ``<root>/cifar10/`` then ``<root>/cifar10-subset/`` (or ``folder=``):
the archives cifar-10-python.tar.gz or cifar-10-binary.tar.gz (checksums verified), or their
extracted folders cifar-10-batches-py/ or cifar-10-batches-bin/, or loose binary batch files
(data_batch_N.bin, test_batch.bin, each optionally gzip-compressed as in the subset shipped
with this project). If none is there, the python archive is downloaded to ``<root>/cifar10/``.
Every batch must hold the official 10,000 images, except in a folder named *-subset. Python
batches are read by an unpickler that can build NumPy arrays and nothing else, so a loose
batch file (not covered by the archive's checksum) cannot run code.
"""
import io
import pickle
import tarfile

import numpy as np

from .files import DatasetError, data_root, ensure_file, read_maybe_gzip, verify

URL = "https://www.cs.toronto.edu/~kriz/"
PYTHON_ARCHIVE = ("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")
BINARY_ARCHIVE = ("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530")
RECORD = 1 + 3 * 32 * 32
NAME = "CIFAR10"
MAX_BATCH_BYTES = 10_000 * 3073 + 1_000_000  # a batch holds 10,000 records; its pickled form a little more
IMAGES_PER_BATCH = 10_000  # in every official batch file; only a *-subset folder may hold fewer


def parse_binary(raw, source):
    """(images (N, 3, 32, 32) uint8, labels (N,) int64) from binary-format bytes."""
    if len(raw) == 0 or len(raw) % RECORD:
        raise DatasetError(f"{NAME}: {source} has {len(raw)} bytes, not a whole number of {RECORD}-byte records: truncated or corrupt")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    if len(labels) and labels.max() > 9:
        raise DatasetError(f"{NAME}: {source} has label {labels.max()}, outside 0-9: not a CIFAR-10 binary batch")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


class _BatchUnpickler(pickle.Unpickler):
    """Reads a CIFAR-10 python batch without running code from it: the only globals a batch
    may name are the ones that rebuild a NumPy array (and _codecs.encode, which pickle uses
    for bytes); any other, such as os.system, is refused."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which a CIFAR-10 batch never holds")
        if name == "_reconstruct":
            try:
                from numpy._core.multiarray import _reconstruct
            except ImportError:  # NumPy 1
                from numpy.core.multiarray import _reconstruct
            return _reconstruct
        return super().find_class(module, name)


def parse_pickle(raw, source):
    try:
        batch = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
        data, labels = np.asarray(batch[b"data"], dtype=np.uint8), np.asarray(batch[b"labels"], dtype=np.int64)
    except Exception as err:
        raise DatasetError(f"{NAME}: {source} is not a CIFAR-10 python batch ({err})") from err
    if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels) or (
            len(labels) and (labels.min() < 0 or labels.max() > 9)):
        raise DatasetError(f"{NAME}: {source} has data of shape {data.shape} and {len(labels)} labels: not a CIFAR-10 batch")
    return data.reshape(-1, 3, 32, 32), labels


def batch_names(train):
    return [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]


def _from_archive(path, train, pickled):
    folder = "cifar-10-batches-py" if pickled else "cifar-10-batches-bin"
    parts = []
    with tarfile.open(path, "r:gz") as archive:
        for name in batch_names(train):
            member = f"{folder}/{name}" + ("" if pickled else ".bin")
            try:
                raw = archive.extractfile(member).read()
            except (KeyError, AttributeError) as err:
                raise DatasetError(f"{NAME}: {path} has no member {member}: not the official archive") from err
            parts.append((parse_pickle if pickled else parse_binary)(raw, f"{path}:{member}"))
    return parts


def _from_folder(folder, train):
    """Extracted or loose batches; returns [] when the folder holds none."""
    parts = []
    for name in batch_names(train):
        candidates = [folder / "cifar-10-batches-py" / name]
        candidates += [folder / sub / f"{name}.bin{gz}" for sub in ("cifar-10-batches-bin", ".") for gz in ("", ".gz")]
        for path in candidates:
            if path.is_file():
                raw = read_maybe_gzip(path, NAME, limit=MAX_BATCH_BYTES)
                parse = parse_pickle if path.parent.name == "cifar-10-batches-py" else parse_binary
                parts.append(parse(raw, path))
                break
    return parts


class CIFAR10:
    """``images`` uint8 (N, 3, 32, 32) (NCHW, as the layers want), ``labels`` int64 (N,)."""

    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    def __init__(self, root=None, train=True, download=True, folder=None):
        base = data_root(root)
        folders = [base / folder] if folder else [base / "cifar10", base / "cifar10-subset"]
        parts, self.source = [], None
        for directory in folders:
            for archive, md5 in (PYTHON_ARCHIVE, BINARY_ARCHIVE):
                if (directory / archive).is_file():
                    verify(directory / archive, md5, NAME)
                    parts = _from_archive(directory / archive, train, pickled=archive == PYTHON_ARCHIVE[0])
                    break
            if not parts and directory.is_dir():
                parts = _from_folder(directory, train)
            if parts:
                self.source = directory
                break
        if not parts:
            path = ensure_file(folders[0], PYTHON_ARCHIVE[0], URL + PYTHON_ARCHIVE[0], PYTHON_ARCHIVE[1], NAME, download)
            parts, self.source = _from_archive(path, train, pickled=True), folders[0]
        if not self.source.name.endswith("-subset"):
            for (images, _), name in zip(parts, batch_names(train)):
                if len(images) != IMAGES_PER_BATCH:  # e.g. a file cut at a record boundary
                    raise DatasetError(f"{NAME}: {name} in {self.source} holds {len(images)} images, not the official "
                                       f"{IMAGES_PER_BATCH}: truncated? (a deliberately partial copy belongs in a "
                                       f"folder whose name ends in -subset, such as cifar10-subset)")
        self.images = np.concatenate([p[0] for p in parts])
        self.labels = np.concatenate([p[1] for p in parts])

    def __len__(self):
        return len(self.labels)

