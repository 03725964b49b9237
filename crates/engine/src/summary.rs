//! What a study looks like now: counts, the Pareto set, the best trial per
//! objective. Computed from a slice of trials, so it works on a cached
//! snapshot as well as on a fresh read.

use std::collections::BTreeMap;

use paretosearch_core::spec::DEFAULT_FREEZE_AFTER;
use paretosearch_core::{pareto, Objectives, Trial, TrialState};

use crate::reference::{self, Reference};

/// A study's counts, Pareto set and best trials.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Trials by state.
    pub counts: BTreeMap<TrialState, usize>,
    /// Trials counting towards the budget that are finished.
    pub finished: usize,
    /// Indices (into the trial slice) of the Pareto set: feasible COMPLETE
    /// trials no other feasible COMPLETE trial dominates, by number.
    pub pareto: Vec<usize>,
    /// Hypervolume of the Pareto set in the minimised space against the
    /// study's fixed reference ([`Summary::reference`]; see
    /// [`crate::reference`]), in the product of the objectives' units.
    pub hypervolume: Option<f64>,
    /// [`Summary::hypervolume`] over the box between the ideal point and
    /// the reference (0 to 1; `None` when no trial beats the reference).
    pub normalised: Option<f64>,
    /// The reference the hypervolume is measured against.
    pub reference: Option<Reference>,
    /// Index of the best trial per objective (feasible COMPLETE).
    pub best: Vec<Option<usize>>,
    /// PRUNED trials skipped before training by partial-order pruning.
    pub skipped: usize,
    /// PRUNED trials stopped while training (early stopping, or pruned by
    /// the user through `tell --state pruned`).
    pub stopped: usize,
    /// The largest budget trials were claimed under when it was larger
    /// than the study file's (see [`RAISED_BUDGET_ATTR`]).
    pub raised_budget: Option<u64>,
}

impl Summary {
    /// How many trials are in `state`.
    pub fn count(&self, state: TrialState) -> usize {
        self.counts.get(&state).copied().unwrap_or(0)
    }

    /// The budget to show next to [`Summary::finished`] for a study file
    /// whose `[budget] trials` is `file_budget`: the largest of it, the
    /// budget recorded as raised ([`Summary::raised_budget`]) and the
    /// finished trials themselves (a study raised before the raise was
    /// recorded), so that it is never smaller than `finished`.
    pub fn effective_budget(&self, file_budget: u64) -> u64 {
        file_budget
            .max(self.raised_budget.unwrap_or(0))
            .max(self.finished as u64)
    }
}

/// Whether a PRUNED trial was skipped before training (partial-order
/// pruning) rather than stopped while it trained.
pub fn skipped_before_training(t: &Trial) -> bool {
    t.state == TrialState::Pruned && t.prune_rule().is_some_and(|r| r.before_training())
}

/// Summarise a study's trials, the hypervolume against the reference of
/// the default rule (frozen from the first
/// [`DEFAULT_FREEZE_AFTER`] feasible trials, provisional before). A
/// study's own reference (declared, stored) is
/// [`Study::summary`](crate::Study::summary)'s, or [`summarize_against`]'s.
pub fn summarize(trials: &[Trial], objectives: &Objectives) -> Summary {
    let reference = reference::by_rule(trials, objectives, DEFAULT_FREEZE_AFTER);
    summarize_against(trials, objectives, reference)
}

/// Summarise a study's trials, the hypervolume against `reference`
/// (none: no hypervolume).
pub fn summarize_against(
    trials: &[Trial],
    objectives: &Objectives,
    reference: Option<Reference>,
) -> Summary {
    let mut s = Summary::default();
    for t in trials {
        *s.counts.entry(t.state).or_default() += 1;
        if t.state == TrialState::Pruned {
            if skipped_before_training(t) {
                s.skipped += 1;
            } else {
                s.stopped += 1;
            }
        }
        if t.state.is_finished() && t.counts_towards_budget() {
            s.finished += 1;
        }
    }
    s.raised_budget = trials
        .iter()
        .filter_map(|t| t.attrs.get(RAISED_BUDGET_ATTR)?.as_u64())
        .max();
    let feasible = feasible_points(trials, objectives);
    let mut on_front = Vec::new();
    if let Some(front) = front_of(&feasible) {
        if let Some(r) = &reference {
            let h = reference::measure(&front.points, &r.minimised(objectives), objectives);
            s.hypervolume = Some(h.raw);
            s.normalised = h.normalised;
        }
        on_front = front.on_front;
        s.pareto = front.members;
    }
    s.reference = reference;
    let points: Vec<Vec<f64>> = feasible.iter().map(|(_, p)| p.clone()).collect();
    let numbers: Vec<u64> = feasible.iter().map(|&(i, _)| trials[i].number).collect();
    s.best = (0..objectives.len())
        .map(|k| best_in(&points, &numbers, &on_front, k).map(|j| feasible[j].0))
        .collect();
    s
}

/// The best of `points` (minimised objective vectors) in objective `k`,
/// as an index into `points`: the lowest value; among equal values the one
/// that is Pareto-optimal among `points` (`on_front[i]`; shorter than
/// `points` means `false` for the rest), then the lowest trial number
/// (`numbers[i]`). `None` when `points` is empty.
///
/// This is the one rule of "best per objective": `status` (through
/// [`summarize`]) and `pick --best` both apply it, so they name the same
/// trial. A tie is broken towards the Pareto set because a trial tied for
/// the best value but dominated is worse in some other objective than the
/// one it ties with; among the tied trials there is always a Pareto-optimal
/// one (whatever dominates it would be tied too), so the best trial of an
/// objective is always in the Pareto set.
pub fn best_in(points: &[Vec<f64>], numbers: &[u64], on_front: &[bool], k: usize) -> Option<usize> {
    let front = |i: usize| on_front.get(i).copied().unwrap_or(false);
    // `+ 0.0` turns -0.0 into 0.0: the two are the same value (a
    // maximised 0 is minimised as -0.0).
    (0..points.len()).min_by(|&a, &b| {
        (points[a][k] + 0.0)
            .total_cmp(&(points[b][k] + 0.0))
            .then_with(|| front(b).cmp(&front(a)))
            .then_with(|| numbers[a].cmp(&numbers[b]))
    })
}

/// Trial attribute recording the budget a trial was claimed under when
/// that budget was larger than the study file's `[budget] trials` (raised
/// by `ask --trials`, `run --trials`, [`Options::budget`](crate::Options)
/// or [`Study::set_budget`](crate::Study::set_budget)), so that displays
/// can show the budget in force rather than a smaller one from the file.
pub const RAISED_BUDGET_ATTR: &str = "raised_budget";

/// The feasible COMPLETE trials (by index into the trial slice) with their
/// minimised objective vectors: what the Pareto set is chosen from.
fn feasible_points(trials: &[Trial], objectives: &Objectives) -> Vec<(usize, Vec<f64>)> {
    trials
        .iter()
        .enumerate()
        .filter(|(_, t)| objectives.violation(&t.values) == 0.0)
        .filter_map(|(i, t)| Some((i, t.minimised(objectives)?)))
        .collect()
}

/// The non-dominated ones among `feasible`, with the nadir reference of all
/// of them and the hypervolume up to it; `None` when there are none.
struct FrontOf {
    /// Indices into the trial slice, by number.
    members: Vec<usize>,
    /// Whether each of `feasible` is in the front.
    on_front: Vec<bool>,
    points: Vec<Vec<f64>>,
    reference: Vec<f64>,
    hypervolume: f64,
}

fn front_of(feasible: &[(usize, Vec<f64>)]) -> Option<FrontOf> {
    if feasible.is_empty() {
        return None;
    }
    let all: Vec<Vec<f64>> = feasible.iter().map(|(_, p)| p.clone()).collect();
    let idx = pareto::pareto_front(&all);
    let points: Vec<Vec<f64>> = idx.iter().map(|&i| all[i].clone()).collect();
    let reference = pareto::nadir_reference(&all);
    let mut on_front = vec![false; feasible.len()];
    for &i in &idx {
        on_front[i] = true;
    }
    Some(FrontOf {
        on_front,
        members: idx.iter().map(|&i| feasible[i].0).collect(),
        hypervolume: pareto::hypervolume(&points, &reference),
        points,
        reference,
    })
}

/// The feasible Pareto set of a study, with its hypervolume.
#[derive(Debug, Clone)]
pub struct Front {
    /// The Pareto-optimal trials (feasible, COMPLETE, non-dominated), by number.
    pub trials: Vec<Trial>,
    /// Their minimised objective vectors (maximised objectives negated),
    /// in the order of [`Front::trials`].
    pub points: Vec<Vec<f64>>,
    /// The reference point of [`Front::hypervolume`]: the nadir of all
    /// feasible COMPLETE trials, minimised.
    pub reference: Vec<f64>,
    /// Hypervolume dominated by the front up to [`Front::reference`]
    /// (0 for an empty front).
    pub hypervolume: f64,
}

impl Front {
    /// The front of `trials`.
    pub fn of(trials: &[Trial], objectives: &Objectives) -> Front {
        match front_of(&feasible_points(trials, objectives)) {
            Some(f) => Front {
                trials: f.members.iter().map(|&i| trials[i].clone()).collect(),
                points: f.points,
                reference: f.reference,
                hypervolume: f.hypervolume,
            },
            None => Front {
                trials: Vec::new(),
                points: Vec::new(),
                reference: Vec::new(),
                hypervolume: 0.0,
            },
        }
    }
}
