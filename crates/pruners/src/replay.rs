//! Replaying recorded learning curves through a pruner: what it saves and
//! what it costs, measured on thousands of curves in seconds.
//!
//! A [`Workload`] is a study whose every trial ran to the end, with its
//! reports, final values, cheap measurements and timings. [`replay`] runs it
//! again as one worker would, in a given order: each trial's reports are
//! fed one by one to the real pruner, which sees the study as it would have
//! stood (the trials before, finished as the pruner left them); a stopped
//! trial becomes PRUNED with what it had reported. Because the curves are
//! recorded, the unpruned study is known exactly, so the figures are
//! exact too:
//!
//! * **epochs saved**: `1 − epochs trained / epochs of the full study`;
//! * **time saved**: the same in seconds, with the profile phase (cheap
//!   measurements, not saved by pruning) and each trial's per-step time;
//! * **hypervolume ratio**: the final front's hypervolume over the unpruned
//!   study's, both on the true final values, normalised by the ideal and
//!   nadir of all trials, reference 1.1 in every objective;
//! * **false stops**: stopped trials that are on the unpruned study's front.
//!
//! The order of the trials stands for the sampler: a seeded shuffle is a
//! random sampler's order.

use std::collections::BTreeMap;

use paretosearch_core::pareto::{hypervolume, pareto_front};
use paretosearch_core::{Intermediate, Objectives, SearchSpace, StudyView, Trial, TrialState};
use serde::{Deserialize, Serialize};

use crate::{Pruner, CHEAP_ATTR};

pub mod clairvoyant;
pub mod synthetic;

/// A study recorded without pruning.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Workload {
    /// Name, shown in the table.
    pub name: String,
    /// The objectives.
    pub objectives: Objectives,
    /// Every trial, run to the end.
    pub trials: Vec<Recorded>,
}

/// One trial of a [`Workload`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Recorded {
    /// Intermediate reports, in step order.
    pub reports: Vec<Intermediate>,
    /// Final values.
    pub values: BTreeMap<String, f64>,
    /// Cheap measurements (before training).
    #[serde(default)]
    pub cheap: BTreeMap<String, f64>,
    /// Seconds per step of training.
    #[serde(default)]
    pub seconds_per_step: f64,
    /// Seconds of the profile phase (cheap measurements).
    #[serde(default)]
    pub profile_seconds: f64,
}

/// What a replay measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Trials replayed.
    pub trials: usize,
    /// Trials stopped early.
    pub stopped: usize,
    /// Share of the unpruned study's epochs not trained.
    pub epochs_saved: f64,
    /// Share of the unpruned study's seconds not spent.
    pub time_saved: f64,
    /// Final front's hypervolume over the unpruned study's.
    pub hv_ratio: f64,
    /// Stopped trials on the unpruned study's front.
    pub false_stops: usize,
    /// Pruner decisions taken (reports judged).
    pub decisions: usize,
}

/// Replay `w` through `pruner` in the order `order` (indices into
/// `w.trials`) with study seed `seed`.
pub fn replay(pruner: &dyn Pruner, w: &Workload, order: &[usize], seed: u64) -> Outcome {
    let space = SearchSpace::default();
    let mut done: Vec<Trial> = Vec::with_capacity(order.len() + 1);
    let mut epochs = 0u64;
    let mut seconds = 0.0;
    let mut stopped_idx = Vec::new();
    let mut decisions = 0;
    for (number, &i) in order.iter().enumerate() {
        let rec = &w.trials[i];
        let number = number as u64;
        let mut me = Trial::new(number, TrialState::Running);
        if !rec.cheap.is_empty() {
            me.attrs
                .insert(CHEAP_ATTR.into(), serde_json::json!(rec.cheap));
        }
        seconds += rec.profile_seconds;
        let mut verdict = None;
        for r in &rec.reports {
            me.intermediate.push(r.clone());
            epochs += 1;
            seconds += rec.seconds_per_step;
            done.push(me.clone());
            let view = StudyView {
                space: &space,
                objectives: &w.objectives,
                trials: &done,
                seed,
            };
            decisions += 1;
            let v = pruner.prune(&view, &me);
            done.pop();
            if v.is_some() {
                verdict = v;
                break;
            }
        }
        if verdict.is_some() {
            me.state = TrialState::Pruned;
            me.values = me
                .intermediate
                .last()
                .map(|r| r.values.clone())
                .unwrap_or_default();
            stopped_idx.push(i);
        } else {
            me.state = TrialState::Complete;
            me.values = rec.values.clone();
        }
        done.push(me);
    }
    let full_epochs: u64 = order
        .iter()
        .map(|&i| w.trials[i].reports.len() as u64)
        .sum();
    let full_seconds: f64 = order
        .iter()
        .map(|&i| {
            let r = &w.trials[i];
            r.profile_seconds + r.seconds_per_step * r.reports.len() as f64
        })
        .sum();
    let kept: Vec<usize> = order
        .iter()
        .copied()
        .filter(|i| !stopped_idx.contains(i))
        .collect();
    let (hv_ratio, on_front) = hv_ratio(w, order, &kept);
    Outcome {
        trials: order.len(),
        stopped: stopped_idx.len(),
        epochs_saved: 1.0 - epochs as f64 / full_epochs.max(1) as f64,
        time_saved: if full_seconds > 0.0 {
            1.0 - seconds / full_seconds
        } else {
            1.0 - epochs as f64 / full_epochs.max(1) as f64
        },
        hv_ratio,
        false_stops: stopped_idx.iter().filter(|i| on_front.contains(i)).count(),
        decisions,
    }
}

/// Hypervolume of the feasible trials `kept` over that of all `order`
/// (normalised by the ideal and nadir of all), and the indices on the
/// unpruned front.
fn hv_ratio(w: &Workload, order: &[usize], kept: &[usize]) -> (f64, Vec<usize>) {
    let feasible: Vec<(usize, Vec<f64>)> = order
        .iter()
        .filter_map(|&i| {
            let v = &w.trials[i].values;
            (w.objectives.violation(v) <= 0.0)
                .then(|| Some((i, w.objectives.minimised(v)?)))
                .flatten()
        })
        .collect();
    if feasible.is_empty() {
        return (1.0, Vec::new());
    }
    let d = w.objectives.len();
    let mut ideal = vec![f64::INFINITY; d];
    let mut nadir = vec![f64::NEG_INFINITY; d];
    for (_, p) in &feasible {
        for k in 0..d {
            ideal[k] = ideal[k].min(p[k]);
            nadir[k] = nadir[k].max(p[k]);
        }
    }
    let norm = |p: &[f64]| -> Vec<f64> {
        (0..d)
            .map(|k| (p[k] - ideal[k]) / (nadir[k] - ideal[k]).max(1e-12))
            .collect()
    };
    let all: Vec<Vec<f64>> = feasible.iter().map(|(_, p)| norm(p)).collect();
    let front: Vec<usize> = pareto_front(&all)
        .into_iter()
        .map(|k| feasible[k].0)
        .collect();
    let reference = vec![1.1; d];
    let full = hypervolume(&all, &reference);
    let some: Vec<Vec<f64>> = feasible
        .iter()
        .filter(|(i, _)| kept.contains(i))
        .map(|(_, p)| norm(p))
        .collect();
    let ratio = if full > 0.0 {
        hypervolume(&some, &reference) / full
    } else {
        1.0
    };
    (ratio, front)
}

/// A seeded shuffle of `0..n` (a random sampler's order).
pub fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut next = crate::forecast::rng(seed);
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{acc_latency, reports};

    /// A workload of `(accuracy curve, latency)` trials (also used by
    /// the clairvoyant's tests).
    pub(super) fn workload(curves: &[(&[f64], f64)]) -> Workload {
        Workload {
            name: "w".into(),
            objectives: acc_latency(),
            trials: curves
                .iter()
                .map(|(c, latency)| Recorded {
                    reports: reports("accuracy", c),
                    values: [
                        ("accuracy".to_string(), *c.last().unwrap()),
                        ("latency".to_string(), *latency),
                    ]
                    .into(),
                    cheap: [("latency".to_string(), *latency)].into(),
                    seconds_per_step: 1.0,
                    profile_seconds: 0.5,
                })
                .collect(),
        }
    }

    /// A pruner that stops every trial after its second report.
    struct AfterTwo;
    impl Pruner for AfterTwo {
        fn name(&self) -> &str {
            "after-two"
        }
        fn prune(&self, _: &StudyView<'_>, t: &Trial) -> Option<paretosearch_core::PruneReason> {
            (t.intermediate.len() >= 2 && t.number > 0).then(|| {
                paretosearch_core::PruneReason::new(paretosearch_core::PruneRule::Dominated, "x")
            })
        }
    }

    struct Never;
    impl Pruner for Never {
        fn name(&self) -> &str {
            "never"
        }
        fn prune(&self, _: &StudyView<'_>, _: &Trial) -> Option<paretosearch_core::PruneReason> {
            None
        }
    }

    /// Hand-computed: three 4-step trials, the last two stopped after two
    /// steps: 4 of 12 epochs saved, 4 of 13.5 seconds; trial 1 was on the
    /// front (a false stop), and the front loses its hypervolume.
    #[test]
    fn replay_counts_epochs_time_and_the_front() {
        let w = workload(&[
            (&[0.5, 0.6, 0.7, 0.8], 2.0),
            (&[0.5, 0.6, 0.7, 0.9], 3.0),
            (&[0.4, 0.5, 0.5, 0.5], 4.0),
        ]);
        let out = replay(&AfterTwo, &w, &[0, 1, 2], 0);
        assert_eq!(out.stopped, 2);
        assert!((out.epochs_saved - 4.0 / 12.0).abs() < 1e-12, "{out:?}");
        assert!((out.time_saved - 4.0 / 13.5).abs() < 1e-12, "{out:?}");
        assert_eq!(out.false_stops, 1);
        assert_eq!(out.decisions, 2 + 2 + 4);
        // Normalised (accuracy minimised as -accuracy, ideal -0.9, nadir
        // -0.5; latency 2..4): trial 0 at (0.25, 0), trial 1 at (0, 0.5),
        // trial 2 at (1, 1). HV with reference 1.1: full = 0.85·1.1 +
        // 0.25·0.6 = 1.085; trial 0 alone: 0.935.
        assert!((out.hv_ratio - 0.935 / 1.085).abs() < 1e-9, "{out:?}");
        let none = replay(&Never, &w, &[0, 1, 2], 0);
        assert_eq!((none.stopped, none.hv_ratio), (0, 1.0));
    }

    #[test]
    fn shuffles_are_seeded_permutations() {
        let a = shuffled(50, 1);
        let mut s = a.clone();
        s.sort_unstable();
        assert_eq!(s, (0..50).collect::<Vec<_>>());
        assert_eq!(a, shuffled(50, 1));
        assert_ne!(a, shuffled(50, 2));
    }
}
