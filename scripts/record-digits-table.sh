#!/usr/bin/env bash
# Regenerate bench/data/digits_mlp.csv: the tabular benchmark of an MLP grid
# (width x layers x activation x optimizer x lr, 360 configurations, 3
# training seeds each) trained on the embedded digits set by the torch
# runner (crates/torch/examples/digits_table.rs), about 5-10 minutes on 2
# CPU cores. Then checks that every grid point is there for every seed and
# prints the summary (best and worst validation error, Pareto front of mean
# validation error against parameter count).
#   scripts/record-digits-table.sh [--workers N] [OUT.csv]
set -euo pipefail
cd "$(dirname "$0")/.."
workers=2
out=bench/data/digits_mlp.csv
while [ $# -gt 0 ]; do
    case "$1" in
        --workers) workers="$2"; shift 2 ;;
        *) out="$1"; shift ;;
    esac
done
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && ! git diff --quiet HEAD -- crates Cargo.toml Cargo.lock 2>/dev/null; then
    commit="$commit-dirty"
fi
mkdir -p "$(dirname "$out")"
cargo build --release -p paretosearch-torch --example digits_table
exec target/release/examples/digits_table "$out" --workers "$workers" \
    --commit "$commit" --date "$(date -u +%Y-%m-%d)"
