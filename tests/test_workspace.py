"""minigrad.fast.workspace: buffers given back are lent again (the smallest that fits), never
to two holders at once."""
import numpy as np

from minigrad.fast import workspace


def test_a_buffer_given_back_serves_a_smaller_request_and_never_two_holders():
    workspace._free.clear()
    big = workspace.take((100, 40), np.float32, np)
    workspace.give(big)
    small = workspace.take((30, 20), np.float32, np)       # the third layer after the second
    assert small.shape == (30, 20) and np.shares_memory(small, big)
    other = workspace.take((30, 20), np.float32, np)       # the first is lent: a fresh one
    assert not np.shares_memory(other, small)
    workspace.give(small)
    workspace.give(small)                                   # twice: given back once only
    a, b = workspace.take((10,), np.float32, np), workspace.take((10,), np.float32, np)
    assert not np.shares_memory(a, b)
    assert np.shares_memory(a, big) or np.shares_memory(b, big)


def test_the_smallest_fitting_buffer_is_lent_and_dtypes_are_kept_apart():
    workspace._free.clear()
    large, medium = workspace.take((1000,), np.float32, np), workspace.take((100,), np.float32, np)
    workspace.give(large)
    workspace.give(medium)
    assert workspace.take((64,), np.float64, np).dtype == np.float64  # not a float32 buffer
    assert np.shares_memory(workspace.take((50,), np.float32, np), medium)
    assert np.shares_memory(workspace.take((500,), np.float32, np), large)


def test_an_array_that_is_not_the_pools_is_ignored():
    workspace._free.clear()
    workspace.give(np.empty(10, np.float32))
    assert workspace._free == {}


def test_a_buffer_never_given_back_is_freed_like_any_array():
    # (a graph dropped before its backward keeps its conv columns until then, no longer)
    import gc
    import weakref

    workspace._free.clear()
    lent = workspace.take((1000,), np.float32, np)
    flat = lent.base
    while flat.base is not None:
        flat = flat.base
    alive = weakref.ref(flat)
    del lent, flat
    gc.collect()
    assert alive() is None
