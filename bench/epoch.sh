#!/usr/bin/env bash
# Side by side: one training epoch of the same MLP (64-256-256-10, Adam,
# batch 64) on the digits set, in paretosearch-torch and in a plain PyTorch
# loop using the same libtorch (the pip wheel in .deps/pytorch).
#   bench/epoch.sh [epochs] [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS="${1:-30}"
THREADS="${2:-1}"
RUST=$(cargo run --quiet --release -p paretosearch-torch --example epoch_bench -- "$EPOCHS" "$THREADS")
PY=$(PYTHONPATH="$PWD/.deps/pytorch" python3 bench/torch_epoch.py "$EPOCHS" "$THREADS")
echo "$RUST"
echo "$PY"
python3 - "$RUST" "$PY" <<'PYEOF'
import json, sys
r, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"median epoch: paretosearch-torch {r['median_epoch_s']*1e3:.2f} ms, "
      f"PyTorch {p['median_epoch_s']*1e3:.2f} ms; "
      f"PyTorch / ours = {p['median_epoch_s'] / r['median_epoch_s']:.2f}x")
PYEOF
