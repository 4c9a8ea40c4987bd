"""Data-parallel training over processes and machines, on existing engines: MPI through
mpi4py on CPUs, NCCL through CuPy on GPUs. PyTorch's names:

    mpiexec -n 4 python train.py        # four processes (ranks), on one or several machines

    import minigrad.distributed as dist
    dist.init_process_group("mpi")                     # rank and world size from the launcher
    model = dist.DistributedDataParallel(model)        # same start, averaged gradients
    sampler = dist.DistributedSampler(len(train_set), shuffle=True, seed=0)
    loader = DataLoader(train_arrays, batch_size=32, sampler=sampler)   # each rank its shard

Every rank runs the same script on its own shard of each batch; after backward the
gradients are averaged over the ranks, so every rank takes the same optimizer step and the
models stay identical. The collectives (this module's functions) work on tensors in place,
as torch.distributed's do.
"""
import atexit
import os
import sys
import time

import numpy as np

from ..tensor import Tensor

_group = None


class ReduceOp:
    SUM = "sum"
    MAX = "max"
    MIN = "min"


class DistributedError(RuntimeError):
    """The process group is missing, its engine (mpi4py, NCCL) cannot be used, or the ranks
    disagree (launch settings, the number of steps in an epoch)."""


def init_process_group(backend="mpi", init_method=None, timeout=None, world_size=None, rank=None):
    """Join the processes started by the launcher (``mpiexec -n N``). ``backend`` is "mpi"
    (mpi4py; NumPy arrays) or "nccl" (CuPy arrays on one GPU per rank; the ranks find each
    other through MPI). An error in any rank that is not caught ends every rank, so that a
    failure never leaves the others waiting in a collective.

    PyTorch's conventions: ``init_method="env://"`` (or RANK and WORLD_SIZE in the
    environment), ``rank=`` and ``world_size=`` are checked against what MPI says; LOCAL_RANK
    is set for the script when the launcher did not set it. ``timeout`` (seconds or a
    timedelta; default MINIGRAD_DIST_TIMEOUT, else 30 minutes, PyTorch's) bounds how long a
    collective waits for the other ranks before it raises, naming the rank and the operation."""
    global _group
    if _group is not None:
        raise DistributedError("init_process_group: the process group is already initialised")
    if init_method not in (None, "env://"):
        raise DistributedError(f"init_process_group: init_method={init_method!r}: minigrad's ranks meet through "
                               f"MPI; start them with mpiexec -n N (init_method 'env://' is accepted)")
    seconds = _timeout_seconds(timeout)
    if backend == "mpi":
        from .mpi import MPIGroup

        made = MPIGroup(timeout=seconds)
    elif backend == "nccl":
        from .nccl import NCCLGroup

        made = NCCLGroup(timeout=seconds)
    else:
        raise ValueError(f"init_process_group: backend must be 'mpi' or 'nccl', got {backend!r}")
    _check_launch(made, world_size, rank)
    _group = made
    os.environ.setdefault("LOCAL_RANK", str(_group.local_rank()))
    _abort_all_ranks_on_error()
    atexit.register(destroy_process_group)
    return _group


def _timeout_seconds(timeout):
    if timeout is None:
        timeout = float(os.environ.get("MINIGRAD_DIST_TIMEOUT", 1800))
    seconds = timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)
    if not seconds > 0:
        raise ValueError(f"init_process_group: timeout must be positive, got {timeout!r}")
    return seconds


def _check_launch(made, world_size, rank):
    """What PyTorch's launchers and arguments say must be what MPI says."""
    env_size, env_rank = os.environ.get("WORLD_SIZE"), os.environ.get("RANK")
    for what, given, actual in (("world_size", world_size, made.size), ("rank", rank, made.rank),
                                ("WORLD_SIZE", env_size, made.size), ("RANK", env_rank, made.rank)):
        if given is not None and int(given) != actual:
            hint = (" (a launcher such as torchrun started these processes; minigrad's ranks meet through MPI: "
                    "start them with mpiexec -n N)" if what in ("WORLD_SIZE", "RANK") and made.size == 1 else "")
            raise DistributedError(f"init_process_group: {what} is {given}, but MPI gives {actual}{hint}")


def get_local_rank():
    """This process's number among the ranks on its machine (which GPU it takes)."""
    return _group.local_rank() if _group is not None else 0


def destroy_process_group():
    global _group
    _group = None


def is_initialized():
    return _group is not None


def group():
    if _group is None:
        raise DistributedError("no process group: call minigrad.distributed.init_process_group() first "
                               "(and start the script with mpiexec -n N)")
    return _group


def get_rank():
    """This process's number, 0 .. world size - 1 (0 when no process group is initialised)."""
    return _group.rank if _group is not None else 0


def get_world_size():
    return _group.size if _group is not None else 1


def barrier():
    group().barrier()


def broadcast(tensor, src=0):
    """Overwrite ``tensor`` on every rank with its value on rank ``src``."""
    group().broadcast(_array(tensor), src)


def all_reduce(tensor, op=ReduceOp.SUM):
    """Replace ``tensor`` on every rank by the sum (or max, min) of its values over the ranks."""
    group().all_reduce(_array(tensor), op)


def all_gather(tensor_list, tensor):
    """Fill ``tensor_list`` (one tensor per rank, shaped like ``tensor``) with every rank's ``tensor``."""
    if len(tensor_list) != get_world_size():
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} entries for {get_world_size()} ranks")
    gathered = group().all_gather(_array(tensor))
    for target, value in zip(tensor_list, gathered):
        _array(target)[...] = value


def reduce_numbers(values, op=ReduceOp.SUM):
    """Sum (or max, min) a few Python numbers over the ranks: metrics, counts, flags."""
    if _group is None:
        return list(values)
    array = np.asarray(values, dtype=np.float64)
    _group.all_reduce_host(array, op)
    return array.tolist()


def abort_other_ranks(code):
    """End every rank of the job (MPI_Abort) if this process is one of several: called on
    an error that stops this rank, so that no other rank waits for it in a collective."""
    if _group is not None and _group.size > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        time.sleep(0.5)  # the launcher forwards this rank's last words before the abort ends it
        _group.abort(code)


def _array(tensor):
    if isinstance(tensor, Tensor):
        return tensor.data
    if hasattr(tensor, "shape") and hasattr(tensor, "dtype"):
        return tensor
    raise TypeError(f"expected a Tensor or an array, got {type(tensor).__name__}")


def _abort_all_ranks_on_error():
    """An exception that reaches the top of one rank prints its traceback there, then ends
    every rank (MPI_Abort): the others would otherwise wait in their next collective forever."""
    previous = sys.excepthook

    def hook(kind, value, traceback):
        previous(kind, value, traceback)
        abort_other_ranks(1)

    sys.excepthook = hook


from .ddp import DistributedDataParallel  # noqa: E402,F401
from .sampler import DistributedSampler  # noqa: E402,F401
