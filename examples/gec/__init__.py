"""Grammatical error correction: an LSTM encoder-decoder with attention and copying, trained on
real learner English (midterm problem set 4). An application of minigrad, not part of it.

    python examples/gec train --data-dir ../shared/data        # the CLI: cli.py (python examples/gec --help)
    bash examples/gec/reproduce.sh ../shared/data               # the README's headline rows, from scratch

Modules: data.py (the corpora: M2, FCE JSON, JFLEG), text/ (tokens, vocabulary, GLEU and edit
F0.5, spelling corrector, learned errors, character n-grams), batches.py, model.py (the
corrector and its loss), decode.py (greedy, beam search, guards), evaluate.py, train.py, cli.py.
"""
import os

# This model's CPU time is in mid-sized matrix products (a batch of words times the hidden
# size), which run faster when OpenBLAS's threads keep spinning between them: override
# minigrad's short default, which suits the conv nets (minigrad/fast/process.py). It takes
# effect only if this package is imported before minigrad and NumPy, as __main__.py does.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "30")
