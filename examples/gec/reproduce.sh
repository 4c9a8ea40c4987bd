#!/usr/bin/env bash
# The grammar-correction results of examples/README.md, from scratch: the whole chain of
# training runs, then the evaluation of its last model.
#
#   bash examples/gec/reproduce.sh [DATA_DIR] [DEVICE] [OUT]      # defaults: $MINIGRAD_DATA, cpu, runs/gec_chain
#
# Expected time (estimated from the throughputs measured for each step: ~1,000 target
# words/s on 2 CPU cores, ~5,200 on an H100): about 3 h 45 min on 2 cores (training 2 h 55,
# greedy evaluation 4 min, beam-5 evaluation 47 min); on a GPU about 1 h 30 (training ~45 min;
# beam search decodes one sentence at a time and gains little from the GPU).
# Each step resumes where it stopped if the script is run again (its checkpoint is kept).
set -euo pipefail
data=${1:-${MINIGRAD_DATA:?give the data directory (holding gec/) as the first argument or in MINIGRAD_DATA}}
device=${2:-cpu}
out=${3:-runs/gec_chain}
gec="python $(dirname "$0")"
common=(--data-dir "$data" --device "$device" --edit-weight 3 --no-eval)

step() {  # step NAME ARGS...: train runs/.../NAME unless its model is complete, resuming if begun
    local name=$1; shift
    if [ -f "$out/$name/done" ]; then echo "== $name: done already"; return; fi
    local resume=()
    [ -f "$out/$name/checkpoint.npz" ] && resume=(--resume)
    echo "== $name"
    $gec train "${common[@]}" --out "$out/$name" "$@" "${resume[@]}"
    touch "$out/$name/done"
}

# 1. Word-level model from scratch, edit-weighted MLE (Λ = 3), learning rate ×0.7 per epoch.
step words --epochs 4 --lr-decay 0.7
# 2. Fine-tuning on the real pairs plus one corrupted copy of each correction, with errors
#    learned from the learners' own edits (text/noise.py), at twice their rates.
step synthetic --init-from "$out/words/model.npz" --epochs 1 --synthetic 1 --noise-boost 2 --lr 3e-4
# 3. Character n-grams on the source side and misspelled synthetic pairs: the network learns
#    some spelling. The headline rows of examples/README.md are this model's.
step ngrams --init-from "$out/synthetic/model.npz" --char-ngrams 65536 --synthetic 2 --spelling-boost 8 \
    --noise-boost 2 --lr 3e-4 --epochs 1
# 4. Scores on JFLEG test, W&I dev and CoNLL-2014 test, against copying the input.
$gec evaluate --data-dir "$data" --device "$device" --out "$out/ngrams" --beam 1
$gec evaluate --data-dir "$data" --device "$device" --out "$out/ngrams" --beam 5
