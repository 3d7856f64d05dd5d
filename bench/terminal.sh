#!/usr/bin/env bash
# What a person sees on a terminal: the small-CNN recipe's transfer step (`transferkit train`, small CNN
# from out/fashion-source/model, Fashion-MNIST 5-9, 300 labels per class, tracked into a
# throw-away MLflow store) run in a 130-column tmux pty. Writes bench/results/terminal-train.md:
# the command, the commit, the machine, the screen while an epoch's bar runs, and the screen at the end.
#   once, for out/fashion-source/model: the recipe's source run in docs/recipes.md ("as two runs")
#   bash bench/terminal.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
[ -f out/fashion-source/model/transferkit.json ] || { echo "out/fashion-source/model is missing: run the source step of docs/recipes.md's two-run source/target recipe first" >&2; exit 1; }
store="$(mktemp -d)"
session="tk-terminal-$$"
command="node dist/entry/cli.js train --dataset fashion-mnist --classes 5-9 --backbone small-cnn --weights out/fashion-source/model --samples_per_class 300 --output_dir out/terminal-train"
trap 'tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$store"' EXIT
rm -rf out/terminal-train
tmux new-session -d -s "$session" -x 130 -y 60 \
  "cd '$ROOT' && TF_CPP_MIN_LOG_LEVEL=3 MLFLOW_TRACKING_URI='sqlite:///$store/mlflow.db' MLFLOW_EXPERIMENT_NAME=terminal $command; echo EXIT=\$?; sleep 3600"
screen() { tmux capture-pane -p -J -t "$session" -S - | sed -e 's/[[:space:]]*$//' | grep -v '^$' || true; }
during=""
for _ in $(seq 1 3000); do
  now="$(screen)"
  if [ -z "$during" ] && printf '%s\n' "$now" | grep -Eq '^epoch [0-9]+/[0-9]+ .* [1-9][0-9]*%  .* [0-9.]+ img/s'; then during="$now"; fi
  if printf '%s\n' "$now" | grep -q '^EXIT='; then break; fi
  sleep 0.2
done
after="$(screen)"
cpu="$(lscpu | sed -n 's/^Model name:[[:space:]]*//p')"
{
  echo "# transferkit train on a terminal"
  echo
  echo "Command: \`bash bench/terminal.sh\`, which runs \`$command\` in a 130×60 tmux pty."
  echo "Commit: $(git rev-parse HEAD). Date: $(date -u +%Y-%m-%dT%H:%M:%SZ). Machine: $cpu, $(nproc) CPUs."
  echo
  echo "While an epoch runs:"
  echo
  echo '```'
  printf '%s\n' "$during"
  echo '```'
  echo
  echo "At the end:"
  echo
  echo '```'
  printf '%s\n' "$after"
  echo '```'
} > bench/results/terminal-train.md
echo "wrote bench/results/terminal-train.md"
