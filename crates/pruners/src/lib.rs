//! # paretosearch-pruners
//!
//! Pruners: stop trials that cannot matter, before or while they train.
//!
//! Mainstream optimisers prune single-objective studies only (Optuna's
//! `should_prune` refuses a study with several objectives). The question a
//! multi-objective pruner must answer is not "is this trial worse than the
//! median?" but "could this trial still enter the Pareto set?". Every rule
//! here answers a version of that question conservatively: it forms an
//! **optimistic point** for the trial (the best it could plausibly still
//! reach) and prunes only if that point is already dominated by a COMPLETE,
//! feasible trial. Two mechanisms:
//!
//! * [`PartialOrder`] (before a trial trains): bounds the expensive
//!   objectives of a candidate from trained neighbours in the partial order
//!   that `monotone` parameters induce, and skips the candidate when its
//!   measured cheap objectives plus those bounds are dominated. See
//!   [`partial_order`].
//! * Early stopping (while a trial trains), behind the [`Pruner`] trait,
//!   called by the engine after every intermediate report:
//!   [`DominatedPruner`] (`kind = "dominated"`, multi-objective),
//!   [`MedianPruner`] (`"median"`) and [`HyperbandPruner`] (`"hyperband"`;
//!   successive halving is its one-bracket case), both on one metric, and
//!   [`MoAshaPruner`] (`"mo-asha"`), successive halving on any number of
//!   objectives.
//!
//! ## Two answers to "could it still matter?"
//!
//! The dominated rule is a *bound*: a trial stops only when even its
//! optimistic point is beaten by a finished trial, so it never stops a
//! trial that could still enter the Pareto set (as far as its forecast
//! goes), and it needs finished trials before it stops anyone. Successive
//! halving is a *budget*: at each rung only the best `1/η` of the trials
//! that got there go on, whatever their absolute values, so it saves a
//! known share of the epochs from the first rungs on, and its risk is that
//! a slow starter is ranked on an early, misleading point of its curve.
//! `mo-asha` carries that rule to several objectives by ranking a rung's
//! trials by non-dominated sorting, ties in the front that straddles the
//! cut broken by hypervolume contribution (see [`MoAshaPruner`]);
//! the rungs and Hyperband's brackets are one piece of code, [`Brackets`],
//! shared with `hyperband`.
//!
//! ## Stateless, like the samplers
//!
//! A pruner sees a [`StudyView`] (every trial with its intermediate reports)
//! and the running trial, and answers `Some(reason)` to stop it. It keeps no
//! state between calls, so decisions are the same whichever worker or
//! process asks, and survive resumes. The reason is stored with the PRUNED
//! trial and starts with the rule's name (`dominated`, `median`,
//! `hyperband`, `mo-asha`, `partial-order`).
//!
//! ## Cheap objectives
//!
//! Objectives declared `cheap = true` are measured without training by the
//! runner's profile phase. The engine stores those measurements in the
//! trial's attributes under [`CHEAP_ATTR`] (a JSON object name → value);
//! [`cheap_values`] reads them back. The dominated and mo-asha pruners use
//! them for objectives the training reports do not carry (latency, size).
//!
//! ## Configuration
//!
//! ```toml
//! [pruner]
//! kind = "dominated"        # none | dominated | median | hyperband | mo-asha
//! warmup_steps = 2          # no decision before this step
//! partial_order = true      # also skip dominated candidates before training
//! ```
//!
//! [`build`] validates the table; each error names the offending key (see
//! [`PrunerError::key`]) so the binary can point at it in the study file.

use std::collections::BTreeMap;

use paretosearch_core::spec::PrunerSpec;
use paretosearch_core::{
    Direction, Objectives, Params, PruneReason, SearchSpace, Trial, TrialState,
};
use serde::de::DeserializeOwned;

pub use paretosearch_core::StudyView;

mod brackets;
mod dominated;
pub mod forecast;
mod hyperband;
mod median;
mod mo_asha;
pub mod partial_order;
pub mod replay;

pub use brackets::{scaled_min_resource, Brackets, Defaults as BracketDefaults};
pub use dominated::DominatedPruner;
pub use hyperband::HyperbandPruner;
pub use median::MedianPruner;
pub use mo_asha::MoAshaPruner;
pub use partial_order::PartialOrder;

/// Trial attribute holding the cheap objectives measured by the profile
/// phase (a JSON object, name → number).
pub const CHEAP_ATTR: &str = "cheap";

/// Names of the pruner kinds [`build`] knows.
pub const KINDS: &[&str] = &["none", "dominated", "median", "hyperband", "mo-asha"];

/// A `[pruner]` table that cannot work.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum PrunerError {
    /// Unknown `kind`.
    #[error("unknown pruner kind `{0}`; known kinds: none, dominated, median, hyperband, mo-asha")]
    UnknownKind(String),
    /// An unknown key, a value of the wrong type or out of range.
    #[error("pruner option `{key}`: {message}")]
    BadOption {
        /// The key under `[pruner]`.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

impl PrunerError {
    /// The key under `[pruner]` the error is about (`kind` for an unknown kind).
    pub fn key(&self) -> &str {
        match self {
            PrunerError::UnknownKind(_) => "kind",
            PrunerError::BadOption { key, .. } => key,
        }
    }
}

/// Decides, after each intermediate report, whether a running trial stops.
pub trait Pruner: Send + Sync {
    /// Short name (`dominated`, `median`, `hyperband`, `mo-asha`).
    fn name(&self) -> &str;

    /// `trial` is the running trial with its intermediate reports up to and
    /// including the latest one (and its cheap measurements in
    /// [`CHEAP_ATTR`]). `Some(reason)` stops it.
    fn prune(&self, study: &StudyView<'_>, trial: &Trial) -> Option<PruneReason>;

    /// Does this rule judge with the cheap objectives measured before
    /// training (so the engine must run the profile phase)?
    fn uses_cheap_objectives(&self) -> bool {
        false
    }

    /// What the rule can say about itself on `study` (its calibration, its
    /// estimated false-stop rate), as JSON for `status --json` and the
    /// report; `None` for rules with nothing to say.
    fn diagnose(&self, _study: &StudyView<'_>) -> Option<serde_json::Value> {
        None
    }
}

/// The pruning a study asked for: one pipeline the engine calls at two
/// points of a trial's life, [`Pruning::before_training`] (partial order)
/// and [`Pruning::after_report`] (early stopping).
#[derive(Default)]
pub struct Pruning {
    /// Early stopping while a trial trains.
    pub early: Option<Box<dyn Pruner>>,
    /// Partial-order pruning before a trial trains.
    pub partial_order: Option<PartialOrder>,
}

impl std::fmt::Debug for Pruning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pruning")
            .field("early", &self.early.as_ref().map(|p| p.name().to_string()))
            .field("partial_order", &self.partial_order)
            .finish()
    }
}

impl Pruning {
    /// Does any rule use the cheap objectives measured before training?
    /// True when the study has cheap objectives and partial-order pruning
    /// or an early-stopping rule that uses them is on.
    pub fn needs_profile(&self, objectives: &Objectives) -> bool {
        objectives.iter().any(|o| o.cheap)
            && (self.partial_order.is_some()
                || self
                    .early
                    .as_ref()
                    .is_some_and(|p| p.uses_cheap_objectives()))
    }

    /// Before a candidate trains: should it be skipped, its measured cheap
    /// objectives `cheap` plus bounds from trained neighbours being
    /// dominated already? `None` without partial-order pruning.
    pub fn before_training(
        &self,
        study: &StudyView<'_>,
        params: &Params,
        cheap: &BTreeMap<String, f64>,
    ) -> Option<PruneReason> {
        self.partial_order.as_ref()?.check(
            study.space,
            study.objectives,
            study.trials,
            params,
            cheap,
        )
    }

    /// After an intermediate report of `trial`: should it stop? `None`
    /// without an early-stopping rule.
    pub fn after_report(&self, study: &StudyView<'_>, trial: &Trial) -> Option<PruneReason> {
        self.early.as_ref()?.prune(study, trial)
    }
}

/// Build the pruning a `[pruner]` table describes (`None`: no pruning).
pub fn build(
    spec: Option<&PrunerSpec>,
    space: &SearchSpace,
    objectives: &Objectives,
) -> Result<Pruning, PrunerError> {
    let Some(spec) = spec else {
        return Ok(Pruning::default());
    };
    let o = &spec.options;
    let common = ["partial_order", "partial_order_margin"];
    let known: Vec<&str> = match spec.kind.as_str() {
        "none" => vec![],
        "dominated" => DominatedPruner::OPTIONS.to_vec(),
        "median" => MedianPruner::OPTIONS.to_vec(),
        "hyperband" => HyperbandPruner::OPTIONS.to_vec(),
        "mo-asha" => MoAshaPruner::OPTIONS.to_vec(),
        other => return Err(PrunerError::UnknownKind(other.to_string())),
    };
    let all: Vec<&str> = common.iter().copied().chain(known).collect();
    reject_unknown(o, &all)?;
    let early: Option<Box<dyn Pruner>> = match spec.kind.as_str() {
        "dominated" => Some(Box::new(DominatedPruner::from_options(o, objectives)?)),
        "median" => Some(Box::new(MedianPruner::from_options(o, objectives)?)),
        "hyperband" => Some(Box::new(HyperbandPruner::from_options(o, objectives)?)),
        "mo-asha" => Some(Box::new(MoAshaPruner::from_options(o, objectives)?)),
        _ => None,
    };
    let partial_order = if option::<bool>(o, "partial_order")?.unwrap_or(false) {
        Some(PartialOrder::from_options(o, space, objectives)?)
    } else {
        if o.contains_key("partial_order_margin") {
            return Err(bad(
                "partial_order_margin",
                "only applies with partial_order = true",
            ));
        }
        None
    };
    Ok(Pruning {
        early,
        partial_order,
    })
}

/// The cheap objectives measured for `trial` before it trained (from its
/// [`CHEAP_ATTR`] attribute); empty if none.
pub fn cheap_values(trial: &Trial) -> BTreeMap<String, f64> {
    trial
        .attrs
        .get(CHEAP_ATTR)
        .and_then(|v| v.as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_f64().filter(|x| x.is_finite())?)))
                .collect()
        })
        .unwrap_or_default()
}

/// The reference set every rule compares against: the minimised objective
/// vectors of COMPLETE, feasible trials other than `except`, with their
/// numbers. Infeasible trials never enter the Pareto set, so they never
/// prune anything.
pub(crate) fn feasible_complete(
    trials: &[Trial],
    objectives: &Objectives,
    except: Option<u64>,
) -> Vec<(u64, Vec<f64>)> {
    trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && Some(t.number) != except)
        .filter(|t| objectives.violation(&t.values) <= 0.0)
        .filter_map(|t| Some((t.number, t.minimised(objectives)?)))
        .collect()
}

/// The minimised points of [`feasible_complete`], without their numbers.
pub(crate) fn feasible_points(
    trials: &[Trial],
    objectives: &Objectives,
    except: Option<u64>,
) -> Vec<Vec<f64>> {
    feasible_complete(trials, objectives, except)
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

/// `v` in minimised form.
pub(crate) fn minimised(direction: Direction, v: f64) -> f64 {
    match direction {
        Direction::Minimize => v,
        Direction::Maximize => -v,
    }
}

/// The reports of `metric` in `trial`, `(step, value)` in step order, up to
/// and including `until`.
pub(crate) fn series(trial: &Trial, metric: &str, until: u64) -> Vec<(u64, f64)> {
    trial
        .intermediate
        .iter()
        .filter(|r| r.step <= until)
        .filter_map(|r| Some((r.step, *r.values.get(metric)?)))
        .filter(|(_, v)| v.is_finite())
        .collect()
}

/// Best (minimised) value of a series up to and including `until`.
pub(crate) fn best_until(s: &[(u64, f64)], direction: Direction, until: u64) -> Option<f64> {
    s.iter()
        .filter(|(st, _)| *st <= until)
        .map(|(_, v)| minimised(direction, *v))
        .reduce(f64::min)
}

/// The objective a single-metric pruner watches: `metric` if given (it must
/// name an objective), else the study's only objective.
pub(crate) fn single_metric(
    options: &toml::Table,
    objectives: &Objectives,
    kind: &str,
) -> Result<(String, Direction), PrunerError> {
    match option::<String>(options, "metric")? {
        Some(m) => match objectives.iter().find(|o| o.name == m) {
            Some(o) => Ok((o.name.clone(), o.direction)),
            None => Err(bad(
                "metric",
                format!(
                    "`{m}` is not an objective; use one of: {}",
                    objectives.names().join(", ")
                ),
            )),
        },
        None if objectives.len() == 1 => {
            let o = &objectives.0[0];
            Ok((o.name.clone(), o.direction))
        }
        None => Err(bad(
            "metric",
            format!(
                "the {kind} pruner watches one metric and this study has {} objectives; \
                 set metric = \"{}\" (or use kind = \"dominated\", which uses them all)",
                objectives.len(),
                objectives.names().first().copied().unwrap_or("accuracy")
            ),
        )),
    }
}

pub(crate) fn bad(key: &str, message: impl Into<String>) -> PrunerError {
    PrunerError::BadOption {
        key: key.to_string(),
        message: message.into(),
    }
}

/// Read an optional option with a typed error.
pub(crate) fn option<T: DeserializeOwned>(
    options: &toml::Table,
    key: &str,
) -> Result<Option<T>, PrunerError> {
    match options.get(key) {
        None => Ok(None),
        Some(v) => v
            .clone()
            .try_into()
            .map(Some)
            .map_err(|e: toml::de::Error| bad(key, e.message().to_string())),
    }
}

pub(crate) fn reject_unknown(options: &toml::Table, known: &[&str]) -> Result<(), PrunerError> {
    for k in options.keys() {
        if !known.contains(&k.as_str()) {
            return Err(bad(
                k,
                format!("unknown option; known options are: {}", known.join(", ")),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod testkit;

#[cfg(test)]
mod tests;
