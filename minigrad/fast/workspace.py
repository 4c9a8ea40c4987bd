"""A pool of reusable scratch arrays for the big temporary buffers of the layers.

Why: a fresh 40 MB array costs thousands of page faults the first time it is written
(6-8 ms here, more than the im2col that fills it); a reused one costs nothing. The conv
layer takes its column matrices from this pool and gives them back once its backward pass
is done (or at once, when no backward will come).

    buffer = workspace.take((rows, cols), np.float32, np)   # uninitialised, like np.empty
    ...
    workspace.give(buffer)                                   # may be handed out again

A request is served by the smallest free buffer that is large enough (the front of it,
reshaped), so that layers of different shapes share buffers instead of each keeping its
own: the CIFAR net's third conv layer reuses its second's, one set of buffers for the step.
"""
_free = {}  # (dtype, array module) -> free flat buffers
_lent = {}  # id(array handed out) -> (that array, the flat buffer it is the front of)
MAX_FREE = 8  # free buffers kept per dtype: the largest


def _key(dtype, xp):
    return (str(xp.dtype(dtype)), xp.__name__)


def take(shape, dtype, xp):
    size = 1
    for length in shape:
        size *= length
    free = _free.get(_key(dtype, xp), [])
    fitting = [k for k, buffer in enumerate(free) if buffer.size >= size]
    if fitting:
        buffer = free.pop(min(fitting, key=lambda k: free[k].size))
    else:
        buffer = xp.empty(size, dtype=dtype)
    array = buffer[:size].reshape(shape)
    _lent[id(array)] = (array, buffer)
    return array


def give(array):
    if array is None:
        return
    lent = _lent.pop(id(array), None)
    if lent is None or lent[0] is not array:  # not one of ours (or given back twice)
        return
    buffer = lent[1]
    xp = __import__(type(buffer).__module__.split(".")[0])
    free = _free.setdefault(_key(buffer.dtype, xp), [])
    free.append(buffer)
    if len(free) > MAX_FREE:
        free.pop(min(range(len(free)), key=lambda k: free[k].size))
