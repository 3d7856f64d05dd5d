#!/usr/bin/env bash
# Builds @tensorflow/tfjs-node's native binding from source against TensorFlow's C library taken
# from the `tensorflow-cpu` wheel on PyPI. For machines that reach package registries but not the
# host tfjs-node's own install script downloads libtensorflow from.
#
# Idempotent: when the binding already loads and reports the expected TensorFlow version, it exits
# at once. The wheel is cached in $TRANSFERKIT_CACHE/wheels (default ~/.cache/transferkit).
#
# Users with internet can skip all this: a plain `npm install` runs tfjs-node's own install script.
set -euo pipefail

TF_VERSION="${TRANSFERKIT_TF_VERSION:-2.21.0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG="$ROOT/node_modules/@tensorflow/tfjs-node"
CACHE="${TRANSFERKIT_CACHE:-$HOME/.cache/transferkit}"
WHEELS="$CACHE/wheels"
PYTHON="${PYTHON:-python3}"

say() { printf '[tfjs-node] %s\n' "$*" >&2; }
die() { printf '[tfjs-node] error: %s\n' "$*" >&2; exit 1; }

[ -d "$PKG" ] || die "node_modules/@tensorflow/tfjs-node is missing: run 'npm install --ignore-scripts' first"

probe() {
  # Prints the TensorFlow version the binding reports, or nothing when it does not load.
  (cd "$ROOT" && TF_CPP_MIN_LOG_LEVEL=3 node -e '
    const tf = require("@tensorflow/tfjs-node");
    if (tf.getBackend() !== "tensorflow") process.exit(3);
    process.stdout.write(String(tf.version["tfjs-node"]) + " " + tf.backend().binding.TF_Version);
  ' 2>/dev/null) || true
}

current="$(probe)"
if [ -n "$current" ] && [ "${current##* }" = "$TF_VERSION" ]; then
  say "native backend already built (tfjs-node ${current% *}, TensorFlow ${current##* })"
  exit 0
fi
[ -n "$current" ] && say "binding reports TensorFlow ${current##* }, want $TF_VERSION: rebuilding"

# 1. The wheel (274 MB), cached across runs and checkouts.
mkdir -p "$WHEELS"
wheel="$(ls "$WHEELS"/tensorflow_cpu-"$TF_VERSION"-*.whl 2>/dev/null | head -n 1 || true)"
if [ -z "$wheel" ]; then
  say "downloading tensorflow-cpu==$TF_VERSION from PyPI into $WHEELS"
  "$PYTHON" -m pip download "tensorflow-cpu==$TF_VERSION" --no-deps --only-binary=:all: \
      --platform manylinux_2_27_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
      --python-version 3.11 -d "$WHEELS" >&2 \
    || die "could not download tensorflow-cpu==$TF_VERSION with pip (needs PyPI access and python3 -m pip)"
  wheel="$(ls "$WHEELS"/tensorflow_cpu-"$TF_VERSION"-*.whl 2>/dev/null | head -n 1 || true)"
  [ -n "$wheel" ] || die "pip reported success but no tensorflow_cpu-$TF_VERSION wheel is in $WHEELS"
fi
say "using $wheel"

# 2. The C library and the 14 headers the binding compiles, into deps/ (staged, then moved).
stage="$(mktemp -d "$PKG/.deps-XXXXXX")"
trap 'rm -rf "$stage"' EXIT
"$PYTHON" - "$wheel" "$stage" <<'PY' || die "could not extract TensorFlow's C library from $wheel"
import sys, zipfile, os, shutil
wheel, out = sys.argv[1], sys.argv[2]
libs = {"tensorflow/libtensorflow_cc.so.2": "lib/libtensorflow_cc.so.2",
        "tensorflow/libtensorflow_framework.so.2": "lib/libtensorflow_framework.so.2"}
headers = ["tensorflow/c/c_api.h", "tensorflow/c/c_api_macros.h", "tensorflow/c/eager/c_api.h",
           "tensorflow/c/tf_attrtype.h", "tensorflow/c/tf_buffer.h", "tensorflow/c/tf_datatype.h",
           "tensorflow/c/tf_status.h", "tensorflow/c/tf_tensor.h", "tensorflow/c/tf_tstring.h",
           "tensorflow/core/platform/ctstring.h", "tensorflow/core/platform/ctstring_internal.h",
           "tsl/platform/ctstring.h", "tsl/platform/ctstring_internal.h", "xla/tsl/c/tsl_status.h"]
want = dict(libs)
want.update({"tensorflow/include/" + h: "include/" + h for h in headers})
with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
    missing = [k for k in want if k not in names]
    if missing:
        sys.exit("wheel lacks: " + ", ".join(missing))
    for src, dst in want.items():
        path = os.path.join(out, dst)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with z.open(src) as fi, open(path, "wb") as fo:
            shutil.copyfileobj(fi, fo, 1 << 20)
PY
ln -s libtensorflow_cc.so.2 "$stage/lib/libtensorflow.so"
ln -s libtensorflow_framework.so.2 "$stage/lib/libtensorflow_framework.so"
ln -s libtensorflow_cc.so.2 "$stage/lib/libtensorflow.so.2"
if command -v strip >/dev/null 2>&1; then
  strip --strip-unneeded "$stage/lib/libtensorflow_cc.so.2" "$stage/lib/libtensorflow_framework.so.2" \
    || say "strip failed; keeping unstripped libraries (larger, same behaviour)"
fi
rm -rf "$PKG/deps"
mv "$stage" "$PKG/deps"
trap - EXIT

# 3. Node's headers: node-gyp would otherwise try to download them.
nodedir="${npm_config_nodedir:-$(npm config get nodedir 2>/dev/null | tail -n 1)}"
if [ -z "$nodedir" ] || [ "$nodedir" = "undefined" ] || [ ! -f "$nodedir/include/node/node_api.h" ]; then
  for d in "$(dirname "$(dirname "$(command -v node)")")" /usr /usr/local; do
    if [ -f "$d/include/node/node_api.h" ]; then nodedir="$d"; break; fi
  done
fi
[ -f "$nodedir/include/node/node_api.h" ] \
  || die "Node.js headers (include/node/node_api.h) not found; install your Node distribution's headers (Debian: 'apt-get install libnode-dev') or set npm_config_nodedir"

# 4. Compile the binding (N-API only, 10-20 s).
npm_gyp="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$npm_gyp" ] || npm_gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$npm_gyp" ] || die "node-gyp not found next to npm ($npm_gyp)"
say "compiling the binding against TensorFlow $TF_VERSION (nodedir=$nodedir)"
(cd "$PKG" && npm_config_node_gyp="$npm_gyp" npm_config_nodedir="$nodedir" \
   "$ROOT/node_modules/.bin/node-pre-gyp" install --build-from-source --nodedir="$nodedir" >&2) \
  || die "node-pre-gyp failed to build tfjs_binding.node (needs g++, make and python3)"

current="$(probe)"
[ "${current##* }" = "$TF_VERSION" ] || die "the rebuilt binding does not load or reports '${current:-nothing}', expected TensorFlow $TF_VERSION"
say "native backend ready: tfjs-node ${current% *} on TensorFlow ${current##* }"
