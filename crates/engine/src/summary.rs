//! What a study looks like now: counts, the Pareto set, the best trial per
//! objective. Computed from a slice of trials, so it works on a cached
//! snapshot as well as on a fresh read.

use std::collections::BTreeMap;

use paretosearch_core::{pareto, Objectives, Trial, TrialState};

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
    /// Hypervolume of the Pareto set in the minimised space, with the
    /// reference point [`pareto::nadir_reference`] of all feasible
    /// COMPLETE trials (it moves as the study grows; for display).
    pub hypervolume: Option<f64>,
    /// Index of the best trial per objective (feasible COMPLETE).
    pub best: Vec<Option<usize>>,
    /// PRUNED trials skipped before training by partial-order pruning.
    pub skipped: usize,
    /// PRUNED trials stopped while training (early stopping, or pruned by
    /// the user through `tell --state pruned`).
    pub stopped: usize,
}

impl Summary {
    /// How many trials are in `state`.
    pub fn count(&self, state: TrialState) -> usize {
        self.counts.get(&state).copied().unwrap_or(0)
    }
}

/// Whether a PRUNED trial was skipped before training (partial-order
/// pruning) rather than stopped while it trained.
pub fn skipped_before_training(t: &Trial) -> bool {
    t.state == TrialState::Pruned && t.prune_rule().is_some_and(|r| r.before_training())
}

/// Summarise a study's trials.
pub fn summarize(trials: &[Trial], objectives: &Objectives) -> Summary {
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
    let feasible = feasible_points(trials, objectives);
    if let Some(front) = front_of(&feasible) {
        s.hypervolume = Some(front.hypervolume);
        s.pareto = front.members;
    }
    s.best = (0..objectives.len())
        .map(|k| {
            feasible
                .iter()
                .min_by(|a, b| a.1[k].total_cmp(&b.1[k]))
                .map(|(i, _)| *i)
        })
        .collect();
    s
}

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
    Some(FrontOf {
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
