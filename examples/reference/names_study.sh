#!/usr/bin/env bash
# The surname generator in minigrad and PyTorch: same model, initial weights, data order and steps.
# Usage: bash examples/reference/names_study.sh [STEPS] [DATA_DIR]
set -euo pipefail
steps=${1:-100000}
data=${2:-../shared/data}
out=runs/names_study
python examples/char_rnn_names.py train --mode single --steps "$steps" --data-dir "$data" --out "$out/minigrad-single" --no-progress
python examples/reference/char_rnn_names_torch.py --steps "$steps" --data-dir "$data" --out "$out/torch-single"
python examples/char_rnn_names.py train --mode batched --steps $((steps / 64)) --batch-size 64 --data-dir "$data" --out "$out/minigrad-batched" --no-progress
python - "$out" <<'PY'
import json, pathlib, sys
root = pathlib.Path(sys.argv[1])
m = json.loads((root / "minigrad-single/heldout_nll.json").read_text())
t = json.loads((root / "torch-single/heldout_nll.json").read_text())
b = json.loads((root / "minigrad-batched/heldout_nll.json").read_text())
print(f"| run | held-out NLL/char before | after | training names/s |")
print(f"|---|---|---|---|")
print(f"| minigrad, one name at a time | {m['before_training']:.4f} | {m['after_training']['all']:.4f} | {m['train_names_per_second']:.0f} |")
print(f"| PyTorch, one name at a time | {t['before']:.4f} | {t['after']:.4f} | {t['train_names_per_second']:.0f} |")
print(f"| minigrad, batches of 64 (Adam) | {b['before_training']:.4f} | {b['after_training']['all']:.4f} | {b['train_names_per_second']:.0f} |")
print(f"relative difference minigrad vs PyTorch: {100 * (m['after_training']['all'] - t['after']) / t['after']:+.2f}%")
PY
