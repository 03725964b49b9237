#!/usr/bin/env bash
# Side by side: one training epoch of the same network (Adam, batch 64) on
# the digits set, in paretosearch-torch and in a plain PyTorch loop using the
# same libtorch (the pip wheel in .deps/pytorch): the MLP 64-256-256-10, the
# resnet family (basic blocks, 16/32 channels) and the mobilenet family
# (width 0.5, 3 stages); the two sides' parameter counts must agree.
#   bench/epoch.sh [epochs] [threads] [models...]
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS="${1:-30}"
THREADS="${2:-1}"
shift $(( $# < 2 ? $# : 2 ))
MODELS=("${@:-mlp resnet mobilenet}")
cargo build --quiet --release -p paretosearch-torch --example epoch_bench
for MODEL in ${MODELS[@]}; do
  RUST=$(cargo run --quiet --release -p paretosearch-torch --example epoch_bench -- "$EPOCHS" "$THREADS" "$MODEL")
  PY=$(PYTHONPATH="$PWD/.deps/pytorch" python3 bench/torch_epoch.py "$EPOCHS" "$THREADS" "$MODEL")
  echo "$RUST"
  echo "$PY"
  python3 - "$RUST" "$PY" <<'PYEOF'
import json, sys
r, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
if r["params"] != p["params"]:
    sys.exit(f"{r['model']}: not the same network ({r['params']} parameters here, {p['params']} in PyTorch)")
print(f"{r['model']} ({r['params']} parameters) median epoch: paretosearch-torch "
      f"{r['median_epoch_s']*1e3:.2f} ms, PyTorch {p['median_epoch_s']*1e3:.2f} ms; "
      f"PyTorch / ours = {p['median_epoch_s'] / r['median_epoch_s']:.2f}x")
PYEOF
done
