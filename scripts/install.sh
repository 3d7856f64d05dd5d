#!/usr/bin/env bash
# Installs everything transferkit needs on a fresh machine that reaches only the package registries
# (npm, PyPI, Debian). Idempotent: a second run takes seconds.
#
#   bash scripts/install.sh               Node packages, the native TensorFlow backend, mlflow, the build
#   bash scripts/install.sh --with-keras  also Python TensorFlow/Keras + h5py (tests and benchmarks)
#   bash scripts/install.sh --with-browser  also Debian's chromium (the MLflow UI test)
#
# With internet, a plain `npm install` also works: tfjs-node's own install script then downloads
# libtensorflow itself. This script builds the binding from the tensorflow-cpu wheel instead.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '[install] %s\n' "$*" >&2; }
die() { printf '[install] error: %s\n' "$*" >&2; exit 1; }

python_args=()
with_browser=0
for a in "$@"; do
  case "$a" in
    --with-keras) python_args+=(--with-keras) ;;
    --with-browser) with_browser=1 ;;
    *) die "unknown option '$a' (expected --with-keras, --with-browser)" ;;
  esac
done

# 1. System packages (Debian). Only what is missing; apt-get update once, first.
#    Required: a C++ toolchain and Python venv for the build. Wanted: the offline Fashion-MNIST data
#    of the README's first run, and chromium with --with-browser.
need=()
want=()
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
command -v python3 >/dev/null 2>&1 || need+=(python3 python3-venv python3-pip)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || want+=(dataset-fashion-mnist)
if [ "$with_browser" = 1 ] && ! command -v chromium >/dev/null 2>&1; then want+=(chromium); fi
if [ $((${#need[@]} + ${#want[@]})) -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "apt-get install ${need[*]} ${want[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends "${need[@]}" "${want[@]}" >&2 \
      || die "apt-get install ${need[*]} ${want[*]} failed"
  elif [ ${#need[@]} -gt 0 ]; then
    die "missing system packages: ${need[*]}; as root: apt-get update && apt-get install -y ${need[*]}"
  else
    say "warning: not installed (needs root): ${want[*]}; the offline Fashion-MNIST default needs dataset-fashion-mnist"
  fi
fi

# 2. Node.js itself.
command -v node >/dev/null 2>&1 || die "node not found; install Node.js 20 or newer"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=10)?0:1)' \
  || die "Node.js $(node --version) is too old; transferkit needs 20.10 or newer"

# 3. Node packages, without tfjs-node's own install script (it downloads libtensorflow).
say "npm install (scripts off)"
npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2 2> >(grep -v 'Unknown user config' >&2) \
  || die "npm install failed (needs the npm registry)"

# 4. The native TensorFlow backend, built against the tensorflow-cpu wheel's C library.
bash "$ROOT/scripts/build-tfjs-node.sh"

# 5. Python side: mlflow (and Keras for the tests and benchmarks).
bash "$ROOT/scripts/setup-python.sh" "${python_args[@]}"

# 6. Compile the TypeScript.
say "building dist/"
node_modules/.bin/tsc -p tsconfig.json || die "TypeScript build failed"
say "ready: node dist/entry/cli.js train --help"
