"""The GEC corpora readers, the metrics (GLEU, edit F0.5) and the spelling corrector."""
import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fake_data import GEC_SENTENCES, SHARED_DATA, m2_text, write_gec
from gec import data as gec
from minigrad.data.files import DatasetError
from gec.text import Vocabulary, corpus_gleu, extract_edits, gleu_statistics, score_edits, tokenize
from gec.text.gleu import gleu_from_statistics
from gec.text.spelling import SpellingCorrector, one_edit
from gec.text.edits import edited_target_positions
from gec.text.ngrams import char_ngrams, ngram_ids, ngram_table
from gec.text.noise import ErrorModel, random_letter_edit

REAL_GEC = SHARED_DATA / "gec"
needs_real = pytest.mark.skipif(not (REAL_GEC / "jfleg").is_dir(), reason="the real GEC data is not here")


def test_m2_reader_applies_annotator_0_edits_right_to_left(tmp_path):
    path = tmp_path / "x.m2"
    path.write_text(
        "S A b c d .\n"
        "A 1 2|||R:X|||B1 B2|||REQUIRED|||-NONE-|||0\n"  # replace one word by two: later offsets move
        "A 3 3|||M:X|||new|||REQUIRED|||-NONE-|||0\n"     # an insertion
        "A 3 4|||R:X|||ignored|||REQUIRED|||-NONE-|||1\n"  # another annotator
        "\nS Fine .\nA -1 -1|||noop|||-NONE-|||REQUIRED|||-NONE-|||0\n\n"
    )
    assert gec.read_m2(path) == [("A b c d .".split(), "A B1 B2 c new d .".split()), (["Fine", "."], ["Fine", "."])]


@pytest.mark.parametrize("bad", ["S a b\nA 0 5|||R|||x|||REQUIRED|||-NONE-|||0\n",  # edit past the end
                                 "S a b\nA zero|||R|||x|||REQUIRED|||-NONE-|||0\n",
                                 "S a b\ngarbage line\n", ""])
def test_m2_reader_refuses_corrupt_files(tmp_path, bad):
    path = tmp_path / "bad.m2"
    path.write_text(bad)
    with pytest.raises(DatasetError, match="bad.m2"):
        gec.read_m2(path)


def test_fce_reader_splits_sentences_and_skips_detection_only_edits(tmp_path):
    write_gec(tmp_path)
    pairs, essays, applied = gec.read_fce(tmp_path / "gec" / "fce_v2.1_json" / "fce-train.json")
    assert (essays, applied) == (1, 2)
    assert pairs == [("I have a apple .".split(), "I have an apple .".split()),
                     ("They was happy .".split(), "They were happy .".split()), (["See", "you", "."],) * 2]


def test_fce_edit_across_a_sentence_boundary_joins_the_sentences():
    essay = {"id": "x", "text": "I am here. You are there.", "edits": [[0, [[9, 14, " and you", "X"]]]]}
    assert gec.fce_essay_pairs(essay) == [("I am here . You are there .".split(), "I am here and you are there .".split())]


@needs_real
def test_real_corpora_have_their_published_sizes():
    assert len(gec.wi_locness("train", SHARED_DATA)) == 34308  # 10,493 + 13,032 + 10,783
    assert len(gec.wi_locness("dev", SHARED_DATA)) == 3396
    pairs, essays, applied = gec.read_fce(REAL_GEC / "fce_v2.1_json" / "fce-train.json")
    assert (essays, applied) == (2116, 43278)  # scripts and non-null edits of the release
    assert abs(len(pairs) - 28350) / 28350 < 0.03  # sentences: depends on the splitter
    sources, (first, second) = gec.conll2014(SHARED_DATA)
    assert len(sources) == len(first) == len(second) == 1312
    # every sentence with an edit line of an annotator comes out changed (counted from the raw
    # A lines: 947 and 1,042; the data README gives 943 and 1,032, counted some other way)
    assert sum(s != t for s, t in zip(sources, first)) == 947
    assert sum(s != t for s, t in zip(sources, second)) == 1042
    sources, refs = gec.read_jfleg("test", SHARED_DATA, download=False)
    assert len(sources) == 747 and all(len(r) == 4 for r in refs)


@needs_real
def test_gleu_reproduces_the_published_jfleg_source_scores():
    """JFLEG's README: the unchanged sources score 38.21 (dev) and 40.54 (test)."""
    for split, published in (("dev", 38.21), ("test", 40.54)):
        sources, refs = gec.read_jfleg(split, SHARED_DATA, download=False)
        assert round(corpus_gleu(sources, sources, refs), 2) == published


def test_jfleg_file_with_wrong_checksum_is_refused(tmp_path):
    write_gec(tmp_path)  # fake files: their md5 is not the official one
    with pytest.raises(DatasetError, match="corrupt or not the official"):
        gec.read_jfleg("test", tmp_path, download=False)


def test_gleu_hand_computed_case():
    source = "the cat sat on mat".split()
    reference = "the cat sat on the mat".split()
    hypothesis = "the cat sit on mat".split()
    # unigrams: H∩R = the, cat, on, mat = 4; no source unigram is missing from R -> 4 of 5
    # bigrams:  H∩R = {the cat} = 1; 'on mat' is in S and H but not R: penalised -> max(1-1, 0) = 0 of 4
    assert gleu_statistics(source, hypothesis, reference, order=2) == [5, 6, 4, 5, 0, 4]
    # order 1: exp(min(0, 1 - 6/5) + log(4/5)) = 0.8 e^-0.2
    unigram = gleu_from_statistics(gleu_statistics(source, hypothesis, reference, order=1))
    assert unigram == pytest.approx(0.8 * math.exp(-0.2))
    assert corpus_gleu([source], [hypothesis], [[reference]], iterations=3, order=1) == pytest.approx(100 * unigram)
    assert corpus_gleu([source], [reference], [[reference]]) == pytest.approx(100)  # the reference itself


def test_edit_scores_hand_computed_case():
    source = "I has a apple".split()
    gold = "I have an apple".split()
    assert extract_edits(source, gold) == {(1, 3, ("have", "an"))}
    assert edited_target_positions(source, gold) == {1, 2}
    assert edited_target_positions("She go school".split(), "She goes to school".split()) == {1, 2}
    score = score_edits([source, source], [gold, "I had a apple".split()], [gold, gold])
    assert (score.true_positives, score.proposed, score.gold) == (1, 2, 2)
    assert score.precision == 0.5 and score.recall == 0.5 and score.f_beta(0.5) == pytest.approx(0.5)
    # two annotators: each sentence counts against the one that agrees with the system most
    other = "I had an apple".split()
    score = score_edits([source, source], [gold, other], [gold, gold], [other, other])
    assert (score.true_positives, score.proposed, score.gold) == (2, 2, 2)
    # a system that changes nothing is scored against the annotator with fewer edits
    score = score_edits([source], [source], [gold], [source])
    assert (score.true_positives, score.proposed, score.gold) == (0, 0, 0)


def test_tokenizer_splits_like_the_corpora():
    assert tokenize("I don't know, it's John's.") == "I do n't know , it 's John 's .".split()


def test_spelling_corrector_learns_from_training_pairs():
    pairs = [(s.split(), t.split()) for s, t in GEC_SENTENCES] * 3
    pairs += [("we defenitly go".split(), "we definitely go".split())]
    speller = SpellingCorrector(pairs)
    assert speller("I definitly agree".split()) == "I definitely agree".split()  # one edit from a known word
    assert speller("we defenitly".split()) == "we definitely".split()  # a misspelling the data corrected
    assert speller("Definitly Zork".split()) == "Definitly Zork".split()  # capitalised: maybe a name, untouched


def test_vocabulary_is_ordered_by_frequency_and_round_trips():
    vocab = Vocabulary([["b", "a", "b"], ["c"]], max_size=6)
    assert vocab.words[4:] == ["b", "a"]  # most frequent first, ties alphabetical, capped
    assert vocab.encode(["b", "zzz"]) == [4, Vocabulary.unk]
    assert Vocabulary.from_state_dict(json.loads(json.dumps(vocab.state_dict()))).words == vocab.words


def test_m2_writer_and_reader_agree_on_the_fake_pairs(tmp_path):
    path = tmp_path / "fake.m2"
    path.write_text(m2_text(GEC_SENTENCES))
    assert gec.read_m2(path) == [(s.split(), t.split()) for s, t in GEC_SENTENCES]


def test_error_model_learns_one_word_confusions_from_the_corrections():
    pairs = [("He go home .".split(), "He goes home .".split())] * 2 + [
        ("They go .".split(), "They go .".split()),  # 'go' is a word corrections use: not a misspelling
        ("I like a apple .".split(), "I like an apple .".split()),  # 'an' corrupted in 2 of 3 uses
        ("I like a egg .".split(), "I like an egg .".split()),
        ("I like an owl .".split(), "I like an owl .".split()),
        ("I like a owl .".split(), "I like a owl .".split()),  # 'a' is a correct word too
        ("See the dog .".split(), "See the dog .".split()),
        ("We the went .".split(), "We went .".split()),  # the learner's extra 'the', deleted
        ("We the ran .".split(), "We ran .".split()),
        ("We swum .".split(), "We swam .".split()),  # seen once: below min_count
        ("Teh end .".split(), "The end .".split()),  # 'Teh' is no correction's word: a misspelling
        ("Teh dog .".split(), "The dog .".split()),
    ]
    errors = ErrorModel(pairs)
    assert errors.confusions["goes"] == (["go"], [1.0]) and errors.p_corrupt["goes"] == 1.0
    assert errors.confusions["an"] == (["a"], [1.0]) and errors.p_corrupt["an"] == pytest.approx(2 / 3)
    assert "swam" not in errors.confusions and "The" not in errors.confusions
    assert errors.insertions == (["the"], [1.0])
    words = sum(len(t) for _, t in pairs)
    assert errors.p_insert == pytest.approx(2 / words)

    rng = np.random.default_rng(0)
    assert errors.corrupt("He goes home".split(), rng, boost=0) == "He goes home".split()
    corrupted = [errors.corrupt("She goes to an owl".split(), rng) for _ in range(3000)]
    assert all("go" in c and "goes" not in c for c in corrupted)  # p_corrupt 1: always
    share_a = sum("a" in c for c in corrupted) / len(corrupted)
    assert abs(share_a - 2 / 3) < 0.05
    inserted = sum(len(c) - 5 for c in corrupted) / (5 * len(corrupted))
    assert abs(inserted - 2 / words) < 0.01  # one chance of an extra 'the' before each word

    # misspellings: one-word edits from a word no correction uses ('swum' too: the data cannot
    # tell an unseen wrong form from a misspelling), applied only when asked
    assert errors.misspellings == {"The": ["Teh", "Teh"], "swam": ["swum"]}
    assert errors.p_misspell == pytest.approx(3 / words)
    assert errors.corrupt("The dog likes me".split(), np.random.default_rng(1)) == "The dog likes me".split()
    boost = 0.1 / errors.p_misspell
    corrupted = [errors.corrupt("The dog likes me".split(), rng, boost=0, spelling_boost=boost) for _ in range(4000)]
    assert all(c[3] == "me" for c in corrupted)  # two letters: never misspelled
    for position, word in enumerate(["The", "dog", "likes"]):
        changed = [c[position] for c in corrupted if c[position] != word]
        assert abs(len(changed) / len(corrupted) - 0.1) < 0.02
        assert all(w in one_edit(word.lower()) or w.lower() in one_edit(word.lower()) or w in errors.misspellings.get(word, [])
                   for w in changed)
    share_learned = sum(c[0] == "Teh" for c in corrupted) / sum(c[0] != "The" for c in corrupted)
    assert 0.4 < share_learned < 0.65  # half the learner's own misspelling (a letter swap can make it too)


@given(st.text(alphabet="abcdefghij", min_size=1, max_size=12), st.integers(0, 2**32 - 1))
def test_a_random_letter_edit_is_one_edit_away(word, seed):
    edited = random_letter_edit(word, np.random.default_rng(seed))
    assert edited != word and edited in one_edit(word)


def test_char_ngrams_mark_the_ends_and_a_misspelling_shares_most_of_them():
    assert char_ngrams("Cat") == ["<c", "ca", "at", "t>", "<ca", "cat", "at>", "<cat", "cat>"]
    assert char_ngrams("a") == ["<a", "a>", "<a>"] and char_ngrams("a", sizes=(4,)) == ["<a>"]
    right, wrong = set(char_ngrams("because")), set(char_ngrams("becuase"))
    assert len(right & wrong) >= len(right) / 3 and not set(char_ngrams("light")) & right
    ids = ngram_ids("because", 1000)
    assert len(ids) == len(char_ngrams("because")) and all(1 <= i < 1000 for i in ids)
    table, counts = ngram_table(["because", "a"], 1000)
    assert table.shape == (2, len(ids)) and counts.ravel().tolist() == [len(ids), 3]
    assert tuple(table[0]) == ids and (table[1, :3] >= 1).all() and (table[1, 3:] == 0).all()  # 0 pads


def test_char_ngram_ids_are_the_same_in_every_process():
    """CRC-32, not Python's hash(), which is salted per process: a model saved by one run must
    find the same rows in the next."""
    import subprocess
    import sys
    code = "from gec.text.ngrams import ngram_ids; print(list(ngram_ids('grammar', 4096)))"
    examples = str(__import__("pathlib").Path(__file__).resolve().parents[1] / "examples")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=examples,
                           env={**__import__("os").environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in (1, 2)}
    assert runs == {str(list(ngram_ids("grammar", 4096))) + "\n"}
