#!/usr/bin/env bash
# The MLproject's command. Runs the built entry from the project folder, or from TRANSFERKIT_HOME
# (the Docker image installs there). A fresh clone (e.g. `mlflow run` of a git URI) has neither
# node_modules nor dist/: then it installs them first with scripts/install.sh, unless
# TRANSFERKIT_NO_AUTO_INSTALL=1, in which case it says what to run.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
home="${TRANSFERKIT_HOME:-$here}"
if [ ! -f "$home/dist/entry/cli.js" ] || [ ! -d "$home/node_modules/@tensorflow/tfjs-node" ]; then
  if [ "${TRANSFERKIT_NO_AUTO_INSTALL:-0}" = 1 ]; then
    echo "transferkit: not installed in $home (no dist/ or node_modules/); run 'bash scripts/install.sh' there first (needs Node.js >= 20.10, npm, python3 with pip, g++ and make)" >&2
    exit 2
  fi
  echo "transferkit: first run in $home: installing (bash scripts/install.sh)" >&2
  bash "$home/scripts/install.sh" >&2
fi
exec node "$home/dist/entry/cli.js" "$@"
