//! # paretosearch-store
//!
//! Where trials live between the moment a worker claims them and the moment
//! somebody exports the Pareto front, possibly days and several crashed
//! processes later.
//!
//! ## One trait, two databases
//!
//! [`Store`] is the whole contract. [`open`] picks the backend from the URL:
//! `sqlite://path/to/study.db` (the file and its folders are created when
//! missing), `sqlite::memory:` for tests, `postgres://...` for a study shared
//! by machines. Both backends run the same SQL up to placeholders (`?`
//! against `$1`) and locking; the rows are decoded by one helper
//! (`row.rs`), so a trial read from SQLite and from PostgreSQL is the same
//! value. JSON documents (parameters, objective values, sampler attributes,
//! intermediate reports) are stored as TEXT for the same reason: the schema
//! stays portable and nothing depends on one database's JSON operators.
//!
//! The schema is in `migrations/sqlite/` and `migrations/postgres/` at the
//! repository root, embedded with `sqlx::migrate!` and applied on open. The
//! two folders differ only where the dialects do (identity columns).
//! Migrations are forward-only: a released file is never edited.
//!
//! ## Several processes, one database
//!
//! `paretosearch run` may be started several times on one study file, and a
//! study on PostgreSQL may have workers on many machines. The rules that
//! keep them from stepping on each other:
//!
//! * **Claiming is atomic.** [`Store::claim`] takes the lowest-numbered
//!   WAITING trial, or creates a new trial while fewer than `budget` trials
//!   count towards the budget, in one transaction. Trial numbers are
//!   allocated as `max(number) + 1` under a per-study write lock, so no
//!   number is used twice and the budget is never overshot.
//! * **Finished trials are immutable.** Every state change is an `UPDATE
//!   ... WHERE state = 'RUNNING'` whose affected-row count is checked, so
//!   two processes finishing (or sweeping) the same trial cannot both win.
//! * **Every write is one short transaction.**
//!
//! On SQLite the write lock is the database's own: write transactions start
//! with `BEGIN IMMEDIATE`, which takes the lock up front instead of
//! upgrading a read lock half way through (the upgrade is what produces
//! "database is locked" without waiting). The database runs in WAL mode so
//! readers never block the writer, with a 30 s busy timeout, and an
//! operation that still meets `SQLITE_BUSY` is retried with backoff.
//! Switching a new file to WAL needs an exclusive lock the busy timeout
//! does not cover, so [`open`] retries that too, and applies migrations
//! inside a `BEGIN IMMEDIATE` transaction so two processes opening a fresh
//! file at once do not both create the tables.
//!
//! On PostgreSQL a WAITING trial is taken with `FOR UPDATE SKIP LOCKED`, so
//! concurrent workers take different trials without waiting on each other.
//! Whatever allocates a trial number (a new trial, a re-queue, an enqueued
//! configuration) first locks the study's row (`FOR NO KEY UPDATE`), always
//! before any trial row, so allocation is serialised per study and the lock
//! order is the same everywhere. Unique-key violations, serialisation
//! failures and deadlocks are retried all the same.
//!
//! ## Failed workers
//!
//! A RUNNING trial whose worker stopped sending heartbeats, or whose worker
//! is known to be gone, is turned into a FAIL by [`Store::fail_stale`] and
//! its parameters re-queued as a new WAITING trial while retries remain.
//! The failed trial is marked `requeued` and stops counting towards the
//! budget; its retry counts instead, so a crash costs no budget. A trial
//! that died before its parameters were sampled is always re-queued with
//! empty parameters (the claimant samples afresh): nothing was evaluated,
//! so there is nothing to give up on.
//!
//! ## A database that goes away
//!
//! A shared PostgreSQL server gets restarted (an upgrade, a failover, a
//! node drained under a Kubernetes pod). Every operation of the PostgreSQL
//! backend that fails because the server cannot be reached (connection
//! refused or reset, the server shutting down or starting up, too many
//! clients) is retried with a doubling, jittered pause for up to
//! [`StoreOptions::unreachable_for`] (ten minutes unless
//! `PARETOSEARCH_DB_RETRY` says otherwise), so workers wait for the server
//! and carry on. [`open`] waits the same way, so a worker may start before
//! its database does.
//!
//! Retrying a write whose first attempt committed but whose answer was lost
//! must not record anything twice. A finish repeated with the same outcome
//! state and the same `now_ms` is recognised as that retry and accepted;
//! parameters set again to the same values likewise; reports are upserts
//! and heartbeats idempotent; a stale sweep only fails a trial whose
//! heartbeat is still the one it saw. A claim whose answer was lost leaves
//! a RUNNING trial nobody heartbeats, which the next sweeps recover like any
//! other dead worker's trial (failed, re-queued, not counted).
//!
//! While the database was unreachable nobody could heartbeat, so right
//! after an outage every running trial looks stale. A store that has just
//! lived through an outage therefore judges nobody by heartbeat until
//! `stale_after` has passed since it reconnected (the live workers have
//! refreshed theirs by then); dead processes on the same host are still
//! recognised at once.
//!
//! ## Opening for reading only
//!
//! The read commands (`status`, `export`, `report`, `serve`, `check`,
//! `pick`, `plot`) open their storage with [`open_read_only`]
//! ([`StoreOptions::read_only`]): they must work on a study somebody else
//! owns, in a folder they may not write, and must not change a file they
//! were only asked to look at. Such a store never creates a file or a
//! folder, never migrates and never switches a file to WAL; its writes
//! fail.
//!
//! * **SQLite** files are opened with `mode=ro`. A WAL database needs its
//!   `-shm` file even to be read; in a folder this user cannot write, with
//!   no `-shm` there, SQLite cannot make one. When there is no `-wal` either
//!   (or an empty one), nothing can be writing the file (a writer needs
//!   both, in that folder) and it is opened `immutable`. When a `-wal` holds
//!   changes, they can only be read through a `-shm`:
//!   [`StoreError::WalNeedsFolder`] says so and how to fix it.
//! * **PostgreSQL** sessions run with `default_transaction_read_only`. The
//!   server is tried once, at open, and a server that is not there is
//!   reported at once ([`StoreError::Unreachable`]: "connection refused at
//!   host:port"): somebody typing `status` wants an answer in seconds, not
//!   a worker's ten minutes of patience. Later operations retry for at most
//!   [`READ_ONLY_RETRY`].
//!
//! Either way the schema must be there and up to date: a database no study
//! ran in is [`StoreError::Uninitialized`], one an older version left is
//! [`StoreError::Outdated`] (a write command upgrades it).
//!
//! ## Messages
//!
//! A storage URL may hold a password. No error of this crate shows one:
//! URLs in messages go through [`mask_url`], and errors about a server
//! name it by host and port only. A SQLite file that cannot be decoded
//! (SQLite's "malformed" or "not a database", text that is not UTF-8,
//! JSON that does not parse) is [`StoreError::Damaged`] or
//! [`StoreError::NotADatabase`], naming the file, how to check it and what
//! fixes it (a backup, or another storage).
//!
//! ## Reading a large study
//!
//! Samplers look at every trial before each proposal, and a study can hold
//! tens of thousands. Finished trials never change, so a reader keeps them
//! and asks only for what may have changed: [`Store::trials_since`] returns
//! the trials numbered above the highest number the reader holds plus the
//! ones it holds unfinished. Trial numbers are allocated under the study's
//! write lock and committed in order, so a reader that has seen number `n`
//! has seen every trial below it. [`TrialCache`] wraps this.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use paretosearch_core::{Params, Trial, TrialOutcome};

mod cache;
mod diagnose;
mod open;
mod postgres;
mod retry;
mod row;
mod sqlite;

pub use cache::TrialCache;
pub use diagnose::mask_url;
pub use retry::{on_connection_event, ConnectionEvent};

#[cfg(test)]
mod conformance;

/// Errors raised by stores.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The storage URL cannot be used.
    #[error("storage URL `{url}`: {message}")]
    BadUrl {
        /// The URL, password masked ([`mask_url`]).
        url: String,
        /// Why.
        message: String,
    },
    /// The study exists with a different search space or objectives.
    #[error("study `{name}` was created with a different search space or objectives ({}); {help}", what_changed(.changes, .stored, .given))]
    Incompatible {
        /// Study name.
        name: String,
        /// Fingerprint in the store.
        stored: String,
        /// Fingerprint of the file.
        given: String,
        /// What changed, one sentence each (``parameter `x9`: high 1.0 →
        /// 2.0``, ``objective `f2` added``); empty when the stored spec
        /// cannot tell (the message then names the fingerprints).
        changes: Vec<String>,
        /// How to proceed.
        help: String,
    },
    /// No such study.
    #[error("no study named `{0}` in this storage")]
    NoSuchStudy(String),
    /// No study with this id (it may have been deleted meanwhile).
    #[error("no study with id {0} in this storage")]
    NoSuchStudyId(i64),
    /// No trial with this id.
    #[error("no trial with id {0} in this storage")]
    NoSuchTrial(i64),
    /// The trial is finished (immutable) or does not exist.
    #[error("trial {number}: {message}")]
    Trial {
        /// Trial number.
        number: u64,
        /// What went wrong.
        message: String,
    },
    /// A database error.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Migration failure.
    #[error("migrating the database schema failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A value handed to the store cannot be stored (a non-finite
    /// parameter, a number beyond 64 bits).
    #[error("cannot store {0}")]
    Invalid(String),
    /// Stored JSON could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The database server cannot be reached (PostgreSQL).
    #[error("cannot reach the database: {message}{} (fix: check that the server is running and that the storage URL's host and port are right)", diagnose::retried(.retried_for))]
    Unreachable {
        /// `host:port` (or the socket) tried.
        target: String,
        /// What happened, naming the target: `connection refused at host:port`.
        message: String,
        /// How long it was retried (zero: not at all).
        retried_for: std::time::Duration,
    },
    /// The PostgreSQL server refused this login: a wrong user or password
    /// (SQLSTATE class 28), or no such database (3D000).
    #[error("the database server at {target} refused the login: {message} (fix: check the user, password and database name of the storage URL)")]
    LoginRefused {
        /// `host:port` (or the socket).
        target: String,
        /// What the server said (it never repeats the password).
        message: String,
    },
    /// A SQLite file that cannot be decoded: SQLite finds it malformed, or
    /// stored text or JSON does not decode.
    #[error("the database file {file} looks damaged ({detail}) (check it with `sqlite3 {} 'PRAGMA integrity_check'`; the fix is a backup of the file, or another storage such as --storage sqlite://new.db)", diagnose::shell_quote(.file))]
    Damaged {
        /// The file.
        file: String,
        /// What failed to decode.
        detail: String,
    },
    /// The file SQLite was pointed at is not a database at all.
    #[error("{file} is not a SQLite database (SQLite: file is not a database): it was overwritten, or the storage names another kind of file (check it with `sqlite3 {} 'PRAGMA integrity_check'`; the fix is a backup of the file, or another storage such as --storage sqlite://new.db)", diagnose::shell_quote(.file))]
    NotADatabase {
        /// The file.
        file: String,
    },
    /// A WAL database in a folder this user cannot write, whose `-wal`
    /// holds changes: SQLite can only read them through a `-shm` file that
    /// it cannot create there.
    #[error("cannot read {file} without write access to its folder {folder}: the database is in WAL mode and {file}-wal holds changes that SQLite reads through a shared-memory file {file}-shm, which it must create in that folder (fix: make the folder writable for this user, e.g. `chmod u+w {}`; or have someone who can write it fold the changes into the file with `sqlite3 {} 'PRAGMA wal_checkpoint(TRUNCATE)'`; or copy {file} and {file}-wal to a writable folder and pass --storage sqlite://COPY)", diagnose::shell_quote(.folder), diagnose::shell_quote(.file))]
    WalNeedsFolder {
        /// The database file.
        file: String,
        /// Its folder.
        folder: String,
    },
    /// A read-only open found no paretosearch tables: no study ran there.
    #[error("storage {storage} holds no paretosearch tables yet: no study has been run there (fix: run one first with `paretosearch run STUDY.toml --storage URL`)")]
    Uninitialized {
        /// The storage, password masked.
        storage: String,
    },
    /// A read-only open found a schema older than this version's, which
    /// it may not upgrade.
    #[error("storage {storage} has an older schema ({applied} of the {known} migrations of this version applied); opening it for reading does not upgrade it (fix: run any write command on it once, such as `paretosearch run`, which does)")]
    Outdated {
        /// The storage, password masked.
        storage: String,
        /// Migrations of this version applied there.
        applied: usize,
        /// Migrations this version knows.
        known: usize,
    },
}

impl StoreError {
    /// [`StoreError::Incompatible`] for the study `name` stored with
    /// fingerprint `stored` and spec JSON `stored_spec`, opened with
    /// `given` and `given_spec`: the changes are worked out from the two
    /// specs ([`describe_changes`](paretosearch_core::spec::describe_changes)).
    pub fn incompatible(
        name: &str,
        (stored, stored_spec): (&str, &str),
        (given, given_spec): (&str, &str),
        help: &str,
    ) -> StoreError {
        StoreError::Incompatible {
            name: name.to_string(),
            stored: stored.to_string(),
            given: given.to_string(),
            changes: paretosearch_core::spec::describe_changes(stored_spec, given_spec),
            help: help.to_string(),
        }
    }
}

fn what_changed(changes: &[String], stored: &str, given: &str) -> String {
    if changes.is_empty() {
        format!("stored fingerprint {stored}, file gives {given}")
    } else {
        changes.join("; ")
    }
}

/// The help text of [`StoreError::Incompatible`].
pub const INCOMPATIBLE_HELP: &str =
    "use a new study name, or delete the storage file to start over";

/// A study as stored.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct StudyRecord {
    /// Store-wide id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Fingerprint of search space and objectives.
    pub fingerprint: String,
    /// The spec the study was created (or last run) with, as JSON.
    pub spec_json: String,
}

/// What [`Store::claim`] hands a worker.
#[derive(Clone, Debug, PartialEq)]
pub enum Claim {
    /// A WAITING trial, now RUNNING and owned by the worker, with fixed
    /// parameters (a retry or an enqueued configuration).
    Queued(Trial),
    /// A new RUNNING trial with a fresh number and no parameters yet.
    New(Trial),
    /// Nothing to do: the budget is reached (counting RUNNING trials).
    /// `running` trials of other workers are still going.
    Exhausted {
        /// RUNNING trials in the study.
        running: u64,
    },
}

/// What a stale-trial sweep did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recovered {
    /// Numbers of trials marked FAIL.
    pub failed: Vec<u64>,
    /// Numbers of the WAITING trials created for them.
    pub requeued: Vec<u64>,
}

/// What a reader of a study already holds, for [`Store::trials_since`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Known {
    /// The highest trial number held; `None` when nothing is held.
    pub max_number: Option<u64>,
    /// `(id, number)` of the held trials that were not finished (WAITING or
    /// RUNNING) when read.
    pub unfinished: Vec<(i64, u64)>,
}

impl Known {
    /// Does a reader holding this need `trial` again?
    pub fn wants(&self, trial: &Trial) -> bool {
        match self.max_number {
            None => true,
            Some(m) => trial.number > m || self.unfinished.iter().any(|&(id, _)| id == trial.id),
        }
    }
}

/// How [`open_with`] connects.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreOptions {
    /// How long an operation keeps retrying while the database cannot be
    /// reached before it fails (PostgreSQL).
    pub unreachable_for: std::time::Duration,
    /// Open for reading only (see the crate documentation): nothing is
    /// created, migrated or switched to WAL; a PostgreSQL server that is
    /// not there fails the open at once, and later operations retry for at
    /// most [`READ_ONLY_RETRY`]. Writes through such a store fail. An
    /// in-memory SQLite database ignores it (there is nothing to protect).
    pub read_only: bool,
}

/// The most a read-only PostgreSQL store retries an operation while the
/// server cannot be reached.
pub const READ_ONLY_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// Environment variable overriding [`StoreOptions::unreachable_for`]
/// (a duration such as `90s` or `10m`; `0` disables the retries).
pub const RETRY_ENV: &str = "PARETOSEARCH_DB_RETRY";

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            unreachable_for: std::time::Duration::from_secs(600),
            read_only: false,
        }
    }
}

impl StoreOptions {
    /// The defaults, with `PARETOSEARCH_DB_RETRY` applied when it holds a
    /// duration (`600`, `90s`, `10m`, `1h`).
    pub fn from_env() -> StoreOptions {
        let mut o = StoreOptions::default();
        if let Some(d) = std::env::var(RETRY_ENV)
            .ok()
            .and_then(|v| retry::parse_secs(&v))
        {
            o.unreachable_for = d;
        }
        o
    }

    /// [`StoreOptions::from_env`], for reading only.
    pub fn read_only_from_env() -> StoreOptions {
        StoreOptions {
            read_only: true,
            ..StoreOptions::from_env()
        }
    }
}

/// Persistent, shared trial storage.
///
/// Implementations must be safe for several processes on one database:
/// claiming work is atomic, finished trials are immutable, and every write
/// is a short transaction.
#[async_trait]
pub trait Store: Send + Sync {
    /// Create the study or load it; fails with [`StoreError::Incompatible`]
    /// when it exists with another fingerprint. Updates the stored spec.
    async fn open_study(
        &self,
        name: &str,
        fingerprint: &str,
        spec_json: &str,
    ) -> Result<StudyRecord, StoreError>;

    /// Load a study by name, if it exists.
    async fn find_study(&self, name: &str) -> Result<Option<StudyRecord>, StoreError>;

    /// Every study in the storage, by name.
    async fn list_studies(&self) -> Result<Vec<StudyRecord>, StoreError>;

    /// Delete a study with all its trials and reports. Returns whether it
    /// existed.
    async fn delete_study(&self, name: &str) -> Result<bool, StoreError>;

    /// Every trial of the study, by number, with intermediate reports.
    async fn trials(&self, study_id: i64) -> Result<Vec<Trial>, StoreError>;

    /// The trials a reader holding `known` needs to be up to date: those
    /// numbered above `known.max_number` and those of `known.unfinished`
    /// (whatever their state now), by number, with intermediate reports.
    /// Finished trials are immutable, so the rest cannot have changed.
    ///
    /// The default filters [`Store::trials`]; backends override it with a
    /// query that reads only those rows.
    async fn trials_since(&self, study_id: i64, known: &Known) -> Result<Vec<Trial>, StoreError> {
        let mut all = self.trials(study_id).await?;
        all.retain(|t| known.wants(t));
        Ok(all)
    }

    /// Atomically take work: the oldest WAITING trial, else a new trial if
    /// fewer than `budget` trials count towards the budget, else
    /// `Exhausted`.
    async fn claim(
        &self,
        study_id: i64,
        worker: &str,
        budget: u64,
        now_ms: i64,
    ) -> Result<Claim, StoreError>;

    /// Record the sampled parameters (and sampler attributes) of a RUNNING
    /// trial. Setting the same parameters again is accepted (a retried
    /// write); different ones are an error.
    async fn set_params(
        &self,
        trial_id: i64,
        params: &Params,
        attrs: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), StoreError>;

    /// Refresh the heartbeat of RUNNING trials.
    async fn heartbeat(&self, trial_ids: &[i64], now_ms: i64) -> Result<(), StoreError>;

    /// Store an intermediate report of a RUNNING trial.
    async fn report(
        &self,
        trial_id: i64,
        step: u64,
        values: &BTreeMap<String, f64>,
    ) -> Result<(), StoreError>;

    /// Finish a RUNNING trial. With `requeue` (only for FAIL), its
    /// parameters are queued again as a WAITING trial, which then counts
    /// towards the budget instead. A finish repeated with the same outcome
    /// state and the same `now_ms` after the first one committed (a retry
    /// whose answer was lost) is accepted and changes nothing.
    async fn finish(
        &self,
        trial_id: i64,
        outcome: &TrialOutcome,
        requeue: bool,
        now_ms: i64,
    ) -> Result<(), StoreError>;

    /// Set attribute `key` of a finished (COMPLETE or PRUNED) trial to
    /// `value`, keeping its other attributes: what a reader learns of a
    /// trial after the study (its test-set scores). The engine's trial
    /// cache never reads finished trials again, so no sampler sees it.
    async fn annotate(
        &self,
        trial_id: i64,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(), StoreError>;

    /// Queue a configuration as a WAITING trial; returns its number.
    async fn enqueue(&self, study_id: i64, params: &Params) -> Result<u64, StoreError>;

    /// Mark FAIL every RUNNING trial whose heartbeat is older than
    /// `stale_after_ms` or whose worker `is_dead` says is gone; re-queue
    /// their parameters while their retry count is below `retries`.
    async fn fail_stale(
        &self,
        study_id: i64,
        now_ms: i64,
        stale_after_ms: i64,
        retries: u32,
        is_dead: &(dyn for<'w> Fn(&'w str) -> bool + Send + Sync),
    ) -> Result<Recovered, StoreError>;

    /// Close the connections. A SQLite store opened for writing first folds
    /// its write-ahead log into the file, so the file alone holds
    /// everything (to copy it, or to read it from a folder that cannot be
    /// written). Operations after it fail. The default does nothing.
    async fn close(&self) {}
}

/// Open the store a URL names, creating and migrating the database as
/// needed.
///
/// * `sqlite://path/to/file.db` (or `sqlite:path`): a SQLite file, created
///   with its parent folders when missing.
/// * `sqlite::memory:`: a private in-memory database (tests).
/// * `postgres://user:password@host:port/database` (or `postgresql://`).
///
/// Uses [`StoreOptions::from_env`].
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_with(url, &StoreOptions::from_env()).await
}

/// Open the existing store a URL names for reading only (see the crate
/// documentation), with [`StoreOptions::read_only_from_env`].
pub async fn open_read_only(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_with(url, &StoreOptions::read_only_from_env()).await
}

/// [`open`] with explicit options.
pub async fn open_with(url: &str, options: &StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(
            sqlite::SqliteStore::open(url, options.read_only).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::open(url, options).await?))
    } else {
        Err(StoreError::BadUrl {
            url: mask_url(url),
            message: "expected `sqlite://path/to/file.db`, `sqlite::memory:` or `postgres://...`"
                .into(),
        })
    }
}
