"""Tiny dataset files in the official formats, written independently of minigrad's readers."""
import gzip
import io
import os
import pathlib
import pickle
import struct
import tarfile

import numpy as np

SHARED_DATA = pathlib.Path(os.environ.get("MINIGRAD_TEST_DATA") or pathlib.Path(__file__).resolve().parents[2] / "shared" / "data")


def idx_bytes(array):
    """IDX: magic 0x0000080<ndim> (uint8), then each dimension big-endian, then the data."""
    array = np.asarray(array, dtype=np.uint8)
    return struct.pack(">I", 0x800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_mnist(folder, n_train=50, n_test=20, seed=0):
    rng = np.random.default_rng(seed)
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
        arrays[prefix] = (images, labels)
    return arrays


def cifar_records(images, labels):
    """Binary format: per image 1 label byte then R, G, B planes of 32x32."""
    return b"".join(bytes([int(label)]) + image.tobytes() for image, label in zip(images, labels))


def cifar_arrays(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, n)


def write_cifar_archive(folder, pickled, per_batch=4):
    """A small archive shaped like cifar-10-python.tar.gz or cifar-10-binary.tar.gz."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = "cifar-10-python.tar.gz" if pickled else "cifar-10-binary.tar.gz"
    inner = "cifar-10-batches-py" if pickled else "cifar-10-batches-bin"
    batches = {}
    with tarfile.open(folder / name, "w:gz") as archive:
        for i, batch in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
            images, labels = cifar_arrays(per_batch, seed=i)
            batches[batch] = (images, labels)
            if pickled:
                payload = pickle.dumps({b"data": images.reshape(per_batch, -1), b"labels": [int(v) for v in labels]})
                member = f"{inner}/{batch}"
            else:
                payload = cifar_records(images, labels)
                member = f"{inner}/{batch}.bin"
            info = tarfile.TarInfo(member)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return folder / name, batches


def write_names(folder):
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Polish.txt").write_text("Ślusarski\nNowak\n\n", encoding="utf-8")
    (folder / "French.txt").write_text("Lefèvre\nD'Aramitz\n", encoding="utf-8")
    (folder / "README.txt").write_text("not a language\n")


GEC_SENTENCES = [  # (source, corrected): small learner-style errors, tokenised
    ("She go to school every days .", "She goes to school every day ."),
    ("I have a apple .", "I have an apple ."),
    ("He is very good in football .", "He is very good at football ."),
    ("They was happy .", "They were happy ."),
    ("We discussed about the problem .", "We discussed the problem ."),
    ("It is a nice weather today .", "It is nice weather today ."),
    ("The book is on the table .", "The book is on the table ."),
    ("I definitly agree .", "I definitely agree ."),
    ("I saw a dog .", "I saw a dog ."),  # 'a' is also a correct word (the synthetic errors need that)
]


def m2_text(pairs, annotators=1):
    """M2: 'S source', then 'A start end|||type|||correction|||REQUIRED|||-NONE-|||k' lines
    (one edit per differing word, computed here by position: the fake pairs are aligned),
    the same edits once for each annotator k."""
    blocks = []
    for source, target in pairs:
        s, t = source.split(), target.split()
        edits = []
        if len(s) == len(t):
            edits += [f"A {i} {i + 1}|||R:OTHER|||{b}|||REQUIRED|||-NONE-" for i, (a, b) in enumerate(zip(s, t)) if a != b]
        else:  # one deleted word
            i = next((k for k in range(len(t)) if s[k] != t[k]), len(t))
            edits.append(f"A {i} {i + 1}|||U:OTHER||||||REQUIRED|||-NONE-")
        if not edits:
            edits.append("A -1 -1|||noop|||-NONE-|||REQUIRED|||-NONE-")
        blocks.append("\n".join([f"S {source}"] + [f"{edit}|||{k}" for k in range(annotators) for edit in edits]))
    return "\n\n".join(blocks) + "\n\n"


def write_gec(root, copies=40):
    """W&I and CoNLL-2014 (M2), FCE (JSON) and JFLEG files in the official formats under root/gec.
    Returns the md5 of each JFLEG file (the real ones are pinned in examples/gec/data.py)."""
    import hashlib
    import json

    gec = pathlib.Path(root) / "gec"
    wi = gec / "wi_locness_v2.1"
    wi.mkdir(parents=True, exist_ok=True)
    for level in "ABC":
        (wi / f"{level}.train.gold.bea19.m2").write_text(m2_text(GEC_SENTENCES * copies))
        (wi / f"{level}.dev.gold.bea19.m2").write_text(m2_text(GEC_SENTENCES))
    fce = gec / "fce_v2.1_json"
    fce.mkdir(parents=True, exist_ok=True)
    text = "I have a apple. They was happy.\nSee you."
    edits = [[7, 8, "an", "FD"], [21, 24, "were", "AGV"], [0, 1, None, "X"]]
    essay = {"text": text, "edits": [[0, edits]], "id": "fake-1", "l1": "xx", "age": "", "q": "1", "script-s": "",
             "answer-s": ""}
    (fce / "fce-train.json").write_text(json.dumps(essay) + "\n")
    conll = gec / "conll_2013_2014_test"
    conll.mkdir(parents=True, exist_ok=True)
    (conll / "official-2014.combined.m2").write_text(m2_text(GEC_SENTENCES, annotators=2))
    md5 = {}
    for split in ("dev", "test"):
        folder = gec / "jfleg" / split
        folder.mkdir(parents=True, exist_ok=True)
        files = {f"{split}.src": [s for s, _ in GEC_SENTENCES]}
        files.update({f"{split}.ref{i}": [t for _, t in GEC_SENTENCES] for i in range(4)})
        for name, lines in files.items():
            (folder / name).write_text("\n".join(lines) + "\n")
            md5[f"{split}/{name}"] = hashlib.md5((folder / name).read_bytes()).hexdigest()
    return md5
