"""MNIST and Fashion-MNIST in the official IDX format (gzip-compressed).

IDX: a big-endian header — magic number 0x00000801 (labels, 1 dimension) or 0x00000803
(images, 3 dimensions), then each dimension's size as a 32-bit integer — followed by the
uint8 data. Every field is checked, so a truncated or foreign file is refused.
"""
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


class MNIST:
    """Handwritten digits: ``images`` uint8 (N, 28, 28), ``labels`` int64 (N,).

    Files are looked for in ``<root>/mnist/`` (root: see minigrad.data.files.data_root).
    """

    folder = "mnist"
    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/"]
    files = {
        "train": ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                  "train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        "test": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3",
                 "t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    }
    classes = [str(d) for d in range(10)]

    def __init__(self, root=None, train=True, download=True, verify_checksums=True):
        name = type(self).__name__
        directory = data_root(root) / self.folder
        image_file, image_md5, label_file, label_md5 = self.files["train" if train else "test"]
        arrays = []
        for filename, md5, ndim in ((image_file, image_md5, 3), (label_file, label_md5, 1)):
            path = ensure_file(directory, filename, self.mirrors[0] + filename,
                               md5 if verify_checksums else None, name, download)
            arrays.append(parse_idx(read_maybe_gzip(path, name), ndim, path, name))
        self.images, labels = arrays
        if len(self.images) != len(labels):
            raise DatasetError(f"{name}: {len(self.images)} images but {len(labels)} labels in {directory}")
        if labels.max(initial=0) >= len(self.classes):
            raise DatasetError(f"{name}: label {labels.max()} out of range 0-{len(self.classes) - 1} in {directory}")
        self.labels = labels.astype(np.int64)
        self.directory = directory

    def __len__(self):
        return len(self.labels)


class FashionMNIST(MNIST):
    """Zalando's clothing images in MNIST's format; files in ``<root>/fashion-mnist/``."""

    folder = "fashion-mnist"
    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    files = {
        "train": ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                  "train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        "test": ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79",
                 "t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    }
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
