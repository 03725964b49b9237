#!/usr/bin/env bash
# Quick start on a fresh machine: install libtorch (once, into .deps/),
# build paretosearch, and run studies/quickstart.toml end to end: an MLP
# trained on the embedded digits set, searched for the accuracy / latency /
# size trade-off (30 trials, a few minutes on 2 CPU cores). It prints the
# Pareto front at the end; run it again and it resumes (nothing left to do).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-libtorch.sh
cargo build --release --locked
exec target/release/paretosearch run studies/quickstart.toml "$@"
