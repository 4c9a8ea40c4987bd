"""minigrad.distributed: 2 ranks on half batches equal 1 rank on the full batch, and the
training harness stays safe across ranks. The multi-rank tests run tests/distributed_worker.py
under ``mpiexec -n 2`` (one BLAS thread per rank) and skip, saying why, where mpi4py or
mpiexec is missing (pip install -e ".[distributed]")."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigrad as mg
import minigrad.distributed as dist
from minigrad import data, nn

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "distributed_worker.py")


def mpiexec():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py is not installed (pip install -e '.[distributed]')")
    found = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if found is None:
        pytest.skip("mpiexec is not installed (pip install -e '.[distributed]' brings MPICH's)")
    return found


def launch(ranks, scenario, out, *args, env=None, timeout=240):
    command = [mpiexec(), "-n", str(ranks), sys.executable, WORKER, scenario, str(out), *map(str, args)]
    settings = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MINIGRAD_WORKERS="1", **(env or {}))
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=settings)


def parameters(folder, rank=0):
    with np.load(folder / f"parameters_rank{rank}.npz") as f:
        return {k: f[k] for k in f.files}


def assert_same(a, b, tol):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=0, atol=tol, err_msg=k)


@pytest.mark.parametrize("scenario", ["equivalence", "no_sync"])
def test_two_ranks_on_half_batches_equal_one_rank_on_the_full_batch(tmp_path, scenario):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    for ranks, folder in ((1, one), (2, two)):
        result = launch(ranks, scenario, folder)
        assert result.returncode == 0, result.stderr[-3000:]
    assert_same(parameters(two, 0), parameters(two, 1), 0)        # the ranks stay identical
    assert_same(parameters(one), parameters(two), 1e-10)          # and equal to one rank (float64)


def test_trainer_resumes_after_a_rank_is_killed_and_matches_an_uninterrupted_run(tmp_path):
    whole, killed, single = tmp_path / "whole", tmp_path / "killed", tmp_path / "single"
    for folder in (whole, killed, single):
        folder.mkdir()
    assert launch(2, "trainer", whole, 3).returncode == 0
    crash = launch(2, "trainer", killed, 3, env={"KILL_AT": "8"})  # step 8 = the 2nd of epoch 3
    assert crash.returncode != 0 and (killed / "checkpoint.npz").exists()
    resumed = launch(2, "trainer", killed, 3)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stdout and "after epoch 2" in resumed.stdout
    assert resumed.stdout.count("resumed from") == 1  # rank 0 alone prints
    assert_same(parameters(whole), parameters(killed), 0)
    history = json.loads((whole / "history_final.json").read_text())
    assert json.loads((killed / "history_final.json").read_text()) == history
    assert launch(1, "trainer", single, 3).returncode == 0  # metrics summed over ranks = one rank's
    for ours, theirs in zip(history, json.loads((single / "history_final.json").read_text())):
        for key in ours:
            assert ours[key] == pytest.approx(theirs[key], rel=1e-9, abs=1e-12), key


def test_an_error_in_one_rank_ends_every_rank_instead_of_hanging(tmp_path):
    result = launch(2, "raise", tmp_path, timeout=60)
    assert result.returncode != 0
    assert "rank 1 found a problem with its shard" in result.stderr
    assert "rank 0 should never get here" not in result.stdout


# ----- single process: the sampler, the conversion, the fallbacks ---------------------------

def test_the_sampler_gives_each_rank_an_equal_disjoint_shard_reshuffled_every_epoch():
    shards = [dist.DistributedSampler(11, num_replicas=3, rank=r, seed=5) for r in range(3)]
    first = [s.indices() for s in shards]
    assert [len(i) for i in first] == [4, 4, 4]
    together = np.concatenate(first)
    assert set(together) == set(range(11)) and len(together) == 12  # padded by repeating one index
    for s in shards:
        s.set_epoch(1)
    assert any((a != s.indices()).any() for a, s in zip(first, shards))
    cut = [dist.DistributedSampler(11, num_replicas=3, rank=r, drop_last=True) for r in range(3)]
    assert [len(s) for s in cut] == [3, 3, 3] and len(set(np.concatenate([s.indices() for s in cut]))) == 9
    with pytest.raises(ValueError, match="rank 3 is outside 0..2"):
        dist.DistributedSampler(11, num_replicas=3, rank=3)
    with pytest.raises(ValueError, match="exclude each other"):
        data.DataLoader((np.zeros(11), np.zeros(11)), sampler=shards[0], shuffle=True)


def test_a_loader_with_a_sampler_takes_the_shard_at_the_samplers_epoch():
    """As in PyTorch: the order follows sampler.set_epoch (the loader's pass count does not
    overwrite it); loader.set_epoch, what the Trainer calls, sets the sampler's epoch too."""
    x = np.arange(10)
    sampler = dist.DistributedSampler(10, num_replicas=2, rank=1, seed=0)
    loader = data.DataLoader((x, x), batch_size=2, sampler=sampler)
    first = np.concatenate([b for b, _ in loader])
    again = np.concatenate([b for b, _ in loader])  # no set_epoch: PyTorch's same order
    assert len(loader) == 3 and sorted(first) == sorted(sampler.indices()) and (first == again).all()
    sampler.set_epoch(3)
    third = np.concatenate([b for b, _ in loader])
    np.testing.assert_array_equal(third, sampler.indices())
    assert (third != first).any() and sampler.epoch == 3
    loader.set_epoch(0)
    assert sampler.epoch == 0
    np.testing.assert_array_equal(np.concatenate([b for b, _ in loader]), first)


def test_convert_sync_batchnorm_keeps_the_layers_order_and_the_same_tensors():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(2, 3),
                          nn.BatchNorm1d(3))
    weight, running = model[1].weight, model[1].running_mean
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    kinds = [type(m).__name__ for m in converted]
    assert kinds == ["Conv2d", "SyncBatchNorm", "ReLU", "Flatten", "Linear", "SyncBatchNorm"]
    assert converted[1].weight is weight and converted[1].running_mean is running
    x = mg.randn(4, 1, 3, 3)
    expected = nn.Sequential(*[m for m in model])  # without a process group SyncBatchNorm is BatchNorm
    np.testing.assert_allclose(converted(x).numpy(), expected(x).numpy())


def test_without_a_process_group_rank_is_0_of_1_and_collectives_say_what_is_missing():
    assert dist.get_rank() == 0 and dist.get_world_size() == 1 and not dist.is_initialized()
    with pytest.raises(dist.DistributedError, match="init_process_group"):
        dist.all_reduce(mg.ones(2))
    with pytest.raises(ValueError, match="'mpi' or 'nccl'"):
        dist.init_process_group("gloo")


def test_the_cifar_example_trains_with_distributed_and_only_rank_0_writes(tmp_path):
    from test_example_cifar import data_dir

    root = data_dir(tmp_path)
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "cifar10_cnn.py")
    args = [sys.executable, script, "--distributed", "--data-dir", str(root), "--epochs", "2", "--limit", "256",
            "--batch-size", "32", "--no-augment", "--out", str(tmp_path / "run")]
    settings = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MINIGRAD_WORKERS="1")
    result = subprocess.run([mpiexec(), "-n", "2", *args], capture_output=True, text=True, timeout=300, env=settings)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("best validation epoch") == 1 and "2 ranks of 16 images a step" in result.stdout
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["args"]["distributed"] and 0 <= summary["test_accuracy"] <= 1
    for name in ("checkpoint.npz", "curves.png", "confusion.png", "history.json"):
        assert (tmp_path / "run" / name).exists(), name
    odd = subprocess.run([mpiexec(), "-n", "2", *args[:-2], "--batch-size", "33", "--out", str(tmp_path / "odd")],
                         capture_output=True, text=True, timeout=120, env=settings)
    assert odd.returncode != 0 and "does not split evenly over 2 ranks" in odd.stderr


class TwinRanks:
    """A stand-in process group of 2 identical ranks, in one process: a sum over the ranks
    doubles an array. It records when each bucket's sum starts."""
    rank, size = 0, 2

    def __init__(self):
        self.started = []

    def broadcast(self, array, src):
        pass

    def all_reduce(self, array, op="sum"):
        array *= 2

    all_reduce_host = all_reduce

    def all_reduce_async(self, array):
        self.started.append((array.size, Hooks.seen))
        array *= 2
        return self

    def Wait(self):  # noqa: N802 - MPI's name
        pass


class Hooks:
    seen = 0  # gradients that have reached their parameters so far in this backward


def test_ddp_sums_buckets_in_order_while_backward_still_runs(monkeypatch):
    twins = TwinRanks()
    monkeypatch.setattr(dist, "_group", twins)
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 40), nn.Tanh(), nn.Linear(40, 40), nn.Tanh(), nn.Linear(40, 3))
    reference = [p.numpy().copy() for p in model.parameters()]
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.005)  # ~5 KB: several buckets
    for p in model.parameters():
        p.register_hook(lambda g: setattr(Hooks, "seen", Hooks.seen + 1))
    x = mg.randn(5, 6)
    ddp(x).sum().backward()
    buckets = ddp._buckets
    assert len(buckets) >= 3 and len(twins.started) == len(buckets)
    assert twins.started[0][1] < len(reference)  # the first sum started before backward reached every parameter
    assert [size for size, _ in twins.started] == [b.flat.size for b in buckets]  # in bucket order
    expected = [p.grad.numpy().copy() for p in model.parameters()]
    for p in model.parameters():  # the average of two identical ranks is this rank's gradient
        p.grad = None
    with ddp.no_sync():
        model(x).sum().backward()
    np.testing.assert_allclose([p.grad.numpy() for p in model.parameters()][0], expected[0])
    assert len(twins.started) == len(buckets)  # no_sync: nothing summed
    ddp(x).sum().backward()  # the synced backward after it averages the accumulated gradients
    for p, e in zip(model.parameters(), expected):
        np.testing.assert_allclose(p.grad.numpy(), 2 * e, rtol=1e-6)


class OneRank(TwinRanks):
    """A stand-in group of one rank: a sum over the ranks leaves an array as it is."""
    size = 1

    def all_reduce(self, array, op="sum"):
        pass


@pytest.mark.parametrize("group", [OneRank, TwinRanks], ids=["one rank", "two identical ranks"])
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_sync_batchnorm_step_passes_gradcheck_and_equals_batch_norm(group, data):
    """With one rank, or two holding the same batch, the statistics over all ranks are this
    batch's: SyncBatchNormStep must then be batch norm, and its backward (with M and both
    sums taken over the ranks) must match finite differences in float64."""
    from minigrad.distributed.sync_batchnorm import SyncBatchNormStep

    shape = data.draw(st.sampled_from([(3, 2), (2, 3, 2, 2), (4, 1, 3, 1)]), label="shape")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    x = mg.tensor(rng.standard_normal(shape), requires_grad=True)
    gamma = mg.tensor(rng.uniform(0.5, 1.5, shape[1]), requires_grad=True)
    beta = mg.tensor(rng.standard_normal(shape[1]), requires_grad=True)
    stand_in = group()
    step = lambda x, g, b: SyncBatchNormStep.apply(x, g, b, group=stand_in)  # noqa: E731
    plain = mg.batch_norm(x, None, None, gamma, beta, training=True)
    np.testing.assert_allclose(step(x, gamma, beta).numpy(), plain.numpy(), rtol=1e-12, atol=1e-12)
    assert mg.gradcheck(step, x, gamma, beta)
