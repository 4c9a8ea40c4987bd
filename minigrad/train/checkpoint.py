"""Checkpoints that are never half-written: save to a temporary file, then rename.

A rename within one folder is atomic, so after a crash the checkpoint on disk is either the
previous complete one or the new complete one, never a torn file.
"""
import os
import pathlib
import pickle
import tempfile


def save_atomically(obj, path):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load(path):
    """Load a checkpoint written by save_atomically. Arrays in it are NumPy arrays, so a
    checkpoint saved on a GPU machine loads on one without CuPy. (pickle: load only
    checkpoints you trust.)"""
    with open(path, "rb") as f:
        return pickle.load(f)
