"""Checkpoints under faults: what is saved comes back exactly, loading never runs code, and a
damaged, truncated, foreign or half-written file is refused with a message naming it."""
import os
import pickle
import random
import signal
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.train import checkpoint
from minigrad.train.checkpoint import CheckpointError


def sample_state():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(mg.tensor(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))).sum().backward()
    opt.step()
    return {
        "model": model.state_dict(), "optimizer": opt.state_dict(), "rng": mg.random.get_state(),
        "history": [{"epoch": 1, "loss": 0.5, "lr": float("nan")}], "best": {"epoch": None, "state": None},
        "shape": (3, 4), "scalar": np.float32(1.5), "big": 2**100, "flags": [True, False], "name": "é",
    }


def assert_same(a, b):
    """Equal structures (any dict types), arrays equal bit for bit with their dtypes."""
    assert type(a) is type(b) or isinstance(a, dict) and isinstance(b, dict), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, float) and a != a:
        assert b != b
    else:
        assert a == b


def test_what_is_saved_comes_back_exactly(tmp_path):
    state = sample_state()
    state["model"] = dict(state["model"])  # an OrderedDict comes back as a dict
    checkpoint.save_atomically(state, tmp_path / "c.npz")
    loaded = checkpoint.load(tmp_path / "c.npz")
    assert_same(state, loaded)
    assert isinstance(loaded["optimizer"]["param_groups"][0], dict)


def test_objects_that_are_not_data_are_refused_when_saving(tmp_path):
    with pytest.raises(TypeError, match=r"checkpoint\['fn'\].*not function"):
        checkpoint.save_atomically({"fn": lambda: 0}, tmp_path / "c.npz")
    with pytest.raises(TypeError, match="array of Python objects"):
        checkpoint.save_atomically({"a": np.array([object()])}, tmp_path / "c.npz")


class RunsCode:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_malicious_pickle_is_refused_and_runs_nothing(tmp_path):
    RunsCode.marker = tmp_path / "ran"
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(pickle.dumps({"model": RunsCode()}))
    with pytest.raises(CheckpointError, match=f"{path}: a pickle .* refused"):
        checkpoint.load(path)
    assert not RunsCode.marker.exists()


def test_an_old_pickle_checkpoint_loads_when_trusted(tmp_path):
    path = tmp_path / "old.pkl"
    path.write_bytes(pickle.dumps({"epoch": 3, "w": np.ones(2)}))
    assert checkpoint.load(path, trusted=True)["epoch"] == 3


def damaged(tmp_path, how):
    path = tmp_path / "checkpoint.npz"
    checkpoint.save_atomically(sample_state(), path)
    raw = bytearray(path.read_bytes())
    if how == "flipped":  # 40 bytes in the middle of the data
        middle = len(raw) // 2
        for k in range(middle, middle + 40):
            raw[k] ^= 0x55
    elif how == "truncated":
        raw = raw[: len(raw) // 2]
    elif how == "empty":
        raw = b""
    elif how == "foreign":
        raw = b"hello, I am a text file\n"
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("how, message", [
    ("flipped", ".*corrupt"), ("truncated", "truncated or corrupt"), ("empty", "not a minigrad checkpoint .* empty"),
    ("foreign", "not a minigrad checkpoint"),
])
def test_a_damaged_checkpoint_is_refused_naming_the_file(tmp_path, how, message):
    path = damaged(tmp_path, how)
    with pytest.raises(CheckpointError, match=f"{path}: {message}"):
        checkpoint.load(path)


def test_flipped_array_bytes_are_caught_by_the_content_hash(tmp_path):
    # Change an array's bytes and rewrite the zip with fresh CRCs: only the hash can tell.
    path = tmp_path / "checkpoint.npz"
    checkpoint.save_atomically({"w": np.zeros(100)}, path)
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    raw = bytearray(members["a0.npy"])
    raw[-8:] = np.float64(14623.0).tobytes()
    members["a0.npy"] = bytes(raw)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(CheckpointError, match="does not match its SHA-256 hash"):
        checkpoint.load(path)


def test_an_npz_that_is_not_a_checkpoint_and_a_newer_format_are_refused(tmp_path):
    np.savez(tmp_path / "weights.npz", w=np.ones(3))
    with pytest.raises(CheckpointError, match="not a minigrad checkpoint"):
        checkpoint.load(tmp_path / "weights.npz")
    path = tmp_path / "new.npz"
    checkpoint.save_atomically({"w": np.ones(3)}, path)
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    header_end = members["__meta__.npy"].index(b"\n") + 1
    meta = members["__meta__.npy"][header_end:].replace(b'"version": 1', b'"version": 9')
    members["__meta__.npy"] = _npy_bytes(np.frombuffer(meta, np.uint8))
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(CheckpointError, match="format version 9"):
        checkpoint.load(path)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        checkpoint.load(tmp_path / "missing.npz")


def _npy_bytes(array):
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_the_next_write_removes_temporary_files_a_killed_writer_left(tmp_path):
    path = tmp_path / "checkpoint.npz"
    stale = [tmp_path / "checkpoint.npz.abc123.tmp", tmp_path / "checkpoint.npz.x.tmp"]
    for p in stale:
        p.write_bytes(b"half a checkpoint")
    (tmp_path / "other.npz.y.tmp").write_bytes(b"not ours")
    checkpoint.save_atomically({"w": np.ones(2)}, path)
    assert not any(p.exists() for p in stale) and (tmp_path / "other.npz.y.tmp").exists()


WRITER = """
import sys
import numpy as np
from minigrad.train import checkpoint
path = sys.argv[1]
rng = np.random.default_rng(0)
print("ready", flush=True)
k = 0
while True:
    k += 1
    checkpoint.save_atomically({"step": k, "w": np.full(300_000, k, dtype=np.float32)}, path)
"""


def test_a_writer_killed_at_random_moments_always_leaves_a_loadable_checkpoint(tmp_path):
    path = tmp_path / "checkpoint.npz"
    rng = random.Random(0)
    for _ in range(6):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready"
        try:
            child.wait(timeout=rng.uniform(0.05, 0.4))
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
            child.wait()
        child.stdout.close()
        if path.exists():
            state = checkpoint.load(path)  # the previous complete one or the new complete one
            assert (state["w"] == state["step"]).all()
    checkpoint.save_atomically({"step": 0}, path)
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.npz"]  # no temporary file survives a write
