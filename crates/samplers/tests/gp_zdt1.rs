//! The GP sampler on ZDT1 (10 variables, 2 objectives): it must beat random
//! search, stay inside the space, and reproduce itself. Speed and quality
//! figures come from `tests/gp_report.rs`.

use paretosearch_core::pareto::hypervolume;
use paretosearch_core::{
    Direction, Distribution, Objective, Objectives, Param, SearchSpace, Trial, TrialState,
};
use paretosearch_samplers::gp::{GpOptions, GpSampler};
use paretosearch_samplers::{RandomSampler, Sampler, StudyView};

fn zdt1_space() -> SearchSpace {
    SearchSpace::new(
        (0..10)
            .map(|i| Param {
                name: format!("x{i}"),
                distribution: Distribution::Float {
                    low: 0.0,
                    high: 1.0,
                    log: false,
                    step: None,
                },
                when: vec![],
                monotone: None,
            })
            .collect(),
    )
    .unwrap()
}

fn objectives() -> Objectives {
    Objectives(
        ["f1", "f2"]
            .iter()
            .map(|n| Objective {
                name: n.to_string(),
                direction: Direction::Minimize,
                constraint: None,
                cheap: false,
            })
            .collect(),
    )
}

fn zdt1(x: &[f64]) -> [f64; 2] {
    let f1 = x[0];
    let g = 1.0 + 9.0 * x[1..].iter().sum::<f64>() / (x.len() - 1) as f64;
    [f1, g * (1.0 - (f1 / g).sqrt())]
}

/// Run `n` sequential trials.
fn run(sampler: &mut dyn Sampler, n: u64, seed: u64) -> Vec<Trial> {
    let space = zdt1_space();
    let objs = objectives();
    let mut trials: Vec<Trial> = Vec::new();
    for number in 0..n {
        let view = StudyView {
            space: &space,
            objectives: &objs,
            trials: &trials,
            seed,
        };
        let p = sampler.propose(&view, number).unwrap();
        space.validate(&p.params).unwrap();
        let x: Vec<f64> = (0..10)
            .map(|i| p.params[&format!("x{i}")].as_f64().unwrap())
            .collect();
        let f = zdt1(&x);
        let mut t = Trial::new(number, TrialState::Complete);
        t.params = p.params;
        t.attrs = p.attrs;
        t.values = [("f1".to_string(), f[0]), ("f2".to_string(), f[1])].into();
        trials.push(t);
    }
    trials
}

/// Hypervolume of the trials' values over that of the true front
/// (`f2 = 1 − √f1`), reference `(r, r)`.
fn hv_ratio(trials: &[Trial], r: f64) -> f64 {
    let pts: Vec<Vec<f64>> = trials
        .iter()
        .map(|t| vec![t.values["f1"], t.values["f2"]])
        .filter(|p| p[0] < r && p[1] < r)
        .collect();
    let hv = if pts.is_empty() {
        0.0
    } else {
        hypervolume(&pts, &[r, r])
    };
    // ∫₀¹ (r − 1 + √f) df + (r − 1)·r
    let truth = (r - 1.0) + 2.0 / 3.0 + (r - 1.0) * r;
    hv / truth
}

fn small() -> GpOptions {
    GpOptions {
        n_candidates: 256,
        n_local_search: 4,
        ..GpOptions::default()
    }
}

#[test]
fn gp_beats_random_on_zdt1() {
    let n = 60;
    let gp = run(&mut GpSampler::new(small()), n, 7);
    let rnd = run(&mut RandomSampler, n, 7);
    let (a, b) = (hv_ratio(&gp, 1.1), hv_ratio(&rnd, 1.1));
    assert!(a > b + 0.2, "gp {a:.3} vs random {b:.3}");
}

/// Issue 14: on ZDT1 the GP kept proposing `x0 = 0` (f1 at its floor) in
/// corners of the other nine coordinates, 38 of the 50 model trials here
/// before the reference point and lengthscale prior were fixed; 7 after
/// (seed 1: 37 and 7).
#[test]
fn gp_does_not_keep_proposing_the_f1_boundary() {
    let trials = run(&mut GpSampler::new(small()), 60, 7);
    let at_zero = trials[10..]
        .iter()
        .filter(|t| t.params["x0"].as_f64() == Some(0.0))
        .count();
    assert!(at_zero <= 15, "{at_zero} of 50 trials at x0 = 0");
}

#[test]
fn gp_is_deterministic_for_a_seed_and_history() {
    let a = run(&mut GpSampler::new(small()), 16, 3);
    // A fresh sampler, replaying the stored history, proposes the same.
    let space = zdt1_space();
    let objs = objectives();
    let view = StudyView {
        space: &space,
        objectives: &objs,
        trials: &a[..15],
        seed: 3,
    };
    let p = GpSampler::new(small()).propose(&view, 15).unwrap();
    assert_eq!(p.params, a[15].params);
}

/// Largest coordinate difference between two ZDT1 configurations.
fn distance(a: &paretosearch_core::Params, b: &paretosearch_core::Params) -> f64 {
    (0..10)
        .map(|i| {
            let k = format!("x{i}");
            (a[&k].as_f64().unwrap() - b[&k].as_f64().unwrap()).abs()
        })
        .fold(0.0, f64::max)
}

#[test]
fn kriging_believer_spreads_parallel_proposals() {
    let history = run(&mut GpSampler::new(small()), 30, 5);
    let space = zdt1_space();
    let objs = objectives();
    let propose = |trials: &[Trial], number: u64, believer: bool| {
        let view = StudyView {
            space: &space,
            objectives: &objs,
            trials,
            seed: 5,
        };
        GpSampler::new(GpOptions {
            kriging_believer: believer,
            ..small()
        })
        .propose(&view, number)
        .unwrap()
        .params
    };
    let first = propose(&history, 30, true);
    // Trial 30 is now RUNNING with those parameters; trial 31 is proposed.
    let mut with_pending = history.clone();
    let mut t = Trial::new(30, TrialState::Running);
    t.params = first.clone();
    with_pending.push(t);
    let second = propose(&with_pending, 31, true);
    let blind = propose(&with_pending, 31, false);
    assert!(
        distance(&first, &second) > 0.01,
        "believer proposal {} from the pending one",
        distance(&first, &second)
    );
    // Without the believer the pending point is invisible: the proposal is
    // the same as if trial 30 did not exist.
    assert_eq!(blind, propose(&history, 31, false));
}

#[test]
fn pruned_configurations_are_not_proposed_again() {
    // A configuration skipped by partial-order pruning (PRUNED, parameters,
    // cheap values only) must not come straight back: the GP believes it
    // like a pending point.
    let history = run(&mut GpSampler::new(small()), 30, 9);
    let space = zdt1_space();
    let objs = objectives();
    let propose = |trials: &[Trial], number: u64| {
        let view = StudyView {
            space: &space,
            objectives: &objs,
            trials,
            seed: 9,
        };
        GpSampler::new(small())
            .propose(&view, number)
            .unwrap()
            .params
    };
    // What trial 31 would be if trial 30 did not exist ...
    let first = propose(&history, 31);
    // ... is what trial 30 was, and partial-order pruning skipped it.
    let mut with_pruned = history.clone();
    let mut t = Trial::new(30, TrialState::Pruned);
    t.params = first.clone();
    t.reason = Some("partial-order: dominated".into());
    with_pruned.push(t);
    let next = propose(&with_pruned, 31);
    assert!(
        distance(&first, &next) > 0.01,
        "the pruned configuration came back ({})",
        distance(&first, &next)
    );
}
