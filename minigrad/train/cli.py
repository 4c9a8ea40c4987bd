"""Command-line scripts that answer a user's mistake in one line.

    if __name__ == "__main__":
        sys.exit(run_cli(main))

A user error (data missing or corrupt, a checkpoint that is damaged or belongs to another
run, a device that is not there, a training run whose loss turned non-finite) prints one
line, ``error: ...``, and exits with status 2, as argparse does for bad arguments. Anything
else is a bug and keeps its traceback. ``--debug`` anywhere on the command line shows the
traceback of a user error too.
"""
import sys

from ..backend import DeviceError
from ..data.files import DatasetError
from .checkpoint import CheckpointError
from .loop import ResumeError

USER_ERRORS = (DatasetError, CheckpointError, DeviceError, ResumeError, FloatingPointError, FileNotFoundError)


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
