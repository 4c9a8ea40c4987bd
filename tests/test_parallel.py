"""minigrad.fast.parallel: every worker runs once, errors reach the caller, BLAS is
single-threaded inside and restored after, a larger pool replaces a smaller one, a batch cut into even slices."""
import threading

import numpy as np
import pytest
from hypothesis import given, strategies as st

from minigrad.fast import parallel


def test_every_worker_runs_once_and_the_caller_is_worker_zero():
    seen = []
    lock = threading.Lock()

    def work(worker):
        with lock:
            seen.append((worker, threading.get_ident()))

    parallel.run_on_workers(work, 3)
    assert sorted(worker for worker, _ in seen) == [0, 1, 2]
    assert dict(seen)[0] == threading.get_ident()


def test_an_error_in_a_worker_is_raised_in_the_caller_after_the_others_finish():
    finished = []

    def work(worker):
        if worker == 1:
            raise KeyError("worker 1 failed")
        finished.append(worker)

    with pytest.raises(KeyError, match="worker 1 failed"):
        parallel.run_on_workers(work, 3)
    assert sorted(finished) == [0, 2]


@pytest.mark.skipif(not parallel._blas_libraries(), reason="threadpoolctl finds no BLAS library it can control here")
def test_blas_runs_on_one_thread_inside_and_gets_its_threads_back_after():
    def get():
        return max(lib.num_threads for lib in parallel._blas_libraries().lib_controllers)

    before = get()
    inside = []
    parallel.run_on_workers(lambda worker: inside.append(get()), 2)
    assert inside == [1, 1] and get() == before
    if parallel._pinned is None:  # (not after tune_process(), which keeps the BLAS on one thread)
        assert before == parallel.workers()
    with pytest.raises(ZeroDivisionError), parallel.single_threaded_blas():
        1 / 0
    assert get() == before


def test_matrix_products_on_two_workers_at_once_are_exact():
    # OpenBLAS called from two threads at once, each single-threaded: same results as one alone
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 300, 200)), rng.standard_normal((2, 200, 100))
    results = [None, None]

    def work(worker):
        for _ in range(5):
            results[worker] = a[worker] @ b[worker]

    parallel.run_on_workers(work, 2)
    for k in range(2):
        with parallel.single_threaded_blas():  # OpenBLAS may round differently on two threads
            np.testing.assert_array_equal(results[k], a[k] @ b[k])


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_gets_a_fresh_pool_instead_of_its_parents_dead_threads():
    import multiprocessing

    parallel.run_on_workers(lambda worker: None, 2)  # the parent's pool now has a thread
    child = multiprocessing.get_context("fork").Process(target=parallel.run_on_workers, args=(lambda worker: None, 2))
    child.start()
    child.join(timeout=30)
    hung = child.is_alive()
    if hung:
        child.kill()
    assert not hung and child.exitcode == 0


def test_a_larger_pool_shuts_the_smaller_one_down():
    parallel.run_on_workers(lambda worker: None, 2)
    small = parallel._pool
    parallel.run_on_workers(lambda worker: None, parallel._pool_size + 2)
    assert parallel._pool is not small and small._shutdown


@given(size=st.integers(0, 1000), pieces=st.integers(1, 40))
def test_even_slices_cover_the_range_in_order_with_lengths_one_apart(size, pieces):
    slices = parallel.even_slices(size, pieces)
    assert len(slices) == pieces
    assert [i for s in slices for i in range(size)[s]] == list(range(size))
    lengths = [s.stop - s.start for s in slices]
    assert max(lengths) - min(lengths) <= 1


def test_workers_claim_chunks_in_turn_so_a_slow_worker_takes_fewer():
    # Worker 1 stalls on its first chunk (its core busy elsewhere): worker 0 takes the rest
    # instead of waiting for worker 1's fixed share. Every chunk runs exactly once.
    import time

    done = []
    lock = threading.Lock()

    def work(worker, k):
        if worker == 1 and not any(w == 1 for w, _ in done):
            time.sleep(0.2)
        with lock:
            done.append((worker, k))

    parallel.for_each_chunk(work, 12, 2)
    assert sorted(k for _, k in done) == list(range(12))
    assert sum(1 for w, _ in done if w == 0) >= 10


def test_workers_keep_the_callers_numpy_error_state():
    # np.errstate lives in a context variable: each worker runs in a copy of the caller's
    seen = []

    def work(worker):
        seen.append(np.geterr()["invalid"])

    with np.errstate(invalid="raise"):
        parallel.run_on_workers(work, 3)
    assert seen == ["raise"] * 3
