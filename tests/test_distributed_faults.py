"""Distributed faults: a stopped rank and ranks with unequal step counts end the job with an
error naming the rank and the operation instead of waiting for ever; the augmentation an
image gets does not depend on the number of ranks; PyTorch's launch conventions (env://,
RANK/WORLD_SIZE, LOCAL_RANK) are honoured or refused clearly."""
import json
import os

import numpy as np
import pytest

import minigrad.distributed as dist
from minigrad import data
from test_distributed import launch


def test_a_stopped_rank_makes_the_others_time_out_naming_the_rank_and_operation(tmp_path):
    result = launch(2, "stop", tmp_path, env={"MINIGRAD_DIST_TIMEOUT": "3"}, timeout=120)
    assert result.returncode != 0
    assert "rank 0 of 2: all_reduce waited 3 s for the other ranks" in result.stderr
    assert "should never get here" not in result.stdout


def test_ranks_with_unequal_step_counts_are_stopped_with_a_clear_error(tmp_path):
    result = launch(2, "uneven", tmp_path, timeout=120)
    assert result.returncode != 0
    assert "loaders give from 2 to 3 batches" in result.stderr
    assert "no rank should get here" not in result.stdout


def test_mpiexec_gives_each_rank_its_local_rank(tmp_path):
    result = launch(2, "launch", tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    seen = [json.loads((tmp_path / f"launch_rank{r}.json").read_text()) for r in (0, 1)]
    assert [s["local_rank"] for s in seen] == [0, 1] and [s["LOCAL_RANK"] for s in seen] == ["0", "1"]


def test_torchrun_style_settings_that_mpi_does_not_share_are_refused(monkeypatch):
    pytest.importorskip("mpi4py")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(dist.DistributedError, match="WORLD_SIZE is 2, but MPI gives 1 .*mpiexec -n N"):
        dist.init_process_group("mpi", init_method="env://")
    assert not dist.is_initialized()
    with pytest.raises(dist.DistributedError, match="init_method='tcp://"):
        dist.init_process_group("mpi", init_method="tcp://10.0.0.1:23456")


def augmented_by_sample(replicas, epoch=2):
    """{sample index: its augmented image} over every rank's shard of one epoch."""
    images = np.arange(10 * 3 * 8 * 8, dtype=np.float32).reshape(10, 3, 8, 8) / 1000
    augment = data.transforms.Compose([data.transforms.RandomCrop(8, padding=2),
                                       data.transforms.RandomHorizontalFlip()])
    seen = {}
    for rank in range(replicas):
        sampler = dist.DistributedSampler(10, num_replicas=replicas, rank=rank, shuffle=True, seed=4)
        loader = data.DataLoader((images, np.arange(10)), batch_size=3, sampler=sampler, transform=augment, seed=9)
        loader.set_epoch(epoch)
        for x, index in loader:
            for image, i in zip(x.numpy(), index.numpy()):
                seen.setdefault(int(i), image)
    return seen


def test_an_image_gets_the_same_augmentation_on_one_or_two_ranks():
    one, two = augmented_by_sample(1), augmented_by_sample(2)
    assert sorted(one) == sorted(two) == list(range(10))
    for i in range(10):
        np.testing.assert_array_equal(one[i], two[i])
    another_epoch = augmented_by_sample(1, epoch=3)
    assert any(not np.array_equal(one[i], another_epoch[i]) for i in range(10))  # a new epoch, new draws
    streams = data.loader.SampleStreams(9, 2, [0, 1, 0])
    first, second, again = streams.random(3)
    assert first != second and first == again  # each sample its own stream, whatever its place in the batch
    with pytest.raises(ValueError, match="one value per image"):
        streams.uniform(0, 1, 5)
