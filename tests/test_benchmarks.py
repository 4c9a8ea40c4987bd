"""The benchmark scripts run (one short turn each): a script that nobody runs between
rounds breaks without a word (layers.py once called minigrad without importing it)."""
import os
import subprocess
import sys

import pytest

from op_recipes import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
needs_torch = pytest.mark.skipif(torch is None, reason="the benchmarks time minigrad against PyTorch")


def run(script, *args):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", script), *args], capture_output=True,
                            text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@needs_torch
def test_models_benchmark_prints_its_table():
    out = run("models.py", "--only", "lenet_train", "names_single_train", "--repeats", "1", "--batch", "4")
    assert "lenet_train" in out and "names_single_train" in out and "slowest/median" in out


@needs_torch
def test_layers_benchmark_prints_its_table():
    out = run("layers.py", "--repeats", "1", "--batch", "2")
    assert "cifar conv2 16→32 k5" in out and "ratio fast" in out


def test_alternate_benchmark_compares_trees():
    out = run("alternate.py", "--rounds", "1", "--steps", "2", "--also", f"same={ROOT}")
    assert "this tree" in out and "same" in out


@needs_torch
def test_models_benchmark_times_the_grammar_corrector():
    out = run("models.py", "--only", "gec_train", "--repeats", "1", "--batch", "4")
    assert "gec_train" in out and "pairs/s" in out


@needs_torch
def test_roof_counts_the_cifar_steps_flops_as_pytorch_does_and_prints_its_table():
    # The GFLOP/s in benchmarks/README.md divide this count by the step's time: PyTorch's own
    # FLOP counter, on its twin of the net, must agree (forward, backward, no input gradient).
    import importlib.util

    from torch.utils.flop_counter import FlopCounterMode

    sys.path.insert(0, os.path.join(ROOT, "examples", "reference"))
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from cifar10_cnn_torch import cifar_cnn

    spec = importlib.util.spec_from_file_location("roof", os.path.join(ROOT, "benchmarks", "roof.py"))
    roof = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(roof)
    model = cifar_cnn()
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(6, 3, 32, 32)).sum().backward()
    assert roof.step_flops(6) == counter.get_total_flops()
    out = run("roof.py", "--batch", "4", "--repeats", "1")
    assert "GEMM roof" in out and "of roof" in out
