"""minigrad.fast.process: `import minigrad` changes nothing in the process; `tune_process()`
changes exactly the listed settings, the one switch turns them off, and what the malloc
setting is for (freed memory reused)."""
import json
import os
import platform
import subprocess
import sys

import pytest

from minigrad.fast import process

glibc = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                           reason="the malloc settings exist in glibc only")

STEPS = """
import resource, sys
import numpy as np
if sys.argv[1] == "tuned":
    from minigrad.fast.process import tune_malloc
    assert tune_malloc()
if sys.argv[1] == "imported":
    import minigrad
def page_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
sizes = (1 << 20, 1 << 19, 5 << 20, 3 << 18)      # float64 arrays of 8, 4, 40 and 6 MB (40 MB:
                                                   # above any threshold glibc's mmap can have)
for _ in range(3):                                 # warm-up
    arrays = [np.ones(n) for n in sizes]; del arrays
before = page_faults()
for _ in range(20):                                # like training steps: all alive, then all freed
    arrays = [np.ones(n) for n in sizes]; del arrays
print(page_faults() - before)
"""

IMPORT = """
import json, os, sys
before = dict(os.environ)
import minigrad
if sys.argv[1] == "tune":
    minigrad.tune_process()
after = dict(os.environ)
changed = {k: v for k, v in after.items() if before.get(k) != v}
print(json.dumps({"changed": changed, "tuned": minigrad.fast.process.tuned()}))
"""


def page_faults_of_steps(mode):
    # A fresh interpreter that imports NumPy only (importing minigrad would tune malloc).
    command = [sys.executable, "-c", STEPS, mode]
    return int(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def import_minigrad(then="nothing", **environment):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "MINIGRAD_KERNELS",
                                                            "MINIGRAD_TUNE_PROCESS")}
    env.update(environment)
    result = subprocess.run([sys.executable, "-c", IMPORT, then], capture_output=True, text=True, check=True,
                            env=env)
    return json.loads(result.stdout)


@glibc
def test_tuned_malloc_reuses_freed_arrays_without_page_faults():
    # 20 "steps" touch 1.2 GB of arrays: by default every page is faulted in again.
    default, tuned = page_faults_of_steps("default"), page_faults_of_steps("tuned")
    assert tuned < 0.1 * default, (tuned, default)


def test_import_changes_nothing_in_the_process():
    assert import_minigrad() == {"changed": {}, "tuned": {}}


@glibc
def test_import_leaves_malloc_as_it_is():
    # the tuned setting would bring page faults down tenfold (the test above); importing must not
    assert page_faults_of_steps("imported") > 0.5 * page_faults_of_steps("default")


def test_tune_process_changes_exactly_the_listed_environment_variables():
    result = import_minigrad("tune")
    assert result["changed"] == process.ENVIRONMENT
    assert set(result["tuned"]) - {"malloc", "blas_threads"} == set(process.ENVIRONMENT)


def test_a_variable_the_user_set_is_left_as_it_is():
    result = import_minigrad("tune", OMP_WAIT_POLICY="ACTIVE")
    assert "OMP_WAIT_POLICY" not in result["tuned"] and result["changed"] == {}


@pytest.mark.parametrize("switch", [{"MINIGRAD_TUNE_PROCESS": "0"}, {"MINIGRAD_KERNELS": "reference"}])
def test_one_switch_turns_every_setting_off(switch):
    assert import_minigrad("tune", **switch) == {"changed": {}, "tuned": {}}


@glibc
def test_malloc_tuning_applies_on_glibc():
    assert process.tune_malloc() is True


BLAS_THREADS = """
import json, minigrad
from minigrad.fast import parallel
from threadpoolctl import threadpool_info
before = max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
minigrad.tune_process()
after = max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
print(json.dumps([before, after, parallel.workers()]))
"""


def test_tune_process_keeps_the_blas_on_one_thread_and_the_workers_on_every_core():
    # OpenBLAS's idle threads spin after a product on several threads and take a core from
    # the next op: tuned, products run on one thread and the fast kernels' workers share them out.
    env = {k: v for k, v in os.environ.items() if k not in ("MINIGRAD_KERNELS", "MINIGRAD_TUNE_PROCESS", "MINIGRAD_WORKERS")}
    env["OPENBLAS_NUM_THREADS"] = "2"
    result = subprocess.run([sys.executable, "-c", BLAS_THREADS], capture_output=True, text=True, check=True, env=env)
    before, after, workers = json.loads(result.stdout)
    assert (before, after, workers) == (2, 1, 2)
