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
The pool holds only its free buffers: one lent and never given back (a graph dropped
before its backward) is freed like any array.
"""
import weakref

_free = {}  # (dtype, array module) -> free flat buffers
_made = weakref.WeakValueDictionary()  # id -> each flat buffer this pool made (while it lives)
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
        _made[id(buffer)] = buffer
    return buffer[:size].reshape(shape)


def give(array):
    if array is None:
        return
    buffer = array
    while buffer.base is not None:  # the view's flat buffer
        buffer = buffer.base
    if _made.get(id(buffer)) is not buffer:  # not one of ours
        return
    xp = __import__(type(buffer).__module__.split(".")[0])
    free = _free.setdefault(_key(buffer.dtype, xp), [])
    if any(other is buffer for other in free):  # given back twice
        return
    free.append(buffer)
    if len(free) > MAX_FREE:
        free.pop(min(range(len(free)), key=lambda k: free[k].size))
