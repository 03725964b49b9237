//! Tests of the forecast rule on synthetic studies.

use super::super::DominatedPruner;
use crate::testkit::*;
use crate::Pruner;
use paretosearch_core::{SearchSpace, Trial, TrialState, FORECAST_ATTR};

/// Completed trials with accuracy curves from `curve(i)` (20 epochs) and a
/// cheap latency `latency(i)`.
fn study(n: u64, curve: impl Fn(u64) -> Vec<f64>, latency: impl Fn(u64) -> f64) -> Vec<Trial> {
    (0..n)
        .map(|i| {
            let c = curve(i);
            let t = complete(
                i,
                &[("accuracy", *c.last().unwrap()), ("latency", latency(i))],
                &c,
            );
            with_cheap(t, &[("latency", latency(i))])
        })
        .collect()
}

fn judge(trials: &[Trial], me: &Trial) -> Option<paretosearch_core::PruneReason> {
    judge_with(&DominatedPruner::default(), trials, me)
}

/// `pruner`'s verdict on the running `me` after the completed `trials`.
fn judge_with(
    pruner: &DominatedPruner,
    trials: &[Trial],
    me: &Trial,
) -> Option<paretosearch_core::PruneReason> {
    let space = SearchSpace::default();
    let objectives = acc_latency();
    let mut all = trials.to_vec();
    all.push(me.clone());
    pruner.prune(&view(&space, &objectives, &all), me)
}

/// A small deterministic jitter in [-1, 1].
fn jitter(i: u64, t: usize) -> f64 {
    let x = ((i * 7919 + t as u64 * 104_729) % 1000) as f64 / 500.0;
    x - 1.0
}

/// Saturating curves whose top rises with latency (the front runs from
/// fast-and-worse to slow-and-better).
fn saturating(i: u64) -> Vec<f64> {
    let top = 0.7 + 0.25 * (i % 10) as f64 / 9.0;
    (1..=20)
        .map(|t| top - (top - 0.3) * (t as f64).powf(-0.8) + 0.003 * jitter(i, t))
        .collect()
}

#[test]
fn a_trial_forecast_to_end_dominated_is_stopped_and_its_forecast_stored() {
    let trials = study(40, saturating, |i| 1.0 + (i % 10) as f64);
    // As slow as the slowest completed trials, and on the curve of the
    // worst of them: it cannot end on the front.
    let worst: Vec<f64> = saturating(0)[..6].to_vec();
    let me = with_cheap(running(40, "accuracy", &worst), &[("latency", 10.0)]);
    let r = judge(&trials, &me).expect("stopped");
    assert!(r.detail.contains("matters with probability"), "{r}");
    let f = r.forecast.clone().expect("a forecast");
    assert_eq!(f["step"], 6);
    assert_eq!(f["horizon"], 20);
    let acc = &f["objectives"]["accuracy"];
    let (lo, mean, hi) = (
        acc["lo"].as_f64().unwrap(),
        acc["mean"].as_f64().unwrap(),
        acc["hi"].as_f64().unwrap(),
    );
    // The forecast says where the worst curve really ends.
    let truth = saturating(0)[19];
    assert!(
        lo <= truth && truth <= hi && (mean - truth).abs() < 0.01,
        "{f} vs {truth}"
    );
    // Stored with the trial when it finishes, not as its values.
    let mut t = me.clone();
    t.finish(
        paretosearch_core::TrialOutcome::Pruned {
            values: [("accuracy".to_string(), worst[5])].into(),
            step: Some(6),
            reason: r,
        },
        0,
    )
    .unwrap();
    assert_eq!(t.attrs[FORECAST_ATTR], f);
    assert_eq!(t.values["accuracy"], worst[5]);
    // A trial on the best curve at that latency goes on.
    let best: Vec<f64> = saturating(9)[..6].to_vec();
    let me = with_cheap(running(41, "accuracy", &best), &[("latency", 10.0)]);
    assert_eq!(judge(&trials, &me), None);
}

/// The forecast waits for enough completed curves (`min_curves`, 5): with
/// four, nothing is stopped, however bad the trial looks.
#[test]
fn with_few_completed_curves_the_rule_waits() {
    let trials = study(4, saturating, |i| 1.0 + (i % 10) as f64);
    let worst: Vec<f64> = saturating(0)[..6].iter().map(|v| v - 0.2).collect();
    let me = with_cheap(running(100, "accuracy", &worst), &[("latency", 10.0)]);
    assert_eq!(judge(&trials, &me), None);
    assert_eq!(me.state, TrialState::Running);
    let five = study(5, saturating, |i| 1.0 + (i % 10) as f64);
    assert!(judge(&five, &me).is_some(), "five curves are enough");
}

/// Curves that plateau until the learning rate drops at step 12, then jump
/// by 0.15: a trial on the plateau at step 10 that would end on the front
/// after its jump is kept, because completed peers jumped the same way;
/// the bound rule, which has only the trial's own flat reports, stops it.
#[test]
fn a_late_schedule_drop_keeps_a_trial_when_peers_dropped_the_same_way() {
    let scheduled = |i: u64| -> Vec<f64> {
        let top = 0.6 + 0.2 * (i % 10) as f64 / 9.0;
        (1..=20)
            .map(|t| {
                let plateau = top - 0.3 * (-(t as f64) / 2.0).exp();
                let jump = if t >= 12 { 0.15 } else { 0.0 };
                plateau + jump + 0.002 * jitter(i, t)
            })
            .collect()
    };
    // Latency 1..10 rising with the top: every completed trial is on the front.
    let trials = study(40, scheduled, |i| 1.0 + (i % 10) as f64);
    // The best curve's plateau at a middling latency: its final (0.95)
    // beats every completed trial slower than it.
    let mine: Vec<f64> = scheduled(9)[..10].to_vec();
    let me = with_cheap(running(40, "accuracy", &mine), &[("latency", 5.5)]);
    assert_eq!(judge(&trials, &me), None, "stopped on its plateau");
    let bound = DominatedPruner {
        extrapolate: super::super::Extrapolation::Linear,
        ..DominatedPruner::default()
    };
    assert!(
        judge_with(&bound, &trials, &me).is_some(),
        "the bound rule keeps it too: the test shows nothing"
    );
}

/// `status --json` shows the calibration and the false-stop estimate, and
/// says when the rule is still conservative.
#[test]
fn the_rule_reports_its_calibration_and_false_stops() {
    let space = SearchSpace::default();
    let objectives = acc_latency();
    // Tops scattered over latencies 1..40: the front is the trials whose
    // top beats every faster one.
    let scattered = |i: u64| -> Vec<f64> {
        let top = 0.7 + 0.25 * ((i * 17) % 40) as f64 / 39.0;
        (1..=20)
            .map(|t| top - (top - 0.3) * (t as f64).powf(-0.8) + 0.003 * jitter(i, t))
            .collect()
    };
    let trials = study(40, scattered, |i| 1.0 + i as f64);
    let d = DominatedPruner::default()
        .diagnose(&view(&space, &objectives, &trials))
        .expect("a diagnosis");
    assert_eq!(d["state"], "calibrated", "{d:#}");
    let acc = &d["objectives"]["accuracy"];
    assert_eq!(acc["curves"], 40);
    let coverage = acc["coverage"].as_f64().unwrap();
    assert!((0.6..=1.0).contains(&coverage), "{d:#}");
    assert!(acc["model_rmse"]["peers"].as_f64().is_some(), "{d:#}");
    let fs = &d["false_stops"];
    assert_eq!(fs["backtested_trials"], 40, "{d:#}");
    let front = fs["on_the_front"].as_u64().unwrap();
    assert!((3..=15).contains(&front), "{d:#}");
    // Most dominated trials would have been stopped, no trial of the front.
    assert!(
        fs["would_stop"].as_u64().unwrap() >= (40 - front) / 2,
        "{d:#}"
    );
    assert_eq!(fs["wrongly_stopped"], 0, "{d:#}");
    let few = study(3, saturating, |i| 1.0 + i as f64);
    let d = DominatedPruner::default()
        .diagnose(&view(&space, &objectives, &few))
        .unwrap();
    assert!(
        d["state"].as_str().unwrap().starts_with("conservative"),
        "{d:#}"
    );
}

/// `min_cases`: with few completed curves the forecast acts at a trial's
/// progress once that progress bin has `min_cases` backtest cases (10 by
/// default); asking for 20 keeps it waiting (the linear bound alone
/// judges, and it cannot stop a curve still climbing this fast).
#[test]
fn the_forecast_acts_once_the_progress_bin_has_min_cases_backtests() {
    let trials = study(5, saturating, |i| 1.0 + (i % 10) as f64);
    let worst: Vec<f64> = saturating(0)[..3].to_vec();
    let me = with_cheap(running(5, "accuracy", &worst), &[("latency", 10.0)]);
    let r = judge(&trials, &me).expect("stopped by the forecast");
    assert!(r.detail.contains("matters with probability"), "{r}");
    let strict = DominatedPruner {
        min_cases: 20,
        ..Default::default()
    };
    assert_eq!(judge_with(&strict, &trials, &me), None);
}

/// `min_gain`: a trial forecast to end 0.01 above the best completed
/// accuracy, at the slowest latency, is not dominated (the default keeps
/// it) but could add only a sliver of the front's hypervolume, so with
/// `min_gain = 0.05` it stops.
#[test]
fn min_gain_stops_a_trial_that_can_add_only_a_sliver() {
    let trials = study(40, saturating, |i| 1.0 + (i % 10) as f64);
    let hair: Vec<f64> = saturating(9)[..8].iter().map(|v| v + 0.01).collect();
    let me = with_cheap(running(40, "accuracy", &hair), &[("latency", 10.0)]);
    assert_eq!(judge(&trials, &me), None);
    let picky = DominatedPruner {
        min_gain: 0.05,
        ..Default::default()
    };
    let r = judge_with(&picky, &trials, &me).expect("stopped: its gain is a sliver");
    assert!(r.detail.contains("matters with probability"), "{r}");
}
