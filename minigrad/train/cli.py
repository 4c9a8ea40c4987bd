"""Command-line scripts that answer a user's mistake in one line.

    if __name__ == "__main__":
        sys.exit(run_cli(main))

A user error (data missing or corrupt, a checkpoint that is damaged or belongs to another
run, a device that is not there, a training run whose loss turned non-finite) prints one
line, ``error: ...``, and exits with status 2, as argparse does for bad arguments. Anything
else is a bug and keeps its traceback. ``--debug`` anywhere on the command line shows the
traceback of a user error too.
"""
import argparse
import sys

from ..backend import DeviceError
from ..data.files import DatasetError
from ..distributed import DistributedError
from .checkpoint import CheckpointError
from .loop import ResumeError

USER_ERRORS = (DatasetError, CheckpointError, DeviceError, ResumeError, FloatingPointError, FileNotFoundError,
               DistributedError)


def run_cli(main, argv=None):
    """Call main(argv) (argv: sys.argv[1:] less --debug); return its result, or 2 after
    printing a user error in one line."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    try:
        result = main(argv)
    except USER_ERRORS as err:
        if debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        from .. import distributed

        distributed.abort_other_ranks(2)  # under mpiexec: the others must not wait for this one
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return result if isinstance(result, int) else 0


# ----- arguments: a wrong value is argparse's one-line error (exit status 2), not a traceback

def parser(**kwargs):
    """argparse's parser without abbreviations: ``--epoch 1`` is an error, not ``--epochs 1``."""
    return argparse.ArgumentParser(allow_abbrev=False, **kwargs)


def positive_int(text):
    return _number(text, int, lambda v: v >= 1, "a positive integer")


def non_negative_int(text):
    return _number(text, int, lambda v: v >= 0, "an integer >= 0")


def positive_float(text):
    return _number(text, float, lambda v: v > 0, "a number > 0")


def non_negative_float(text):
    return _number(text, float, lambda v: v >= 0, "a number >= 0")


def open_fraction(text):
    return _number(text, float, lambda v: 0 < v < 1, "a fraction strictly between 0 and 1")


def _number(text, kind, valid, what):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not valid(value) or value != value:  # (NaN is no number here)
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
    return value
