"""The CIFAR CNN's train step on one machine's cores: 1 process x T threads against
T processes x 1 thread under MPI (DistributedDataParallel + SyncBatchNorm), same global batch.

    python benchmarks/distributed.py                  # 2 cores: 1 x 2 against 2 x 1, batch 128
    python benchmarks/distributed.py --ranks 4 --steps 30

Prints the images per second of each, their ratio, and the share of the distributed step
spent inside collectives (the gradient sums' waits and SyncBatchNorm's sums). The two setups
run one after the other, alternating, --rounds times; medians are reported.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def worker(args):
    import minigrad as mg
    import numpy as np

    import minigrad.distributed as dist
    from minigrad import nn, optim

    sys.path.insert(0, os.path.join(ROOT, "examples"))
    from cifar10_cnn import cifar_cnn

    distributed = args.ranks > 1
    if distributed:
        group = dist.init_process_group("mpi")
        waited = _time_collectives(group)
    mg.manual_seed(0)
    model = cifar_cnn()
    if distributed:
        model = nn.parallel.DistributedDataParallel(nn.SyncBatchNorm.convert_sync_batchnorm(model))
    batch = args.batch // args.ranks
    rng = np.random.default_rng(dist.get_rank())
    x = mg.tensor(rng.standard_normal((batch, 3, 32, 32)).astype(np.float32))
    y = rng.integers(0, 10, batch)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        loss = mg.nll_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):  # warm-up: compilation, buffers
        step()
    if distributed:
        dist.barrier()
        waited[0] = 0.0
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = time.perf_counter() - start
    if dist.get_rank() == 0:
        share = waited[0] / seconds if distributed else 0.0
        print(json.dumps({"images_per_second": args.batch * args.steps / seconds, "collective_share": share}))


def _time_collectives(group):
    """Wrap the group's blocking sums and the gradient sums' waits with a stopwatch."""
    waited = [0.0]
    blocking, start_async = group.all_reduce, group.all_reduce_async

    def all_reduce(array, op="sum"):
        t = time.perf_counter()
        blocking(array, op)
        waited[0] += time.perf_counter() - t

    class Timed:
        def __init__(self, request):
            self.request = request

        def Wait(self):  # noqa: N802 - MPI's name
            t = time.perf_counter()
            self.request.Wait()
            waited[0] += time.perf_counter() - t

    def all_reduce_async(array):
        t = time.perf_counter()
        request = Timed(start_async(array))
        waited[0] += time.perf_counter() - t
        return request

    group.all_reduce, group.all_reduce_async = all_reduce, all_reduce_async
    return waited


def launch(ranks, threads, args):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               NUMBA_NUM_THREADS=str(threads), MINIGRAD_WORKERS=str(threads))
    command = [sys.executable, __file__, "--worker", "--ranks", str(ranks), "--batch", str(args.batch),
               "--steps", str(args.steps)]
    if ranks > 1:
        mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
        if mpiexec is None:
            sys.exit("error: mpiexec not found: pip install -e '.[distributed]'")
        command = [mpiexec, "-n", str(ranks)] + command
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranks", type=int, default=2, help="processes (and cores) to compare against threads")
    parser.add_argument("--batch", type=int, default=128, help="the global batch, split over the ranks")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    threads, processes = [], []
    for _ in range(args.rounds):
        threads.append(launch(1, args.ranks, args))
        processes.append(launch(args.ranks, 1, args))
    t = statistics.median(r["images_per_second"] for r in threads)
    p = statistics.median(r["images_per_second"] for r in processes)
    share = statistics.median(r["collective_share"] for r in processes)
    print(f"CIFAR CNN train step, global batch {args.batch}, {args.steps} steps x {args.rounds} rounds (medians)")
    print(f"1 process x {args.ranks} threads   {t:8.0f} images/s")
    print(f"{args.ranks} processes x 1 thread   {p:8.0f} images/s   ratio {p / t:.2f}   "
          f"time in collectives {100 * share:.1f}% of the step")


if __name__ == "__main__":
    main()
