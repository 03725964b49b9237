//! Trials: the records a study is made of.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::CoreError;
use crate::objective::Objectives;
use crate::reason::{Cause, FailKind, PruneReason};
use crate::space::Params;

/// Lifecycle state of a trial. WAITING and RUNNING are live; the other
/// three are final and the trial is immutable once it reaches them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "UPPERCASE")]
pub enum TrialState {
    /// Queued with fixed parameters (a re-queued retry or an enqueued config).
    Waiting,
    /// Claimed by a worker.
    Running,
    /// Finished with all objective values.
    Complete,
    /// Stopped early (pruned) or skipped by partial-order pruning.
    Pruned,
    /// Failed; `reason` says why.
    Fail,
}

impl TrialState {
    /// Is this a final state?
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            TrialState::Complete | TrialState::Pruned | TrialState::Fail
        )
    }

    /// The upper-case name stored in databases.
    pub fn as_str(self) -> &'static str {
        match self {
            TrialState::Waiting => "WAITING",
            TrialState::Running => "RUNNING",
            TrialState::Complete => "COMPLETE",
            TrialState::Pruned => "PRUNED",
            TrialState::Fail => "FAIL",
        }
    }

    /// Parse the stored name.
    pub fn parse(s: &str) -> Option<TrialState> {
        Some(match s {
            "WAITING" => TrialState::Waiting,
            "RUNNING" => TrialState::Running,
            "COMPLETE" => TrialState::Complete,
            "PRUNED" => TrialState::Pruned,
            "FAIL" => TrialState::Fail,
            _ => return None,
        })
    }
}

impl std::fmt::Display for TrialState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An intermediate report: metrics at a step (epoch) of a running trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Intermediate {
    /// Step number (epoch, iteration), increasing.
    pub step: u64,
    /// Metric values by name.
    pub values: BTreeMap<String, f64>,
}

/// How a trial ends. Each variant carries exactly what that end needs.
#[derive(Clone, Debug, PartialEq)]
pub enum TrialOutcome {
    /// All objectives measured.
    Complete(BTreeMap<String, f64>),
    /// Stopped early or skipped; keeps whatever values were measured.
    Pruned {
        /// Last known values (possibly partial, possibly empty).
        values: BTreeMap<String, f64>,
        /// Last step reached, if any.
        step: Option<u64>,
        /// Which rule, and what it saw.
        reason: PruneReason,
    },
    /// Failed.
    Fail {
        /// What kind of failure (decides whether it is retried).
        kind: FailKind,
        /// Why, for people (exit status, timeout, missing objective ...).
        reason: String,
    },
}

impl TrialOutcome {
    /// The final state this outcome leads to.
    pub fn state(&self) -> TrialState {
        match self {
            TrialOutcome::Complete(_) => TrialState::Complete,
            TrialOutcome::Pruned { .. } => TrialState::Pruned,
            TrialOutcome::Fail { .. } => TrialState::Fail,
        }
    }

    /// The typed cause this outcome is stored with (`None` for COMPLETE).
    pub fn cause(&self) -> Option<Cause> {
        match self {
            TrialOutcome::Complete(_) => None,
            TrialOutcome::Pruned { reason, .. } => Some(Cause::Pruned(reason.rule)),
            TrialOutcome::Fail { kind, .. } => Some(Cause::Failed(*kind)),
        }
    }

    /// The human reason (`None` for COMPLETE).
    pub fn reason_text(&self) -> Option<&str> {
        match self {
            TrialOutcome::Complete(_) => None,
            TrialOutcome::Pruned { reason, .. } => Some(&reason.detail),
            TrialOutcome::Fail { reason, .. } => Some(reason),
        }
    }

    /// Can `values` complete a trial: every objective present and finite?
    /// `Err` says which one is not.
    pub fn check_complete(
        values: &BTreeMap<String, f64>,
        objectives: &Objectives,
    ) -> Result<(), String> {
        for o in objectives.iter() {
            match values.get(&o.name) {
                None => {
                    return Err(format!(
                        "objective `{}` missing from the result (objectives: {})",
                        o.name,
                        objectives.names().join(", ")
                    ))
                }
                Some(v) if !v.is_finite() => {
                    return Err(format!(
                        "objective `{}` is {v}, not a finite number",
                        o.name
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Validate a COMPLETE outcome against the objectives: every objective
    /// present and finite. An invalid COMPLETE becomes a FAIL with the reason,
    /// as Optuna's `tell` does.
    pub fn validated(self, objectives: &Objectives) -> TrialOutcome {
        match self {
            TrialOutcome::Complete(values) => {
                match TrialOutcome::check_complete(&values, objectives) {
                    Ok(()) => TrialOutcome::Complete(values),
                    Err(reason) => TrialOutcome::Fail {
                        kind: FailKind::Error,
                        reason,
                    },
                }
            }
            TrialOutcome::Pruned {
                values,
                step,
                reason,
            } => TrialOutcome::Pruned {
                values: values.into_iter().filter(|(_, v)| v.is_finite()).collect(),
                step,
                reason,
            },
            other => other,
        }
    }
}

/// A trial as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Store-wide id.
    pub id: i64,
    /// Number within the study, unique, from 0.
    pub number: u64,
    /// Lifecycle state.
    pub state: TrialState,
    /// Parameters (empty while a new trial waits for its sampler).
    pub params: Params,
    /// Objective (and other reported) values by name.
    pub values: BTreeMap<String, f64>,
    /// Intermediate reports in step order.
    pub intermediate: Vec<Intermediate>,
    /// Why the trial failed or was pruned, for people.
    pub reason: Option<String>,
    /// Why the trial failed or was pruned, typed (`None` for trials
    /// recorded before causes were stored, and for live or COMPLETE ones).
    #[serde(default)]
    pub cause: Option<Cause>,
    /// Sampler/pruner bookkeeping (generation, sampler name, ...).
    pub attrs: serde_json::Map<String, serde_json::Value>,
    /// The number of the failed trial this one retries.
    pub retry_of: Option<u64>,
    /// How many times these parameters have been re-queued.
    pub retries: u32,
    /// This (failed) trial's parameters were re-queued; it no longer counts
    /// towards the budget.
    pub requeued: bool,
    /// Worker that holds or held the trial.
    pub worker: Option<String>,
    /// Unix milliseconds.
    pub started_at: Option<i64>,
    /// Unix milliseconds.
    pub finished_at: Option<i64>,
    /// Unix milliseconds of the last heartbeat while RUNNING.
    pub heartbeat_at: Option<i64>,
}

impl Trial {
    /// A fresh record (tests, in-memory studies).
    pub fn new(number: u64, state: TrialState) -> Trial {
        Trial {
            id: number as i64,
            number,
            state,
            params: Params::new(),
            values: BTreeMap::new(),
            intermediate: Vec::new(),
            reason: None,
            cause: None,
            attrs: serde_json::Map::new(),
            retry_of: None,
            retries: 0,
            requeued: false,
            worker: None,
            started_at: None,
            finished_at: None,
            heartbeat_at: None,
        }
    }

    /// Apply a final outcome to a RUNNING trial (in memory). Finished
    /// trials are immutable.
    pub fn finish(&mut self, outcome: TrialOutcome, now_ms: i64) -> Result<(), CoreError> {
        if self.state != TrialState::Running {
            return Err(CoreError::InvalidTransition(format!(
                "trial {} is {}, only RUNNING trials can finish",
                self.number, self.state
            )));
        }
        self.state = outcome.state();
        self.cause = outcome.cause();
        match outcome {
            TrialOutcome::Complete(v) => self.values = v,
            TrialOutcome::Pruned { values, reason, .. } => {
                self.values = values;
                if let Some(f) = reason.forecast {
                    self.attrs.insert(crate::reason::FORECAST_ATTR.into(), f);
                }
                self.reason = Some(reason.detail);
            }
            TrialOutcome::Fail { reason, .. } => self.reason = Some(reason),
        }
        self.finished_at = Some(now_ms);
        Ok(())
    }

    /// The kind of failure of a FAIL trial.
    pub fn fail_kind(&self) -> Option<FailKind> {
        match self.cause {
            Some(Cause::Failed(k)) => Some(k),
            _ => None,
        }
    }

    /// The rule that pruned a PRUNED trial.
    pub fn prune_rule(&self) -> Option<crate::reason::PruneRule> {
        match self.cause {
            Some(Cause::Pruned(r)) => Some(r),
            _ => None,
        }
    }

    /// Does this trial count towards the budget? Everything except failed
    /// trials whose parameters were re-queued (their retry counts instead).
    pub fn counts_towards_budget(&self) -> bool {
        !(self.state == TrialState::Fail && self.requeued)
    }

    /// Minimised objective vector if COMPLETE.
    pub fn minimised(&self, objectives: &Objectives) -> Option<Vec<f64>> {
        if self.state == TrialState::Complete {
            objectives.minimised(&self.values)
        } else {
            None
        }
    }

    /// Duration in seconds, if finished.
    pub fn duration_s(&self) -> Option<f64> {
        Some((self.finished_at? - self.started_at?) as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objective::{Direction, Objective};

    fn objs() -> Objectives {
        Objectives(vec![Objective {
            name: "f1".into(),
            direction: Direction::Minimize,
            constraint: None,
            cheap: false,
        }])
    }

    #[test]
    fn finished_trials_are_immutable() {
        let mut t = Trial::new(0, TrialState::Running);
        t.finish(
            TrialOutcome::Fail {
                kind: FailKind::Error,
                reason: "x".into(),
            },
            1,
        )
        .unwrap();
        assert_eq!(t.fail_kind(), Some(FailKind::Error));
        assert!(t
            .finish(TrialOutcome::Complete(BTreeMap::new()), 2)
            .is_err());
        assert_eq!(t.state, TrialState::Fail);
    }

    #[test]
    fn complete_without_values_becomes_fail() {
        let o = TrialOutcome::Complete(BTreeMap::new()).validated(&objs());
        assert!(
            matches!(o, TrialOutcome::Fail { kind: FailKind::Error, reason } if reason.contains("f1"))
        );
        let nan = TrialOutcome::Complete([("f1".to_string(), f64::NAN)].into()).validated(&objs());
        assert_eq!(nan.state(), TrialState::Fail);
    }

    #[test]
    fn state_names_round_trip() {
        for s in [
            TrialState::Waiting,
            TrialState::Running,
            TrialState::Complete,
            TrialState::Pruned,
            TrialState::Fail,
        ] {
            assert_eq!(TrialState::parse(s.as_str()), Some(s));
        }
    }
}
