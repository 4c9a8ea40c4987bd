"""Every process-wide setting minigrad changes, in one place, with one off switch.

`import minigrad` calls `tune()` before it imports NumPy. With the fast kernels (the default)
it changes these three settings, each for the speed of the fast kernels; nothing else in
minigrad touches the process:

  OPENBLAS_THREAD_TIMEOUT=4   (environment; only if unset) OpenBLAS's worker threads keep
      spinning for a while after each matrix product, and the Numba kernels that run next
      (im2col, col2im, pooling) then share the cores with spinning threads and take twice as
      long. A short timeout lets them sleep. OpenBLAS reads it when NumPy first loads it, so
      it only takes effect if minigrad is imported before NumPy.
  OMP_WAIT_POLICY=PASSIVE     (environment; only if unset) the same for the OpenMP threads
      of Numba's parallel loops, which would otherwise spin between kernels and steal the
      cores the next matrix product needs. Read when Numba starts its threads.
  glibc malloc settings       (mallopt: M_MMAP_MAX 0, M_TRIM_THRESHOLD 1 GB)
      every op of a training step allocates its output afresh, and the previous step's
      arrays of the same sizes were just freed. By default glibc maps each large block
      (above an adaptive threshold of at most 32 MB) from the operating system on its own
      and unmaps it when freed, so every step page-faults that memory in again, zeroed by
      the kernel: a whole extra pass over every large array. M_MMAP_MAX 0 serves all blocks
      from the heap, and the trim threshold keeps freed memory there for the next step.
      (A threshold alone is not enough: glibc caps it at 32 MB, and a batch of 512 gives
      the CIFAR net's first layer activations of exactly 32 MiB.) The price: memory freed
      after a peak stays with the process, as in the caching allocators of the big
      frameworks. Linux with glibc only.

MINIGRAD_TUNE_PROCESS=0 in the environment switches all three off; so does choosing the
reference kernels with MINIGRAD_KERNELS=reference (they gain nothing from them).
`tuned()` lists what this process was given.
"""
import ctypes
import os
import platform

ENVIRONMENT = {"OPENBLAS_THREAD_TIMEOUT": "4", "OMP_WAIT_POLICY": "PASSIVE"}

# From glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
MMAP_MAX = 0  # how many blocks may be mapped on their own: none, every block comes from the heap
TRIM_THRESHOLD = 1 << 30  # give the heap's free top back only when this much is free

_applied = {}


def wanted():
    """True unless MINIGRAD_TUNE_PROCESS=0 or MINIGRAD_KERNELS=reference."""
    return os.environ.get("MINIGRAD_TUNE_PROCESS", "1") != "0" and os.environ.get("MINIGRAD_KERNELS") != "reference"


def tune():
    """Apply the settings above (once); return what was changed, as `tuned()` does."""
    if _applied or not wanted():
        return tuned()
    for name, value in ENVIRONMENT.items():
        if name not in os.environ:
            os.environ[name] = _applied[name] = value
    if tune_malloc():
        _applied["malloc"] = f"M_MMAP_MAX={MMAP_MAX}, M_TRIM_THRESHOLD={TRIM_THRESHOLD}"
    return tuned()


def tuned():
    """{setting: value} for each setting this process was given by `tune()`."""
    return dict(_applied)


def tune_malloc():
    """Set glibc's malloc settings; True if they were set."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(M_MMAP_MAX, MMAP_MAX)) and bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):
        return False
