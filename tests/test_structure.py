"""The structure the code promises: the engine does not import the fast room (the fast room
plugs into the engine's hook), the layers do not import the distributed package, the
gradient checker does not need the layers, and no op in minigrad/ops/ carries a second
backward."""
import ast
import pathlib
import subprocess
import sys

import minigrad as mg

PACKAGE = pathlib.Path(mg.__file__).parent


def imported_modules(path):
    """Every module a file imports, anywhere in it, as written (relative ones with their dots)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names += [base] + [f"{base}.{a.name}" if not base.endswith(".") else base + a.name for a in node.names]
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    return names


def test_the_engine_does_not_import_the_fast_room():
    assert not [m for m in imported_modules(PACKAGE / "tensor.py") if "fast" in m]


def test_the_fast_room_installs_its_kernel_choice_in_the_engine():
    engine = sys.modules["minigrad.tensor"]  # (minigrad.tensor is also the function tensor())
    assert engine._kernel_choice is mg.fast.twin


def test_the_checker_and_the_checkpoints_do_not_import_the_layers_or_the_package_face():
    assert not [m for m in imported_modules(PACKAGE / "gradcheck.py") if m.startswith(".nn") or m == ".nn"]
    assert ".." not in imported_modules(PACKAGE / "train" / "checkpoint.py")


def test_importing_the_layers_does_not_import_the_distributed_package():
    code = ("import sys, minigrad.nn as nn; print('minigrad.distributed' in sys.modules); "
            "print(nn.SyncBatchNorm.__module__, nn.parallel.DistributedDataParallel.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "minigrad.distributed.sync_batchnorm", "minigrad.distributed.ddp"]


def test_no_op_carries_a_second_backward():
    for path in (PACKAGE / "ops").glob("*.py"):
        source = path.read_text()
        assert "backward_graph" not in source, path
        tree = ast.parse(source)
        for cls in [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]:
            backwards = [f for f in cls.body if isinstance(f, ast.FunctionDef) and "backward" in f.name]
            assert len(backwards) <= 1, (path.name, cls.name, [f.name for f in backwards])
