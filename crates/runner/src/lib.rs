//! # paretosearch-runner
//!
//! A runner turns one configuration into one outcome. The engine does not
//! care whether that takes a microsecond (an analytic test function) or a
//! day (training a network in a subprocess); it hands a [`Job`] to a
//! [`Runner`] and awaits a [`TrialOutcome`].
//!
//! ## Two runners, one trait
//!
//! * [`command::CommandRunner`] runs the user's program. The contract is a
//!   JSON-lines protocol on stdout, chosen because every language can print
//!   a line of JSON and because it keeps the user's program free of any
//!   paretosearch library: `print(json.dumps({"step": 3, "acc": 0.7}))` is
//!   an intermediate report, the last object without `step` is the result.
//!   Everything else the program prints goes to a per-trial log. The module
//!   documentation is the reference for the protocol.
//! * [`problems::BuiltinRunner`] evaluates analytic benchmark problems (ZDT,
//!   DTLZ) in-process, so that benchmarks measure only the optimiser.
//!
//! ## Pruning is a conversation, not a callback into the engine
//!
//! A runner knows nothing about pruners or storage. While a trial runs it
//! passes each intermediate report to a [`Reporter`] and obeys the
//! [`Verdict`]. The engine implements `Reporter` by recording the report
//! and consulting the pruner; tests implement it with a vector. This keeps
//! the runner crate free of the engine's types and the engine free of
//! process management.
//!
//! ## Ending a trial is always an outcome
//!
//! Every way a trial can end, a crash, a timeout, a missing objective, a
//! Ctrl-C, becomes a `TrialOutcome` with a one-line human reason and a
//! typed [`FailKind`](paretosearch_core::FailKind); a runner never panics
//! and never returns an error type. Stopping a trial means
//! stopping everything it started: the command runner owns the command's
//! whole process group, terminates it with `SIGTERM`, then `SIGKILL` after
//! a grace period, and reaps what it started. Cancellation arrives as a
//! [`CancellationToken`], and ends the trial as a FAIL of kind
//! [`FailKind::Interrupted`](paretosearch_core::FailKind::Interrupted), so
//! the engine can tell interruptions (to retry) from genuine failures.
//!
//! ## Errors
//!
//! Configuration mistakes found before any trial runs (an unknown built-in
//! problem) are [`RunnerError`]s; the study spec checks command templates.

use std::collections::BTreeMap;
use std::path::PathBuf;

use async_trait::async_trait;
use paretosearch_core::{Params, PruneReason, TrialOutcome};
use tokio_util::sync::CancellationToken;

pub mod command;
pub mod problems;
pub mod suite;

pub use command::CommandRunner;
pub use problems::BuiltinRunner;

/// A runner configuration that cannot work, found before any trial runs.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum RunnerError {
    /// `[runner] kind = "builtin"` names no built-in problem.
    #[error("unknown built-in problem `{name}`; known problems: {known}")]
    UnknownProblem {
        /// The name asked for.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
}

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

impl Job {
    /// The profile job of this trial: measure `cheap` (objective names)
    /// without training.
    pub fn profile_job(&self, cheap: Vec<String>) -> ProfileJob {
        ProfileJob {
            study: self.study.clone(),
            trial: self.trial,
            params: self.params.clone(),
            seed: self.seed,
            cheap,
            log_path: self.log_path.clone(),
        }
    }
}

/// What a runner's profile phase measures: the cheap objectives of one
/// candidate, without training it.
#[derive(Clone, Debug)]
pub struct ProfileJob {
    /// Study name.
    pub study: String,
    /// Trial number.
    pub trial: u64,
    /// The candidate configuration.
    pub params: Params,
    /// Seed for the trial.
    pub seed: u64,
    /// The cheap objectives to measure (empty: whatever the runner can).
    pub cheap: Vec<String>,
    /// Where to keep the log.
    pub log_path: Option<PathBuf>,
}

/// The answer to an intermediate report.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Keep going.
    Continue,
    /// Stop the trial now; it ends PRUNED with this reason.
    Stop(PruneReason),
}

/// A finished trial measured on a runner's held-out test set: its
/// configuration trained again (deterministic from the trial's seed) and
/// scored on the test rows, which no trial of the study ever saw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TestScores {
    /// The objectives measured on the test set (those that depend on the
    /// data: accuracy, loss, ...).
    pub test: BTreeMap<String, f64>,
    /// The same objectives on the validation set, from the same re-run: set
    /// beside the stored values, they tell whether the re-run reproduced
    /// the trial.
    pub valid: BTreeMap<String, f64>,
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
    /// work (terminating processes) and returns `Fail` of kind
    /// [`FailKind::Interrupted`](paretosearch_core::FailKind::Interrupted).
    async fn run(
        &self,
        job: Job,
        reporter: &dyn Reporter,
        cancel: CancellationToken,
    ) -> TrialOutcome;

    /// Measure only the cheap objectives (no training), if this runner can.
    async fn profile(&self, _job: ProfileJob) -> Option<Result<BTreeMap<String, f64>, String>> {
        None
    }

    /// Score a finished trial on the runner's held-out test set, if it has
    /// one (`None` otherwise). Called only after a study, for the trials a
    /// user exports; nothing it returns reaches a sampler or a pruner.
    async fn evaluate_test(&self, _job: Job) -> Option<Result<TestScores, String>> {
        None
    }
}
