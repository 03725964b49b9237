#!/usr/bin/env bash
# Build the GPU check's binary for a CUDA machine that has no Rust toolchain
# and another PyTorch than ours: the target's python3 holds PyTorch 2.11
# (CUDA 13), our normal build links libtorch 2.13 (.deps/pytorch), and a
# binary built against one libtorch does not load against another.
#
#   scripts/gpu-bundle.sh                # prepares target/gpu-bundle/bin
#   # then, on the CUDA machine (the device tool: carry = ["target/gpu-bundle/bin"]):
#   PARETOSEARCH_BIN=target/gpu-bundle/bin/paretosearch scripts/gpu-check.sh
#
# What it does:
#  1. downloads the PyPI wheel torch==$TORCH_VERSION (the default Linux
#     x86_64 wheel of 2.11.0 is built for CUDA 13.0: version '2.11.0+cu130')
#     and unpacks its torch/include, torch/lib and torch/version.py into
#     target/gpu-bundle/libtorch-<major.minor>/, deleting the wheel;
#  2. links target/gpu-bundle/nvidia to .deps/pytorch/nvidia (the CUDA
#     runtime libraries of our 2.13 wheel, same CUDA major): libtorch_cpu.so
#     itself needs libcudart.so.13 and libcupti.so.13, found through its
#     RPATH $ORIGIN/../../nvidia/..., so the linker and a CPU run need them;
#  3. copies the repository's files (tracked and untracked, not ignored)
#     to target/gpu-bundle/src with tch/torch-sys set to $TCH_VERSION:
#     tch 0.26's generated C++ wrapper does not compile against 2.11's
#     headers (it calls 13 operators 2.11 lacks, torch::_philox_*,
#     _upsample_lanczos2d_aa*, _flash_attention_forward_no_dropout_inplace,
#     and gives _scaled_dot_product_attention_math_for_mps one argument
#     too many), so the binary for 2.11 is built with the tch release made
#     for 2.11 (0.24), an ordinary crates.io release; nothing of tch is
#     patched;
#  4. builds `paretosearch` in release there (CARGO_TARGET_DIR
#     target/gpu-bundle/target, no debug info), leaving the normal build
#     alone;
#  5. fills target/gpu-bundle/bin with only what travels: the stripped
#     binary (paretosearch-libtorch-<major.minor>) and the wrapper
#     `paretosearch`, which puts the target's own torch/lib (python3's
#     torch, found without importing it; or $PARETOSEARCH_TORCH_LIB)
#     first in LD_LIBRARY_PATH.
#     The binary's RUNPATH names this machine's build folder, which does
#     not exist there; LD_LIBRARY_PATH is searched before RUNPATH.
#
# Re-running reuses the unpacked libtorch and the build (it rebuilds the
# workspace's own crates: under a minute). Disk: about 1 GB for the
# libraries, 1.2 GB for the build; the download is ~530 MB.
set -euo pipefail

TORCH_VERSION="${TORCH_VERSION:-2.11.0}"
# The tch release whose generated C++ wrapper matches TORCH_VERSION
# (torch-sys's TORCH_VERSION: 0.23 -> 2.10.0, 0.24 -> 2.11.0, 0.26 -> 2.13.0).
case "$TORCH_VERSION" in
    2.10.*) DEFAULT_TCH=0.23 ;;
    2.11.*) DEFAULT_TCH=0.24 ;;
    2.13.*) DEFAULT_TCH=0.26 ;;
    *) DEFAULT_TCH="" ;;
esac
TCH_VERSION="${TCH_VERSION:-$DEFAULT_TCH}"
if [ -z "$TCH_VERSION" ]; then
    echo "error: no known tch release for torch $TORCH_VERSION; set TCH_VERSION" >&2
    exit 1
fi
PYTHON="${PYTHON:-python3}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/target/gpu-bundle"
MM="${TORCH_VERSION%.*}"
LIBTORCH_DIR="$OUT/libtorch-$MM"
SRC="$OUT/src"
BIN="$OUT/bin"
EXE="paretosearch-libtorch-$MM"
mkdir -p "$OUT"

version_of() { # the __version__ of a torch/version.py
    sed -n "s/^__version__ = '\(.*\)'/\1/p" "$1" 2>/dev/null
}
cuda_of() { # the CUDA version of a torch/version.py
    sed -n "s/^cuda: Optional\[str\] = '\(.*\)'/\1/p" "$1" 2>/dev/null
}

# 1. libtorch from the PyPI wheel.
have="$(version_of "$LIBTORCH_DIR/version.py" || true)"
if [ -f "$LIBTORCH_DIR/lib/libtorch_cpu.so" ] && [ "${have%%+*}" = "$TORCH_VERSION" ]; then
    echo "libtorch $have already unpacked in $LIBTORCH_DIR"
else
    dl="$OUT/download"
    rm -rf "$dl" "$LIBTORCH_DIR"
    mkdir -p "$dl"
    echo "downloading torch==$TORCH_VERSION from PyPI (~530 MB) ..."
    "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-cache-dir \
        --no-deps --only-binary=:all: -d "$dl" "torch==$TORCH_VERSION"
    wheel="$(ls "$dl"/torch-"$TORCH_VERSION"-*.whl)"
    echo "unpacking $(basename "$wheel") ..."
    unzip -q "$wheel" 'torch/include/*' 'torch/lib/*' 'torch/version.py' -d "$dl"
    mv "$dl/torch" "$LIBTORCH_DIR"
    rm -rf "$dl"
    have="$(version_of "$LIBTORCH_DIR/version.py")"
fi
cuda="$(cuda_of "$LIBTORCH_DIR/version.py")"
echo "libtorch: $have, built for CUDA ${cuda:-none}"

# 2. The CUDA runtime libraries libtorch's RPATH looks for in ../../nvidia.
deps="$ROOT/.deps/pytorch"
deps_cuda="$(cuda_of "$deps/torch/version.py" || true)"
if [ -n "$cuda" ]; then
    if [ ! -d "$deps/nvidia" ]; then
        echo "error: $deps/nvidia is missing: run scripts/install-libtorch.sh (its wheel brings the CUDA ${cuda%%.*} runtime libraries)" >&2
        exit 1
    fi
    if [ "${deps_cuda%%.*}" != "${cuda%%.*}" ]; then
        echo "error: .deps/pytorch has CUDA $deps_cuda libraries, libtorch $have wants CUDA $cuda" >&2
        exit 1
    fi
    ln -sfn "$deps/nvidia" "$OUT/nvidia"
fi

# 3. A copy of the sources with tch set to the release for this libtorch.
rm -rf "$SRC"
mkdir -p "$SRC"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf -) | tar -xf - -C "$SRC"
for manifest in Cargo.toml crates/torch/Cargo.toml; do
    sed -E -e "s/^(tch|torch-sys) = \"0\.26\"/\1 = \"$TCH_VERSION\"/" \
        -e "s/^tch = \{ version = \"0\.26\"/tch = { version = \"$TCH_VERSION\"/" \
        "$ROOT/$manifest" >"$SRC/$manifest"
    touch -r "$ROOT/$manifest" "$SRC/$manifest" # an unchanged copy rebuilds nothing
done
if [ "$TCH_VERSION" != 0.26 ] && grep -nE '^(tch|torch-sys) = .*0\.26' "$SRC/Cargo.toml" "$SRC/crates/torch/Cargo.toml"; then
    echo "error: a tch dependency above was not rewritten to $TCH_VERSION" >&2
    exit 1
fi

# 4. The release build against that libtorch.
echo "building paretosearch against libtorch $have with tch $TCH_VERSION ..."
(
    cd "$SRC"
    export LIBTORCH="$LIBTORCH_DIR"
    # tch checks the version only where the folder has a build-version file
    # (the wheel has none) or with LIBTORCH_USE_PYTORCH; set for both.
    export LIBTORCH_BYPASS_VERSION_CHECK=1
    export PARETOSEARCH_TCH_VERSION="$TCH_VERSION"
    export CARGO_TARGET_DIR="$OUT/target"
    export CARGO_PROFILE_RELEASE_DEBUG=0
    cargo build --release --bin paretosearch
)

# 5. The bundle: the binary and its wrapper, nothing else.
rm -rf "$BIN"
mkdir -p "$BIN"
strip -o "$BIN/$EXE" "$OUT/target/release/paretosearch"
cat >"$BIN/paretosearch" <<EOF
#!/usr/bin/env bash
# paretosearch built by scripts/gpu-bundle.sh against libtorch $have
# (tch $TCH_VERSION), run on this machine's own PyTorch libraries: python3's
# torch/lib (found without importing torch), or \$PARETOSEARCH_TORCH_LIB.
set -euo pipefail
here="\$(cd "\$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
lib="\${PARETOSEARCH_TORCH_LIB:-}"
if [ -z "\$lib" ]; then
    lib="\$("\${PYTHON:-python3}" -c 'import importlib.util, os; s = importlib.util.find_spec("torch"); print(os.path.join(s.submodule_search_locations[0], "lib") if s else "")')"
fi
if [ -z "\$lib" ] || [ ! -f "\$lib/libtorch_cpu.so" ]; then
    echo "paretosearch: no PyTorch libraries found (python3 has no torch; set PARETOSEARCH_TORCH_LIB=<torch>/lib)" >&2
    exit 127
fi
found="\$(sed -n "s/^__version__ = '\(.*\)'/\1/p" "\$lib/../version.py" 2>/dev/null || true)"
case "\$found" in
    $MM.*) ;;
    *)
        echo "paretosearch: built against libtorch $have, but \$lib is torch \${found:-of unknown version}" >&2
        [ -n "\${PARETOSEARCH_ALLOW_OTHER_TORCH:-}" ] || exit 127
        ;;
esac
export LD_LIBRARY_PATH="\$lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
exec "\$here/$EXE" "\$@"
EOF
chmod +x "$BIN/paretosearch"

echo "bundle $BIN:"
ls -l "$BIN"
du -sh "$BIN"
glibc="$(objdump -T "$BIN/$EXE" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"
glibcxx="$(objdump -T "$BIN/$EXE" | grep -o 'GLIBCXX_[0-9.]*' | sort -uV | tail -1)"
echo "the binary needs $glibc and $glibcxx (libstdc++) on the target"
tracked="$(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done | du -cb --files0-from=- | tail -1 | cut -f1)"
bundle="$(du -sb "$BIN" | cut -f1)"
echo "with the repository's files: $(((tracked + bundle) / 1048576)) MiB of the device tool's 64 MiB"
