"""Scoring a model on JFLEG (GLEU, BLEU), W&I dev and CoNLL-2014 (edit F0.5), against copying."""
import time

import minigrad as mg

from . import data as gec
from .text import corpus_gleu, score_edits
from .text.spelling import SpellingCorrector
from .batches import make_batch, to_device, PAD
from .model import batch_loss
from .decode import correct, without_long_deletions, confidence_gains, keep_confident


def training_pairs(root, max_len):
    pairs = gec.wi_locness("train", root) + gec.fce("train", root)
    return [(s, t) for s, t in pairs if 1 <= len(s) <= max_len and 1 <= len(t) <= max_len]


def evaluate_sets(model, vocab, root, device, beam_size, length_penalty, limit=0, progress=False, margin=None):
    """Copy baseline and the model on JFLEG test (GLEU, BLEU), W&I dev (edit P/R/F0.5) and
    CoNLL-2014 test (edit P/R/F0.5, each sentence against the closer of its two annotators).

    The network alone is scored as decoded (greedy) and with keep_confident at ``margin``
    (chosen on JFLEG dev beforehand); the rest add the learned spelling corrector in front.
    """
    import sacrebleu

    jfleg_src, jfleg_refs = gec.read_jfleg("test", root)
    dev_src, dev_refs = gec.read_jfleg("dev", root)
    wi_dev = gec.wi_locness("dev", root)
    conll_src, conll_targets = gec.conll2014(root)
    if limit:
        jfleg_src, jfleg_refs, wi_dev = jfleg_src[:limit], jfleg_refs[:limit], wi_dev[:limit]
        dev_src, dev_refs = dev_src[:limit], dev_refs[:limit]
        conll_src, conll_targets = conll_src[:limit], [targets[:limit] for targets in conll_targets]
    wi_src, wi_tgt = [s for s, _ in wi_dev], [t for _, t in wi_dev]
    speller = SpellingCorrector(training_pairs(root, max_len=10**6))
    spelled_once = {}

    def spelled(src):  # the spelling corrector's output, once per test set
        if id(src) not in spelled_once:
            spelled_once[id(src)] = [speller(s) for s in src]
        return spelled_once[id(src)]

    decoded = {}  # greedy outputs per test set, shared by the raw and the guarded system
    now = {"label": "decoding"}  # what the progress bars say: the system and the test set

    def bar():
        return progress and now["label"]

    def greedy_alone(src):
        if ("alone", id(src)) not in decoded:
            decoded["alone", id(src)] = correct(model, src, vocab, device, 1, progress=bar())
        return decoded["alone", id(src)]

    def confident(src):
        hyp = greedy_alone(src)
        return keep_confident(src, hyp, confidence_gains(model, src, hyp, vocab, device), margin)

    def greedy_spelled(src):
        if id(src) not in decoded:
            decoded[id(src)] = correct(model, spelled(src), vocab, device, 1, progress=bar())
        return decoded[id(src)]

    decoders = {"copy the input": lambda src: [list(s) for s in src],
                "spelling only": spelled,
                "greedy": greedy_alone,
                "greedy, no long deletions": lambda src: without_long_deletions(src, greedy_alone(src)),
                "spelling+greedy": greedy_spelled,
                "spelling+greedy, no long deletions": lambda src: without_long_deletions(spelled(src),
                                                                                          greedy_spelled(src))}
    if margin is not None:
        decoders = {**dict(list(decoders.items())[:4]), f"greedy, confident (margin {margin:g})": confident,
                    **dict(list(decoders.items())[4:])}
    if beam_size > 1:
        decoders[f"beam {beam_size}"] = lambda src: correct(model, src, vocab, device, beam_size, 64, length_penalty,
                                                          bar())
        decoders[f"spelling+beam {beam_size}, no long deletions"] = lambda src: without_long_deletions(
            spelled(src), correct(model, spelled(src), vocab, device, beam_size, 64, length_penalty, bar()))
    results, outputs = {}, {}
    for name, decode in decoders.items():
        start = time.time()
        hypotheses = []
        for set_name, src in (("JFLEG test", jfleg_src), ("W&I dev", wi_src), ("CoNLL-2014 test", conll_src),
                              ("JFLEG dev", dev_src)):
            now["label"] = f"{name}: {set_name}"
            hypotheses.append(decode(src))
        hyp_jfleg, hyp_wi, hyp_conll, hyp_dev = hypotheses
        edits, conll = score_edits(wi_src, hyp_wi, wi_tgt), score_edits(conll_src, hyp_conll, *conll_targets)

        def bleu(hyp, refs):  # already tokenised text, scored as it is
            return sacrebleu.corpus_bleu([" ".join(h) for h in hyp], [[" ".join(r[k]) for r in refs] for k in range(4)],
                                         tokenize="none", force=True).score

        results[name] = {"jfleg_test_gleu": corpus_gleu(jfleg_src, hyp_jfleg, jfleg_refs),
                         "jfleg_test_bleu": bleu(hyp_jfleg, jfleg_refs),
                         "jfleg_dev_gleu": corpus_gleu(dev_src, hyp_dev, dev_refs),
                         "jfleg_dev_bleu": bleu(hyp_dev, dev_refs), "wi_dev_precision": edits.precision,
                         "wi_dev_recall": edits.recall, "wi_dev_f0.5": edits.f_beta(0.5),
                         "conll2014_precision": conll.precision, "conll2014_recall": conll.recall,
                         "conll2014_f0.5": conll.f_beta(0.5), "decode_seconds": time.time() - start}
        outputs[name] = {"jfleg_test": [" ".join(h) for h in hyp_jfleg], "wi_dev": [" ".join(h) for h in hyp_wi],
                         "conll2014_test": [" ".join(h) for h in hyp_conll], "jfleg_dev": [" ".join(h) for h in hyp_dev]}
    return results, outputs


def jfleg_dev_gleu(model, vocab, root, device, limit=0):
    """Greedy GLEU on JFLEG dev, the set choices are made on: the network alone."""
    source, references = gec.read_jfleg("dev", root)
    if limit:
        source, references = source[:limit], references[:limit]
    return corpus_gleu(source, correct(model, source, vocab, device, 1), references)


def print_results(results):
    print(f"{'system':<40}{'JFLEG GLEU':>12}{'JFLEG BLEU':>12}{'dev GLEU':>10}{'dev BLEU':>10}{'W&I P':>8}{'W&I R':>8}"
          f"{'W&I F0.5':>10}{'CoNLL P':>9}{'CoNLL R':>9}{'CoNLL F0.5':>12}")
    for name, r in results.items():
        if "jfleg_test_gleu" not in r:
            continue
        print(f"{name:<40}{r['jfleg_test_gleu']:12.2f}{r['jfleg_test_bleu']:12.2f}{r.get('jfleg_dev_gleu', 0):10.2f}"
              f"{r.get('jfleg_dev_bleu', 0):10.2f}{100 * r['wi_dev_precision']:8.1f}"
              f"{100 * r['wi_dev_recall']:8.1f}{100 * r['wi_dev_f0.5']:10.1f}{100 * r.get('conll2014_precision', 0):9.1f}"
              f"{100 * r.get('conll2014_recall', 0):9.1f}{100 * r.get('conll2014_f0.5', 0):12.1f}")


# ----- training ------------------------------------------------------------------------------

def dev_loss(model, pairs, vocab, device, batch_size=64):
    model.eval()
    total = count = 0
    with mg.no_grad():
        for start in range(0, len(pairs), batch_size):
            batch = to_device(make_batch(pairs[start:start + batch_size], vocab, model.ngram_buckets), device)
            words = int((batch["tgt_ext"] != PAD).sum())
            total += float(batch_loss(model, batch).item()) * words
            count += words
    model.train()
    return total / max(count, 1)


