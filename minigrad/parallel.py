"""Run one function on several threads at once, one per core, each with a single-threaded BLAS.

Why: a conv layer's im2col path is a chain of short steps per chunk of images (build the
columns, one or two matrix products, col2im). Run step by step with every step using both
cores, each step ends in a barrier where the cores wait for each other and hand the data over
(OpenBLAS's threads wake up, Numba's threads wake up, the chunk's columns move between the
cores' caches). Giving each core its own chunks instead, start to finish, removed that: the
CIFAR net's second conv layer ran its forward pass in 7 ms instead of 9-11 (2-core Xeon).

Each worker's matrix products must then run on one thread: two workers each asking OpenBLAS
for two threads would put four threads on two cores. NumPy has no setting for that, so
`single_threaded_blas` finds the OpenBLAS library NumPy loaded and calls its C functions
(openblas_set_num_threads) through ctypes. Where it finds none (NumPy built on MKL or Apple's
Accelerate, or not Linux) `workers()` is 1, and callers run their chunks one after another
with the library's own threads, as before; MINIGRAD_WORKERS=1 in the environment asks for
that too (to compare, or to rule the threads out when debugging).

    def work(worker):                    # worker = 0 .. n-1; the calling thread is worker 0
        for k in range(worker, len(chunks), n):
            ...                          # chunk k, on this worker's core
    run_on_workers(work, n)
"""
import contextlib
import ctypes
import os
import threading
from concurrent.futures import ThreadPoolExecutor

_blas = None  # (get_num_threads, set_num_threads) C functions, or () when there are none
_pool, _pool_size = None, 0
_lock = threading.Lock()


def _numpy_blas_is_openblas():
    """What NumPy says it was built with (NumPy >= 1.26); True when it cannot say."""
    import numpy

    try:
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    except Exception:  # older NumPy: no machine-readable config; the library search decides
        return True
    return "openblas" in blas.lower()


def _openblas_functions():
    """openblas_{get,set}_num_threads of the OpenBLAS NumPy loaded, or ()."""
    import numpy  # loads its BLAS, so that it is mapped below

    if not _numpy_blas_is_openblas():
        return ()
    try:
        with open("/proc/self/maps") as maps:  # Linux: the libraries mapped into this process
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return ()
    # NumPy's own copy first (numpy.libs/ or numpy/.libs/ of a wheel), should another library
    # in this process have brought an OpenBLAS of its own
    numpy_home = os.path.dirname(numpy.__file__)
    candidates = sorted((p for p in paths if "openblas" in os.path.basename(p).lower()),
                        key=lambda p: not p.startswith(numpy_home))
    for path in candidates:
        try:
            library = ctypes.CDLL(path)  # already loaded: this only returns a handle to it
        except OSError:
            continue
        # scipy-openblas (NumPy's wheels) prefixes its symbols; 64-bit-integer builds add "64_"
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                get = getattr(library, f"{prefix}_get_num_threads{suffix}", None)
                set_ = getattr(library, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and set_ is not None:
                    get.restype, set_.argtypes = ctypes.c_int, [ctypes.c_int]
                    return get, set_
    return ()


def _functions():
    global _blas
    if _blas is None:
        _blas = () if os.environ.get("MINIGRAD_WORKERS") == "1" else _openblas_functions()
    return _blas


def workers():
    """How many workers `run_on_workers` should get: OpenBLAS's thread count (one per core
    unless OPENBLAS_NUM_THREADS or OMP_NUM_THREADS says otherwise), or 1 where BLAS's
    threads cannot be controlled."""
    blas = _functions()
    return max(1, blas[0]()) if blas else 1


@contextlib.contextmanager
def single_threaded_blas():
    """OpenBLAS on one thread inside the block (nothing changes where it cannot be found)."""
    blas = _functions()
    if not blas:
        yield
        return
    get, set_ = blas
    threads = get()
    set_(1)
    try:
        yield
    finally:
        set_(threads)


def run_on_workers(work, n):
    """Call work(0), ..., work(n-1) at once on n threads (the caller is worker 0) with a
    single-threaded BLAS, and return when all are done; an exception in any is raised here."""
    if n <= 1:
        work(0)
        return
    pool = _thread_pool(n - 1)
    with single_threaded_blas():
        others = [pool.submit(work, worker) for worker in range(1, n)]
        try:
            work(0)
        finally:
            for future in others:
                future.result()


def _thread_pool(size):
    global _pool, _pool_size
    with _lock:
        if _pool_size < size:
            _pool, _pool_size = ThreadPoolExecutor(max_workers=size, thread_name_prefix="minigrad-worker"), size
        return _pool


def _forget_pool():
    """A forked child has none of its parent's threads: start a fresh pool there."""
    global _pool, _pool_size, _lock
    _pool, _pool_size, _lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
