//! # paretosearch-store
//!
//! (Design essay being written with the backends.)

use std::collections::BTreeMap;

use async_trait::async_trait;
use paretosearch_core::{Params, Trial, TrialOutcome};

/// Errors raised by stores.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The storage URL cannot be used.
    #[error("storage URL `{url}`: {message}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// The study exists with a different search space or objectives.
    #[error("study `{name}` was created with a different search space or objectives (stored fingerprint {stored}, file gives {given}); {help}")]
    Incompatible {
        /// Study name.
        name: String,
        /// Fingerprint in the store.
        stored: String,
        /// Fingerprint of the file.
        given: String,
        /// How to proceed.
        help: String,
    },
    /// No such study.
    #[error("no study named `{0}` in this storage")]
    NoSuchStudy(String),
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
    /// Stored JSON could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

/// A study as stored.
#[derive(Clone, Debug, PartialEq)]
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

/// Persistent, shared trial storage.
///
/// Implementations must be safe for several processes on one database:
/// claiming work is atomic, finished trials are immutable, and every write
/// is a short transaction.
#[async_trait]
pub trait Store: Send + Sync {
    /// Create the study or load it; fails with [`StoreError::Incompatible`]
    /// when it exists with another fingerprint. Updates the stored spec.
    async fn open_study(&self, name: &str, fingerprint: &str, spec_json: &str) -> Result<StudyRecord, StoreError>;

    /// Load a study by name, if it exists.
    async fn find_study(&self, name: &str) -> Result<Option<StudyRecord>, StoreError>;

    /// Every trial of the study, by number, with intermediate reports.
    async fn trials(&self, study_id: i64) -> Result<Vec<Trial>, StoreError>;

    /// Atomically take work: the oldest WAITING trial, else a new trial if
    /// fewer than `budget` trials count towards the budget, else
    /// `Exhausted`.
    async fn claim(&self, study_id: i64, worker: &str, budget: u64, now_ms: i64) -> Result<Claim, StoreError>;

    /// Record the sampled parameters (and sampler attributes) of a RUNNING trial.
    async fn set_params(&self, trial_id: i64, params: &Params, attrs: &serde_json::Map<String, serde_json::Value>) -> Result<(), StoreError>;

    /// Refresh the heartbeat of RUNNING trials.
    async fn heartbeat(&self, trial_ids: &[i64], now_ms: i64) -> Result<(), StoreError>;

    /// Store an intermediate report of a RUNNING trial.
    async fn report(&self, trial_id: i64, step: u64, values: &BTreeMap<String, f64>) -> Result<(), StoreError>;

    /// Finish a RUNNING trial. With `requeue` (only for FAIL), its
    /// parameters are queued again as a WAITING trial, which then counts
    /// towards the budget instead.
    async fn finish(&self, trial_id: i64, outcome: &TrialOutcome, requeue: bool, now_ms: i64) -> Result<(), StoreError>;

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
        is_dead: &(dyn Fn(&str) -> bool + Send + Sync),
    ) -> Result<Recovered, StoreError>;
}
