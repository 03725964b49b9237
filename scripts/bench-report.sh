#!/usr/bin/env bash
# How long the report of a 10,000-trial study takes to open in headless
# Chromium, from navigation until every view on screen is drawn and painted
# (scripts/browser-test/bench.mjs; RUNS opens each, the median printed).
#
#   scripts/bench-report.sh [RUNS]
#
# Two studies, made once under target/bench-report/10000/ (about 15 minutes the
# first time on 2 cores; they are kept): ZDT1 with 30 parameters (builtin
# runner), and the browser tests' 3-objective fixture (command runner:
# 8 intermediate reports per trial, log tails, failed and infeasible
# trials) at 10,000 trials, 6 workers. Needs what scripts/browser-test.sh
# installs (chromium, playwright-core); run that once first.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-5}"
TRIALS="${TRIALS:-10000}"   # TRIALS=50 for a quick try of the script itself
NODE_DIR=target/browser-test/node
[ -d "$NODE_DIR/node_modules/playwright-core" ] || { echo "run scripts/browser-test.sh once first (it installs playwright-core)" >&2; exit 1; }
cargo build --locked --quiet --bin paretosearch
BIN="$PWD/target/debug/paretosearch"
DIR="target/bench-report/$TRIALS"
mkdir -p "$DIR"

if [ ! -f "$DIR/zdt1-10k.db" ]; then
    {
        printf '[study]\nname = "zdt1-10k"\nseed = 1\n\n'
        printf '[[objectives]]\nname = "f1"\ndirection = "minimize"\n\n[[objectives]]\nname = "f2"\ndirection = "minimize"\n\n'
        printf '[search_space]\n'
        for i in $(seq 0 29); do printf 'x%d = { type = "float", low = 0.0, high = 1.0 }\n' "$i"; done
        printf '\n[sampler]\nkind = "random"\n\n[runner]\nkind = "builtin"\nproblem = "zdt1"\n\n[budget]\ntrials = %d\nworkers = 4\n' "$TRIALS"
    } > "$DIR/zdt1-10k.toml"
    echo "making zdt1-10k ($TRIALS trials) ..."
    "$BIN" run "$DIR/zdt1-10k.toml" -q > /dev/null
fi
if [ ! -f "$DIR/fixture-10k.db" ]; then
    cp scripts/browser-test/fixture_train.py "$DIR/"
    sed -e 's/^name = "fixture"/name = "fixture-10k"/' -e "s/^trials = 40/trials = $TRIALS/" \
        -e 's/^workers = 3/workers = 6/' -e 's/"{momentum}"\]/"{momentum}", "--sleep", "0"]/' \
        scripts/browser-test/fixture.toml > "$DIR/fixture-10k.toml"
    echo "making fixture-10k ($TRIALS trials of a training script) ..."
    "$BIN" run "$DIR/fixture-10k.toml" -q > /dev/null
fi
cp scripts/browser-test/bench.mjs "$NODE_DIR/bench.mjs"
for s in zdt1-10k fixture-10k; do
    "$BIN" report "$DIR/$s.toml" --out "$DIR/$s.html" > /dev/null
    echo "$s: $(du -h "$DIR/$s.html" | cut -f1) report"
    node "$NODE_DIR/bench.mjs" "$DIR/$s.html" "$RUNS"
done
