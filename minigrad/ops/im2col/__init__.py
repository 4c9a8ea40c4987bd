"""im2col / col2im with three interchangeable implementations (see reference.py for the math).

    "numpy"  reference.py      plain NumPy (stride tricks), the readable reference
    "numba"  numba_kernels.py  compiled parallel loops, the fast CPU path
    "cupy"   cupy_kernels.py   elementwise GPU kernels, for CuPy arrays

The fastest one available for the array is used, unless pinned with the ``impl`` argument
or the MINIGRAD_IM2COL environment variable (so tests and benchmarks can compare them).
"""
import os

from ...backend import is_cupy_array
from .reference import output_size  # noqa: F401  (re-exported for the layers)

IMPLEMENTATIONS = ("numpy", "numba", "cupy")
_numba_ok = None


def numba_available():
    global _numba_ok
    if _numba_ok is None:
        try:
            from . import numba_kernels  # noqa: F401
            _numba_ok = True
        except ImportError:
            _numba_ok = False
    return _numba_ok


def choose(x, impl=None):
    impl = impl or os.environ.get("MINIGRAD_IM2COL") or None
    if is_cupy_array(x):
        if impl not in (None, "cupy"):
            raise ValueError(f"im2col: implementation {impl!r} cannot run on a CuPy (GPU) array")
        from . import cupy_kernels
        return cupy_kernels
    if impl == "cupy":
        raise ValueError("im2col: implementation 'cupy' needs a CuPy (GPU) array")
    if impl not in (None, "numpy", "numba"):
        raise ValueError(f"im2col: unknown implementation {impl!r}; choose from {IMPLEMENTATIONS}")
    if impl == "numba" or (impl is None and numba_available()):
        from . import numba_kernels
        return numba_kernels
    from . import reference
    return reference


def im2col(x, kernel, stride, padding, dilation=(1, 1), pad_value=0.0, impl=None, out=None, parallel=True):
    """The column matrix of ``x``; written into ``out`` (a reused buffer) when given.
    parallel=False asks for one thread (only the Numba kernels use more: the others ignore it)."""
    return choose(x, impl).im2col(x, kernel, stride, padding, dilation, pad_value, out, parallel)


def col2im(cols, shape, kernel, stride, padding, dilation=(1, 1), impl=None, out=None, parallel=True):
    """The image-shaped sum of ``cols`` (the adjoint of im2col); into ``out`` when given."""
    return choose(cols, impl).col2im(cols, shape, kernel, stride, padding, dilation, out, parallel)
