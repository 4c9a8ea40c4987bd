"""The grammar-correction example: decoding, the copy loss, gradients and the CLI."""
import json

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from fake_data import GEC_SENTENCES, SHARED_DATA, write_gec
from gec import batches, cli, data as gec_data, decode, model as corrector, train
from gec.text import Vocabulary

PAIRS = [(s.split(), t.split()) for s, t in GEC_SENTENCES]


def tiny_model(copy=True, attention="general", dtype=np.float32, vocab_size=30, seed=0, char_ngrams=0):
    vocab = Vocabulary([w for pair in PAIRS for w in pair][:6], max_size=vocab_size)  # small: many words unknown
    mg.set_default_dtype(dtype)
    try:
        mg.manual_seed(seed)
        model = corrector.Corrector(len(vocab), 8, 12, attention=attention, copy=copy, dropout=0.0, char_ngrams=char_ngrams)
    finally:
        mg.set_default_dtype(np.float32)
    return model, vocab


@pytest.mark.parametrize("copy,char_ngrams", [(True, 0), (False, 0), (True, 64)])
def test_beam_of_one_is_greedy(copy, char_ngrams):
    model, vocab = tiny_model(copy, char_ngrams=char_ngrams)
    if char_ngrams:  # not the zeros it starts from: beam search must slice the n-grams right
        model.char_ngrams.weight.data[1:] = np.random.default_rng(0).normal(size=(char_ngrams - 1, 8))
    sources = [s for s, _ in PAIRS]
    assert decode.correct(model, sources, vocab, "cpu", beam_size=1) == decode.correct(model, sources, vocab, "cpu",
                                                                                   beam_size=1, batch_size=3)
    batch = batches.make_batch([(s, None) for s in sources], vocab, char_ngrams)
    assert decode.beam_search(model.eval(), batch, beam_size=1) == decode.greedy(model, batch)


@given(st.lists(st.integers(-3, 3), min_size=1, max_size=40), st.integers(1, 12))
def test_best_first_is_the_head_of_a_stable_sort(values, count):
    values = np.array(values, dtype=np.float64)  # small integers: many ties
    np.testing.assert_array_equal(decode.best_first(values, count), np.argsort(-values, kind="stable")[:count])


@pytest.mark.parametrize("copy,char_ngrams", [(True, 0), (False, 0), (False, 64)])
def test_beam_search_of_a_batch_is_that_of_each_sentence_alone(copy, char_ngrams):
    # All sentences advance together, each with its own hypotheses, finished list and length
    # limit; the no-copy model here ends some sentences early, others run to their limit.
    model, vocab = tiny_model(copy, dtype=np.float64, char_ngrams=char_ngrams)
    if char_ngrams:
        model.char_ngrams.weight.data[1:] = np.random.default_rng(0).normal(size=(char_ngrams - 1, 8))
    model.eval()
    sources = [s for s, _ in PAIRS]
    mg.set_default_dtype(np.float64)
    try:
        for beam_size in (3, 5):
            together = decode.beam_search(model, batches.make_batch([(s, None) for s in sources], vocab, char_ngrams),
                                          beam_size)
            alone = [decode.beam_search(model, batches.make_batch([(s, None)], vocab, char_ngrams), beam_size)[0]
                     for s in sources]
            assert together == alone
    finally:
        mg.set_default_dtype(np.float32)
    if not copy:  # (the case it is meant to cover)
        assert len({len(hyp) for hyp in together}) > 1


def test_copy_loss_is_the_decoder_distribution_at_the_targets():
    """Training's -log P(target) (a gather plus a masked sum) equals -log of the full extended
    distribution that decoding builds, step by step under teacher forcing."""
    model, vocab = tiny_model(copy=True, dtype=np.float64)
    model.eval()
    batch = batches.make_batch(PAIRS[:4], vocab)
    assert (batch["tgt_ext"] >= len(vocab)).any()  # some targets are only reachable by copying
    loss = corrector.batch_loss(model, batch).item()
    with mg.no_grad():
        states, mask, state = model.encode(batch["src"], batch["src_len"])
        feed = model.initial_feed(states)
        nll = []
        for t in range(batch["decoder_in"].shape[1]):
            scores, weights, gate, state, feed = model.step(batch["decoder_in"][:, t], state, feed, states, mask)
            dist = corrector.word_distribution(model, scores, weights, gate, batch["src_ext"])
            for b in range(len(PAIRS[:4])):
                target = batch["tgt_ext"][b, t]
                if target != batches.PAD:
                    nll.append(-np.log(dist[b, target] + 1e-9))
    assert loss == pytest.approx(np.mean(nll), rel=1e-9)


def test_edit_weight_scales_only_the_words_an_edit_wrote():
    model, vocab = tiny_model(copy=True, dtype=np.float64)
    model.eval()
    unchanged = batches.make_batch([(s, s) for s, _ in PAIRS[:3]], vocab)  # nothing edited: weights are moot
    assert not unchanged["edited"].any()
    assert corrector.batch_loss(model, unchanged, edit_weight=4.0).item() == pytest.approx(corrector.batch_loss(model, unchanged).item())
    batch = batches.make_batch(PAIRS[:4], vocab)
    assert batch["edited"].any() and not batch["edited"].all()
    # the weighted mean, from each word's -log P: Σ w·nll / Σ w with w = 4 on edited words
    nll = -np.log(per_word_probabilities(model, batch))
    real = batch["tgt_ext"] != batches.PAD
    w = np.where(batch["edited"], 4.0, 1.0)[real]
    assert corrector.batch_loss(model, batch, edit_weight=4.0).item() == pytest.approx((w * nll[real]).sum() / w.sum())
    # per sentence: the total -log P of each target
    np.testing.assert_allclose(corrector.batch_loss(model, batch, per_sentence=True).numpy(), (nll * real).sum(axis=1))


def per_word_probabilities(model, batch):
    """P(target word) at every step, from the decoding distribution under teacher forcing."""
    with mg.no_grad():
        states, mask, state = model.encode(batch["src"], batch["src_len"])
        feed = model.initial_feed(states)
        probs = np.ones(batch["tgt_ext"].shape)
        for t in range(batch["decoder_in"].shape[1]):
            scores, weights, gate, state, feed = model.step(batch["decoder_in"][:, t], state, feed, states, mask)
            dist = corrector.word_distribution(model, scores, weights, gate, batch["src_ext"])
            real = batch["tgt_ext"][:, t] != batches.PAD
            probs[real, t] = dist[np.flatnonzero(real), batch["tgt_ext"][real, t]] + 1e-9
    return probs


def test_confident_corrections_keep_the_source_unless_the_model_prefers_the_change():
    model, vocab = tiny_model(copy=True, dtype=np.float64)
    sources = [s for s, _ in PAIRS[:4]]
    hypotheses = [sources[0]] + [t for _, t in PAIRS[1:4]]  # the first one unchanged
    gains = decode.confidence_gains(model, sources, hypotheses, vocab, "cpu")
    assert gains[0] == 0
    expected = (decode.sentence_log_probs(model, sources[1:], hypotheses[1:], vocab, "cpu")
                - decode.sentence_log_probs(model, sources[1:], sources[1:], vocab, "cpu"))
    np.testing.assert_allclose(gains[1:], expected)
    kept = decode.keep_confident(sources, hypotheses, gains, margin=float(np.median(gains[1:])))
    for s, h, k, g in zip(sources, hypotheses, kept, gains):
        assert k == (h if g >= np.median(gains[1:]) else s)
    assert decode.keep_confident(sources, hypotheses, gains, margin=np.inf) == sources


@pytest.mark.parametrize("copy,attention", [(True, "general"), (False, "additive"), (True, "dot")])
def test_model_gradients_match_finite_differences(copy, attention):
    model, vocab = tiny_model(copy, attention=attention, dtype=np.float64)
    batch = batches.make_batch(PAIRS[:3], vocab)
    params = list(model.parameters())
    assert mg.gradcheck(lambda *p: corrector.batch_loss(model, batch), *params, mode="directional")


def test_char_ngram_model_starts_as_the_word_model_and_learns_its_table():
    """The n-gram table starts at zero and is created last, so a model with it computes what the
    same model without it does (fine-tuning starts where the word model was); its gradients
    match finite differences; and two unknown words then differ where the word model saw one."""
    word_model, vocab = tiny_model(copy=True, dtype=np.float64)
    model, _ = tiny_model(copy=True, dtype=np.float64, char_ngrams=64)
    batch = batches.make_batch(PAIRS[:3], vocab, model.ngram_buckets)
    assert corrector.batch_loss(model.eval(), batch).item() == corrector.batch_loss(word_model.eval(), batch).item()
    rng = np.random.default_rng(0)
    model.char_ngrams.weight.data[1:] = rng.normal(size=(63, 8))  # row 0 pads: zero, no gradient
    assert mg.gradcheck(lambda table: corrector.batch_loss(model, batch), model.char_ngrams.weight, mode="directional")
    assert mg.gradcheck(lambda *p: corrector.batch_loss(model, batch), *model.parameters(), mode="directional")
    unknown = batches.make_batch([("becuase xyzzy".split(), None), ("because qwert".split(), None)], vocab, 64)
    assert (unknown["src"] == vocab.unk).all()  # one word to the word model...
    vectors = model.embed_source(unknown["src"], unknown["ngrams"]).numpy()
    assert not np.allclose(vectors[0, 0], vectors[1, 0])  # ...four different words to this one
    # each word's n-gram part is the mean of its rows of the table, padding positions add nothing
    ids, counts, positions = batches.source_ngrams([["cat", "cat", "dog"], ["dog"]], 64)
    assert positions.tolist() == [[1, 1, 2], [2, 0, 0]] and ids[0].tolist() == [0] * ids.shape[1]
    part = model.embed_source(np.zeros((2, 3), dtype=np.int64), (ids, counts, positions)).numpy()
    table = model.char_ngrams.weight.data
    np.testing.assert_allclose(part[0, 2], table[[i for i in ids[2] if i]].mean(axis=0))
    np.testing.assert_allclose(part[1, 1], 0)


def data_root(tmp_path, monkeypatch):
    if (SHARED_DATA / "gec" / "jfleg").is_dir():
        return SHARED_DATA
    monkeypatch.setattr(gec_data, "JFLEG_MD5", write_gec(tmp_path))
    return tmp_path


def test_cli_trains_evaluates_and_corrects(tmp_path, monkeypatch, capsys):
    root, out = data_root(tmp_path, monkeypatch), tmp_path / "run"
    common = ["--data-dir", str(root), "--out", str(out), "--no-progress", "--eval-limit", "8", "--beam", "2"]
    results = cli.main(["train", "--limit", "300", "--epochs", "2", "--embed", "16", "--hidden", "24",
                        "--vocab-size", "400", "--dev-size", "40", "--log-every", "2", "--batch-size", "16",
                        "--lr", "3e-3"] + common)
    assert set(results) >= {"copy the input", "spelling only", "greedy", "beam 2", "spelling+beam 2, no long deletions"}
    assert any(name.startswith("greedy, confident (margin ") for name in results)
    # the copy baseline is scored against the references as the metric itself scores it
    from gec.text import corpus_gleu

    sources, references = gec_data.read_jfleg("test", root)
    copy_gleu = corpus_gleu(sources[:8], sources[:8], references[:8])
    assert results["copy the input"]["jfleg_test_gleu"] == pytest.approx(copy_gleu, abs=0.01)
    assert all(0 <= r["jfleg_test_gleu"] <= 100 for r in results.values() if "jfleg_test_gleu" in r)
    history = json.loads((out / "history.json").read_text())
    assert history["train_loss"][-1] < 0.8 * history["train_loss"][0]  # it learns
    assert (out / "loss.png").stat().st_size > 0 and (out / "checkpoint.npz").exists()
    # resume: a finished run continues from its checkpoint instead of starting over
    cli.main(["train", "--limit", "300", "--epochs", "3", "--embed", "16", "--hidden", "24", "--vocab-size", "400",
              "--dev-size", "40", "--batch-size", "16", "--resume", "--no-eval"] + common)
    assert "resumed at epoch 3" in capsys.readouterr().out
    # with progress bars, each names the system and the test set it decodes
    cli.main(["evaluate", "--data-dir", str(root), "--out", str(out), "--eval-limit", "4", "--beam", "2"])
    bars = capsys.readouterr().err
    for label in ("greedy: JFLEG test", "spelling+greedy: W&I dev", "beam 2: CoNLL-2014 test"):
        assert label in bars, label
    # a run stopped inside an epoch (--max-steps, --time-budget) resumes at the next batch of it
    cut = ["train", "--limit", "300", "--epochs", "1", "--embed", "16", "--hidden", "24", "--vocab-size", "400",
           "--dev-size", "40", "--batch-size", "16", "--no-eval", "--data-dir", str(root), "--out", str(tmp_path / "cut"),
           "--no-progress"]
    cli.main(cut + ["--max-steps", "3"])
    assert "epoch 1 (stopped at batch 3 of 19)" in capsys.readouterr().out
    cli.main(cut + ["--resume"])
    printed = capsys.readouterr().out
    assert "resumed at epoch 1, batch 3" in printed and "epoch 1: train loss" in printed
    cli.main(["correct", "She go to school every days .", "--out", str(out), "--beam", "2"])
    assert "->" in capsys.readouterr().out
    cli.main(["train", "--limit", "300", "--epochs", "1", "--max-steps", "2", "--dev-size", "40", "--no-eval",
              "--edit-weight", "2", "--lr-decay", "0.5", "--synthetic", "1", "--noise-boost", "3",
              "--init-from", str(out / "model.npz"), "--data-dir", str(root), "--out", str(tmp_path / "tuned"),
              "--no-progress"])
    printed = capsys.readouterr().out
    assert "initialised from" in printed
    added = int(printed.split(" synthetic pairs")[0].split()[-1])
    assert 0 < added <= 300  # corrupted copies that differ from their correction
    # fine-tuning with character n-grams and misspelled synthetic pairs: the word model's sizes
    # (not this command line's defaults) and the new table go into the tuned model
    tuned = tmp_path / "tuned_ngrams"
    cli.main(["train", "--limit", "300", "--epochs", "1", "--max-steps", "2", "--dev-size", "40", "--no-eval",
              "--synthetic", "1", "--spelling-boost", "20", "--char-ngrams", "512", "--init-from", str(out / "model.npz"),
              "--data-dir", str(root), "--out", str(tuned), "--no-progress"])
    printed = capsys.readouterr().out
    assert "new: char_ngrams.weight" in printed
    assert int(printed.split(" synthetic pairs")[0].split()[-1]) > added  # misspellings on top
    model, _ = train.load_model(tuned / "model.npz", "cpu")
    assert model.ngram_buckets == 512 and model.embedding.embedding_dim == 16
    cli.main(["correct", "She go to scool every days .", "--out", str(tuned), "--beam", "1"])
    assert "->" in capsys.readouterr().out


@pytest.mark.parametrize("copy", [True, False])
def test_scheduled_sampling_scores_step_by_step_and_agrees_with_teacher_forcing(copy):
    # Teacher forcing scores every step at once; scheduled sampling scores each step as it goes
    # (it needs the guesses). With a sampling probability too small to ever draw, the two feed
    # the same words: the same loss and gradients. With probability 1 the guesses are fed.
    model, vocab = tiny_model(copy, dtype=np.float64)
    batch = batches.make_batch(PAIRS, vocab)
    results = []
    for probability in (0.0, 1e-12, 1.0):
        model.zero_grad()
        loss = corrector.batch_loss(model, batch, scheduled_sampling=probability, rng=np.random.default_rng(0))
        loss.backward()
        results.append((loss.item(), [p.grad.numpy().copy() for p in model.parameters()]))
    (forced, forced_grads), (rare, rare_grads), (always, _) = results
    np.testing.assert_allclose(rare, forced, rtol=1e-12)
    for a, b in zip(rare_grads, forced_grads):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert np.isfinite(always) and abs(always - forced) > 1e-6
