#!/usr/bin/env bash
# The README's first run, offline: the seed's "train on some classes, transfer to others" recipe on
# Fashion-MNIST (Debian's dataset-fashion-mnist), through `mlflow run` into MLflow's default local
# store, then the MLflow UI's address.
#   1. a source model (small CNN) learns classes 0-4 from all their labels;
#   2. its conv layers, frozen, transfer to classes 5-9 with 300 labels per class.
# With CIFAR-10 and the VGG16 ImageNet weights reachable (or cached), the canonical job is just
# `mlflow run . --env-manager local` (defaults: cifar10, vgg16, imagenet weights).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MLFLOW="${MLFLOW_BIN:-$ROOT/.venv/bin/mlflow}"
[ -x "$MLFLOW" ] || MLFLOW="$(command -v mlflow)" || { echo "mlflow not found: run bash scripts/install.sh" >&2; exit 1; }
export MLFLOW_EXPERIMENT_NAME="${MLFLOW_EXPERIMENT_NAME:-transferkit-quickstart}"

"$MLFLOW" run . --env-manager local --run-name source-fashion-0-4 \
  -P dataset=fashion-mnist -P classes=0-4 -P backbone=small-cnn -P weights=none \
  -P retrained_conv_layers=all -P samples_per_class=all -P max_epochs=3 -P output_dir=out/quickstart-source

"$MLFLOW" run . --env-manager local --run-name transfer-fashion-5-9 \
  -P dataset=fashion-mnist -P classes=5-9 -P backbone=small-cnn -P weights=out/quickstart-source/model \
  -P retrained_conv_layers=0 -P samples_per_class=300 -P output_dir=out/quickstart-transfer

echo
echo "Browse the runs:  $MLFLOW ui --backend-store-uri sqlite:///$ROOT/mlflow.db   (then open http://127.0.0.1:5000)"
