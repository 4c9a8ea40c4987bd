"""Run by tests/test_distributed.py under mpiexec (or alone, as one rank):

    mpiexec -n 2 python tests/distributed_worker.py SCENARIO OUT_DIR [ARGS]

equivalence  a conv + SyncBatchNorm net, SGD (momentum) then Adam steps over a shuffled,
             sharded data set whose last batch is short; writes the final parameters.
no_sync      gradient accumulation over two half steps inside no_sync, then one synced.
trainer      the Trainer under DistributedDataParallel for EPOCHS epochs, with a checkpoint;
             with KILL_AT=k the rank 1 process kills itself at its k-th optimizer step.
raise        rank 1 raises while rank 0 waits in a collective.
stop         rank 1 stops itself (SIGSTOP) while rank 0 waits in a collective (run it with a
             short MINIGRAD_DIST_TIMEOUT).
uneven       the Trainer with loaders of 3 batches on rank 0 and 2 on rank 1.
launch       writes each rank's LOCAL_RANK, as the launcher conventions give it.
"""
import json
import os
import pathlib
import signal
import sys

import numpy as np

import minigrad as mg
import minigrad.distributed as dist
from minigrad import data, nn, optim
from minigrad.train import Trainer


def net():
    mg.manual_seed(1)
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(3 * 3 * 3, 4))


def dataset(n=18):
    rng = np.random.default_rng(7)
    return rng.standard_normal((n, 2, 6, 6)), rng.integers(0, 4, n)


def sharded_loader(x, y, per_rank_batch, epoch_seed=3):
    sampler = dist.DistributedSampler(len(y), shuffle=True, seed=epoch_seed)
    return data.DataLoader((x, y), batch_size=per_rank_batch, sampler=sampler)


def ddp_model():
    model = nn.SyncBatchNorm.convert_sync_batchnorm(net())
    return nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.0005)  # several small buckets


def equivalence(out, per_rank_batch):
    x, y = dataset()
    model = ddp_model()
    loader = sharded_loader(x, y, per_rank_batch)
    for make in (lambda p: optim.SGD(p, lr=0.1, momentum=0.9), lambda p: optim.Adam(p, lr=0.01)):
        opt = make(model.parameters())
        for xb, yb in loader:  # one epoch each: 3 steps, the last one short
            opt.zero_grad()
            mg.cross_entropy(model(xb), yb).backward()
            opt.step()
    save_parameters(out, model.module)


def no_sync(out, per_rank_batch):
    x, y = dataset(16)
    model = ddp_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    xb, yb = next(iter(sharded_loader(x, y, per_rank_batch)))
    half = per_rank_batch // 2
    opt.zero_grad()
    with model.no_sync():
        (0.5 * mg.cross_entropy(model(xb[:half]), yb[:half])).backward()
    (0.5 * mg.cross_entropy(model(xb[half:]), yb[half:])).backward()
    opt.step()
    save_parameters(out, model.module)


class KillingSGD(optim.SGD):
    """SGD whose rank-1 process dies (SIGKILL, no clean-up) at its KILL_AT-th step."""
    steps = 0

    def step(self, closure=None):
        KillingSGD.steps += 1
        if dist.get_rank() == 1 and KillingSGD.steps == int(os.environ.get("KILL_AT", "0")):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().step(closure)


def trainer(out, per_rank_batch, epochs):
    x, y = dataset(24)
    model = ddp_model()
    opt = KillingSGD(model.parameters(), lr=0.1, momentum=0.9)
    train = sharded_loader(x, y, per_rank_batch)
    val = data.DataLoader((x[:10], y[:10]), batch_size=4, sampler=dist.DistributedSampler(10, shuffle=False))
    run = Trainer(model, opt, checkpoint_path=pathlib.Path(out) / "checkpoint.npz", out_dir=out, progress=True)
    history = run.fit(train, val, epochs=epochs, resume=True)
    if dist.get_rank() == 0:
        for record in history:
            record.pop("seconds"), record.pop("samples_per_second")
        (pathlib.Path(out) / "history_final.json").write_text(json.dumps(history))
    save_parameters(out, model.module)


def raise_in_one_rank(out, _):
    if dist.get_rank() == 1:
        raise ValueError("rank 1 found a problem with its shard")
    dist.all_reduce(mg.ones(3))  # rank 0 would wait here for ever without the abort
    print("rank 0 should never get here", flush=True)


def stop_one_rank(out, _):
    if dist.get_rank() == 1:
        os.kill(os.getpid(), signal.SIGSTOP)
    dist.all_reduce(mg.ones(3))  # rank 0 times out here, naming itself and the operation
    print("rank 0 should never get here", flush=True)


def uneven(out, _):
    mg.manual_seed(0)
    n = 12 if dist.get_rank() == 0 else 8
    x, y = np.zeros((n, 2)), np.zeros(n, dtype=np.int64)
    model = nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
    Trainer(model, optim.SGD(model.parameters(), lr=0.1), progress=False).fit(
        data.DataLoader((x, y), batch_size=4), epochs=1)
    print("no rank should get here", flush=True)


def launch(out, _):
    (pathlib.Path(out) / f"launch_rank{dist.get_rank()}.json").write_text(
        json.dumps({"LOCAL_RANK": os.environ.get("LOCAL_RANK"), "local_rank": dist.get_local_rank()}))


def save_parameters(out, model):
    arrays = {name: p.numpy() for name, p in model.named_parameters()}
    arrays.update({name: np.asarray(b) for name, b in model.named_buffers()})
    np.savez(pathlib.Path(out) / f"parameters_rank{dist.get_rank()}.npz", **arrays)


if __name__ == "__main__":
    scenario, out, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    mg.set_default_dtype(np.float64)
    dist.init_process_group("mpi")
    per_rank_batch = 8 // dist.get_world_size()
    if scenario == "trainer":
        trainer(out, per_rank_batch, int(rest[0]))
    else:
        {"equivalence": equivalence, "no_sync": no_sync, "raise": raise_in_one_rank, "stop": stop_one_rank,
         "uneven": uneven, "launch": launch}[scenario](out, per_rank_batch)
