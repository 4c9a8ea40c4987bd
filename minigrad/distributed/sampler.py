"""DistributedSampler: each rank its own, equal-sized shard of the data, reshuffled per epoch."""
import math

import numpy as np


class DistributedSampler:
    """The indices of this rank's shard, as PyTorch's DistributedSampler:

    * with ``shuffle``, the whole index list is permuted from (seed, epoch), the same on
      every rank, so the shards never overlap and a new epoch gives a new split;
    * the list is padded by repeating its start (or, with ``drop_last``, cut) to a multiple
      of the number of ranks, so every rank has the same number of samples and of batches:
      the ranks must take the same number of steps, since each step waits for all of them;
    * rank r takes positions r, r + R, r + 2R, ... of it.

    Give it to a DataLoader as ``sampler=`` and call ``sampler.set_epoch(epoch)`` before each
    epoch, as in PyTorch (the loader's own ``set_epoch`` sets it too; the Trainer calls that).
    PyTorch's trap, kept: without set_epoch every epoch has epoch 0's order.
    """

    def __init__(self, dataset_or_length, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        from . import get_rank, get_world_size

        self.length = dataset_or_length if isinstance(dataset_or_length, (int, np.integer)) else len(dataset_or_length)
        self.num_replicas = get_world_size() if num_replicas is None else num_replicas
        self.rank = get_rank() if rank is None else rank
        if not 0 <= self.rank < self.num_replicas:
            raise ValueError(f"DistributedSampler: rank {self.rank} is outside 0..{self.num_replicas - 1}")
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0
        if drop_last:
            self.num_samples = self.length // self.num_replicas
        else:
            self.num_samples = math.ceil(self.length / self.num_replicas)
        if self.num_samples == 0:
            raise ValueError(f"DistributedSampler: {self.length} samples cannot be shared by {self.num_replicas} ranks")
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return self.num_samples

    def indices(self):
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(self.length) if self.shuffle
                 else np.arange(self.length))
        if self.total_size > self.length:  # pad with the start of the list, repeated as needed
            order = np.concatenate([order, np.resize(order, self.total_size - self.length)])
        return order[:self.total_size][self.rank::self.num_replicas]

    def __iter__(self):
        return iter(self.indices().tolist())
