"""Text utilities for the grammar-correction example: tokenising, vocabularies and the
GEC metrics (GLEU, edit precision/recall/F0.5)."""
from .edits import EditScore, extract_edits, score_edits  # noqa: F401
from .gleu import corpus_gleu, gleu_statistics  # noqa: F401
from .tokens import tokenize  # noqa: F401
from .vocab import Vocabulary  # noqa: F401
