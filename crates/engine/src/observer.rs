//! Observers: what a study run tells the outside world while it works.
//!
//! The engine prints nothing. Progress bars, log lines, dashboards and
//! tests subscribe an [`Observer`] to a [`Study`](crate::Study) and are
//! called from the engine's tasks as trials start, report and finish.
//! Callbacks must be quick (they run on the engine's tasks) and must not
//! block on the study.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use paretosearch_core::{Trial, TrialOutcome};
use paretosearch_runner::Verdict;

use crate::TrialHandle;

/// How serious a [`Message`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Something a user following the run wants to know (a recovered trial).
    Info,
    /// Something went wrong but the run goes on (a failed heartbeat).
    Warning,
}

/// A line the engine has to say that belongs to no single callback.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// How serious.
    pub level: Level,
    /// The sentence.
    pub text: String,
}

/// `optimize` begins.
#[derive(Clone, Debug)]
pub struct RunStarted {
    /// Study name.
    pub study: String,
    /// Trials already finished (counting towards the budget).
    pub finished: usize,
    /// The budget in force.
    pub budget: u64,
    /// Concurrent trials in this process.
    pub workers: usize,
    /// The storage, credentials masked.
    pub storage: String,
}

/// A trial has ended and is recorded.
pub struct TrialFinished<'a> {
    /// The finished trial as recorded.
    pub trial: &'a Trial,
    /// The outcome as recorded (validated).
    pub outcome: &'a TrialOutcome,
    /// Wall time from claim to record (zero for a trial told by another process).
    pub took: Duration,
    /// Every trial of the study as this process knows them now (a cached
    /// snapshot, no store read), the finished one included.
    pub trials: &'a Arc<Vec<Trial>>,
    /// The study's objectives.
    pub(crate) objectives: &'a paretosearch_core::Objectives,
}

impl TrialFinished<'_> {
    /// Did the trial enter the feasible Pareto set (no other feasible
    /// COMPLETE trial at least as good in every objective)? Computed when
    /// asked, from [`TrialFinished::trials`].
    pub fn on_front(&self) -> bool {
        let o = self.objectives;
        let Some(p) = self.trial.minimised(o) else {
            return false;
        };
        if o.violation(&self.trial.values) > 0.0 {
            return false;
        }
        !self.trials.iter().any(|t| {
            t.id != self.trial.id
                && o.violation(&t.values) == 0.0
                && t.minimised(o)
                    .is_some_and(|q| q.iter().zip(&p).all(|(a, b)| a <= b))
        })
    }
}

/// Receives a study's events. Every method has an empty default.
pub trait Observer: Send + Sync {
    /// `optimize` starts working.
    fn run_started(&self, _event: &RunStarted) {}
    /// A trial was handed out with its parameters (by `ask` or inside `optimize`).
    fn trial_started(&self, _trial: &TrialHandle) {}
    /// A running trial reported intermediate values and got `verdict`.
    fn trial_reported(
        &self,
        _trial: &TrialHandle,
        _step: u64,
        _values: &BTreeMap<String, f64>,
        _verdict: &Verdict,
    ) {
    }
    /// A trial ended (completed, pruned, failed, or skipped before training).
    fn trial_finished(&self, _event: &TrialFinished<'_>) {}
    /// The trial that just finished entered the feasible Pareto set (called
    /// after [`Observer::trial_finished`]).
    fn front_changed(&self, _event: &TrialFinished<'_>) {}
    /// Something worth a line: a recovered trial, a failed heartbeat.
    fn message(&self, _message: &Message) {}
}

/// The observers of one study, called in turn.
#[derive(Default, Clone)]
pub(crate) struct Observers(Vec<Arc<dyn Observer>>);

impl Observers {
    pub(crate) fn push(&mut self, o: Arc<dyn Observer>) {
        self.0.push(o);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn each(&self, f: impl Fn(&dyn Observer)) {
        for o in &self.0 {
            f(o.as_ref());
        }
    }
}
