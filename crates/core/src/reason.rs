//! Why a trial ended the way it did, as types: the engine, the store,
//! `status` and the samplers decide on these, never on the wording of a
//! reason. The human sentence travels next to them and is only shown.

use serde::{Deserialize, Serialize};

/// Why a trial FAILED.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FailKind {
    /// The evaluation itself failed: a crash, a non-zero exit, a missing
    /// or non-finite objective, an error returned by an objective function.
    Error,
    /// It ran past its time limit and was stopped.
    Timeout,
    /// The run was cancelled (Ctrl-C, a timeout of the whole run, a
    /// cancellation token) while the trial ran; its parameters are re-queued.
    Interrupted,
    /// Its worker died or stopped sending heartbeats.
    Stale,
    /// The sampler could not propose its parameters.
    Sampler,
    /// Declared failed from outside (`tell --state fail`).
    Told,
}

impl FailKind {
    /// Every kind, in declaration order.
    pub const ALL: [FailKind; 6] = [
        FailKind::Error,
        FailKind::Timeout,
        FailKind::Interrupted,
        FailKind::Stale,
        FailKind::Sampler,
        FailKind::Told,
    ];

    /// The name stored in databases and shown in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FailKind::Error => "error",
            FailKind::Timeout => "timeout",
            FailKind::Interrupted => "interrupted",
            FailKind::Stale => "stale",
            FailKind::Sampler => "sampler",
            FailKind::Told => "told",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<FailKind> {
        FailKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for FailKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which rule PRUNED a trial.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PruneRule {
    /// Partial-order pruning: skipped before training, its cheap
    /// objectives plus bounds from trained neighbours already dominated.
    PartialOrder,
    /// Multi-objective early stopping: its optimistic point is dominated.
    Dominated,
    /// Median early stopping on one metric.
    Median,
    /// Hyperband / successive halving on one metric.
    Hyperband,
    /// Multi-objective asynchronous successive halving: outside the top
    /// `1/η` of its rung by non-dominated rank.
    MoAsha,
    /// Stopped by the caller: an objective function that stopped on its
    /// own, or `tell --state pruned`.
    Told,
}

impl PruneRule {
    /// Every rule, in declaration order.
    pub const ALL: [PruneRule; 6] = [
        PruneRule::PartialOrder,
        PruneRule::Dominated,
        PruneRule::Median,
        PruneRule::Hyperband,
        PruneRule::MoAsha,
        PruneRule::Told,
    ];

    /// The name stored in databases and shown in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PruneRule::PartialOrder => "partial-order",
            PruneRule::Dominated => "dominated",
            PruneRule::Median => "median",
            PruneRule::Hyperband => "hyperband",
            PruneRule::MoAsha => "mo-asha",
            PruneRule::Told => "told",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Option<PruneRule> {
        PruneRule::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Does this rule act before the trial trains (it was skipped, not stopped)?
    pub fn before_training(self) -> bool {
        self == PruneRule::PartialOrder
    }
}

impl std::fmt::Display for PruneRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a trial was pruned: the rule, and a sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReason {
    /// The rule that decided.
    pub rule: PruneRule,
    /// What it saw (`dominated at step 3 by trial 12 ...`).
    pub detail: String,
    /// The forecast the rule stopped the trial on, stored with the trial in
    /// its [`FORECAST_ATTR`] attribute (never as its values): `{"step",
    /// "horizon", "level", "p_matters", "objectives": {name: {"mean", "lo",
    /// "hi"}}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast: Option<serde_json::Value>,
}

/// The trial attribute holding the forecast a PRUNED trial was stopped on.
pub const FORECAST_ATTR: &str = "forecast";

impl PruneReason {
    /// A reason of `rule` saying `detail`.
    pub fn new(rule: PruneRule, detail: impl Into<String>) -> PruneReason {
        PruneReason {
            rule,
            detail: detail.into(),
            forecast: None,
        }
    }

    /// The same reason with the forecast it was decided on.
    pub fn with_forecast(mut self, forecast: serde_json::Value) -> PruneReason {
        self.forecast = Some(forecast);
        self
    }
}

impl std::fmt::Display for PruneReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

/// The typed half of a finished trial's reason, as stored next to the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "kind")]
pub enum Cause {
    /// A FAIL of this kind.
    Failed(FailKind),
    /// PRUNED by this rule.
    Pruned(PruneRule),
}

impl Cause {
    /// The stored name (the state column tells which enum it belongs to).
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Failed(k) => k.as_str(),
            Cause::Pruned(r) => r.as_str(),
        }
    }

    /// Decode a stored name for a trial in `state` (`None` for other
    /// states, for NULL, or for names this version does not know).
    pub fn parse(state: crate::TrialState, s: Option<&str>) -> Option<Cause> {
        let s = s?;
        match state {
            crate::TrialState::Fail => FailKind::parse(s).map(Cause::Failed),
            crate::TrialState::Pruned => PruneRule::parse(s).map(Cause::Pruned),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TrialState;

    #[test]
    fn names_round_trip() {
        for k in FailKind::ALL {
            assert_eq!(FailKind::parse(k.as_str()), Some(k));
            assert_eq!(
                Cause::parse(TrialState::Fail, Some(k.as_str())),
                Some(Cause::Failed(k))
            );
        }
        for r in PruneRule::ALL {
            assert_eq!(PruneRule::parse(r.as_str()), Some(r));
            assert_eq!(
                Cause::parse(TrialState::Pruned, Some(r.as_str())),
                Some(Cause::Pruned(r))
            );
        }
        assert_eq!(Cause::parse(TrialState::Complete, Some("error")), None);
        assert_eq!(Cause::parse(TrialState::Fail, Some("dominated")), None);
        assert_eq!(PruneRule::parse("mo-asha"), Some(PruneRule::MoAsha));
        assert_eq!(
            serde_json::to_value(PruneRule::MoAsha).unwrap(),
            serde_json::json!("mo-asha"),
            "serde and the stored name agree"
        );
        for r in PruneRule::ALL {
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                serde_json::json!(r.as_str())
            );
        }
        assert!(PruneRule::PartialOrder.before_training());
        assert!(!PruneRule::Dominated.before_training());
    }
}
