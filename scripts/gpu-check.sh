#!/usr/bin/env bash
# The GPU check: one summary line per check (ok / FAIL / skip), exit 1 on
# any failure. Needs only python3 with PyTorch (a CUDA machine without Rust
# runs it as it is); scripts/gpu_check.py says what each check compares.
#   scripts/gpu-check.sh              # CPU part, then the CUDA part where CUDA is
#   scripts/gpu-check.sh --cpu-only   # the part CI runs
#   PARETOSEARCH_BIN=target/release/paretosearch scripts/gpu-check.sh   # also the binary: doctor, quickstart on cpu and cuda
#   PARETOSEARCH_BIN=target/gpu-bundle/bin/paretosearch scripts/gpu-check.sh   # the binary for PyTorch 2.11 (scripts/gpu-bundle.sh)
set -euo pipefail
# A relative PARETOSEARCH_BIN is taken from where the check was started.
if [ -n "${PARETOSEARCH_BIN:-}" ] && [[ "$PARETOSEARCH_BIN" == */* ]] && [[ "$PARETOSEARCH_BIN" != /* ]]; then
  export PARETOSEARCH_BIN="$PWD/$PARETOSEARCH_BIN"
fi
cd "$(dirname "$0")/.."
# The PyTorch wheel that scripts/install-libtorch.sh puts in .deps, when the
# system python3 has no torch of its own.
if ! python3 -c "import torch" 2>/dev/null && [ -d .deps/pytorch/torch ]; then
  export PYTHONPATH="$PWD/.deps/pytorch${PYTHONPATH:+:$PYTHONPATH}"
fi
exec python3 scripts/gpu_check.py "$@"
