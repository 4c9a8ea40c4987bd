#!/usr/bin/env bash
# minigrad and PyTorch on the CIFAR-10 subset: 3 seeds, with and without augmentation.
# Usage: bash examples/reference/cifar_subset_study.sh [EPOCHS] [DATA_DIR]
set -euo pipefail
epochs=${1:-30}
data=${2:-../shared/data}
out=runs/cifar_study
for seed in 0 1 2; do
  for aug in aug noaug; do
    flag=""; [ "$aug" = noaug ] && flag="--no-augment"
    python examples/cifar10_cnn.py --data-dir "$data" --epochs "$epochs" --seed "$seed" $flag \
      --out "$out/minigrad-$aug-seed$seed" --no-progress
    python examples/reference/cifar10_cnn_torch.py --data-dir "$data" --epochs "$epochs" --seed "$seed" $flag \
      --out "$out/torch-$aug-seed$seed"
  done
done
python examples/reference/summarize.py "$out"
