"""Surnames by language: a folder of ``<Language>.txt`` files, one name per line.

Names are folded to ASCII (accents removed: 'Ślusarski' -> 'Slusarski'); any character left
that is not a letter or one of `` .,;'-`` is dropped, as in the PyTorch tutorial the course
followed. The original archive is the tutorial's data.zip; no checksum is published for it,
so only its contents are checked (18 non-empty UTF-8 files).
"""
import pathlib
import string
import unicodedata
import re
import zipfile

from .files import DatasetError, data_root, ensure_file

ALPHABET = string.ascii_letters + " .,;'-"
URL = "https://download.pytorch.org/tutorial/data.zip"
MAX_LANGUAGE_BYTES = 10_000_000  # the largest official list (Russian) is ~100 kB


def to_ascii(name):
    decomposed = unicodedata.normalize("NFD", name)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn" and c in ALPHABET)


class Names:
    """``languages``: sorted language names; ``names[lang]``: list of folded names."""

    def __init__(self, root=None, download=True):
        directory = data_root(root) / "names"
        if not directory.is_dir() or not any(p.stem.upper() != "README" for p in directory.glob("*.txt")):
            self._download(data_root(root), download)
        self.directory = directory
        self.names = {}
        for path in sorted(p for p in directory.glob("*.txt") if p.stem.upper() != "README"):
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except UnicodeDecodeError as err:
                raise DatasetError(f"Names: {path} is not UTF-8 text ({err})") from err
            folded = [to_ascii(line.strip()) for line in lines if line.strip()]
            folded = [n for n in folded if n]
            if not folded:
                raise DatasetError(f"Names: {path} holds no names")
            self.names[path.stem] = folded
        self.languages = sorted(self.names)

    @staticmethod
    def _download(root, allowed):
        archive = ensure_file(root, "names-data.zip", URL, None, "Names", allowed)
        try:
            with zipfile.ZipFile(archive) as z:
                for member in z.namelist():
                    if member.startswith("data/names/") and member.endswith(".txt"):
                        language = member[len("data/names/"):-len(".txt")]
                        if not re.fullmatch(r"[A-Za-z][A-Za-z ]*", language):  # ("../x", "a/b": no language)
                            raise DatasetError(f"Names: {archive} has a member {member!r} that names no language")
                        if z.getinfo(member).file_size > MAX_LANGUAGE_BYTES:
                            raise DatasetError(f"Names: {archive} member {member} holds "
                                               f"{z.getinfo(member).file_size:,} bytes, far more than a list of names")
                        target = pathlib.Path(root) / "names" / f"{language}.txt"
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(z.read(member))
        except zipfile.BadZipFile as err:
            raise DatasetError(f"Names: {archive} is not a valid zip archive: delete it to download again") from err

    def __len__(self):
        return sum(len(v) for v in self.names.values())
