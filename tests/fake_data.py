"""Tiny dataset files in the official formats, written independently of minigrad's readers."""
import gzip
import io
import os
import pathlib
import pickle
import struct
import tarfile

import numpy as np

SHARED_DATA = pathlib.Path(os.environ.get("MINIGRAD_TEST_DATA") or pathlib.Path(__file__).resolve().parents[2] / "shared" / "data")


def idx_bytes(array):
    """IDX: magic 0x0000080<ndim> (uint8), then each dimension big-endian, then the data."""
    array = np.asarray(array, dtype=np.uint8)
    return struct.pack(">I", 0x800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_mnist(folder, n_train=50, n_test=20, seed=0):
    rng = np.random.default_rng(seed)
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
        arrays[prefix] = (images, labels)
    return arrays


def cifar_records(images, labels):
    """Binary format: per image 1 label byte then R, G, B planes of 32x32."""
    return b"".join(bytes([int(label)]) + image.tobytes() for image, label in zip(images, labels))


def cifar_arrays(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, n)


def write_cifar_archive(folder, pickled, per_batch=4):
    """A small archive shaped like cifar-10-python.tar.gz or cifar-10-binary.tar.gz."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = "cifar-10-python.tar.gz" if pickled else "cifar-10-binary.tar.gz"
    inner = "cifar-10-batches-py" if pickled else "cifar-10-batches-bin"
    batches = {}
    with tarfile.open(folder / name, "w:gz") as archive:
        for i, batch in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
            images, labels = cifar_arrays(per_batch, seed=i)
            batches[batch] = (images, labels)
            if pickled:
                payload = pickle.dumps({b"data": images.reshape(per_batch, -1), b"labels": [int(v) for v in labels]})
                member = f"{inner}/{batch}"
            else:
                payload = cifar_records(images, labels)
                member = f"{inner}/{batch}.bin"
            info = tarfile.TarInfo(member)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return folder / name, batches


def write_names(folder):
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Polish.txt").write_text("Ślusarski\nNowak\n\n", encoding="utf-8")
    (folder / "French.txt").write_text("Lefèvre\nD'Aramitz\n", encoding="utf-8")
    (folder / "README.txt").write_text("not a language\n")
