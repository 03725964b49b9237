//! # paretosearch-runner
//!
//! (Design essay being written with the runners.)

use std::collections::BTreeMap;
use std::path::PathBuf;

use async_trait::async_trait;
use paretosearch_core::{Params, TrialOutcome};
use tokio_util::sync::CancellationToken;

/// Everything a runner needs to evaluate one trial.
#[derive(Clone, Debug)]
pub struct Job {
    /// Study name.
    pub study: String,
    /// Trial number.
    pub trial: u64,
    /// The configuration.
    pub params: Params,
    /// Seed for the trial (derived from study seed and trial number).
    pub seed: u64,
    /// Objective names the study expects.
    pub objectives: Vec<String>,
    /// Where to keep the trial's log (stderr, non-protocol stdout).
    pub log_path: Option<PathBuf>,
}

/// The answer to an intermediate report.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Keep going.
    Continue,
    /// Stop the trial now; it ends PRUNED with this reason.
    Stop(String),
}

/// Receives intermediate reports while a trial runs (the pruner sits behind it).
#[async_trait]
pub trait Reporter: Send + Sync {
    /// A report at `step`; the answer says whether to go on.
    async fn report(&self, step: u64, values: &BTreeMap<String, f64>) -> Verdict;
}

/// A reporter that stores nothing and never stops a trial.
pub struct NoReporter;

#[async_trait]
impl Reporter for NoReporter {
    async fn report(&self, _step: u64, _values: &BTreeMap<String, f64>) -> Verdict {
        Verdict::Continue
    }
}

/// Evaluates trials.
#[async_trait]
pub trait Runner: Send + Sync {
    /// Run one trial to its end. When `cancel` fires the runner stops the
    /// work (terminating processes) and returns `Fail` with a reason that
    /// starts with `interrupted`.
    async fn run(&self, job: Job, reporter: &dyn Reporter, cancel: CancellationToken) -> TrialOutcome;

    /// Measure only the cheap objectives (no training), if this runner can.
    async fn profile(&self, _job: Job) -> Option<Result<BTreeMap<String, f64>, String>> {
        None
    }
}
