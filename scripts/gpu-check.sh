#!/usr/bin/env bash
# The GPU check: one summary line per check (ok / FAIL / skip), exit 1 on
# any failure. Needs only python3 with PyTorch (a CUDA machine without Rust
# runs it as it is); scripts/gpu_check.py says what each check compares.
#   scripts/gpu-check.sh              # CPU part, then the CUDA part where CUDA is
#   scripts/gpu-check.sh --cpu-only   # the part CI runs
#   PARETOSEARCH_BIN=target/release/paretosearch scripts/gpu-check.sh   # also doctor + quickstart on cuda
set -euo pipefail
cd "$(dirname "$0")/.."
# The PyTorch wheel that scripts/install-libtorch.sh puts in .deps, when the
# system python3 has no torch of its own.
if ! python3 -c "import torch" 2>/dev/null && [ -d .deps/pytorch/torch ]; then
  export PYTHONPATH="$PWD/.deps/pytorch${PYTHONPATH:+:$PYTHONPATH}"
fi
exec python3 scripts/gpu_check.py "$@"
