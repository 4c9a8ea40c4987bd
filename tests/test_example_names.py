"""The surname generator: masking, a short real training that lowers held-out NLL, the CLI."""
import json

import numpy as np
import pytest

import minigrad as mg
from fake_data import SHARED_DATA
from test_examples import load_example

names = load_example("char_rnn_names")


def data_dir(tmp_path):
    if (SHARED_DATA / "names").is_dir():
        return SHARED_DATA
    folder = tmp_path / "data" / "names"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for language, stem in (("Alpha", "ka"), ("Beta", "lo"), ("Gamma", "mi")):  # learnable: one syllable each
        lines = [stem.capitalize() + stem * rng.integers(1, 4) for _ in range(60)]
        (folder / f"{language}.txt").write_text("\n".join(lines) + "\n")
    return tmp_path / "data"


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_padded_batch_loss_equals_names_one_at_a_time(cell):
    mg.manual_seed(0)
    model = names.NameGenerator(3, hidden_size=16, cell=cell).eval()  # eval: no dropout noise
    pairs = [(0, "Ab"), (2, "Kowalski"), (1, "Li")]
    batched = names.sequence_loss(model, *names.padded_batch(pairs, 3)).item()
    single = sum(names.sequence_loss(model, *names.padded_batch([p], 3)).item() for p in pairs)
    assert batched == pytest.approx(single, rel=1e-5)


def test_end_token_is_the_last_target_and_padding_is_ignored():
    _, letters, targets = names.padded_batch([(0, "Abc"), (1, "D")], 2)
    assert targets[0].tolist() == [names.encode("b")[0], names.encode("c")[0], names.EOS]
    assert targets[1].tolist() == [names.EOS, names.PAD, names.PAD]


def test_short_batched_training_lowers_heldout_nll_and_sampling_works(tmp_path, capsys):
    out = tmp_path / "run"
    result = names.main(["train", "--mode", "batched", "--steps", "150", "--batch-size", "32", "--hidden", "64",
                         "--data-dir", str(data_dir(tmp_path)), "--out", str(out), "--no-progress", "--log-every", "50"])
    assert result["after"]["all"] < result["before"] - 0.7, result  # nats per character
    saved = json.loads((out / "heldout_nll.json").read_text())
    assert saved["after_training"]["all"] == pytest.approx(result["after"]["all"])
    assert (out / "loss.png").exists() and (out / "samples.txt").read_text().count("\n") > 3
    language = saved["after_training"].keys().__iter__().__next__()
    names.main(["sample", "--checkpoint", str(out / "model.npz"), "--language", language, "--start", "K", "M"])
    printed = capsys.readouterr().out
    assert f"{language}, K -> K" in printed and f"{language}, M -> M" in printed


def test_single_name_mode_with_gated_cell_and_resume(tmp_path, capsys):
    args = ["train", "--mode", "single", "--cell", "gru", "--hidden", "16", "--data-dir", str(data_dir(tmp_path)),
            "--out", str(tmp_path / "run"), "--no-progress", "--log-every", "10", "--checkpoint-every", "10"]
    names.main(args + ["--steps", "20"])
    names.main(args + ["--steps", "30", "--resume"])
    assert "resumed at step 20" in capsys.readouterr().out
    straight = args[:args.index("--out") + 1] + [str(tmp_path / "straight")] + args[args.index("--out") + 2:]
    names.main(straight + ["--steps", "30"])
    from minigrad.train import checkpoint

    resumed, uninterrupted = (checkpoint.load(tmp_path / run / "model.npz")["model"] for run in ("run", "straight"))
    for name in uninterrupted:  # the same weights, bit for bit, as a run that was never stopped
        np.testing.assert_array_equal(resumed[name], uninterrupted[name], err_msg=name)


def test_ctrl_c_finishes_the_step_saves_it_and_resume_goes_on_bit_for_bit(tmp_path, capsys, monkeypatch):
    import os
    import signal

    from minigrad.train import checkpoint

    args = ["train", "--mode", "single", "--hidden", "16", "--data-dir", str(data_dir(tmp_path)), "--no-progress",
            "--checkpoint-every", "100000", "--log-every", "10"]
    original = names.training_pairs

    def ctrl_c_at_step_20(*a, **k):  # the SIGINT arrives inside a training step, whatever the machine's speed
        for i, pairs in enumerate(original(*a, **k)):
            if i == 20:
                os.kill(os.getpid(), signal.SIGINT)
            yield pairs

    with monkeypatch.context() as patch:
        patch.setattr(names, "training_pairs", ctrl_c_at_step_20)
        with pytest.raises(KeyboardInterrupt):  # (run_cli turns it into exit status 130)
            names.main(args + ["--out", str(tmp_path / "run"), "--steps", "1000000"])
    stopped = checkpoint.load(tmp_path / "run" / "checkpoint.npz")["step"]
    assert 0 < stopped < 1000000 and "checkpoint saved: continue with --resume" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
    end = str(stopped + 15)
    names.main(args + ["--out", str(tmp_path / "run"), "--steps", end, "--resume"])
    names.main(args + ["--out", str(tmp_path / "straight"), "--steps", end])
    resumed, uninterrupted = (checkpoint.load(tmp_path / run / "model.npz")["model"] for run in ("run", "straight"))
    for name in uninterrupted:
        np.testing.assert_array_equal(resumed[name], uninterrupted[name], err_msg=name)


def test_batched_mode_sees_as_many_names_as_the_homework_by_default(monkeypatch):
    # examples/README.md's table: 100,000 steps of one name, or 1,562 batches of 64 (it once ran 100,000 batches)
    trained = []
    monkeypatch.setattr(names, "train", lambda args: trained.append(args.steps))
    names.main(["train", "--mode", "batched", "--batch-size", "64"])
    names.main(["train", "--mode", "single"])
    names.main(["train", "--mode", "batched", "--steps", "7"])
    assert trained == [1562, 100000, 7]
