"""PyTorch's place for it: ``minigrad.nn.parallel.DistributedDataParallel`` (the code is in
minigrad/distributed/ddp.py, which builds on nn: it is looked up when first asked for)."""


def __getattr__(name):
    if name == "DistributedDataParallel":
        from ..distributed.ddp import DistributedDataParallel

        return DistributedDataParallel
    raise AttributeError(f"module 'minigrad.nn.parallel' has no attribute {name!r}")
