"""Finding, downloading and verifying dataset files.

Where data lives: the ``root`` argument, else the MINIGRAD_DATA environment variable, else
a per-user cache (~/.cache/minigrad, or $XDG_CACHE_HOME/minigrad). A missing file is
downloaded from its official source, with a progress bar, and its checksum verified; a file
whose checksum does not match is refused rather than trained on.
"""
import gzip
import hashlib
import os
import pathlib
import tempfile
import urllib.request


class DatasetError(RuntimeError):
    """A dataset file is missing, corrupt or not in the expected format."""


def data_root(root=None):
    if root is not None:
        return pathlib.Path(root).expanduser()
    if os.environ.get("MINIGRAD_DATA"):
        return pathlib.Path(os.environ["MINIGRAD_DATA"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(cache) / "minigrad"


def md5sum(path, chunk=1 << 20):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path, md5, dataset):
    if md5 is not None and md5sum(path) != md5:
        raise DatasetError(
            f"{dataset}: {path} is corrupt or not the official file (md5 {md5sum(path)}, expected {md5}); "
            "delete it to download it again"
        )


def download(url, destination, dataset):
    """Fetch ``url`` to ``destination`` atomically (a partial download never looks complete)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=destination.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=30) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with progress_bar(total, f"downloading {destination.name}") as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    bar.update(len(block))
        os.replace(tmp, destination)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def ensure_file(directory, filename, url, md5, dataset, allow_download=True):
    """Path of a verified copy of ``filename`` in ``directory``, downloading it if missing."""
    path = pathlib.Path(directory) / filename
    if not path.exists():
        if not allow_download:
            raise DatasetError(f"{dataset}: {filename} is missing from {directory} (download=False)")
        created = _missing_folders(pathlib.Path(directory))
        try:
            download(url, path, dataset)
        except Exception as err:
            for folder in created:  # leave no empty dataset folder behind
                try:
                    folder.rmdir()
                except OSError:  # not empty: something else is in it
                    break
            raise DatasetError(
                f"{dataset}: {filename} is missing from {directory} and could not be downloaded from {url} "
                f"({err}). Put the file at {path}, or point MINIGRAD_DATA (or the data-dir argument) at a "
                "folder that has it."
            ) from err
    verify(path, md5, dataset)
    return path


def _missing_folders(directory):
    """The folders a download into ``directory`` would create, deepest first."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    return missing


def read_maybe_gzip(path, dataset, limit):
    """The bytes of ``path``, decompressed if it is gzip; truncated or corrupt gzip is refused,
    and so is a file (or its decompressed content) larger than ``limit`` bytes, before it is
    read whole: a small compressed file cannot make the process allocate gigabytes."""
    with open(path, "rb") as f:
        head = f.read(2)
    if head != b"\x1f\x8b":
        if pathlib.Path(path).stat().st_size > limit:
            raise DatasetError(f"{dataset}: {path} holds {pathlib.Path(path).stat().st_size:,} bytes, more than the "
                               f"{limit:,} a file of this dataset can hold")
        return pathlib.Path(path).read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read(limit + 1)
    except (OSError, EOFError) as err:
        raise DatasetError(f"{dataset}: {path} is not a valid gzip file (truncated or corrupt: {err})") from err
    if len(raw) > limit:
        raise DatasetError(f"{dataset}: {path} decompresses to more than the {limit:,} bytes a file of this dataset "
                           f"can hold")
    return raw


class progress_bar:
    """tqdm when it is installed, otherwise a silent stand-in with the same interface."""

    def __init__(self, total=None, desc=None, **kwargs):
        try:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="B", unit_scale=True, **kwargs)
        except ImportError:
            self.bar = None

    def update(self, n):
        if self.bar is not None:
            self.bar.update(n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()

