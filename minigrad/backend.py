"""Where arrays live: NumPy on the CPU, CuPy on the GPU.

This is the one place in minigrad that knows about both libraries. Every op asks
`get_array_module(array)` for the module (``numpy`` or ``cupy``) that owns its input and
calls that module's functions, so the same op code runs on either device.
CuPy is imported only when a GPU array is asked for, so ``import minigrad`` needs NumPy alone.
"""
import numpy as np

_default_dtype = np.dtype(np.float32)
_cupy = None


class DeviceError(RuntimeError):
    """A device was requested that this machine cannot provide."""


def get_default_dtype():
    """The dtype new floating-point tensors get (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype):
    """Change the dtype of new floating-point tensors (e.g. ``np.float64`` for gradient checks)."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"default dtype must be a floating-point type, got {dtype}")
    _default_dtype = dtype


def cupy_module():
    """Import and return CuPy, or raise a DeviceError that says what is missing."""
    global _cupy
    if _cupy is None:
        try:
            import cupy
        except ImportError as err:
            raise DeviceError(
                "device 'cuda' needs CuPy, which is not installed: "
                "pip install 'minigrad[gpu]' (or a cupy-cudaXXx wheel matching your CUDA)"
            ) from err
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as err:  # no GPU, or a CUDA driver missing or broken
            if not _nvidia_device_files():
                raise DeviceError("device 'cuda' requested but this machine has no NVIDIA GPU (no /dev/nvidia* "
                                  "device): CuPy is installed, with nothing to run on; use --device cpu") from err
            raise DeviceError(f"device 'cuda' requested but CUDA is unusable: {err}") from err
        if count == 0:
            raise DeviceError("device 'cuda' requested but no CUDA device is visible")
        _cupy = cupy
    return _cupy


def _nvidia_device_files():
    import glob

    return glob.glob("/dev/nvidia[0-9]*")


def cuda_is_available():
    """True when CuPy imports and sees at least one GPU."""
    try:
        cupy_module()
    except DeviceError:
        return False
    return True


def is_cupy_array(array):
    return type(array).__module__.startswith("cupy")


def get_array_module(*arrays):
    """``cupy`` if any argument is a CuPy array, else ``numpy``."""
    for array in arrays:
        if type(array) is not np.ndarray and is_cupy_array(array):  # the common case first: cheap
            return cupy_module()
    return np


class device(str):  # noqa: N801 - PyTorch's name
    """PyTorch's device object: ``device('cuda')``, ``device('cuda', 0)``, ``device('cpu')``.
    It is the string itself ('cpu', 'cuda' or 'cuda:0'), so it compares with strings, and has
    PyTorch's ``type`` and ``index``."""

    def __new__(cls, type_or_name, index=None):
        name = str(type_or_name)
        kind, _, number = name.partition(":")
        if kind not in ("cpu", "cuda"):
            raise ValueError(f"unknown device {name!r}: expected 'cpu' or 'cuda'")
        if index is not None:
            if number:
                raise ValueError(f"device {name!r} already names an index")
            number = str(int(index))
        self = super().__new__(cls, f"{kind}:{number}" if number else kind)
        self.type, self.index = kind, int(number) if number else None
        return self

    def __repr__(self):
        return f"device(type={self.type!r}" + (f", index={self.index})" if self.index is not None else ")")


def device_of(array):
    return device("cuda" if is_cupy_array(array) else "cpu")


def normalize_device(device):
    """Accept 'cpu', 'cuda', 'cuda:0' (or None for 'cpu'); return 'cpu' or 'cuda'."""
    if device is None:
        return "cpu"
    name = str(device).split(":", 1)[0]
    if name not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}: expected 'cpu' or 'cuda'")
    return name


def to_device(array, device):
    """Move an array to 'cpu' (NumPy) or 'cuda' (CuPy); a no-op when it is already there."""
    device = normalize_device(device)
    if device == "cuda":
        return cupy_module().asarray(array)
    return to_numpy(array)


def to_numpy(array):
    """A NumPy array with the same contents (copies from the GPU when needed)."""
    if is_cupy_array(array):
        return array.get()
    return np.asarray(array)


def scatter_add(target, index, values):
    """target[index] += values, adding repeated indices once per occurrence (unbuffered)."""
    get_array_module(target).add.at(target, index, values)  # cupy.add.at on the GPU, np.add.at here
