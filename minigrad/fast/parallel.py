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

`blas_on_one_thread()` (called by process.tune) goes further and keeps the BLAS on one
thread for good; the workers then are the only way a product uses several cores (fast
Linear cuts its products in pieces for them). Why: after each multi-threaded product,
OpenBLAS's own threads keep spinning for up to 2^28 cycles (~0.1 s) waiting for the next
one, and a step of small layers never leaves them that long. The spinning thread takes a
core from whatever runs next: the CIFAR net's conv layers ran 1.7x slower inside a training
step than alone (2-core Xeon, batch 128: step 120 ms against 70 with the spinning cut short
by OPENBLAS_THREAD_TIMEOUT=4, which OpenBLAS reads only when it is loaded).

Workers claim their chunks in turn from a shared counter rather than by a fixed rule, so a
worker whose core is busy with another process takes fewer of them instead of holding
up the rest. The chunks are cut by the shapes alone and each one's result goes to its own
place, so the bits do not depend on which worker took which chunk.

    def work(worker, k):                 # chunk k, on worker `worker`'s core (0 .. n-1;
        ...                              # the calling thread is worker 0)
    for_each_chunk(work, len(chunks), n)
"""
import contextlib
import contextvars
import os
import threading
from concurrent.futures import ThreadPoolExecutor

_blas = None  # threadpoolctl's handle on the BLAS libraries, or False where there is none
_cores = 1  # the BLAS's thread count when first seen (before blas_on_one_thread)
_pinned = None  # threadpoolctl's limiter that keeps the BLAS on one thread, once asked
_pool, _pool_size = None, 0
_lock = threading.Lock()


def _blas_libraries():
    global _blas, _cores
    if _blas is None:
        _blas = False
        if os.environ.get("MINIGRAD_WORKERS") != "1":
            import numpy  # noqa: F401  (loads its BLAS, so that threadpoolctl can find it)
            ThreadpoolController = _threadpoolctl_controller()

            blas = ThreadpoolController().select(user_api="blas")
            if blas.lib_controllers:
                _blas, _cores = blas, max(1, max(lib.num_threads for lib in blas.lib_controllers))
    return _blas


def _threadpoolctl_controller():
    """threadpoolctl's ThreadpoolController, imported without the environment variable its
    import sets (KMP_DUPLICATE_LIB_OK, for Intel's OpenMP): minigrad changes only the
    settings process.py lists."""
    before = os.environ.get("KMP_DUPLICATE_LIB_OK")
    from threadpoolctl import ThreadpoolController

    if before is None:
        os.environ.pop("KMP_DUPLICATE_LIB_OK", None)
    return ThreadpoolController


def workers():
    """How many workers `run_on_workers` should get: the BLAS's thread count as first seen
    (one per core unless OPENBLAS_NUM_THREADS or OMP_NUM_THREADS says otherwise), or 1 where
    the BLAS's threads cannot be controlled."""
    return _cores if _blas_libraries() else 1


def blas_on_one_thread():
    """Keep the BLAS on one thread from now on (the module docstring says why); True if it
    could be done."""
    global _pinned
    blas = _blas_libraries()
    if blas and _pinned is None:
        _pinned = blas.limit(limits=1)
    return bool(blas)


@contextlib.contextmanager
def single_threaded_blas():
    """The BLAS on one thread inside the block (nothing changes where it cannot be found)."""
    blas = _blas_libraries()
    if not blas or _pinned is not None:  # (pinned: on one thread already)
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
        # each in a copy of the caller's context: NumPy's error state (np.errstate) is kept
        # there, and a worker should warn, raise or stay silent as the caller asked
        others = [pool.submit(contextvars.copy_context().run, work, worker) for worker in range(1, n)]
        try:
            work(0)
        finally:
            for future in others:
                future.result()


def for_each_chunk(work, chunks, n):
    """Call work(worker, k) for k = 0 .. chunks-1 on n workers (`run_on_workers`), each
    worker claiming the next chunk not yet taken when it is free."""
    claims = iter(range(chunks))
    claiming = threading.Lock()

    def run(worker):
        while True:
            with claiming:
                k = next(claims, None)
            if k is None:
                return
            work(worker, k)

    run_on_workers(run, min(n, chunks))


#: Values a loop walks (times its passes over them), at least, for it to be shared out over
#: the cores. The threads that would share it sleep between loops (a worker here, or OpenMP's
#: for Numba's loops: OMP_WAIT_POLICY=PASSIVE, process.py), and waking one costs ~60-80 µs
#: on a VM: as long as one thread takes for ~400,000 ReLUs or ~100,000 sigmoids.
PARALLEL_MIN_VALUES = 1 << 19


@contextlib.contextmanager
def loop_threads(values):
    """Inside the block, Numba's parallel loops run on every core if they walk at least
    PARALLEL_MIN_VALUES values, else on the calling thread alone. The same loops either way,
    and the same bits: each iteration's work is the same however many threads share them.

    The CIFAR net's first activations at batch 32 (150,528 values, 2-core Xeon): a ReLU
    forward pass 82 -> 31 µs, max pooling 96 -> 71 µs; at 2 million values the cores win
    (ReLU 756 µs on one, 464 on two)."""
    if values >= PARALLEL_MIN_VALUES:
        yield
        return
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


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
