-- paretosearch schema, SQLite flavour. Forward-only: never edit after merge.
--
-- JSON documents are stored as TEXT so that the same row decoder serves
-- SQLite and PostgreSQL. Times are unix milliseconds.

CREATE TABLE studies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    fingerprint TEXT    NOT NULL,
    spec_json   TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE trials (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    study_id         INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    number           BIGINT  NOT NULL CHECK (number >= 0),
    state            TEXT    NOT NULL
                     CHECK (state IN ('WAITING', 'RUNNING', 'COMPLETE', 'PRUNED', 'FAIL')),
    params           TEXT    NOT NULL DEFAULT '{}',
    objective_values TEXT    NOT NULL DEFAULT '{}',
    attrs            TEXT    NOT NULL DEFAULT '{}',
    reason           TEXT,
    retry_of         BIGINT,
    retries          INTEGER NOT NULL DEFAULT 0 CHECK (retries >= 0),
    requeued         BOOLEAN NOT NULL DEFAULT FALSE,
    worker           TEXT,
    started_at       BIGINT,
    finished_at      BIGINT,
    heartbeat_at     BIGINT,
    UNIQUE (study_id, number)
);

-- Claiming looks for the lowest-numbered WAITING trial; sweeps for RUNNING ones.
CREATE INDEX trials_study_state ON trials (study_id, state, number);

CREATE TABLE intermediate (
    trial_id      INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    step          BIGINT  NOT NULL CHECK (step >= 0),
    metric_values TEXT    NOT NULL,
    PRIMARY KEY (trial_id, step)
);
