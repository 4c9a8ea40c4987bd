"""Dataset parsers, corrupt-file refusal, splits, the DataLoader and augmentations."""
import gzip

import numpy as np
import pytest
from hypothesis import given, strategies as st

from fake_data import SHARED_DATA, cifar_records, cifar_arrays, write_cifar_archive, write_mnist, write_names
from minigrad import data
from minigrad.data import transforms as T
from minigrad.data.files import DatasetError

real = pytest.mark.skipif(not (SHARED_DATA / "mnist").is_dir(), reason="../shared/data is not present")


# ----- MNIST ------------------------------------------------------------------------------

def test_mnist_parses_generated_idx_files(tmp_path):
    arrays = write_mnist(tmp_path / "mnist")
    for train, prefix in ((True, "train"), (False, "t10k")):
        ds = data.MNIST(tmp_path, train=train, download=False, verify_checksums=False)
        np.testing.assert_array_equal(ds.images, arrays[prefix][0])
        np.testing.assert_array_equal(ds.labels, arrays[prefix][1])
        assert ds.labels.dtype == np.int64


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda raw: raw[: len(raw) // 2], "not a valid gzip file"),  # truncated download
        (lambda raw: gzip.compress(b"\x00\x00\x08\x01" + gzip.decompress(raw)[4:]), "magic number"),
        (lambda raw: gzip.compress(gzip.decompress(raw)[:-7]), "truncated or corrupt"),
    ],
)
def test_mnist_refuses_corrupt_files(tmp_path, corrupt, message):
    write_mnist(tmp_path / "mnist")
    path = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(DatasetError, match=message):
        data.MNIST(tmp_path, download=False, verify_checksums=False)


def test_mnist_refuses_a_file_with_the_wrong_checksum(tmp_path):
    write_mnist(tmp_path / "mnist")  # valid IDX, but not the official bytes
    with pytest.raises(DatasetError, match="does not hold the official content .*SHA-256"):
        data.MNIST(tmp_path, download=False)


def test_missing_file_error_says_which_file_and_where(tmp_path):
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte.gz is missing from .*mnist"):
        data.MNIST(tmp_path, download=False)


def test_data_dir_comes_from_argument_then_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path))
    assert data.data_root() == tmp_path
    assert data.data_root("/elsewhere").as_posix() == "/elsewhere"
    monkeypatch.delenv("MINIGRAD_DATA")
    assert data.data_root().name == "minigrad"


@real
def test_real_mnist_has_the_known_counts_and_first_labels():
    train, test = data.MNIST(SHARED_DATA, download=False), data.MNIST(SHARED_DATA, train=False, download=False)
    assert train.images.shape == (60000, 28, 28) and test.images.shape == (10000, 28, 28)
    assert train.labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert np.bincount(train.labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# ----- CIFAR-10 ---------------------------------------------------------------------------

@pytest.mark.parametrize("pickled", [True, False])
def test_cifar_reads_both_official_archive_formats(tmp_path, pickled, monkeypatch):
    path, batches = write_cifar_archive(tmp_path / "cifar10", pickled)
    monkeypatch.setattr("minigrad.data.cifar.IMAGES_PER_BATCH", 4)  # the generated batches are small
    monkeypatch.setattr("minigrad.data.cifar.PYTHON_ARCHIVE", ("cifar-10-python.tar.gz", None))
    monkeypatch.setattr("minigrad.data.cifar.BINARY_ARCHIVE", ("cifar-10-binary.tar.gz", None))
    train = data.CIFAR10(tmp_path, train=True, download=False)
    test = data.CIFAR10(tmp_path, train=False, download=False)
    expected = [batches[f"data_batch_{k}"] for k in range(1, 6)]
    np.testing.assert_array_equal(train.images, np.concatenate([e[0] for e in expected]))
    np.testing.assert_array_equal(train.labels, np.concatenate([e[1] for e in expected]))
    np.testing.assert_array_equal(test.images, batches["test_batch"][0])
    assert train.images.shape == (20, 3, 32, 32)


def test_cifar_archive_with_wrong_checksum_is_refused(tmp_path):
    write_cifar_archive(tmp_path / "cifar10", pickled=True)
    with pytest.raises(DatasetError, match="md5"):
        data.CIFAR10(tmp_path, download=False)


def test_cifar_loose_gzipped_binary_batches_and_truncation(tmp_path):
    images, labels = cifar_arrays(5, seed=3)
    folder = tmp_path / "cifar10-subset"
    folder.mkdir()
    (folder / "data_batch_1.bin.gz").write_bytes(gzip.compress(cifar_records(images, labels)))
    ds = data.CIFAR10(tmp_path, download=False)
    np.testing.assert_array_equal(ds.images, images)
    (folder / "data_batch_1.bin.gz").write_bytes(gzip.compress(cifar_records(images, labels)[:-100]))
    with pytest.raises(DatasetError, match="whole number of 3073-byte records"):
        data.CIFAR10(tmp_path, download=False)


def test_a_loose_python_batch_that_would_run_code_is_refused(tmp_path):
    import os
    import pickle

    class RunsCode:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'ran'}",))

    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{k}" for k in range(1, 6)]:
        (folder / name).write_bytes(pickle.dumps({b"data": RunsCode(), b"labels": [0]}))
    with pytest.raises(DatasetError, match="data_batch_1 is not a CIFAR-10 python batch .*names posix.system"):
        data.CIFAR10(tmp_path, download=False)
    assert not (tmp_path / "ran").exists()


def test_a_cifar_batch_cut_at_a_record_boundary_is_refused_outside_a_subset_folder(tmp_path, monkeypatch):
    images, labels = cifar_arrays(6, seed=3)
    for folder_name in ("cifar10", "cifar10-subset"):
        folder = tmp_path / folder_name
        folder.mkdir()
        (folder / "test_batch.bin").write_bytes(cifar_records(images[:5], labels[:5]))  # one record short
    monkeypatch.setattr("minigrad.data.cifar.IMAGES_PER_BATCH", 6)
    with pytest.raises(DatasetError, match="test_batch in .*cifar10 holds 5 images, not the official 6"):
        data.CIFAR10(tmp_path, train=False, download=False)
    assert len(data.CIFAR10(tmp_path, train=False, download=False, folder="cifar10-subset")) == 5


def test_mnist_is_verified_on_its_content_so_a_recompressed_copy_loads(tmp_path, monkeypatch):
    import hashlib

    from minigrad.data import mnist as mnist_module
    from fake_data import idx_bytes

    folder = tmp_path / "mnist"
    folder.mkdir()
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    labels = np.array([1, 2, 3], dtype=np.uint8)
    contents = {"t10k-images-idx3-ubyte.gz": idx_bytes(images), "t10k-labels-idx1-ubyte.gz": idx_bytes(labels)}
    files = [(name, "0" * 32, hashlib.sha256(raw).hexdigest(), 3 if "images" in name else 1) for name, raw in contents.items()]
    monkeypatch.setitem(mnist_module.MNIST.files, "test", files)  # content hashes of these files, a wrong md5
    for name, raw in contents.items():
        (folder / name).write_bytes(gzip.compress(raw, compresslevel=1))  # not the official compressed bytes
    np.testing.assert_array_equal(data.MNIST(tmp_path, train=False, download=False).images, images)
    for name, raw in contents.items():  # uncompressed files, as torchvision accepts
        (folder / name).unlink()
        (folder / name[:-3]).write_bytes(raw)
    np.testing.assert_array_equal(data.MNIST(tmp_path, train=False, download=False).labels, labels)
    (folder / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.array([1, 2, 4], dtype=np.uint8)))
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte does not hold the official content"):
        data.MNIST(tmp_path, train=False, download=False)


def test_a_failed_download_leaves_no_empty_dataset_folder(tmp_path, monkeypatch):
    from minigrad.data import files

    def fail(url, destination, dataset):
        raise OSError("no network")

    monkeypatch.setattr(files, "download", fail)
    with pytest.raises(DatasetError, match="could not be downloaded"):
        data.MNIST(tmp_path / "new" / "root", download=True)
    assert not (tmp_path / "new").exists()


@real
def test_real_cifar_subset():
    train = data.CIFAR10(SHARED_DATA, download=False)
    test = data.CIFAR10(SHARED_DATA, train=False, download=False)
    assert train.images.shape == (4000, 3, 32, 32) and len(test) == 1000
    assert train.labels[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert np.bincount(test.labels).tolist() == [103, 89, 100, 103, 90, 86, 112, 102, 106, 109]


# ----- Names ------------------------------------------------------------------------------

def test_names_are_folded_to_ascii(tmp_path):
    write_names(tmp_path / "names")
    ds = data.Names(tmp_path, download=False)
    assert ds.languages == ["French", "Polish"]
    assert ds.names["Polish"] == ["Slusarski", "Nowak"]
    assert ds.names["French"] == ["Lefevre", "D'Aramitz"]


@real
def test_real_names():
    ds = data.Names(SHARED_DATA, download=False)
    assert len(ds.languages) == 18 and len(ds) == 20074
    assert all(set(n) <= set(data.names.ALPHABET) for names in ds.names.values() for n in names)


# ----- splits -----------------------------------------------------------------------------

def test_train_val_split_is_seeded_and_disjoint():
    train, val = data.train_val_split(60000, 10000, seed=0)
    assert len(train) == 50000 and len(val) == 10000
    assert not np.intersect1d(train, val).size
    np.testing.assert_array_equal(val, data.train_val_split(60000, 10000, seed=0)[1])
    assert not np.array_equal(val, data.train_val_split(60000, 10000, seed=1)[1])


def test_nested_subsets_are_nested_and_stratified():
    labels = np.random.default_rng(0).integers(0, 10, 5000)
    subsets = data.nested_subsets(labels, [0.2, 0.5, 0.8, 1.0], seed=0)
    assert set(subsets[0.2]) <= set(subsets[0.5]) <= set(subsets[0.8]) <= set(subsets[1.0])
    assert len(subsets[1.0]) == 5000
    full = np.bincount(labels) / 5000
    np.testing.assert_allclose(np.bincount(labels[subsets[0.2]]) / len(subsets[0.2]), full, atol=0.002)


# ----- DataLoader -------------------------------------------------------------------------

def collect(loader):
    return [tuple(np.array(b) for b in batch) for batch in loader]


def test_loader_batches_cover_the_data_once_and_shuffle_by_seed_and_epoch():
    x, y = np.arange(10.0)[:, None], np.arange(10)
    loader = data.DataLoader((x, y), batch_size=4, shuffle=True, seed=1)
    first = collect(loader)
    assert [len(b[1]) for b in first] == [4, 4, 2] and len(loader) == 3
    assert sorted(np.concatenate([b[1] for b in first]).tolist()) == list(range(10))
    assert all((b[0][:, 0] == b[1]).all() for b in first)  # rows stay paired
    again = collect(data.DataLoader((x, y), batch_size=4, shuffle=True, seed=1))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, again))
    loader.set_epoch(1)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(first, collect(loader)))


def test_loader_drop_last_and_prefetch_give_the_same_batches():
    x = np.random.default_rng(0).standard_normal((23, 3, 4, 4)).astype(np.float32)
    y = np.arange(23)
    flip = T.RandomHorizontalFlip()
    plain = data.DataLoader((x, y), batch_size=5, shuffle=True, drop_last=True, transform=flip)
    ahead = data.DataLoader((x, y), batch_size=5, shuffle=True, drop_last=True, transform=flip, prefetch=2)
    a, b = collect(plain), collect(ahead)
    assert len(a) == len(plain) == 4
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_loader_rejects_mismatched_arrays():
    with pytest.raises(ValueError, match="different lengths"):
        data.DataLoader((np.zeros(3), np.zeros(4)))


# ----- augmentations ----------------------------------------------------------------------

batches = st.tuples(st.integers(1, 6), st.sampled_from([1, 3]), st.integers(4, 12), st.integers(4, 12), st.integers(0, 2**31))


def make_batch(n, c, h, w, seed):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(np.float32)


@given(batches)
def test_flip_twice_is_identity_and_keeps_shape(params):
    x = make_batch(*params)
    flip = T.RandomHorizontalFlip(p=1.0)
    once = flip(x, np.random.default_rng(0))
    assert once.shape == x.shape and once.dtype == x.dtype
    np.testing.assert_array_equal(once, x[..., ::-1])
    np.testing.assert_array_equal(flip(once, np.random.default_rng(1)), x)


@given(batches)
def test_zero_strength_jitter_and_affine_are_identity(params):
    x = make_batch(*params)
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(T.ColorJitter(0, 0, 0)(x, rng), x)
    np.testing.assert_allclose(T.RandomAffine(0, (0, 0), (1, 1))(x, rng), x, atol=1e-6)


@given(batches, st.integers(0, 3))
def test_crop_is_a_window_of_the_padded_image(params, padding):
    x = make_batch(*params)
    n, c, h, w = x.shape
    size = (max(1, h - 1), max(1, w - 2))
    out = T.RandomCrop(size, padding)(x, np.random.default_rng(params[-1]))
    assert out.shape == (n, c) + size and out.dtype == x.dtype
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    for i in range(n):
        windows = [padded[i, :, t:t + size[0], l:l + size[1]]
                   for t in range(padded.shape[2] - size[0] + 1) for l in range(padded.shape[3] - size[1] + 1)]
        assert any(np.array_equal(out[i], win) for win in windows)


@given(batches)
def test_jitter_keeps_range_and_affine_keeps_shape(params):
    x = make_batch(*params)
    rng = np.random.default_rng(0)
    jittered = T.ColorJitter(0.4, 0.4, 0.4)(x, rng)
    assert jittered.shape == x.shape and jittered.dtype == np.float32
    assert jittered.min() >= 0 and jittered.max() <= 1
    moved = T.RandomAffine(15, (0.1, 0.1), (0.9, 1.1))(x, rng)
    assert moved.shape == x.shape and moved.dtype == np.float32


def test_affine_translation_by_whole_pixels_shifts_the_image():
    x = np.zeros((1, 1, 7, 7), np.float32)
    x[0, 0, 3, 3] = 1
    # translate range (1/7, 0): shift right by exactly one pixel when the draw is at the edge
    shift = T.RandomAffine(0, (1 / 7, 0), (1, 1))

    class Edge:  # a stand-in Generator that always draws the upper bound
        def uniform(self, low, high, n):
            return np.full(n, high)

    out = shift(x, Edge())
    assert out[0, 0, 3, 4] == pytest.approx(1) and out.sum() == pytest.approx(1)
