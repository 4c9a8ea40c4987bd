"""The MPI engine (mpi4py): collectives on NumPy arrays, in place.

Each collective is started non-blocking and waited for with a deadline: a rank that stopped
(killed, or stopped with SIGSTOP) or that takes a different number of steps would otherwise
leave the others waiting for ever. Past the deadline the waiting rank raises a
CollectiveTimeout naming itself and the operation, and the job ends (see
distributed/__init__.py: an uncaught error aborts every rank).
"""
import time

import numpy as np



def mpi():
    """mpi4py's MPI, imported when a group is made (so that this module, and the API
    reference, load without it), or an ImportError that says what to install."""
    try:
        from mpi4py import MPI
    except ImportError as err:  # pragma: no cover - the message is the point
        raise ImportError("minigrad.distributed with backend 'mpi' needs mpi4py and an MPI library: "
                          "pip install -e \".[distributed]\" (mpi4py and the mpich wheel), then run "
                          "with mpiexec -n N python script.py") from err
    return MPI


class CollectiveTimeout(RuntimeError):
    """A collective waited longer than the process group's timeout for the other ranks."""


class MPIGroup:
    def __init__(self, comm=None, timeout=1800.0):
        self.MPI = mpi()
        self.comm = comm or self.MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.ops = {"sum": self.MPI.SUM, "max": self.MPI.MAX, "min": self.MPI.MIN}
        self.timeout = timeout

    def wait(self, request, operation):
        """Wait for ``request`` until the deadline, sleeping a little longer each poll (up to a
        millisecond) so that a waiting rank leaves its core to the others."""
        deadline, pause = time.monotonic() + self.timeout, 1e-5
        while not request.Test():
            if time.monotonic() > deadline:
                raise CollectiveTimeout(
                    f"rank {self.rank} of {self.size}: {operation} waited {self.timeout:g} s for the other ranks; "
                    f"one of them stopped, failed or took a different number of steps (the timeout: "
                    f"init_process_group(timeout=...) or MINIGRAD_DIST_TIMEOUT)")
            time.sleep(pause)
            pause = min(2 * pause, 1e-3)

    def barrier(self):
        self.wait(self.comm.Ibarrier(), "barrier")

    def broadcast(self, array, src):
        self.wait(self.comm.Ibcast(_contiguous(array), root=src), "broadcast")

    def all_reduce(self, array, op="sum"):
        self.wait(self.comm.Iallreduce(self.MPI.IN_PLACE, _contiguous(array), op=self.ops[op]), "all_reduce")

    all_reduce_host = all_reduce

    def all_reduce_async(self, array):
        """Start summing ``array`` over the ranks; returns a handle whose Wait() finishes it."""
        return _TimedRequest(self, self.comm.Iallreduce(self.MPI.IN_PLACE, _contiguous(array), op=self.MPI.SUM))

    def all_gather(self, array):
        out = np.empty((self.size,) + array.shape, dtype=array.dtype)
        self.wait(self.comm.Iallgather(np.ascontiguousarray(array), out), "all_gather")
        return list(out)

    def local_rank(self):
        """This rank's number among the ranks on its own machine."""
        return self.comm.Split_type(self.MPI.COMM_TYPE_SHARED).Get_rank()

    def abort(self, code):
        self.comm.Abort(code)


class _TimedRequest:
    def __init__(self, group, request):
        self.group, self.request = group, request

    def Wait(self):  # noqa: N802 - the name of MPI requests' method
        self.group.wait(self.request, "all_reduce of gradients (DistributedDataParallel)")


def _contiguous(array):
    if not array.flags.c_contiguous:
        raise ValueError("distributed collectives need contiguous arrays (make one with np.ascontiguousarray)")
    return array
