//! Tests of the dominated rule.

use super::*;
use crate::testkit::*;

/// The bound rule alone (`extrapolate = "linear"`), which these tests are
/// about; the forecast rule has its own in `chance/tests.rs`.
fn linear() -> DominatedPruner {
    DominatedPruner {
        extrapolate: Extrapolation::Linear,
        ..DominatedPruner::default()
    }
}
use paretosearch_core::{Constraint, Objectives, SearchSpace};

/// A saturating learning curve `top - (top - start) * 0.6^(step-1)`.
fn curve(start: f64, top: f64, steps: usize) -> Vec<f64> {
    (0..steps)
        .map(|i| top - (top - start) * 0.6f64.powi(i as i32))
        .collect()
}

fn study() -> (SearchSpace, Objectives, Vec<Trial>) {
    // Trial 0: accuracy 0.95 at latency 1.0 (trained for 10 steps).
    let done = complete(
        0,
        &[("accuracy", 0.95), ("latency", 1.0)],
        &curve(0.5, 0.95, 10),
    );
    (SearchSpace::default(), acc_latency(), vec![done])
}

fn check(p: &DominatedPruner, trials: &[Trial], t: &Trial) -> Option<PruneReason> {
    let (space, objectives, _) = study();
    let mut all = trials.to_vec();
    all.push(t.clone());
    p.prune(&view(&space, &objectives, &all), t)
}

#[test]
fn flat_bad_slow_trial_is_stopped() {
    let (_, _, trials) = study();
    // Plateaued at 0.60 with tiny noise, slower than trial 0.
    let t = with_cheap(
        running(1, "accuracy", &[0.58, 0.60, 0.59, 0.60, 0.60]),
        &[("latency", 2.0)],
    );
    let r = check(&linear(), &trials, &t).expect("pruned");
    assert!(
        r.detail.starts_with("dominated at step 5 by trial 0"),
        "{r}"
    );
}

/// Trial 0 (0.95 at latency 1) plus five slower trials whose curves
/// stood at `at3` after 3 steps and ended `gain` higher.
fn with_peers(at3: f64, gain: f64) -> Vec<Trial> {
    let (_, _, mut trials) = study();
    for n in 1..=5 {
        let c: Vec<f64> = (0..10)
            .map(|i| {
                if i < 2 {
                    at3 - 0.1
                } else {
                    at3 + gain * (i - 2) as f64 / 7.0
                }
            })
            .collect();
        trials.push(complete(
            n,
            &[("accuracy", at3 + gain), ("latency", 3.0)],
            &c,
        ));
    }
    trials
}

#[test]
fn peers_forecast_the_rest_of_the_curve_from_completed_trials() {
    // Steep at step 3: a secant extrapolated to step 10 clears 0.95.
    let t = with_cheap(
        running(9, "accuracy", &[0.5, 0.6, 0.7]),
        &[("latency", 2.0)],
    );
    let peers = DominatedPruner {
        extrapolate: Extrapolation::Peers,
        ..linear()
    };
    assert_eq!(check(&linear(), &with_peers(0.7, 0.05), &t), None);
    // Five curves give 10 backtests at step 3: the default's forecast
    // (whose peers gained 0.05 from there) stops it; asking for 20
    // backtests first, it waits.
    assert!(check(&DominatedPruner::default(), &with_peers(0.7, 0.05), &t).is_some());
    let strict = DominatedPruner {
        min_cases: 20,
        ..DominatedPruner::default()
    };
    assert_eq!(check(&strict, &with_peers(0.7, 0.05), &t), None);
    // Completed trials that stood at 0.7 gained 0.05 more: it is done for.
    let r = check(&peers, &with_peers(0.7, 0.05), &t).expect("stopped");
    assert!(
        r.detail.starts_with("dominated at step 3 by trial 0"),
        "{r}"
    );
    // Peers that went on to gain 0.3 keep it going.
    assert_eq!(check(&peers, &with_peers(0.7, 0.3), &t), None);
    // Too few completed curves (six reached step 3): the linear bound,
    // which does not stop it.
    let few = DominatedPruner {
        peers: 7,
        ..peers.clone()
    };
    assert_eq!(check(&few, &with_peers(0.7, 0.05), &t), None);
    // Only the nearest curves count: far-off peers that gained a lot
    // (they stood at 0.2) do not save it.
    let mut mixed = with_peers(0.7, 0.05);
    mixed.extend(with_peers(0.2, 0.7).into_iter().skip(1).map(|mut t| {
        t.number += 10;
        t
    }));
    let r = check(&peers, &mixed, &t).expect("stopped");
    assert!(
        r.detail.starts_with("dominated at step 3 by trial 0"),
        "{r}"
    );
}

#[test]
fn faster_trial_is_never_stopped() {
    let (_, _, trials) = study();
    let t = with_cheap(
        running(1, "accuracy", &[0.58, 0.60, 0.59, 0.60, 0.60]),
        &[("latency", 0.5)],
    );
    assert_eq!(check(&linear(), &trials, &t), None);
}

#[test]
fn warmup_protects_early_steps() {
    let (_, _, trials) = study();
    let t = with_cheap(
        running(1, "accuracy", &[0.60, 0.60, 0.60]),
        &[("latency", 2.0)],
    );
    let p = DominatedPruner {
        warmup_steps: 4,
        ..linear()
    };
    assert_eq!(check(&p, &trials, &t), None);
    let p = DominatedPruner {
        warmup_steps: 3,
        ..linear()
    };
    assert!(check(&p, &trials, &t).is_some());
}

#[test]
fn noisy_early_reports_are_not_held_against_a_trial() {
    let (_, _, trials) = study();
    // Best 0.85 but very noisy: 2 standard errors reach past 0.95.
    let t = with_cheap(
        running(1, "accuracy", &[0.45, 0.85, 0.50, 0.80, 0.70]),
        &[("latency", 2.0)],
    );
    let p = DominatedPruner {
        extrapolate: Extrapolation::None,
        ..linear()
    };
    assert_eq!(check(&p, &trials, &t), None);
}

#[test]
fn a_climbing_curve_is_extrapolated() {
    let (_, _, trials) = study();
    // Still climbing fast at step 3: 0.5 → 0.8; linear extrapolation to
    // step 10 reaches past 0.95, so it goes on; with extrapolation off, the
    // same trial is judged as it stands and stopped.
    let t = with_cheap(
        running(1, "accuracy", &[0.50, 0.65, 0.80]),
        &[("latency", 2.0)],
    );
    assert_eq!(check(&linear(), &trials, &t), None);
    let p = DominatedPruner {
        extrapolate: Extrapolation::None,
        ..linear()
    };
    assert!(check(&p, &trials, &t).is_some());
}

#[test]
fn saturating_extrapolation_tells_plateaus_from_climbs() {
    let (_, _, trials) = study();
    let p = DominatedPruner {
        extrapolate: Extrapolation::Saturating,
        ..linear()
    };
    // Both at 0.80 after 4 steps, below trial 0's 0.95 and slower. One
    // saturates towards 0.83 (gains shrink by 0.5 per step): stopped. The
    // other still gains steadily: the linear bound applies, it goes on.
    let flat = with_cheap(
        running(1, "accuracy", &[0.59, 0.71, 0.77, 0.80]),
        &[("latency", 2.0)],
    );
    let r = check(&p, &trials, &flat).expect("pruned");
    assert!(r.detail.starts_with("dominated at step 4"), "{r}");
    let steady = with_cheap(
        running(1, "accuracy", &[0.62, 0.68, 0.74, 0.80]),
        &[("latency", 2.0)],
    );
    assert_eq!(check(&p, &trials, &steady), None);
    // The linear bound keeps the saturating one going too.
    assert_eq!(check(&linear(), &trials, &flat), None);
}

#[test]
fn saturating_gain_of_a_geometric_curve() {
    // best = -(1 - 0.5^s): gains 0.25, 0.125, 0.0625 ... ratio 0.5.
    let steps: Vec<(u64, f64)> = (1..=4).map(|s| (s, 1.0 - 0.5f64.powi(s as i32))).collect();
    let best: Vec<f64> = steps.iter().map(|(_, v)| -v).collect();
    let g = saturating_gain(&steps, &best, 100.0).unwrap();
    // Remaining gain from step 4 to infinity: 0.5^4 = 0.0625 (estimate
    // uses the newer half's mean gain, so a little more).
    assert!((0.0625..0.1).contains(&g), "{g}");
    assert_eq!(saturating_gain(&steps[..2], &best[..2], 10.0), None);
}

#[test]
fn binomial_standard_error_with_validation_size() {
    let (_, _, trials) = study();
    let mut t = with_cheap(running(1, "accuracy", &[0.90, 0.93]), &[("latency", 2.0)]);
    // Two reports: no detrended noise estimate, so no decision ...
    let p = DominatedPruner {
        extrapolate: Extrapolation::None,
        warmup_steps: 1,
        ..linear()
    };
    assert_eq!(check(&p, &trials, &t), None);
    // ... but with n_valid = 1000 the binomial error is 0.008: 0.93 +
    // 2 * 0.008 < 0.95, stopped; with 20 samples it is 0.057, not stopped.
    t.intermediate[1].values.insert("n_valid".into(), 1000.0);
    assert!(check(&p, &trials, &t).is_some());
    t.intermediate[1].values.insert("n_valid".into(), 20.0);
    assert_eq!(check(&p, &trials, &t), None);
}

#[test]
fn nothing_is_stopped_without_completed_trials() {
    let t = with_cheap(
        running(1, "accuracy", &[0.1, 0.1, 0.1, 0.1]),
        &[("latency", 9.0)],
    );
    assert_eq!(check(&linear(), &[], &t), None);
    // A running (not complete) trial is no reference either.
    let other = running(2, "accuracy", &[0.99, 0.99, 0.99, 0.99]);
    assert_eq!(check(&linear(), &[other], &t), None);
}

#[test]
fn unknown_objective_means_optimistic() {
    let (_, _, trials) = study();
    // No cheap latency measured: latency is unknown, nothing dominates.
    let t = running(1, "accuracy", &[0.60, 0.60, 0.60, 0.60, 0.60]);
    assert_eq!(check(&linear(), &trials, &t), None);
}

#[test]
fn infeasible_completed_trials_never_prune() {
    let (space, mut objectives, trials) = study();
    objectives.0[1].constraint = Some(Constraint {
        min: None,
        max: Some(0.8),
    });
    // Trial 0 (latency 1.0) is now infeasible; the slow bad trial would be
    // dominated by it, but trial 0 is no reference.
    let t = with_cheap(
        running(1, "accuracy", &[0.60, 0.60, 0.60, 0.60, 0.60]),
        &[("latency", 0.7)],
    );
    let mut all = trials.clone();
    all.push(t.clone());
    assert_eq!(linear().prune(&view(&space, &objectives, &all), &t), None);
}

#[test]
fn constraints_judge_the_optimistic_value_only() {
    let (space, mut objectives, trials) = study();
    objectives.0[0].constraint = Some(Constraint {
        min: Some(0.9),
        max: None,
    });
    // Faster than trial 0, so not dominated; currently 0.80 < 0.9 but still
    // climbing: not stopped.
    let climbing = with_cheap(
        running(1, "accuracy", &[0.50, 0.65, 0.80]),
        &[("latency", 0.5)],
    );
    let mut all = trials.clone();
    all.push(climbing.clone());
    let p = linear();
    assert_eq!(p.prune(&view(&space, &objectives, &all), &climbing), None);
    // Flat at 0.60: even optimistically below 0.9: stopped as infeasible.
    let flat = with_cheap(
        running(2, "accuracy", &[0.60, 0.60, 0.61, 0.60, 0.60]),
        &[("latency", 0.5)],
    );
    all.push(flat.clone());
    let r = p
        .prune(&view(&space, &objectives, &all), &flat)
        .expect("pruned");
    assert!(r.detail.contains("violates its constraint"), "{r}");
}

#[test]
fn detrended_std_separates_trend_from_noise() {
    let line: Vec<(u64, f64)> = (1..=5).map(|s| (s, 0.1 * s as f64)).collect();
    assert!(detrended_std(&line).unwrap() < 1e-12);
    let noisy = [(1, 0.0), (2, 1.0), (3, 0.0), (4, 1.0)];
    assert!(detrended_std(&noisy).unwrap() > 0.4);
    assert_eq!(detrended_std(&noisy[..2]), None);
}

#[test]
fn options_are_validated() {
    let o = acc_latency();
    assert!(DominatedPruner::from_options(&table("window = 2"), &o).is_err());
    assert!(DominatedPruner::from_options(&table("extrapolate = \"cubic\""), &o).is_err());
    assert!(DominatedPruner::from_options(&table("max_steps = 0"), &o).is_err());
    let p = DominatedPruner::from_options(
        &table("z = 1.5\nwarmup_steps = 4\nextrapolate = \"none\"\nmax_steps = 20"),
        &o,
    )
    .unwrap();
    assert_eq!(p.z, 1.5);
    assert_eq!(p.warmup_steps, 4);
    assert_eq!(p.extrapolate, Extrapolation::None);
    assert_eq!(p.max_steps, Some(20));
    let f =
        DominatedPruner::from_options(&table("stop_below = 0.2\ncalibrate = false"), &o).unwrap();
    assert_eq!((f.stop_below, f.calibrate), (0.2, false));
    assert_eq!(f.extrapolate, Extrapolation::Forecast);
    for bad in ["stop_below = 1.0", "stop_below = 0", "min_curves = 2"] {
        assert!(
            DominatedPruner::from_options(&table(bad), &o).is_err(),
            "{bad}"
        );
    }
    let e = DominatedPruner::from_options(&table("extrapolate = \"linear\"\nstop_below = 0.1"), &o)
        .unwrap_err();
    assert_eq!(e.key(), "stop_below");
}
