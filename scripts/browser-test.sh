#!/usr/bin/env bash
# The browser tests of `report` and `serve` (scripts/browser-test/run.mjs):
# headless Chromium over real studies, screenshots of every view under
# target/browser-test/. Installs what they need when missing: Debian's
# `chromium` (apt-get) and playwright-core (npm, the version pinned in
# scripts/browser-test/package-lock.json, into target/browser-test/node).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
fi
NODE_DIR=target/browser-test/node
if [ ! -d "$NODE_DIR/node_modules/playwright-core" ]; then
    mkdir -p "$NODE_DIR"
    cp scripts/browser-test/package.json scripts/browser-test/package-lock.json "$NODE_DIR/"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --silent)
fi
cargo build --locked --quiet --bin paretosearch "$@"
BIN=target/debug/paretosearch
case " $* " in *" --release "*) BIN=target/release/paretosearch ;; esac
cp scripts/browser-test/run.mjs "$NODE_DIR/run.mjs"
cp scripts/browser-test/fixture.toml scripts/browser-test/fixture_train.py "$NODE_DIR/"
PARETOSEARCH_REPO="$PWD" exec node "$NODE_DIR/run.mjs" "$BIN" target/browser-test/screenshots
