"""Every process-wide setting minigrad can change, in one place, changed only when asked.

`import minigrad` changes nothing in the process. A training script that wants the fast
kernels' best speed calls ``minigrad.tune_process()`` once, before its first step (the
examples and benchmarks do). With the fast kernels (the default) it changes three settings:

  OMP_WAIT_POLICY=PASSIVE     (environment; only if unset) OpenMP's worker threads, which run
      Numba's parallel loops, otherwise keep spinning for a while after each loop and steal
      the cores that the next matrix product needs. Read when Numba starts its threads, at
      the first parallel loop: call tune_process() before that.
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

  BLAS on one thread          (threadpoolctl; parallel.blas_on_one_thread) NumPy's matrix
      products run on one thread each, and the fast kernels spread their work over the
      cores with their own worker threads (parallel.py), which sleep between steps. OpenBLAS's
      own threads, woken by every product that uses several, keep spinning for ~0.1 s after
      it and slowed the conv layers of a CIFAR step by 1.7x.

Settings that a library reads when it is loaded cannot be changed from here once minigrad
(and so NumPy) is imported: OpenBLAS's OPENBLAS_THREAD_TIMEOUT is one (the time its idle
threads spin; with the BLAS on one thread none are woken).

MINIGRAD_TUNE_PROCESS=0 in the environment makes tune_process() change nothing; so does
choosing the reference kernels (they gain nothing from these settings). `tuned()` lists what
this process was given.
"""
import ctypes
import os
import platform

ENVIRONMENT = {"OMP_WAIT_POLICY": "PASSIVE"}

# From glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
MMAP_MAX = 0  # how many blocks may be mapped on their own: none, every block comes from the heap
TRIM_THRESHOLD = 1 << 30  # give the heap's free top back only when this much is free

_applied = {}


def wanted():
    """True unless MINIGRAD_TUNE_PROCESS=0 or the reference kernels are selected."""
    from . import get_kernels

    return os.environ.get("MINIGRAD_TUNE_PROCESS", "1") != "0" and get_kernels() == "fast"


def tune():
    """``minigrad.tune_process()``: apply the settings above (once) and return what was
    changed, as `tuned()` does."""
    if _applied or not wanted():
        return tuned()
    for name, value in ENVIRONMENT.items():
        if name not in os.environ:
            os.environ[name] = _applied[name] = value
    if tune_malloc():
        _applied["malloc"] = f"M_MMAP_MAX={MMAP_MAX}, M_TRIM_THRESHOLD={TRIM_THRESHOLD}"
    from . import parallel

    if parallel.workers() > 1 and parallel.blas_on_one_thread():
        _applied["blas_threads"] = f"1 (the fast kernels' {parallel.workers()} workers share out the products)"
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
