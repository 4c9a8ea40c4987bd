"""Plant bugs in the training harness and in the fast room one at a time and check that the
suite catches each (the way the suite's strength is measured). Not a test module: run it by
hand,

    python tests/planted_bugs.py            # every bug
    python tests/planted_bugs.py fast       # the fast room's only (a minute)
    python tests/planted_bugs.py gec        # the grammar-correction chain's only

Each line: 'caught' or 'MISSED', the file and the line changed. The tree is restored after
each bug (the files are rewritten as they were, whatever happens).
"""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
TESTS = ["tests/test_harness_bugs.py", "tests/test_faults_round2.py", "tests/test_harness.py",
         "tests/test_checkpoint.py", "tests/test_data.py", "tests/test_distributed_faults.py"]
BUGS = [  # (file, the right line, the planted bug)
    ("minigrad/train/loop.py", "if not np.isfinite(batch_loss):", "if np.isnan(batch_loss):"),
    ("minigrad/train/loop.py", 'epoch - self.best["epoch"] >= patience', 'epoch - self.best["epoch"] > patience'),
    ("minigrad/train/loop.py", "            if self.clip_grad_norm:\n", "            if False:\n"),
    ("minigrad/nn/utils/clip_grad.py", "    if scale < 1:", "    if scale < 0.5:"),
    ("minigrad/optim/optimizer.py", "            group.update(saved)",
     "            group.update({k: v for k, v in saved.items() if k != 'lr'})"),
    ("minigrad/distributed/sampler.py", "np.resize(order, self.total_size - self.length)",
     "np.resize(order[::-1], self.total_size - self.length)"),
    ("minigrad/train/checkpoint.py", '        sha.update(f"{a.dtype.str}{a.shape}".encode())\n', ""),
    ("minigrad/data/loader.py", "            items.put(err)", "            pass"),
    ("minigrad/train/loop.py", "            self.save()  # first the checkpoint",
     "            self.report(record); self.save()  # first the checkpoint"),
    ("minigrad/train/loop.py", "        if exists and not resume and not overwrite:", "        if False:"),
    ("minigrad/optim/optimizer.py", "        if not isinstance(saved, dict) or set(saved) != expected:",
     "        if not isinstance(saved, dict):"),
    ("minigrad/data/loader.py", "self.streams = [np.random.default_rng([seed, epoch, int(i)]) for i in indices]",
     "self.streams = [np.random.default_rng([seed, epoch, k]) for k in range(len(indices))]"),
    ("minigrad/train/loop.py", "            if fewest != most:", "            if False:"),
    ("minigrad/tensor.py", "self.grad = g if self.grad is None else self.grad + g", "self.grad = g"),
    ("minigrad/tensor.py", "        with set_grad_enabled(True):\n            yield", "        with set_grad_enabled(is_grad_enabled()):\n            yield"),
    ("minigrad/optim/adam.py", 'v = xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])',
     'v = xp.maximum(state["max_exp_avg_sq"], v)'),
]

FAST_TESTS = ["tests/test_fast_kernels.py", "tests/test_parallel.py", "tests/test_workspace.py",
              "tests/test_process.py", "tests/test_reference_scripts.py"]
FAST_BUGS = [  # the fast room's kernels and the GEC model that its benchmark times
    ("minigrad/fast/parallel.py", "            work(worker, k)\n", "            work(worker, k)\n            return\n"),
    ("minigrad/fast/linear.py", "np.matmul(a, b[:, chunks[k]], out=out[:, chunks[k]])",
     "np.matmul(a, b[:, chunks[0]], out=out[:, chunks[k]])"),
    ("minigrad/fast/softmax.py", "np.subtract(part_g, gy.sum(axis=-1, keepdims=True), out=gy)",
     "np.subtract(part_g, gy.mean(axis=-1, keepdims=True), out=gy)"),
    ("minigrad/fast/matmul.py", "_product(g, swap_last_axes(b), like=a)", "_product(g, b, like=a)"),
    ("minigrad/fast/matmul.py", "        return swap_last_axes(_outer(swap_last_axes(y), swap_last_axes(x)))\n", ""),
    ("minigrad/fast/softmax.py", "            out /= out.sum(axis=-1, keepdims=True)\n", ""),
    ("minigrad/fast/lstm.py", "            a[:, rows] += b_hh[rows]\n", ""),
    ("minigrad/fast/lstm.py", "        dc = dc_total * f if need[2] else None", "        dc = dc_total if need[2] else None"),
    ("minigrad/fast/lstm.py", "grads[2], grads[3] = da.T @ x, da.T @ h", "grads[2], grads[3] = da.T @ x, da.T @ x[:, :h.shape[1]]"),
    ("minigrad/fast/parallel.py", "    if values >= PARALLEL_MIN_VALUES:", "    if values < PARALLEL_MIN_VALUES:"),
    ("minigrad/fast/parallel.py", "        numba.set_num_threads(previous)", "        pass"),
    ("minigrad/fast/workspace.py", "buffer = free.pop(min(fitting, key=lambda k: free[k].size))",
     "buffer = free[min(fitting, key=lambda k: free[k].size)]"),
    ("minigrad/fast/process.py", "if parallel.workers() > 1 and parallel.blas_on_one_thread():", "if False:"),
    ("minigrad/fast/conv.py", "chunk_bytes = self.chunk_bytes if any(self.needs_input_grad) else self.inference_chunk_bytes",
     "chunk_bytes = self.chunk_bytes"),
    ("minigrad/fast/conv.py", "len(x) <= self.mixed_max_batch", "len(x) < self.mixed_max_batch"),
    ("minigrad/fast/conv.py", '        if self.path == "direct":\n            return conv_input_grad',
     '        if self.path != "columns":\n            return conv_input_grad'),
    ("examples/gec/model.py", "None if embedded is None else embedded[:, t])", "None if embedded is None else embedded[:, t - 1])"),
]

GEC_TESTS = ["tests/test_gec_chain.py", "tests/test_example_gec.py"]
GEC_BUGS = [  # the grammar-correction chain: resume, checkpoints, the plan, batched beam search
    ("examples/gec/train.py", '        mg.random.set_state(saved["rng"])', "        pass"),
    ("examples/gec/train.py", '        rng_sampling.bit_generator.state = saved["sampling_rng"]', "        pass"),
    ("examples/gec/train.py", "state[\"step\"] % args.checkpoint_every == 0 or interrupted()",
     "state[\"step\"] % args.checkpoint_every == 0"),
    ("examples/gec/train.py", "or args.checkpoint_minutes and time.time()", "or args.checkpoint_minutes and False and time.time()"),
    ("examples/gec/chain.py", '                    argv.append("--resume")', "                    pass"),
    ("examples/gec/chain.py", "        if name in done:", "        if False:"),
    ("examples/gec/decode.py", "elif step + 1 == limits[i]:", "elif step + 1 == max(limits):"),
    ("examples/gec/decode.py", "candidates = (totals[mine, None] + logp[mine]).ravel()",
     "candidates = (totals[:len(mine), None] + logp[mine]).ravel()"),
    ("examples/gec/evaluate.py", "        if id(src) not in spelled_once:", "        if not spelled_once:"),
]


def main(which="all"):
    missed = 0
    bugs = [(*bug, TESTS) for bug in BUGS] if which == "all" else []
    bugs += [(*bug, FAST_TESTS) for bug in FAST_BUGS] if which in ("all", "fast") else []
    bugs += [(*bug, GEC_TESTS) for bug in GEC_BUGS] if which in ("all", "gec") else []
    for path, right, wrong, tests in bugs:
        file = ROOT / path
        text = file.read_text()
        if right not in text:
            print(f"NOT FOUND {path}: {right.strip()[:60]}")
            missed += 1
            continue
        try:
            file.write_text(text.replace(right, wrong, 1))
            result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
                                    cwd=ROOT, capture_output=True, text=True)
        finally:
            file.write_text(text)
        caught = result.returncode != 0
        missed += not caught
        print(f"{'caught' if caught else 'MISSED'} {path}: {right.strip()[:70]}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
