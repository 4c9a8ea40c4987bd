"""``mg.save`` and ``mg.load``: PyTorch's two calls, on files that hold only data.

    mg.save(model.state_dict(), "model.npz")
    model.load_state_dict(mg.load("model.npz"))

``save`` writes minigrad's checkpoint format (an .npz of arrays with the structure as JSON
and a SHA-256 hash; see minigrad/train/checkpoint.py): written atomically, verified when
read, and nothing in it is ever executed. Tensors come back as tensors.

``load`` also reads the two formats a PyTorch model's weights are exported to without
pickle, so that they load into the matching minigrad model by key:

    # in PyTorch
    from safetensors.torch import save_file
    save_file(model.state_dict(), "weights.safetensors")
    # or, with NumPy alone
    np.savez("weights.npz", **{k: v.numpy() for k, v in model.state_dict().items()})

    # in minigrad
    model.load_state_dict(mg.load("weights.safetensors"))

A PyTorch ``torch.save`` file is a pickle, which can run code when loaded: it is refused,
with the export recipe in the message.
"""
import json
import pathlib
import zipfile

import numpy as np

from .backend import to_device

# how many times its size a compressed .npz may decompress to (weights compress by far less)
_NPZ_EXPANSION = 32
# the largest safetensors header read: the JSON that lists the tensors (PyTorch's limit too)
_HEADER_LIMIT = 100_000_000
_SAFETENSORS_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": "bfloat16",
                       "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8,
                       "BOOL": np.bool_}


class LoadError(ValueError):
    """A file ``mg.load`` cannot read, named in the message with what is wrong."""


def save(obj, path):
    """Write ``obj`` — a state dict, a tensor, or dicts, lists and tuples of tensors, arrays,
    numbers and strings — to ``path`` (minigrad's checkpoint format)."""
    from .train import checkpoint

    checkpoint.save_atomically(obj, path)


def load(path, map_location=None, weights_only=True):
    """Read what ``save`` wrote, or a state dict exported from PyTorch as .safetensors or
    .npz (name -> array). ``map_location='cuda'`` puts tensors and arrays on the GPU."""
    path = pathlib.Path(path)
    if not weights_only:
        raise LoadError(f"{path}: weights_only=False would allow running code from the file; minigrad only loads data")
    if not path.is_file():
        raise LoadError(f"{path}: no such file")
    with open(path, "rb") as f:
        head = f.read(9)
    if head[:1] == b"\x80" or head[:2] == b"PK" and _is_torch_zip(path):
        raise LoadError(f"{path}: a PyTorch torch.save file (a pickle, which can run code when loaded). Export the "
                        f"weights in PyTorch with safetensors.torch.save_file(model.state_dict(), 'w.safetensors') or "
                        f"np.savez('w.npz', **{{k: v.numpy() for k, v in model.state_dict().items()}})")
    if head[:4] == b"PK\x03\x04":
        obj = _load_npz(path)
    elif len(head) == 9 and head[8:9] == b"{":
        obj = _load_safetensors(path)
    else:
        raise LoadError(f"{path}: neither a minigrad file, an .npz nor a .safetensors file")
    return obj if map_location is None else _to(obj, map_location)


def _is_torch_zip(path):
    """torch.save's zip holds a pickle named data.pkl."""
    try:
        with zipfile.ZipFile(path) as z:
            return any(name.endswith("data.pkl") for name in z.namelist())
    except zipfile.BadZipFile:
        return False


def _load_npz(path):
    from .train import checkpoint

    try:
        with np.load(path, allow_pickle=False) as npz:
            if "__meta__" in npz.files:
                return checkpoint.load(path)
        checkpoint._check_members(path, expansion=_NPZ_EXPANSION)
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except checkpoint.CheckpointError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise LoadError(f"{path}: truncated or corrupt .npz file ({type(err).__name__}: {err})") from err


def _load_safetensors(path):
    """The safetensors format: an 8-byte little-endian header length, a JSON header naming each
    tensor's dtype, shape and byte range, then the bytes. Every field is checked before use."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        header_length = int.from_bytes(f.read(8), "little")
        if not 2 <= header_length <= min(_HEADER_LIMIT, size - 8):
            raise LoadError(f"{path}: a safetensors header of {header_length} bytes in a file of {size} bytes")
        try:
            header = json.loads(f.read(header_length))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
            raise LoadError(f"{path}: the safetensors header is not valid JSON ({err})") from None
        data_length = size - 8 - header_length
        if not isinstance(header, dict):
            raise LoadError(f"{path}: the safetensors header is not a JSON object")
        entries = {}
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            entries[name] = _check_entry(path, name, entry, data_length)
        out = {}
        for name, (dtype, shape, (begin, end)) in entries.items():
            f.seek(8 + header_length + begin)
            raw = f.read(end - begin)
            if dtype == "bfloat16":  # the top 16 bits of a float32
                out[name] = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32).reshape(shape)
            else:
                out[name] = np.frombuffer(raw, np.dtype(dtype).newbyteorder("<")).reshape(shape).astype(dtype)
    return out


def _check_entry(path, name, entry, data_length):
    where = f"{path}: tensor {name!r}"
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise LoadError(f"{where}: expected the fields dtype, shape and data_offsets")
    dtype = _SAFETENSORS_DTYPES.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
    if dtype is None:
        raise LoadError(f"{where}: unsupported dtype {entry['dtype']!r}")
    shape, offsets = entry["shape"], entry["data_offsets"]
    if not isinstance(shape, list) or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise LoadError(f"{where}: shape {shape!r} is not a list of non-negative integers")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(isinstance(o, int) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_length):
        raise LoadError(f"{where}: data_offsets {offsets!r} fall outside the {data_length} data bytes")
    itemsize = 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize
    if int(np.prod(shape, dtype=np.int64)) * itemsize != offsets[1] - offsets[0]:
        raise LoadError(f"{where}: shape {shape} of {entry['dtype']} needs "
                        f"{int(np.prod(shape)) * itemsize} bytes, the offsets give {offsets[1] - offsets[0]}")
    return dtype, tuple(shape), tuple(offsets)


def _to(obj, device):
    from .tensor import Tensor

    if isinstance(obj, Tensor):
        return Tensor(to_device(obj.data, device), requires_grad=obj.requires_grad)
    if isinstance(obj, np.ndarray):
        return to_device(obj, device)
    if isinstance(obj, dict):
        return type(obj)((k, _to(v, device)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to(v, device) for v in obj)
    return obj


__all__ = ["save", "load", "LoadError"]
