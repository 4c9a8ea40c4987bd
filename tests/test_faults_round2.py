"""Reliability, second round: files validated field by field before use (an edited checkpoint
whose hash was recomputed is still refused), bounded memory on load (no small file can ask
for gigabytes), one-line errors from the scripts for the common mistakes, and a harness that
never loses or misreports a run (empty sets, a checkpoint beside a fresh start, the history
written after the checkpoint)."""
import gzip
import io
import json
import pickle
import zipfile

import numpy as np
import pytest

import minigrad as mg
from minigrad import data, nn, optim
from minigrad.train import ResumeError, Trainer, checkpoint, evaluate
from minigrad.train.checkpoint import CheckpointError
from test_examples import load_example


def run(tmp_path, epochs=2, scheduler=False):
    mg.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((32, 2)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.StepLR(opt, 1, 0.5) if scheduler else None
    trainer = Trainer(model, opt, scheduler=sched, checkpoint_path=tmp_path / "ckpt.npz", progress=False)
    return trainer, data.DataLoader((x, y), batch_size=8)


def edited(path, change):
    """The checkpoint at ``path`` changed by ``change(state)`` and saved again: a valid hash."""
    state = checkpoint.load(path)
    change(state)
    checkpoint.save_atomically(state, path)


def set_in(keys, value):
    def change(state):
        target = state
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
    return change


EDITS = {
    "no params": (set_in(["optimizer", "param_groups", 0, "params"], []), "param_groups\\[0\\] has the fields"),
    "huge epoch": (set_in(["epoch"], 10**9), "'history' is not the 1000000000 epochs"),
    "no run": (lambda s: s.pop("run"), "has the fields"),
    "negative lr": (set_in(["optimizer", "param_groups", 0, "lr"], -1.0), "'lr'\\] = -1.0"),
    "lr a string": (set_in(["optimizer", "param_groups", 0, "lr"], "fast"), "'lr'\\] = 'fast'"),
    "state of no parameter": (set_in(["optimizer", "state", 99], {"momentum_buffer": np.zeros(2)}),
                              "state\\[99\\] names no parameter"),
    "momentum of another shape": (set_in(["optimizer", "state", 0, "momentum_buffer"], np.zeros(5, np.float32)),
                                  "has shape \\(5,\\)"),
    "history out of order": (set_in(["history", 0, "epoch"], 7), "'history' is not"),
    "best after the end": (set_in(["best", "epoch"], 5), "'best' is not"),
    "weights of another dtype": (lambda s: s["model"].update({"0.weight": s["model"]["0.weight"].astype(np.float64)}),
                                 "0.weight has shape \\(8, 2\\) and dtype float64"),
    "rng garbage": (set_in(["rng", "cpu"], {"bit_generator": "MT19937"}), "'rng' is not"),
    "scheduler far ahead": (set_in(["scheduler", "last_epoch"], 10**6), "'scheduler.last_epoch'"),
}


@pytest.mark.parametrize("name", list(EDITS))
def test_an_edited_checkpoint_with_a_recomputed_hash_is_refused_naming_the_field(tmp_path, name):
    change, message = EDITS[name]
    trainer, loader = run(tmp_path, scheduler=True)
    trainer.fit(loader, epochs=1)
    edited(tmp_path / "ckpt.npz", change)
    trainer, loader = run(tmp_path, scheduler=True)
    with pytest.raises(ResumeError, match=f"ckpt.npz: .*{message}"):
        trainer.fit(loader, epochs=2, resume=True)


def test_a_checkpoint_further_than_the_run_is_refused(tmp_path):
    trainer, loader = run(tmp_path)
    trainer.fit(loader, epochs=2)
    trainer, loader = run(tmp_path)
    with pytest.raises(ResumeError, match="has done 2 epochs, more than the 1"):
        trainer.fit(loader, epochs=1, resume=True)


def write_npz(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, raw in members.items():
            z.writestr(name + ".npy", raw)


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def write_signed_structure(path, meta):
    """A checkpoint of no arrays whose structure (JSON bytes) is ``meta``, with a valid digest:
    only the structure itself can be wrong."""
    digest = checkpoint._digest(meta, [])
    write_npz(path, {"__meta__": npy_bytes(np.frombuffer(meta, np.uint8)),
                     "__sha256__": npy_bytes(np.frombuffer(digest.encode(), np.uint8))})


def test_json_nested_deep_is_refused(tmp_path):
    meta = ('{"format": "minigrad-checkpoint", "version": 1, "content": ' + "[" * 5000 + "]" * 5000 + "}").encode()
    write_signed_structure(tmp_path / "deep.npz", meta)
    with pytest.raises(CheckpointError, match="deep.npz: .*(nested too deeply|malformed)"):
        checkpoint.load(tmp_path / "deep.npz")


def test_a_small_file_cannot_ask_for_gigabytes(tmp_path):
    zeros = npy_bytes(np.zeros(50_000_000, np.uint8))  # 50 MB that deflate to ~50 kB
    write_npz(tmp_path / "bomb.npz", {"__meta__": zeros, "__sha256__": zeros, "a0": zeros}, zipfile.ZIP_DEFLATED)
    assert (tmp_path / "bomb.npz").stat().st_size < 1_000_000
    with pytest.raises(CheckpointError, match="bomb.npz: .*(compressed|decompress)"):
        checkpoint.load(tmp_path / "bomb.npz")
    fake = npy_header((99_999_999_999,)) + bytes(8)  # declares 800 GB, holds 8 bytes
    write_npz(tmp_path / "shape.npz", {"__meta__": fake, "__sha256__": fake})
    with pytest.raises(CheckpointError, match="shape.npz: .*declares shape \\(99999999999,\\)"):
        checkpoint.load(tmp_path / "shape.npz")


def npy_header(shape, descr="<f8"):
    """A .npy version 1.0 header that declares ``shape``, whatever data follows."""
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header


def test_a_gzip_bomb_posing_as_cifar_is_refused_before_it_is_read_whole(tmp_path):
    folder = tmp_path / "cifar10-subset"
    folder.mkdir()
    with gzip.open(folder / "data_batch_1.bin.gz", "wb") as f:
        for _ in range(50):
            f.write(bytes(1_000_000))  # 50 MB of zeros: more than any CIFAR batch
    with pytest.raises(data.DatasetError, match="decompresses to more than"):
        data.CIFAR10(tmp_path, download=False)


def test_cifar_labels_outside_0_to_9_and_a_names_member_outside_its_folder_are_refused(tmp_path):
    from minigrad.data import cifar, names

    batch = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, -1]}
    with pytest.raises(data.DatasetError, match="not a CIFAR-10 batch"):
        cifar.parse_pickle(pickle.dumps(batch), "batch")
    root = tmp_path / "root"
    root.mkdir()
    with zipfile.ZipFile(root / "names-data.zip", "w") as z:
        z.writestr("data/names/English.txt", "Smith\n")
        z.writestr("data/names/../x.txt", "Evil\n")
    with pytest.raises(data.DatasetError, match="names no language"):
        names.Names._download(root, allowed=False)
    assert not (root / "names" / "x.txt").exists()


def test_empty_training_and_evaluation_sets_say_so(tmp_path):
    trainer, _ = run(tmp_path)
    empty = data.DataLoader((np.zeros((0, 2), np.float32), np.zeros(0, np.int64)), batch_size=4)
    with pytest.raises(data.DatasetError, match="no batches"):
        trainer.fit(empty, epochs=1)
    with pytest.raises(data.DatasetError, match="no samples"):
        evaluate(trainer.model, empty)


def test_a_fresh_start_beside_a_checkpoint_is_refused_unless_asked(tmp_path):
    trainer, loader = run(tmp_path)
    trainer.fit(loader, epochs=1)
    before = (tmp_path / "ckpt.npz").read_bytes()
    trainer, loader = run(tmp_path)
    with pytest.raises(ResumeError, match="ckpt.npz exists: resume it"):
        trainer.fit(loader, epochs=1)
    assert (tmp_path / "ckpt.npz").read_bytes() == before  # nothing lost
    trainer.fit(loader, epochs=1, overwrite=True)


def test_the_history_is_written_after_the_checkpoint(tmp_path, monkeypatch):
    from minigrad.train import loop

    trainer, loader = run(tmp_path)
    trainer.out_dir = tmp_path
    seen = []
    original = loop.save_history

    def check_then_save(history, out_dir):
        seen.append(checkpoint.load(tmp_path / "ckpt.npz")["epoch"] == history[-1]["epoch"])
        original(history, out_dir)

    monkeypatch.setattr(loop, "save_history", check_then_save)
    trainer.fit(loader, epochs=2)
    assert seen == [True, True]


CIFAR_MISTAKES = [["--batch-size", "0"], ["--batch-size", "-5"], ["--epochs", "0"], ["--val-fraction", "0"],
                  ["--val-fraction", "1.5"], ["--limit", "-5"], ["--epoch", "1"], ["--lr", "nan"]]


@pytest.mark.parametrize("arguments", CIFAR_MISTAKES)
def test_the_cifar_script_answers_a_mistake_in_one_line(arguments, capsys):
    cifar = load_example("cifar10_cnn")
    with pytest.raises(SystemExit) as stop:
        cifar.main(arguments)
    assert stop.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "error:" in last and ("argument" in last or "unrecognized" in last)


@pytest.mark.parametrize("script, arguments", [
    ("char_rnn_names", ["train", "--hidden", "0"]), ("char_rnn_names", ["train", "--batch-size", "0"]),
    ("char_rnn_names", ["train", "--step", "5"]), ("lenet_mnist", ["q1", "--epochs", "0"]),
])
def test_the_other_scripts_answer_a_mistake_with_status_2(script, arguments, capsys):
    module = load_example(script)
    with pytest.raises(SystemExit) as stop:
        module.main(arguments)
    assert stop.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_the_gec_script_answers_a_mistake_with_status_2(capsys):
    import importlib
    import sys

    from test_examples import EXAMPLES

    sys.path.insert(0, str(EXAMPLES))
    try:
        gec_cli = importlib.import_module("gec.cli")
    finally:
        sys.path.remove(str(EXAMPLES))
    for arguments in (["train", "--batch-size", "0"], ["train", "--hidden", "255"], ["train", "--epoch", "1"]):
        with pytest.raises(SystemExit) as stop:
            gec_cli.main(arguments)
        assert stop.value.code == 2


def test_cifar_limit_too_small_for_a_split_is_one_line(tmp_path, capsys):
    from test_example_cifar import data_dir

    cifar = load_example("cifar10_cnn")
    code = mg.train.run_cli(cifar.main, ["--data-dir", str(data_dir(tmp_path)), "--limit", "1",
                                         "--out", str(tmp_path / "o")])
    assert code == 2 and "leave" in capsys.readouterr().err


def test_a_names_model_that_declares_other_sizes_is_refused_before_it_is_built(tmp_path):
    names = load_example("char_rnn_names")
    model = names.NameGenerator(3, 8)
    state = {"model": model.state_dict(), "languages": ["A", "B", "C"], "hidden": 40000, "cell": "rnn"}
    checkpoint.save_atomically(state, tmp_path / "model.npz")
    args = type("Args", (), {"checkpoint": tmp_path / "model.npz", "language": "A", "start": ["A"],
                             "temperature": 0.5, "count": 1, "seed": 0})()
    with pytest.raises(CheckpointError, match="hidden=40000.*do not match"):
        names.sample(args)


def test_the_json_of_a_checkpoint_is_not_trusted_to_name_arrays(tmp_path):
    """A reference to an array that is not there is a CheckpointError, not an IndexError."""
    meta = json.dumps({"format": "minigrad-checkpoint", "version": 1, "content": {"__array__": 7}}).encode()
    write_signed_structure(tmp_path / "ref.npz", meta)
    with pytest.raises(CheckpointError, match="ref.npz: corrupt checkpoint: its structure is malformed"):
        checkpoint.load(tmp_path / "ref.npz")


def test_cuda_with_cupy_but_no_gpu_says_there_is_no_gpu(monkeypatch):
    import sys
    import types

    from minigrad import backend

    def no_driver():
        raise RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")

    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_driver))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_nvidia_device_files", lambda: [])
    with pytest.raises(backend.DeviceError, match="this machine has no NVIDIA GPU"):
        backend.cupy_module()
    monkeypatch.setattr(backend, "_nvidia_device_files", lambda: ["/dev/nvidia0"])
    with pytest.raises(backend.DeviceError, match="CUDA is unusable: cudaErrorInsufficientDriver"):
        backend.cupy_module()
