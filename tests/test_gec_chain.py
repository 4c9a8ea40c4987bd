"""The grammar-correction chain and its training steps: nothing lost on an interruption.

A run stopped (by --max-steps or Ctrl-C) and resumed ends with the same weights, bit for bit,
as a run never stopped; checkpoints come every few minutes; the chain prints its plan, skips
the finished steps and resumes the interrupted one. Small models on made-up corpora in the
official formats (tests/fake_data.py), so these run the same with or without the real data.
"""
import json
import os
import signal

import numpy as np
import pytest

from fake_data import write_gec
from gec import chain, cli, data as gec_data, train
from minigrad.train import ResumeError, checkpoint

SMALL = ["--embed", "16", "--hidden", "24", "--vocab-size", "400", "--dev-size", "8", "--batch-size", "16",
         "--no-eval", "--no-progress"]


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setattr(gec_data, "JFLEG_MD5", write_gec(tmp_path / "data", copies=12))
    return tmp_path / "data"


def weights(path):
    return checkpoint.load(path)["model"]


def assert_same_weights(a, b):
    a, b = weights(a), weights(b)
    assert a.keys() == b.keys()
    for name in a:  # dropout (0.2) and sampled words must go on as if never stopped
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_a_run_cut_and_resumed_ends_bit_for_bit_as_one_never_stopped(root, tmp_path):
    common = ["train", "--data-dir", str(root), "--epochs", "2", "--scheduled-sampling", "0.25"] + SMALL
    cli.main(common + ["--out", str(tmp_path / "straight")])
    cli.main(common + ["--out", str(tmp_path / "cut"), "--max-steps", "3"])
    saved = checkpoint.load(tmp_path / "cut" / "checkpoint.npz")
    assert saved["state"]["step"] == 3 and {"rng", "sampling_rng"} <= set(saved)
    cli.main(common + ["--out", str(tmp_path / "cut"), "--resume"])
    assert_same_weights(tmp_path / "cut" / "model.npz", tmp_path / "straight" / "model.npz")


def test_ctrl_c_finishes_the_step_saves_it_and_resume_goes_on_bit_for_bit(root, tmp_path, capsys, monkeypatch):
    common = ["train", "--data-dir", str(root), "--epochs", "1", "--checkpoint-every", "100000",
              "--checkpoint-minutes", "0"] + SMALL
    original, made = train.make_batch, []

    def ctrl_c_at_the_fourth_batch(*args, **kwargs):  # the SIGINT arrives inside a training step
        made.append(1)
        if len(made) == 4:
            os.kill(os.getpid(), signal.SIGINT)
        return original(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(train, "make_batch", ctrl_c_at_the_fourth_batch)
        with pytest.raises(KeyboardInterrupt):
            cli.main(common + ["--out", str(tmp_path / "run")])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
    assert "checkpoint saved: continue with --resume" in capsys.readouterr().err
    assert checkpoint.load(tmp_path / "run" / "checkpoint.npz")["state"]["batch"] == 4  # that step, finished
    cli.main(common + ["--out", str(tmp_path / "run"), "--resume"])
    assert "resumed at epoch 1, batch 4" in capsys.readouterr().out
    cli.main(common + ["--out", str(tmp_path / "straight")])
    assert_same_weights(tmp_path / "run" / "model.npz", tmp_path / "straight" / "model.npz")


@pytest.mark.parametrize("minutes,saves_inside_the_epoch", [(1e-9, True), (0, False)])
def test_checkpoints_come_every_few_minutes(root, tmp_path, monkeypatch, minutes, saves_inside_the_epoch):
    saved_at = []
    original = train.checkpoint.save_atomically

    def recording(obj, path):
        if path.name == "checkpoint.npz":
            saved_at.append(obj["state"]["step"])
        return original(obj, path)

    monkeypatch.setattr(train.checkpoint, "save_atomically", recording)
    cli.main(["train", "--data-dir", str(root), "--epochs", "1", "--checkpoint-every", "100000",
              "--checkpoint-minutes", str(minutes), "--out", str(tmp_path / "run")] + SMALL)
    steps = saved_at[-1]  # the end of the epoch saves in any case
    assert steps > 3 and saved_at == (list(range(1, steps + 1)) + [steps] if saves_inside_the_epoch else [steps])


def test_a_checkpoint_without_sound_random_states_is_refused(root, tmp_path):
    common = ["train", "--data-dir", str(root), "--epochs", "2", "--out", str(tmp_path / "run")] + SMALL
    cli.main(common + ["--max-steps", "2"])
    path = tmp_path / "run" / "checkpoint.npz"
    saved = checkpoint.load(path)
    for damage, message in ((lambda s: s.pop("sampling_rng"), "holds no 'sampling_rng'"),
                            (lambda s: s["rng"].update(cpu={"bit_generator": "nonsense"}), "random generator states")):
        broken = json.loads(json.dumps(saved, default=lambda a: a.tolist()))  # a deep copy
        broken["model"], broken["optimizer"] = saved["model"], saved["optimizer"]
        damage(broken)
        checkpoint.save_atomically(broken, path)
        with pytest.raises(ResumeError, match=message) as refused:
            cli.main(common + ["--resume"])
        assert str(path) in str(refused.value)


TINY_STEPS = [("words", "tiny word model", ["--epochs", "2"] + SMALL[:-2], 2, 0),
              ("ngrams", "tiny n-gram step", ["--epochs", "1", "--char-ngrams", "64", "--synthetic", "1",
                                              "--spelling-boost", "4"] + SMALL[:-2], 1, 1)]


def run_chain(root, out, capsys):
    cli.main(["chain", "--data-dir", str(root), "--out", str(out), "--no-progress"])
    return capsys.readouterr().out


def test_the_chain_plans_runs_every_step_and_skips_what_is_done(root, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(chain, "STEPS", TINY_STEPS)
    monkeypatch.setattr(chain, "MODEL", {"embed": 16, "hidden": 24, "vocab_size": 400})
    printed = run_chain(root, tmp_path / "chain", capsys)
    plan = printed[printed.index("the plan:"):printed.index("expected time: ~")]
    for k, name in enumerate(("words", "ngrams", "evaluate"), 1):
        assert f"{k}. {name}" in plan and f"== {k}/3 {name} (~" in printed
        assert (tmp_path / "chain" / name / "done").exists()
    record = json.loads((tmp_path / "chain" / "chain.json").read_text())
    assert set(record["seconds"]) == {"words", "ngrams", "evaluate"} and record["cpu"] == chain.cpu_model()
    assert record["total_seconds"] == pytest.approx(sum(record["seconds"].values()) + record["calibration_seconds"])
    assert set(record["jfleg_dev_gleu"]) == {"words", "ngrams"} and "JFLEG dev GLEU after each step" in printed
    results = json.loads((tmp_path / "chain" / "ngrams" / "results.json").read_text())
    assert "greedy" in results and "jfleg_dev_gleu" in results["greedy"]
    alone = cli.main(["evaluate", "--data-dir", str(root), "--out", str(tmp_path / "chain" / "ngrams"),
                      "--jfleg-dev-only", "--no-progress"])
    assert alone["jfleg_dev_gleu"] == record["jfleg_dev_gleu"]["ngrams"] == results["greedy"]["jfleg_dev_gleu"]
    capsys.readouterr()
    again = run_chain(root, tmp_path / "chain", capsys)
    assert again.count("done already") == 3 and "training pairs," not in again.split("expected time")[1]


def test_the_chain_resumes_the_step_ctrl_c_stopped_and_ends_as_an_unbroken_one(root, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(chain, "STEPS", TINY_STEPS)
    monkeypatch.setattr(chain, "MODEL", {"embed": 16, "hidden": 24, "vocab_size": 400})
    run_chain(root, tmp_path / "unbroken", capsys)
    original, made = train.make_batch, []

    def ctrl_c_in_the_second_step(pairs, vocab, ngram_buckets):
        made.append(ngram_buckets)  # (the n-gram table's size: 0 in the first step)
        if made.count(64) == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return original(pairs, vocab, ngram_buckets)

    with monkeypatch.context() as patch:
        patch.setattr(train, "make_batch", ctrl_c_in_the_second_step)
        with pytest.raises(KeyboardInterrupt):
            run_chain(root, tmp_path / "broken", capsys)
    record = json.loads((tmp_path / "broken" / "chain.json").read_text())
    assert "ngrams" in record["seconds"] and not (tmp_path / "broken" / "ngrams" / "done").exists()
    printed = run_chain(root, tmp_path / "broken", capsys)
    assert "== 1/3 words: done already" in printed and "resumed at epoch 1, batch 3" in printed
    for step in ("words", "ngrams"):
        assert_same_weights(tmp_path / "broken" / step / "model.npz", tmp_path / "unbroken" / step / "model.npz")
    unbroken, broken = (json.loads((tmp_path / run / "ngrams" / "results.json").read_text())
                        for run in ("unbroken", "broken"))
    assert broken["greedy"]["jfleg_test_gleu"] == unbroken["greedy"]["jfleg_test_gleu"]
