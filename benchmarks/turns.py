"""Workers that take turns: each framework in its own process, their timings interleaved.

Why: the development machine is a shared VM whose speed swings by 2x within seconds (a fixed
1024x1024 GEMM ran at 75 and at 155 GFLOP/s a few seconds apart). Timing one framework for a
minute and then the other compares two different machines. So each framework lives in its
own worker process (two thread pools in one process would fight over the cores), the
workers take turns of a few steps each, and each ratio is taken between neighbouring turns:
the ratio reported is the median of those paired ratios. A turn starts with one untimed step
(the first work after an idle spell runs slow on this VM: an im2col took 2.6 ms after a
10 ms sleep, 1.1 ms back to back) and lasts at least ~0.2 s, so a short op is timed over
many steps.

Worker side (in the child process):   serve(make_step, make_warmup_step)
Parent side:                          w = Worker([sys.executable, script, ...]); w.time(5)
"""
import gc
import json
import os
import subprocess
import sys
import time


def _status_mb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_memory():
    """Make VmHWM (peak resident memory) start again from the current size (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def serve(make_step, make_warmup_step=None):
    """Answer the parent's commands on stdin, one JSON line each on stdout.

    make_warmup_step() builds the same computation on a tiny batch: running it first loads
    the framework's libraries and compiles its kernels, so that the memory reported is the
    step's own (activations, saved tensors, gradients, buffers), not the framework's code.
    """
    if make_warmup_step is not None:
        warm = make_warmup_step()
        for _ in range(3):
            warm()
        del warm
        gc.collect()
    baseline_mb = _status_mb("VmRSS")
    exact_peak = _reset_peak_memory()
    step = make_step()
    for _ in range(3):  # warm-up: kernels, allocator, caches
        step()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "time":
            step()  # untimed: wakes the threads (and the VM's idle CPU) up
            start = time.perf_counter()
            for _ in range(int(args[0])):
                step()
            answer = {"seconds": (time.perf_counter() - start) / int(args[0])}
        elif command == "memory":
            answer = {"peak_mb": _status_mb("VmHWM") - baseline_mb, "exact": exact_peak}
        else:
            break
        print(json.dumps(answer), flush=True)


class Worker:
    """A child process that serves one framework's step (see serve)."""

    def __init__(self, argv, pythonpath=None):
        env = dict(os.environ)
        if pythonpath:
            env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        self._read()  # ready

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark worker {self.proc.args[2:]} failed:\n{self.proc.stderr.read()[-2000:]}")
        return json.loads(line)

    def ask(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read()

    def time(self, steps):
        return self.ask(f"time {steps}")["seconds"]

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.wait()


def take_turns(workers, rounds, min_turn_seconds=0.2, pause=0.05):
    """{name: [seconds per step, one per round]}, the workers timed one after another in
    each round. The pause lets the previous worker's threads fall asleep before the next.
    The order rotates from round to round, so that no worker always runs in the same place
    (with a fixed order of three workers, the third ran 10-35% faster than the second on
    LeNet's batch-32 step, the same code in either place)."""
    steps = {name: max(1, round(min_turn_seconds / worker.time(1))) for name, worker in workers.items()}
    seconds = {name: [] for name in workers}
    names = list(workers)
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            time.sleep(pause)
            seconds[name].append(workers[name].time(steps[name]))
    return seconds


def paired_ratio(reference, other):
    """Median over rounds of reference/other time: throughput of other relative to reference."""
    ratios = sorted(r / o for r, o in zip(reference, other))
    middle = len(ratios) // 2
    return ratios[middle] if len(ratios) % 2 else (ratios[middle - 1] + ratios[middle]) / 2
