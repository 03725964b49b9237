#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a used one:
#   1. installs libtorch (pip wheel, project-local) and starts PostgreSQL,
#   2. checks formatting, clippy lints (with and without libtorch) and docs,
#   3. runs every test of the workspace, the store conformance suite
#      against both SQLite and PostgreSQL included,
#   4. builds and tests everything but the torch crate with libtorch out of
#      reach (`--no-default-features`, LIBTORCH pointing nowhere),
#   5. runs the library examples,
#   6. runs the browser tests of report and serve (scripts/browser-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-libtorch.sh
PARETOSEARCH_TEST_POSTGRES="$(scripts/start-postgres.sh | tail -n 1)"
export PARETOSEARCH_TEST_POSTGRES

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked

# The engine, samplers, pruners, store and command runner without libtorch.
LIBTORCH=/nonexistent-libtorch cargo clippy --workspace --exclude paretosearch-torch \
    --all-targets --no-default-features --locked -- -D warnings
LIBTORCH=/nonexistent-libtorch cargo test --workspace --exclude paretosearch-torch \
    --no-default-features --locked

RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

# The library examples (the README's is one of them).
cargo run --locked --quiet --example zdt_closure
cargo run --locked --quiet --example ask_tell -- "$(mktemp -d)/ask-tell.db"
cargo run --locked --quiet --example tch_mlp

# report and serve in headless Chromium; screenshots in target/browser-test/.
scripts/browser-test.sh
