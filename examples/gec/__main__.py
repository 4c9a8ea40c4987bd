"""python examples/gec ...: run the command line of cli.py with this folder as the package `gec`."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # examples/

from gec.cli import main  # noqa: E402
from minigrad.train import run_cli  # noqa: E402

sys.exit(run_cli(lambda argv: main(argv) and 0))
