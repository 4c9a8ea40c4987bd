"""Run one function on several threads at once, one per core, each with a single-threaded BLAS.

Why: a conv layer's im2col path is a chain of short steps per chunk of images (build the
columns, one or two matrix products, col2im). Run step by step with every step using both
cores, each step ends in a barrier where the cores wait for each other and hand the data over
(OpenBLAS's threads wake up, Numba's threads wake up, the chunk's columns move between the
cores' caches). Giving each core its own chunks instead, start to finish, removed that: the
CIFAR net's second conv layer ran its forward pass in 7 ms instead of 9-11 (2-core Xeon).

Each worker's matrix products must then run on one thread: two workers each asking the BLAS
for two threads would put four threads on two cores. NumPy has no setting for that, so
`single_threaded_blas` goes through threadpoolctl, which finds the BLAS libraries loaded in
this process (OpenBLAS, MKL, BLIS) and sets their thread counts. Where it finds none,
`workers()` is 1 and callers run their chunks one after another with the library's own
threads; MINIGRAD_WORKERS=1 in the environment asks for that too (to compare, or to rule
the threads out when debugging).

    def work(worker):                    # worker = 0 .. n-1; the calling thread is worker 0
        for k in range(worker, len(chunks), n):
            ...                          # chunk k, on this worker's core
    run_on_workers(work, n)
"""
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

_blas = None  # threadpoolctl's handle on the BLAS libraries, or False where there is none
_pool, _pool_size = None, 0
_lock = threading.Lock()


def _blas_libraries():
    global _blas
    if _blas is None:
        _blas = False
        if os.environ.get("MINIGRAD_WORKERS") != "1":
            import numpy  # noqa: F401  (loads its BLAS, so that threadpoolctl can find it)
            from threadpoolctl import ThreadpoolController

            blas = ThreadpoolController().select(user_api="blas")
            _blas = blas if blas.lib_controllers else False
    return _blas


def workers():
    """How many workers `run_on_workers` should get: the BLAS's thread count (one per core
    unless OPENBLAS_NUM_THREADS or OMP_NUM_THREADS says otherwise), or 1 where the BLAS's
    threads cannot be controlled."""
    blas = _blas_libraries()
    return max(1, max(lib.num_threads for lib in blas.lib_controllers)) if blas else 1


@contextlib.contextmanager
def single_threaded_blas():
    """The BLAS on one thread inside the block (nothing changes where it cannot be found)."""
    blas = _blas_libraries()
    if not blas:
        yield
        return
    with blas.limit(limits=1):
        yield


def run_on_workers(work, n):
    """Call work(0), ..., work(n-1) at once on n threads (the caller is worker 0) with a
    single-threaded BLAS, and return when all are done; an exception in any is raised here.
    One worker gets a single-threaded BLAS too: OpenBLAS rounds differently on one thread
    and on several, and the work's bits should not depend on how many workers shared it."""
    if n <= 1:
        with single_threaded_blas():
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


def even_slices(size, pieces):
    """``pieces`` consecutive slices covering range(size), their lengths differing by one at
    most: how a batch is cut into chunks, or an array into one piece per worker."""
    bounds = [size * k // pieces for k in range(pieces + 1)]
    return [slice(start, stop) for start, stop in zip(bounds, bounds[1:])]


def _thread_pool(size):
    global _pool, _pool_size
    with _lock:
        if _pool_size < size:
            if _pool is not None:
                _pool.shutdown(wait=False)  # its threads finish their work and exit
            _pool, _pool_size = ThreadPoolExecutor(max_workers=size, thread_name_prefix="minigrad-worker"), size
        return _pool


def _forget_pool():
    """A forked child has none of its parent's threads: start a fresh pool there."""
    global _pool, _pool_size, _lock
    _pool, _pool_size, _lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
