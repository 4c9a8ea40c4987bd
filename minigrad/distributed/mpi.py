"""The MPI engine (mpi4py): collectives on NumPy arrays, in place."""
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


class MPIGroup:
    def __init__(self, comm=None):
        self.MPI = mpi()
        self.comm = comm or self.MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.ops = {"sum": self.MPI.SUM, "max": self.MPI.MAX, "min": self.MPI.MIN}

    def barrier(self):
        self.comm.Barrier()

    def broadcast(self, array, src):
        self.comm.Bcast(_contiguous(array), root=src)

    def all_reduce(self, array, op="sum"):
        self.comm.Allreduce(self.MPI.IN_PLACE, _contiguous(array), op=self.ops[op])

    all_reduce_host = all_reduce

    def all_reduce_async(self, array):
        """Start summing ``array`` over the ranks; returns a handle whose wait() finishes it."""
        return self.comm.Iallreduce(self.MPI.IN_PLACE, _contiguous(array), op=self.MPI.SUM)

    def all_gather(self, array):
        out = np.empty((self.size,) + array.shape, dtype=array.dtype)
        self.comm.Allgather(np.ascontiguousarray(array), out)
        return list(out)

    def abort(self, code):
        self.comm.Abort(code)


def _contiguous(array):
    if not array.flags.c_contiguous:
        raise ValueError("distributed collectives need contiguous arrays (make one with np.ascontiguousarray)")
    return array
