"""A pool of reusable scratch arrays for the big temporary buffers of the layers.

Why: a fresh 40 MB array costs thousands of page faults the first time it is written
(6-8 ms here, more than the im2col that fills it); a reused one costs nothing. The conv
layer takes its column matrices from this pool and gives them back once its backward pass
is done (or at once, when no backward will come).

    buffer = workspace.take((rows, cols), np.float32, np)   # uninitialised, like np.empty
    ...
    workspace.give(buffer)                                   # may be handed out again
"""
_free = {}
MAX_PER_KEY = 4


def _key(shape, dtype, xp):
    return (tuple(shape), str(dtype), xp.__name__)


def take(shape, dtype, xp):
    stack = _free.get(_key(shape, dtype, xp))
    if stack:
        return stack.pop()
    return xp.empty(shape, dtype=dtype)


def give(array):
    if array is None:
        return
    xp = __import__(type(array).__module__.split(".")[0])
    stack = _free.setdefault(_key(array.shape, array.dtype, xp), [])
    if len(stack) < MAX_PER_KEY and not any(a is array for a in stack):
        stack.append(array)
