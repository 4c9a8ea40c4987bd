"""PyTorch's place for it: ``minigrad.nn.parallel.DistributedDataParallel`` (the code is in
minigrad/distributed/ddp.py)."""
from ..distributed.ddp import DistributedDataParallel  # noqa: F401
