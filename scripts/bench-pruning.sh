#!/usr/bin/env bash
# The pruning benchmark in one command: the four built-in synthetic
# workloads and every recorded one in bench/curves (unpruned runs of this
# project's torch studies and LCDB's public curves, see its README),
# replayed in seeded random orders through the real pruners. Prints, per
# workload and arm, epochs and time saved, the hypervolume ratio to the
# unpruned study and false stops (medians over seeds, worst in brackets),
# then the same summed up per study recorded at several seeds.
#
#   scripts/bench-pruning.sh                       # default arms, 3 seeds
#   SEEDS=5 scripts/bench-pruning.sh --arm dominated --arm mo-asha
#   scripts/bench-pruning.sh --json | tail -n 1 > rows.json   # the rows as JSON too (last line)
#
# Extra arguments go to `paretosearch bench-pruning` (see its --help).
set -euo pipefail
cd "$(dirname "$0")/.."
PS=${PS:-target/release/paretosearch}
if [ ! -x "$PS" ]; then
    cargo build --release --locked
fi
exec "$PS" bench-pruning --synthetic all --workload bench/curves --seeds "${SEEDS:-3}" "$@"
