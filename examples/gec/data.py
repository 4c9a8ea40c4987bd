"""Grammatical-error-correction corpora: M2 files, the FCE JSON release and JFLEG.

M2 (W&I+LOCNESS, CoNLL-2014):  "S <tokenised source>" then one line per edit,
"A <start> <end>|||<type>|||<correction>|||REQUIRED|||-NONE-|||<annotator>", a blank line
between sentences. The corrected sentence is the source with one annotator's edits applied
(right to left, so earlier token offsets stay valid); "noop" edits mean "no error".

FCE v2.1 JSON: one essay per line with character-offset edits. Edits with a null correction
mark an error without fixing it and are skipped; the rest do not overlap and are applied
right to left. Essays are split into sentences on the *source* text; an edit that crosses a
sentence boundary joins the two sentences, so source and target stay aligned.

JFLEG: one tokenised sentence per line in <split>.src and four references <split>.ref0-3.
W&I and FCE are licensed for non-commercial research and education and need a licence
agreement to obtain, so they are never downloaded here; JFLEG is fetched from its GitHub
repository (commit ee06ff8) with md5 checks when missing.
"""
import json
import pathlib
import re

from .text.tokens import tokenize
from minigrad.data.files import DatasetError, data_root, ensure_file

JFLEG_URL = "https://raw.githubusercontent.com/keisks/jfleg/ee06ff806a208aba815ac45313f4e750a48330a5/{split}/{name}"
JFLEG_MD5 = {
    "dev/dev.src": "d8b9c19bc39c483cf31802591b28483b", "dev/dev.ref0": "cc0b18052013856e911ea67d565413ef",
    "dev/dev.ref1": "1477d613f8ecf1eb60f1263a4535f16c", "dev/dev.ref2": "59631c5d0a4f89aa7e61e43b0f66ec12",
    "dev/dev.ref3": "b0d70713754a2668a3054b8ec2026ef9", "test/test.src": "42dc63f8d6cbabd2e7c7935fc8fce492",
    "test/test.ref0": "a2d618833a148ef69e2479ec341d486a", "test/test.ref1": "bbcd5ccc74ada93da870b0ba30cf15b9",
    "test/test.ref2": "d8fc715673836ba1241a2201a53a99d6", "test/test.ref3": "c802e251c2a7ecf4bf8f41955baabf18",
}
LICENSED = ("The Write & Improve and FCE corpora are licensed for non-commercial research and education "
            "and are not downloaded automatically: obtain them from https://www.cl.cam.ac.uk/research/nl/bea2019st/ "
            "and put them under {root}/gec/ (wi_locness_v2.1/, fce_v2.1_json/), or point MINIGRAD_DATA there.")


def gec_root(root=None):
    return data_root(root) / "gec"


# ----- M2 -------------------------------------------------------------------------------------

def read_m2(path, annotator=0):
    """[(source tokens, corrected tokens)] for every sentence of an M2 file."""
    path = pathlib.Path(path)
    if not path.exists():
        raise DatasetError(f"GEC: {path} does not exist. " + LICENSED.format(root=path.parents[2]))
    pairs, source, edits = [], None, []

    def finish():
        if source is not None:
            pairs.append((source, apply_token_edits(source, edits, path)))

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("S "):
            finish()
            source, edits = line[2:].split(), []
        elif line.startswith("A "):
            fields = line[2:].split("|||")
            if source is None or len(fields) != 6:
                raise DatasetError(f"GEC: {path}:{number} is not a valid M2 edit line: {line[:80]!r}")
            try:
                start, end = map(int, fields[0].split())
                who = int(fields[5])
            except ValueError as err:
                raise DatasetError(f"GEC: {path}:{number}: bad offsets or annotator in {line[:80]!r}") from err
            if who == annotator and fields[1] not in ("noop", "UNK") and start >= 0:
                if not 0 <= start <= end <= len(source):
                    raise DatasetError(f"GEC: {path}:{number}: edit [{start}, {end}) outside a {len(source)}-token sentence")
                edits.append((start, end, fields[2].split() if fields[2] != "-NONE-" else []))
        elif line.strip():
            raise DatasetError(f"GEC: {path}:{number} is neither an S nor an A line: {line[:80]!r}")
    finish()
    if not pairs:
        raise DatasetError(f"GEC: {path} holds no M2 sentences")
    return pairs


def apply_token_edits(tokens, edits, where="edits"):
    out = list(tokens)
    last_start = len(tokens) + 1
    for start, end, words in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        if end > last_start:
            raise DatasetError(f"GEC: overlapping edits in {where}: {edits}")
        out[start:end] = words
        last_start = start
    return out


# ----- FCE JSON ------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')]*\s+(?=[\"'(]*[A-Z0-9])|\n+")


def sentence_spans(text):
    """(start, end) character spans of the sentences of ``text`` (paragraphs, then .!? + capital)."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if text[start:match.start()].strip():
            spans.append((start, match.start()))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def fce_essay_pairs(essay):
    """[(source tokens, corrected tokens)] per sentence of one FCE essay (a parsed JSON line)."""
    text = essay["text"]
    edits = sorted((s, e, c) for s, e, c, _ in essay["edits"][0][1] if c is not None) if essay["edits"] else []
    spans = sentence_spans(text)
    merged = []  # join neighbouring sentences when an edit reaches across the gap between them
    for span in spans:
        if merged and any(s < span[0] and e > merged[-1][1] for s, e, _ in edits):
            merged[-1] = (merged[-1][0], span[1])
        else:
            merged.append(span)
    pairs, used = [], 0
    for start, end in merged:
        inside = [(s, e, c) for s, e, c in edits if start <= s and e <= end]
        used += len(inside)
        corrected = text[start:end]
        for s, e, c in reversed(inside):  # right to left: earlier offsets stay valid
            corrected = corrected[:s - start] + c + corrected[e - start:]
        pairs.append((tokenize(text[start:end]), tokenize(corrected)))
    if used != len(edits):
        raise DatasetError(f"GEC: FCE essay {essay.get('id')}: {len(edits) - used} edits fall outside every sentence")
    return pairs


def read_fce(path):
    """(pairs, number of essays, number of edits applied) of an FCE v2.1 JSON file."""
    path = pathlib.Path(path)
    if not path.exists():
        raise DatasetError(f"GEC: {path} does not exist. " + LICENSED.format(root=path.parents[2]))
    pairs, essays, applied = [], 0, 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            essay = json.loads(line)
            applied += sum(c is not None for _, _, c, _ in essay["edits"][0][1]) if essay["edits"] else 0
            pairs.extend(fce_essay_pairs(essay))
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise DatasetError(f"GEC: {path}:{number} is not an FCE essay record ({err!r})") from err
        essays += 1
    return pairs, essays, applied


# ----- JFLEG ---------------------------------------------------------------------------------

def read_jfleg(split, root=None, download=True):
    """(sources, references): token lists, and per sentence its four reference token lists."""
    if split not in ("dev", "test"):
        raise ValueError(f"JFLEG: split must be 'dev' or 'test', got {split!r}")
    folder = gec_root(root) / "jfleg" / split
    lines = {}
    for name in [f"{split}.src"] + [f"{split}.ref{i}" for i in range(4)]:
        path = ensure_file(folder, name, JFLEG_URL.format(split=split, name=name), JFLEG_MD5[f"{split}/{name}"],
                           "JFLEG", allow_download=download)
        lines[name] = path.read_text(encoding="utf-8").splitlines()
    sources = [s.split() for s in lines[f"{split}.src"]]
    refs = [[r.split() for r in lines[f"{split}.ref{i}"]] for i in range(4)]
    if any(len(r) != len(sources) for r in refs):
        raise DatasetError(f"JFLEG: {folder}: the source and reference files have different line counts")
    return sources, [list(group) for group in zip(*refs)]


def wi_locness(split, root=None, levels="ABC"):
    """Write & Improve sentence pairs: split 'train' (34,308) or 'dev' (3,396), levels A/B/C."""
    folder = gec_root(root) / "wi_locness_v2.1"
    return [pair for level in levels for pair in read_m2(folder / f"{level}.{split}.gold.bea19.m2")]


def conll2014(root=None):
    """CoNLL-2014 test (1,312 sentences): (sources, [corrections by annotator 0, by annotator 1]).
    Evaluation only: each system edit may match either annotator (see text.edits.score_edits)."""
    path = gec_root(root) / "conll_2013_2014_test" / "official-2014.combined.m2"
    by_annotator = [read_m2(path, annotator) for annotator in (0, 1)]
    sources = [source for source, _ in by_annotator[0]]
    return sources, [[target for _, target in pairs] for pairs in by_annotator]


def fce(split, root=None):
    """FCE v2.1 sentence pairs of split 'train', 'dev' or 'test'."""
    return read_fce(gec_root(root) / "fce_v2.1_json" / f"fce-{split}.json")[0]
