#!/usr/bin/env bash
# The grammar-correction results of examples/README.md, from scratch, in one command: three
# training steps, then the evaluation of the last model (examples/gec/chain.py).
#
#   bash examples/gec/reproduce.sh [DATA_DIR] [DEVICE] [OUT]      # defaults: $MINIGRAD_DATA, cpu, runs/gec_chain
#
# It prints its plan first (each step's estimated time, measured on this machine, and the
# total), then one line per step and a bar within it. Ctrl-C saves the running step; the same
# command again resumes it, skipping the finished ones.
set -euo pipefail
data=${1:-${MINIGRAD_DATA:?give the data directory (holding gec/) as the first argument or in MINIGRAD_DATA}}
exec python "$(dirname "$0")" chain --data-dir "$data" --device "${2:-cpu}" --out "${3:-runs/gec_chain}"
