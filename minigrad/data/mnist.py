"""MNIST and Fashion-MNIST in the official IDX format (gzip-compressed).

IDX: a big-endian header — magic number 0x00000801 (labels, 1 dimension) or 0x00000803
(images, 3 dimensions), then each dimension's size as a 32-bit integer — followed by the
uint8 data. Every field is checked, so a truncated or foreign file is refused.
"""
import hashlib

import numpy as np

from .files import DatasetError, data_root, ensure_file, read_maybe_gzip


def parse_idx(raw, expected_ndim, source, dataset):
    """uint8 array from IDX bytes, checking magic number, dimensions and size."""
    if len(raw) < 4:
        raise DatasetError(f"{dataset}: {source} is too short to be an IDX file ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if magic != 0x800 + expected_ndim:
        raise DatasetError(
            f"{dataset}: {source} has IDX magic number {magic:#010x}, expected {0x800 + expected_ndim:#010x} "
            f"(uint8 data with {expected_ndim} dimension(s)): wrong or corrupt file"
        )
    header = 4 + 4 * expected_ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(expected_ndim))
    if len(raw) != header + int(np.prod(shape)):
        raise DatasetError(
            f"{dataset}: {source} should hold {header + int(np.prod(shape))} bytes for shape {shape}, "
            f"but has {len(raw)}: truncated or corrupt"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


MAX_FILE_BYTES = 16 + 60_000 * 28 * 28  # the largest official file: the 60,000 training images


class MNIST:
    """Handwritten digits: ``images`` uint8 (N, 28, 28), ``labels`` int64 (N,).

    Files are looked for in ``<root>/mnist/`` (root: see minigrad.data.files.data_root), as
    the official .gz files or uncompressed (the same name without .gz), and downloaded when
    neither is there. They are verified on their content, the decompressed IDX bytes
    (SHA-256), so a copy compressed again by another tool loads; where no content hash is
    known (``None``), the md5 of the official compressed file is checked instead.
    """

    folder = "mnist"
    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/"]
    # split: [(file, md5 of the official .gz, SHA-256 of the decompressed content, dimensions)]
    files = {
        "train": [("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                   "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 3),
                  ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432",
                   "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 1)],
        "test": [("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3",
                  "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 3),
                 ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c",
                  "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 1)],
    }
    classes = [str(d) for d in range(10)]

    def __init__(self, root=None, train=True, download=True, verify_checksums=True):
        name = type(self).__name__
        directory = data_root(root) / self.folder
        arrays = []
        for filename, md5, sha256, ndim in self.files["train" if train else "test"]:
            raw, path = self._read(directory, filename, md5, sha256, download, verify_checksums)
            arrays.append(parse_idx(raw, ndim, path, name))
        self.images, labels = arrays
        if len(self.images) != len(labels):
            raise DatasetError(f"{name}: {len(self.images)} images but {len(labels)} labels in {directory}")
        if labels.max(initial=0) >= len(self.classes):
            raise DatasetError(f"{name}: label {labels.max()} out of range 0-{len(self.classes) - 1} in {directory}")
        self.labels = labels.astype(np.int64)
        self.directory = directory

    def _read(self, directory, filename, md5, sha256, download, verify_checksums):
        """(decompressed bytes, path) of a verified copy of one file."""
        name = type(self).__name__
        uncompressed = directory / filename[:-len(".gz")]
        if uncompressed.is_file() and sha256 and not (directory / filename).is_file():
            path = uncompressed
        else:
            check_compressed = verify_checksums and not sha256  # else the content is checked below
            path = ensure_file(directory, filename, self.mirrors[0] + filename,
                               md5 if check_compressed else None, name, download)
        raw = read_maybe_gzip(path, name, limit=MAX_FILE_BYTES)
        if verify_checksums and sha256 and hashlib.sha256(raw).hexdigest() != sha256:
            raise DatasetError(f"{name}: {path} does not hold the official content (SHA-256 of its decompressed "
                               f"bytes {hashlib.sha256(raw).hexdigest()}, expected {sha256}); delete it to download it again")
        return raw, path

    def __len__(self):
        return len(self.labels)


class FashionMNIST(MNIST):
    """Zalando's clothing images in MNIST's format; files in ``<root>/fashion-mnist/``."""

    folder = "fashion-mnist"
    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    files = {  # no content hashes: the official files were not at hand to compute them
        "train": [("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", None, 3),
                  ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", None, 1)],
        "test": [("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", None, 3),
                 ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", None, 1)],
    }
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
