"""The NCCL engine (CuPy): collectives on CuPy arrays, one GPU per rank. The ranks find
each other through MPI (rank 0 makes NCCL's unique id and broadcasts it), so the launcher
is mpiexec here too; each rank uses GPU number (its rank on its machine) % (GPUs there)."""
import numpy as np

from .. import backend
from .mpi import MPIGroup


class NCCLGroup:
    def __init__(self, timeout=1800.0):
        cupy = backend.cupy_module()
        from cupy.cuda import nccl

        self.cupy, self.nccl = cupy, nccl
        self.host = MPIGroup(timeout=timeout)  # for the unique id, barriers and host-side numbers
        self.rank, self.size = self.host.rank, self.host.size
        cupy.cuda.Device(self.host.local_rank() % cupy.cuda.runtime.getDeviceCount()).use()
        uid = np.frombuffer(bytes(nccl.get_unique_id()) if self.rank == 0 else bytes(128), dtype=np.uint8).copy()
        self.host.broadcast(uid, 0)
        self.comm = nccl.NcclCommunicator(self.size, tuple(int(b) for b in uid), self.rank)
        self._ops = {"sum": nccl.NCCL_SUM, "max": nccl.NCCL_MAX, "min": nccl.NCCL_MIN}

    def _dtype(self, array):
        kinds = {np.dtype(np.float32): self.nccl.NCCL_FLOAT32, np.dtype(np.float64): self.nccl.NCCL_FLOAT64,
                 np.dtype(np.float16): self.nccl.NCCL_FLOAT16, np.dtype(np.int64): self.nccl.NCCL_INT64,
                 np.dtype(np.int32): self.nccl.NCCL_INT32}
        return kinds[np.dtype(array.dtype)]

    def _stream(self):
        return self.cupy.cuda.get_current_stream().ptr

    def barrier(self):
        self.cupy.cuda.get_current_stream().synchronize()
        self.host.barrier()

    def broadcast(self, array, src):
        self.comm.bcast(array.data.ptr, array.size, self._dtype(array), src, self._stream())

    def all_reduce(self, array, op="sum"):
        self.comm.allReduce(array.data.ptr, array.data.ptr, array.size, self._dtype(array), self._ops[op],
                            self._stream())

    def all_reduce_host(self, array, op="sum"):
        self.host.all_reduce(array, op)

    def all_reduce_async(self, array):
        """NCCL queues the reduction on the stream: later kernels on that stream see its result."""
        self.all_reduce(array)
        return _Done()

    def all_gather(self, array):
        out = self.cupy.empty((self.size,) + array.shape, dtype=array.dtype)
        self.comm.allGather(array.data.ptr, out.data.ptr, array.size, self._dtype(array), self._stream())
        return list(out)

    def abort(self, code):
        self.host.abort(code)

    def local_rank(self):
        return self.host.local_rank()


class _Done:
    def Wait(self):  # noqa: N802 - the name of MPI requests' method
        return None
