#!/usr/bin/env bash
# Parallel quality: the front after N trials with 1, 4 and 8 workers, side by
# side, through `paretosearch run` (builtin runner, every trial taking a fixed
# time), and the wall time of each run. Prints one table (see
# bench/measure_parallel.py for the columns).
#
#   scripts/measure-parallel.sh                         # the README's table
#   scripts/measure-parallel.sh --problems zdt1 --samplers tpe --seeds 2
#   scripts/measure-parallel.sh --fresh                 # forget cached runs
#
# Any option is passed to bench/measure_parallel.py. Builds the binary
# without libtorch (the builtin runner needs none) into target/release.
set -euo pipefail
cd "$(dirname "$0")/.."
LIBTORCH="${LIBTORCH:-/nonexistent-libtorch}" \
    cargo build --release --no-default-features --bin paretosearch
target="${CARGO_TARGET_DIR:-target}"
exec python3 bench/measure_parallel.py --bin "$target/release/paretosearch" \
    --out "$target/measure-parallel" "$@"
