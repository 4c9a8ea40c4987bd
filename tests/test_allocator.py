"""minigrad.allocator: the freed memory of one step is reused by the next, not faulted in again."""
import platform
import subprocess
import sys

import pytest

from minigrad import allocator

glibc = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                           reason="the malloc settings exist in glibc only")

STEPS = """
import resource, sys
import numpy as np
if sys.argv[1] == "tuned":
    from minigrad.allocator import tune_malloc
    assert tune_malloc()
def page_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
sizes = (1 << 20, 1 << 19, 1 << 20, 3 << 18)      # float64 arrays of 8, 4, 8 and 6 MB
for _ in range(3):                                 # warm-up
    arrays = [np.ones(n) for n in sizes]; del arrays
before = page_faults()
for _ in range(20):                                # like training steps: all alive, then all freed
    arrays = [np.ones(n) for n in sizes]; del arrays
print(page_faults() - before)
"""


def page_faults_of_steps(mode):
    # A fresh interpreter that imports NumPy only (importing minigrad would tune malloc).
    command = [sys.executable, "-c", STEPS, mode]
    return int(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


@glibc
def test_tuned_malloc_reuses_freed_arrays_without_page_faults():
    # 20 "steps" touch 520 MB of arrays: by default every page is faulted in again.
    default, tuned = page_faults_of_steps("default"), page_faults_of_steps("tuned")
    assert tuned < 0.1 * default, (tuned, default)


def test_tuning_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("MINIGRAD_TUNE_MALLOC", "0")
    assert allocator.tune_malloc() is False


@glibc
def test_tuning_applies_on_glibc(monkeypatch):
    monkeypatch.delenv("MINIGRAD_TUNE_MALLOC", raising=False)
    assert allocator.tune_malloc() is True
