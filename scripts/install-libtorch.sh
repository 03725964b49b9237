#!/usr/bin/env bash
# Install libtorch for the `tch` crate into the project-local folder
# `.deps/pytorch`, from PyTorch's PyPI wheel.
#
# tch 0.26 is built against libtorch 2.13.0; the wheel ships the same
# shared libraries (C++11 ABI) plus the headers, under `torch/`.
# `.cargo/config.toml` points LIBTORCH at `.deps/pytorch/torch`, and the
# build scripts bake that folder's `lib/` into the binaries' rpath, so
# nothing needs LD_LIBRARY_PATH.
#
# Idempotent: does nothing when the libraries are already there.
# About 2 minutes and 4.7 GB (the wheel pulls CUDA runtime libraries too;
# they are only loaded on machines with an NVIDIA driver).
set -euo pipefail

TORCH_VERSION="2.13.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.deps/pytorch"
LIB="$DEST/torch/lib/libtorch_cpu.so"
PYTHON="${PYTHON:-python3}"

installed_version() {
    local v="$DEST/torch/version.py"
    [ -f "$v" ] && sed -n "s/^__version__ = '\([0-9.]*\).*'/\1/p" "$v"
}

if [ -f "$LIB" ] && [ "$(installed_version)" = "$TORCH_VERSION" ]; then
    echo "libtorch $TORCH_VERSION already installed in $DEST/torch"
    exit 0
fi

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "error: $PYTHON not found; libtorch is installed with pip (set PYTHON=/path/to/python3)" >&2
    exit 1
fi

echo "installing torch==$TORCH_VERSION into $DEST (about 2 minutes, 4.7 GB) ..."
rm -rf "$DEST"
mkdir -p "$DEST"
"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-warn-script-location --no-cache-dir \
    --target "$DEST" "torch==$TORCH_VERSION"

if [ ! -f "$LIB" ]; then
    echo "error: pip finished but $LIB is missing" >&2
    exit 1
fi
echo "libtorch $TORCH_VERSION installed in $DEST/torch"
