"""Checkpoints that hold only data, are never half-written, and are verified when loaded.

A checkpoint is any nesting of dicts, lists and tuples whose leaves are NumPy arrays, Python
numbers, strings, booleans or None (model and optimizer state dicts, a schedule, RNG state,
a history). It is written as one .npz file (a zip of .npy arrays):

    __meta__     the structure as JSON, each array replaced by {"__array__": k}, with the
                 format version and the minigrad version that wrote it
    __sha256__   a SHA-256 hash of the JSON and of every array's dtype, shape and bytes
    a0, a1, ...  the arrays

Loading reads arrays with NumPy's allow_pickle=False and the structure with json: nothing in
the file is ever executed, unlike a pickle (PyTorch moved to weights-only loading for this
reason). The hash is checked before anything is returned, so flipped bytes or a file cut
short give a `CheckpointError` naming the file instead of wrong numbers.

Writes go to a temporary file in the same folder, then are renamed over the old checkpoint:
a rename within one folder is atomic, so after a crash the file on disk is the previous
complete checkpoint or the new complete one. Temporary files that a killed writer left
behind are removed by the next write.

Checkpoints of older minigrad versions were pickles; they are refused, unless the caller
passes ``trusted=True`` for a file they made themselves (a pickle can run any code).
"""
import hashlib
import json
import os
import pathlib
import tempfile
import zipfile
import zlib

import numpy as np

from ..tensor import Tensor
from ..version import __version__

FORMAT, VERSION = "minigrad-checkpoint", 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded: missing, truncated, corrupt, or not one of ours."""


def save_atomically(obj, path):
    """Write ``obj`` (see the module docstring for what it may hold) to ``path``."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    arrays = []
    skeleton = _encode(obj, arrays, "checkpoint")
    meta = json.dumps({"format": FORMAT, "version": VERSION, "minigrad": __version__, "content": skeleton}).encode()
    members = {f"a{k}": a for k, a in enumerate(arrays)}
    members["__meta__"] = np.frombuffer(meta, dtype=np.uint8)
    members["__sha256__"] = np.frombuffer(_digest(meta, arrays).encode(), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **members)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load(path, trusted=False):
    """The object saved at ``path``, its arrays as NumPy arrays (so a checkpoint saved on a
    GPU machine loads on one without CuPy). Raises CheckpointError naming the file and what
    is wrong with it. ``trusted=True`` also loads an old pickle checkpoint: only for a file
    you made yourself, since loading a pickle can run any code in it."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:1] == b"\x80":  # pickle protocol 2 and later
        if trusted:
            import pickle

            with open(path, "rb") as f:
                return pickle.load(f)
        raise CheckpointError(f"{path}: a pickle (the checkpoint format of older minigrad versions); loading a "
                              f"pickle can run code, so it is refused. If you wrote it yourself, load it once with "
                              f"checkpoint.load(path, trusted=True) and save it again")
    if head != b"PK\x03\x04":
        raise CheckpointError(f"{path}: not a minigrad checkpoint (it is not an .npz file)"
                              + (" but empty" if not head else ""))
    try:
        _check_members(path)
        with np.load(path, allow_pickle=False) as npz:
            names = set(npz.files)
            if not {"__meta__", "__sha256__"} <= names:
                raise CheckpointError(f"{path}: an .npz file but not a minigrad checkpoint (no __meta__ entry)")
            meta_bytes = npz["__meta__"].tobytes()
            stored = npz["__sha256__"].tobytes().decode("ascii", "replace")
            meta = json.loads(meta_bytes)
            arrays = [npz[f"a{k}"] for k in range(len(names) - 2)]
    except CheckpointError:
        raise
    except RecursionError:
        raise CheckpointError(f"{path}: corrupt checkpoint: its structure is nested too deeply") from None
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError, UnicodeDecodeError, NotImplementedError,
            RuntimeError, zlib.error) as err:  # (zipfile's own errors for odd compression or encryption flags)
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({type(err).__name__}: {err})") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: an .npz file but not a minigrad checkpoint")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {meta.get('version')} (minigrad {meta.get('minigrad')}); "
                              f"this minigrad reads version {VERSION}")
    if _digest(meta_bytes, arrays) != stored:
        raise CheckpointError(f"{path}: corrupt checkpoint: its content does not match its SHA-256 hash")
    try:
        return _decode(meta["content"], arrays)
    except (RecursionError, KeyError, IndexError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: corrupt checkpoint: its structure is malformed ({type(err).__name__})") from None


def _check_members(path, expansion=1):
    """Before any array is read: each member is stored uncompressed (as save_atomically writes
    them), so none can decompress beyond the file's own size, and each .npy header declares a
    shape whose bytes are exactly what the member holds, so no read allocates more than the
    file. A small file cannot make the process ask for gigabytes. (``expansion`` > 1: other
    writers' compressed .npz files, which may hold that many times their size.)"""
    size = path.stat().st_size
    with zipfile.ZipFile(path) as z:
        if sum(info.file_size for info in z.infolist()) > expansion * size:
            raise CheckpointError(f"{path}: its members would decompress to more than {expansion} times the "
                                  f"file's {size:,} bytes")
        for info in z.infolist():
            if expansion == 1 and info.compress_type != zipfile.ZIP_STORED:
                raise CheckpointError(f"{path}: member {info.filename} is compressed: not a checkpoint that "
                                      f"minigrad wrote")
            with z.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version not in ((1, 0), (2, 0)):
                    raise CheckpointError(f"{path}: member {info.filename} has .npy version {version}")
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                    np.lib.format.read_array_header_2_0
                shape, _, dtype = read_header(f, max_header_size=10_000)
                data_bytes = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                if dtype.hasobject or f.tell() + data_bytes != info.file_size:
                    raise CheckpointError(f"{path}: member {info.filename} declares shape {shape} of {dtype} "
                                          f"({data_bytes:,} bytes) but holds {info.file_size - f.tell():,} bytes")


def _remove_stale_temporaries(path):
    for stale in path.parent.glob(path.name + ".*.tmp"):
        try:
            stale.unlink()
        except OSError:  # another writer's, gone already: nothing to clean
            pass


def _digest(meta_bytes, arrays):
    sha = hashlib.sha256(meta_bytes)
    for a in arrays:
        sha.update(f"{a.dtype.str}{a.shape}".encode())
        sha.update(np.ascontiguousarray(a).tobytes())
    return sha.hexdigest()


def _encode(obj, arrays, where):
    """The JSON skeleton of obj; arrays are appended to ``arrays`` and replaced by references."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        return obj
    if isinstance(obj, np.generic):  # a NumPy scalar keeps its dtype
        arrays.append(np.asarray(obj))
        return {"__array__": len(arrays) - 1, "scalar": True}
    if isinstance(obj, Tensor):  # its values, and that it was a tensor (it comes back as one)
        skeleton = _encode(obj.data, arrays, where)
        return {**skeleton, "tensor": True, "requires_grad": bool(obj.requires_grad)}
    if hasattr(obj, "__array__") and hasattr(obj, "dtype"):
        from ..backend import to_numpy

        array = to_numpy(obj)
        if array.dtype.hasobject:
            raise TypeError(f"{where}: cannot save an array of Python objects in a checkpoint")
        arrays.append(array)
        return {"__array__": len(arrays) - 1}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and not ({"__array__", "__tuple__", "__items__"} & set(obj)):
            return {k: _encode(v, arrays, f"{where}[{k!r}]") for k, v in obj.items()}
        return {"__items__": [[_encode(k, arrays, where), _encode(v, arrays, f"{where}[{k!r}]")] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]
    raise TypeError(f"{where}: a checkpoint holds arrays, numbers, strings, None, dicts, lists and tuples, "
                    f"not {type(obj).__name__}")


def _decode(skeleton, arrays):
    if isinstance(skeleton, list):
        return [_decode(v, arrays) for v in skeleton]
    if isinstance(skeleton, dict):
        if "__array__" in skeleton:
            array = arrays[skeleton["__array__"]]
            if skeleton.get("tensor"):
                return Tensor(array, requires_grad=bool(skeleton.get("requires_grad")))
            return array[()] if skeleton.get("scalar") else array
        if "__tuple__" in skeleton:
            return tuple(_decode(v, arrays) for v in skeleton["__tuple__"])
        if "__items__" in skeleton:
            return {_decode(k, arrays): _decode(v, arrays) for k, v in skeleton["__items__"]}
        return {k: _decode(v, arrays) for k, v in skeleton.items()}
    return skeleton
