#!/usr/bin/env bash
# The whole test suite, on a fresh machine or a used one:
#   1. installs libtorch (pip wheel, project-local) and starts PostgreSQL,
#   2. checks formatting and clippy lints,
#   3. runs every test of the workspace, the store conformance suite
#      against both SQLite and PostgreSQL included.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-libtorch.sh
PARETOSEARCH_TEST_POSTGRES="$(scripts/start-postgres.sh | tail -n 1)"
export PARETOSEARCH_TEST_POSTGRES

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
