#!/usr/bin/env bash
# Start a local PostgreSQL for the store's test suite and print its URL.
#
#   export PARETOSEARCH_TEST_POSTGRES="$(scripts/start-postgres.sh)"
#   cargo test -p paretosearch-store
#
# Idempotent; run as root on Debian/Ubuntu. Installs `postgresql` with
# apt-get when `pg_ctlcluster` is missing, starts the first cluster (creating
# one if there is none), makes sure the role `paretosearch` (password from
# PARETOSEARCH_PG_PASSWORD, default `paretosearch`) and the database
# `paretosearch_test` exist, and prints
#   postgres://paretosearch:PASSWORD@127.0.0.1:PORT/paretosearch_test
# on stdout. Everything else goes to stderr. For local testing only.
set -euo pipefail

ROLE=paretosearch
DATABASE=paretosearch_test
PASSWORD="${PARETOSEARCH_PG_PASSWORD:-paretosearch}"

log() { echo "start-postgres: $*" >&2; }

if [[ ! "$PASSWORD" =~ ^[A-Za-z0-9_]+$ ]]; then
    log "PARETOSEARCH_PG_PASSWORD may only hold letters, digits and underscores"
    exit 2
fi
if [[ "$(id -u)" != 0 ]]; then
    log "run as root (it installs packages and switches to the postgres user)"
    exit 2
fi

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "installing postgresql with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi

# The first cluster: "version name port status ...".
read -r VERSION CLUSTER PORT STATUS _ < <(pg_lsclusters -h | head -n 1) || true
if [[ -z "${VERSION:-}" ]]; then
    VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
    CLUSTER=main
    log "creating cluster $VERSION/$CLUSTER"
    pg_createcluster "$VERSION" "$CLUSTER" >&2
    read -r VERSION CLUSTER PORT STATUS _ < <(pg_lsclusters -h | head -n 1)
fi

if [[ "$STATUS" != online* ]]; then
    log "starting cluster $VERSION/$CLUSTER on port $PORT"
    pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

for _ in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1 -p "$PORT"; then
        break
    fi
    sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$PORT" || { log "PostgreSQL does not answer on port $PORT"; exit 1; }

# Over the local socket as the postgres superuser (peer authentication).
psql_admin() { su postgres -c "psql -X -q -v ON_ERROR_STOP=1 -p $PORT $*" >&2; }

ensure_role() {
    psql_admin "-d postgres" <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
        CREATE ROLE $ROLE LOGIN;
    END IF;
END
\$\$;
ALTER ROLE $ROLE WITH LOGIN PASSWORD '$PASSWORD';
SQL
}
# Two test runs starting at once race on the role ("tuple concurrently
# updated"); the statement is idempotent, so try again.
for attempt in 1 2 3 4 5; do
    if ensure_role; then
        break
    fi
    [[ $attempt == 5 ]] && { log "cannot create or update role $ROLE"; exit 1; }
    sleep 1
done

if [[ "$(su postgres -c "psql -X -At -p $PORT -d postgres -c \"SELECT 1 FROM pg_database WHERE datname = '$DATABASE'\"")" != 1 ]]; then
    log "creating database $DATABASE"
    psql_admin "-d postgres" <<SQL
CREATE DATABASE $DATABASE OWNER $ROLE;
SQL
fi

echo "postgres://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DATABASE"
