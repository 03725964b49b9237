#!/usr/bin/env bash
# Benchmark: the report of a 10,000-trial study (ZDT1, random sampler, a
# constraint that makes some trials infeasible) opened in headless Chromium;
# prints the time from navigation start until every view is drawn and
# painted, per run and the median. Needs what scripts/browser-test.sh
# installs. `scripts/browser-test-bench.sh [TRIALS]`
set -euo pipefail
cd "$(dirname "$0")/.."
TRIALS="${1:-10000}"
NODE_DIR=target/browser-test/node
[ -d "$NODE_DIR/node_modules/playwright-core" ] || { echo "run scripts/browser-test.sh first (it installs chromium and playwright-core)" >&2; exit 2; }
cargo build --locked --quiet --release --bin paretosearch
DIR="$(mktemp -d)"
{
    printf '[study]\nname = "bench"\nseed = 1\n\n[[objectives]]\nname = "f1"\ndirection = "minimize"\n\n'
    printf '[[objectives]]\nname = "f2"\ndirection = "minimize"\nconstraint = { max = 6.0 }\n\n[search_space]\n'
    for i in 0 1 2 3 4 5 6 7 8 9; do printf 'x%s = { type = "float", low = 0.0, high = 1.0 }\n' "$i"; done
    printf '\n[sampler]\nkind = "random"\n\n[runner]\nkind = "builtin"\nproblem = "zdt1"\n\n[budget]\ntrials = %s\nworkers = 4\n' "$TRIALS"
} > "$DIR/bench.toml"
target/release/paretosearch run "$DIR/bench.toml" -q > /dev/null
target/release/paretosearch report "$DIR/bench.toml" --out "$DIR/bench.html"
ls -l "$DIR/bench.html"
cp scripts/browser-test/bench.mjs "$NODE_DIR/bench.mjs"
node "$NODE_DIR/bench.mjs" "$DIR/bench.html" 5
