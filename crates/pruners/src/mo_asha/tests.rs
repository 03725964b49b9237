//! Unit tests of `kind = "mo-asha"`, with rungs computed by hand.

use super::*;
use crate::testkit::*;
use crate::HyperbandPruner;
use paretosearch_core::{Constraint, Direction, Intermediate, SearchSpace, TrialState};

fn minimize(names: &[&str]) -> Objectives {
    Objectives(
        names
            .iter()
            .map(|n| objective(n, Direction::Minimize, false))
            .collect(),
    )
}

/// The plain rule (η = 3, first rung at step 1, 3 trials needed at a
/// rung, no front kept beyond the top 1/η) unless `options` say otherwise:
/// what the hand-computed rungs below check.
fn pruner(options: &str) -> MoAshaPruner {
    let mut t = table(options);
    t.entry("reduction_factor")
        .or_insert(toml::Value::Integer(3));
    t.entry("min_resource").or_insert(toml::Value::Integer(1));
    t.entry("min_trials").or_insert(toml::Value::Integer(3));
    t.entry("keep_front").or_insert(toml::Value::Boolean(false));
    MoAshaPruner::from_options(&t, &Objectives::default()).unwrap()
}

/// Trial `number` whose report at step `i + 1` carries `names` = `steps[i]`.
fn trial(number: u64, state: TrialState, names: &[&str], steps: &[&[f64]]) -> Trial {
    let mut t = Trial::new(number, state);
    t.intermediate = steps
        .iter()
        .enumerate()
        .map(|(i, v)| Intermediate {
            step: i as u64 + 1,
            values: names
                .iter()
                .map(|n| n.to_string())
                .zip(v.to_vec())
                .collect(),
        })
        .collect();
    t
}

/// Trials 0, 1, ... each with one report at step 1 of `f1`, `f2` (and `f3`
/// for three values), in states that vary (any state counts at a rung).
fn at_step_one(points: &[&[f64]]) -> Vec<Trial> {
    let names = ["f1", "f2", "f3"];
    let states = [
        TrialState::Running,
        TrialState::Pruned,
        TrialState::Complete,
    ];
    points
        .iter()
        .enumerate()
        .map(|(i, p)| trial(i as u64, states[i % 3], &names[..p.len()], &[p]))
        .collect()
}

/// The decision on each of `trials` judged at its latest report, the
/// others (and itself, as the engine's view has it) in the view.
fn decisions(p: &MoAshaPruner, o: &Objectives, trials: &[Trial]) -> Vec<Option<PruneReason>> {
    let space = SearchSpace::default();
    trials
        .iter()
        .map(|t| p.prune(&view(&space, o, trials), t))
        .collect()
}

fn going_on(d: &[Option<PruneReason>]) -> Vec<usize> {
    (0..d.len()).filter(|&i| d[i].is_none()).collect()
}

fn detail(d: &Option<PruneReason>) -> &str {
    &d.as_ref().expect("stopped").detail
}

#[test]
fn promotes_exactly_the_non_dominated_top_third() {
    // Nine trials at rung 1, two minimised objectives, η = 3: 3 go on.
    //   front 1: A0 (1,5), B1 (3,2)
    //   front 2: C2 (2,7) [by A], D3 (4,4) [by B], E4 (6,3) [by B]
    //   front 3: G5 (5,8), H6 (7,6), I7 (8,4) [by D], J8 (3,9) [by C]
    // A and B take 2 places; front 2 is critical with 1 place left.
    // Reference: f1 in [1, 8] → 8 + 0.7 = 8.7; f2 in [2, 9] → 9.7.
    // Exclusive contributions within front 2 (sorted by f1: C, D, E):
    //   C: (4 - 2) · (9.7 - 7) = 5.4
    //   D: (6 - 4) · (7 - 4)   = 6.0
    //   E: (8.7 - 6) · (4 - 3) = 2.7   → least: E put last, taken out
    // then C: (4 - 2) · (9.7 - 7) = 5.4, D: (8.7 - 4) · (7 - 4) = 14.1
    //   → C put last: the order is D, C, E and D takes the third place.
    let trials = at_step_one(&[
        &[1.0, 5.0],
        &[3.0, 2.0],
        &[2.0, 7.0],
        &[4.0, 4.0],
        &[6.0, 3.0],
        &[5.0, 8.0],
        &[7.0, 6.0],
        &[8.0, 4.0],
        &[3.0, 9.0],
    ]);
    let p = pruner("max_resource = 9\nbrackets = 1");
    let d = decisions(&p, &minimize(&["f1", "f2"]), &trials);
    assert_eq!(going_on(&d), vec![0, 1, 3]);
    assert_eq!(
        detail(&d[2]),
        "mo-asha: bracket 0, rung at step 1: rank 4 of 9 at the rung (front 2), \
         outside the top 1/3 (3 go on); f1=2.0000, f2=7.0000"
    );
    assert!(detail(&d[4]).contains("rank 5 of 9 at the rung (front 2)"));
    for r in &d[5..] {
        assert!(detail(r).contains("rank 6 of 9 at the rung (front 3)"));
        assert_eq!(r.as_ref().unwrap().rule, PruneRule::MoAsha);
    }
    // Crowding distance alone would have kept a boundary member (C or E):
    // it is the hypervolume that decided.
    let pts: Vec<Vec<f64>> = [[2.0, 7.0], [4.0, 4.0], [6.0, 3.0]]
        .iter()
        .map(|p| p.to_vec())
        .collect();
    let cd = crowding_distance(&pts, &[0, 1, 2]);
    assert!(cd[0].is_infinite() && cd[2].is_infinite() && cd[1].is_finite());
}

#[test]
fn too_few_trials_at_the_rung_go_on() {
    let o = minimize(&["f1", "f2"]);
    let three = at_step_one(&[&[1.0, 1.0], &[2.0, 2.0], &[9.0, 9.0]]);
    let strict = pruner("max_resource = 9\nbrackets = 1\nmin_trials = 4");
    assert_eq!(going_on(&decisions(&strict, &o, &three)), vec![0, 1, 2]);
    // Default min_trials = η = 3: one of three goes on.
    let p = pruner("max_resource = 9\nbrackets = 1");
    assert_eq!(going_on(&decisions(&p, &o, &three)), vec![0]);
    let mut four = three.clone();
    four.push(trial(3, TrialState::Pruned, &["f1", "f2"], &[&[3.0, 3.0]]));
    assert_eq!(going_on(&decisions(&strict, &o, &four)), vec![0]);
    // Alone at a rung.
    assert_eq!(going_on(&decisions(&p, &o, &three[2..])), vec![0]);
}

#[test]
fn only_reports_that_cross_a_rung_are_judged() {
    let o = minimize(&["f1", "f2"]);
    // Rungs at 1 and 3. Trial 3 is the worst at both.
    let mut trials: Vec<Trial> = (0..3)
        .map(|i| {
            let v = [i as f64; 2];
            trial(i, TrialState::Complete, &["f1", "f2"], &[&v, &v, &v])
        })
        .collect();
    let worst = [9.0, 9.0];
    trials.push(trial(
        3,
        TrialState::Running,
        &["f1", "f2"],
        &[&worst, &worst],
    ));
    let p = pruner("max_resource = 9\nbrackets = 1");
    let space = SearchSpace::default();
    let judge = |p: &MoAshaPruner, t: &Trial| p.prune(&view(&space, &o, &trials), t);
    assert_eq!(judge(&p, &trials[3]), None, "step 2 is no rung");
    let mut at3 = trials[3].clone();
    at3.intermediate.push(Intermediate {
        step: 3,
        values: [("f1".into(), 9.0), ("f2".into(), 9.0)].into(),
    });
    assert!(detail(&judge(&p, &at3)).contains("rung at step 3"));
    // Warm-up: rung 1 is not judged, rung 3 is.
    let warm = pruner("max_resource = 9\nbrackets = 1\nwarmup_steps = 2");
    let mut at1 = trials[3].clone();
    at1.intermediate.truncate(1);
    assert!(judge(&p, &at1).is_some());
    assert_eq!(judge(&warm, &at1), None);
    assert!(judge(&warm, &at3).is_some());
}

#[test]
fn brackets_are_hyperbands() {
    let options = "max_resource = 27\nreduction_factor = 3\nbrackets = 4";
    let p = pruner(options);
    let h = HyperbandPruner::from_options(
        &table(&format!("{options}\nmetric = \"f1\"")),
        &minimize(&["f1"]),
    )
    .unwrap();
    assert_eq!(p.schedule, h.schedule);
    assert!((0..200).all(|n| p.bracket(n) == h.bracket(n)));
    // Weights 7, 3, 2, 1 over 13 numbers: 0-6 bracket 0, 7-9 bracket 1.
    assert_eq!((p.bracket(6), p.bracket(7), p.bracket(20)), (0, 1, 1));
    // Bracket 1 (first rung 3): trials 7, 8, 20 and 21 are worse than trial
    // 9, which is worse than the seven bracket-0 trials. Only its own
    // bracket counts: it goes on, and trial 21 (worst of five) does not.
    let o = minimize(&["f1", "f2"]);
    let names = ["f1", "f2"];
    let at3 = |n: u64, v: f64| {
        let p: &[f64] = &[v, v];
        trial(n, TrialState::Pruned, &names, &[p, p, p])
    };
    let mut trials: Vec<Trial> = (0..7).map(|n| at3(n, n as f64 * 0.01)).collect();
    trials.extend([
        at3(7, 5.0),
        at3(8, 6.0),
        at3(9, 1.0),
        at3(20, 7.0),
        at3(21, 8.0),
    ]);
    let d = decisions(&p, &o, &trials);
    assert_eq!(d[9], None);
    assert!(detail(&d[11]).starts_with("mo-asha: bracket 1, rung at step 3: rank 5 of 5"));
    // Bracket 1 has no rung at step 1: a terrible first report is not judged.
    let first = trial(22, TrialState::Running, &names, &[&[99.0, 99.0]]);
    trials.push(first.clone());
    assert_eq!(decisions(&p, &o, &trials)[12], None);
}

#[test]
fn three_objectives() {
    // Six trials, η = 3: 2 go on.
    //   front 1: P0 (1,1,1)
    //   front 2: Q1 (2,2,4), R2 (2,3,2)   (Q better in f2, R in f3)
    //   front 3: S3 (3,4,5), T4 (4,3,5) [by Q], U5 (5,5,3) [by R]
    // Reference: every objective spans [1, 5] → 5.4 each.
    //   box(Q) = 3.4 · 3.4 · 1.4 = 16.184, box(R) = 3.4 · 2.4 · 3.4 = 27.744,
    //   shared box from (2,3,4) = 3.4 · 2.4 · 1.4 = 11.424;
    //   exclusive Q = 4.76 < R = 16.32 → R goes on (though it is the newer
    //   trial, which the last tie-break would put last).
    let trials = at_step_one(&[
        &[1.0, 1.0, 1.0],
        &[2.0, 2.0, 4.0],
        &[2.0, 3.0, 2.0],
        &[3.0, 4.0, 5.0],
        &[4.0, 3.0, 5.0],
        &[5.0, 5.0, 3.0],
    ]);
    let p = pruner("max_resource = 9\nbrackets = 1");
    let d = decisions(&p, &minimize(&["f1", "f2", "f3"]), &trials);
    assert_eq!(going_on(&d), vec![0, 2]);
    assert!(detail(&d[1]).contains("rank 3 of 6 at the rung (front 2)"));
    assert!(detail(&d[3]).contains("rank 4 of 6 at the rung (front 3)"));
    let sub = vec![vec![2.0, 2.0, 4.0], vec![2.0, 3.0, 2.0]];
    let hv = hypervolume_contributions(&sub, &[5.4, 5.4, 5.4]);
    assert!(
        (hv[0] - 4.76).abs() < 1e-9 && (hv[1] - 16.32).abs() < 1e-9,
        "{hv:?}"
    );
}

#[test]
fn maximised_and_cheap_objectives() {
    // accuracy (maximise, reported), latency (minimise, cheap: measured by
    // the profile), size (neither reported nor cheap: left out). Judged at
    // rung 3 on the best accuracy so far, not the last one.
    let o = Objectives(vec![
        objective("accuracy", Direction::Maximize, false),
        objective("latency", Direction::Minimize, true),
        objective("size", Direction::Minimize, false),
    ]);
    // (best accuracy, latency): a (0.9, 1.0) and b (0.8, 0.5) are the
    // front; f (0.85, 1.5) is dominated by a, c (0.7, 2.0), d (0.6, 0.8)
    // and e (0.5, 3.0) by b. Minimising accuracy instead would keep e.
    let runs: [(&[f64], f64); 6] = [
        (&[0.9, 0.5, 0.4], 1.0),
        (&[0.7, 0.8, 0.75], 0.5),
        (&[0.6, 0.7, 0.7], 2.0),
        (&[0.5, 0.6, 0.55], 0.8),
        (&[0.3, 0.4, 0.5], 3.0),
        (&[0.8, 0.85, 0.8], 1.5),
    ];
    let trials: Vec<Trial> = runs
        .iter()
        .enumerate()
        .map(|(i, (curve, latency))| {
            with_cheap(
                running(i as u64, "accuracy", curve),
                &[("latency", *latency)],
            )
        })
        .collect();
    let p = pruner("max_resource = 9\nbrackets = 1\nwarmup_steps = 3");
    let d = decisions(&p, &o, &trials);
    assert_eq!(going_on(&d), vec![0, 1]);
    assert!(
        detail(&d[5]).ends_with("; accuracy=0.8500, latency=1.5000"),
        "{}",
        detail(&d[5])
    );
    // Without the cheap measurements latency is left out too: accuracy
    // alone, and a (0.9) and f (0.85) go on.
    let bare: Vec<Trial> = runs
        .iter()
        .enumerate()
        .map(|(i, (curve, _))| running(i as u64, "accuracy", curve))
        .collect();
    assert_eq!(going_on(&decisions(&p, &o, &bare)), vec![0, 5]);
    // Reports that carry no objective at all: nothing to rank, nobody stops.
    let other: Vec<Trial> = runs
        .iter()
        .enumerate()
        .map(|(i, (curve, _))| running(i as u64, "loss", curve))
        .collect();
    assert_eq!(going_on(&decisions(&p, &o, &other)).len(), 6);
}

#[test]
fn infeasible_trials_rank_after_feasible_ones() {
    // f2 <= 5. X5 (0, 6) would be non-dominated, Y6 (0.5, 7) is dominated
    // by X; both violate the bound. Feasible fronts: {p0 (1,2), p1 (2,1)},
    // {p2 (3,3), p4 (2,4.5)}, {p7 (3.5,3.5)}, {p3 (4,4)}, {p8 (4,4.2)}; then
    // X (violation 1), Y (2). n = 9: 3 go on, p0, p1 and one of front 2.
    // Reference (8.8 wide) f1: 4 + 0.4 = 4.4, f2: 7 + 0.6 = 7.6; in front 2
    // p4 adds (3 - 2)(7.6 - 4.5) = 3.1, p2 (4.4 - 3)(4.5 - 3) = 2.1: p4.
    let mut o = minimize(&["f1", "f2"]);
    o.0[1].constraint = Some(Constraint {
        min: None,
        max: Some(5.0),
    });
    let trials = at_step_one(&[
        &[1.0, 2.0],
        &[2.0, 1.0],
        &[3.0, 3.0],
        &[4.0, 4.0],
        &[2.0, 4.5],
        &[0.0, 6.0],
        &[0.5, 7.0],
        &[3.5, 3.5],
        &[4.0, 4.2],
    ]);
    let p = pruner("max_resource = 9\nbrackets = 1");
    let d = decisions(&p, &o, &trials);
    assert_eq!(going_on(&d), vec![0, 1, 4]);
    assert!(
        detail(&d[5]).contains("rank 8 of 9 at the rung (front 6, infeasible)"),
        "{}",
        detail(&d[5])
    );
    assert!(detail(&d[6]).contains("rank 9 of 9 at the rung (front 7, infeasible)"));
    assert!(detail(&d[2]).contains("rank 4 of 9 at the rung (front 2)"));
    // Unconstrained, X is in the first front with p0 and p1, and goes on.
    let free = decisions(&p, &minimize(&["f1", "f2"]), &trials);
    assert_eq!(going_on(&free), vec![0, 1, 5]);
}

#[test]
fn tied_contributions_fall_back_to_crowding_distance() {
    // Front 1: P0 (0,4), P1 (1,3), P2 (2,2.5), P3 (4,0); five dominated
    // trials spread the rung to [0, 8] in both objectives → reference 8.8.
    // Contributions: P0 1 · 4.8 = 4.8, P1 (2-1)(4-3) = 1,
    // P2 (4-2)(3-2.5) = 1, P3 (8.8-4) · 2.5 = 12: P1 and P2 tie.
    // Crowding: P1 (2-0)/4 + (4-2.5)/4 = 0.875, P2 (4-1)/4 + (3-0)/4 = 1.5
    // → P1 is put last (though it is the older trial). n = 9, 3 go on.
    let trials = at_step_one(&[
        &[0.0, 4.0],
        &[1.0, 3.0],
        &[2.0, 2.5],
        &[4.0, 0.0],
        &[5.0, 5.0],
        &[6.0, 6.0],
        &[7.0, 7.0],
        &[8.0, 8.0],
        &[5.0, 8.0],
    ]);
    let p = pruner("max_resource = 9\nbrackets = 1");
    let d = decisions(&p, &minimize(&["f1", "f2"]), &trials);
    assert_eq!(going_on(&d), vec![0, 2, 3]);
    assert!(detail(&d[1]).contains("rank 4 of 9 at the rung (front 1)"));
}

#[test]
fn duplicates_keep_the_oldest() {
    // Three equal points (exclusive contribution 0, crowding 0) and three
    // dominated ones; 2 of 6 go on: the two oldest copies.
    let trials = at_step_one(&[
        &[3.0, 3.0],
        &[1.0, 1.0],
        &[1.0, 1.0],
        &[2.0, 3.0],
        &[1.0, 1.0],
        &[4.0, 2.0],
    ]);
    let p = pruner("max_resource = 9\nbrackets = 1");
    let d = decisions(&p, &minimize(&["f1", "f2"]), &trials);
    assert_eq!(going_on(&d), vec![1, 2]);
    assert!(detail(&d[4]).contains("rank 3 of 6 at the rung (front 1)"));
}

/// A deterministic stream in [0, 1).
fn lcg(state: &mut u64) -> f64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*state >> 11) as f64 / (1u64 << 53) as f64
}

#[test]
fn the_order_of_the_view_does_not_matter() {
    let o = minimize(&["f1", "f2", "f3"]);
    let names = ["f1", "f2", "f3"];
    let mut seed = 7;
    let trials: Vec<Trial> = (0..40)
        .map(|n| {
            let steps = 1 + (lcg(&mut seed) * 5.0) as usize;
            let curve: Vec<Vec<f64>> = (0..steps)
                .map(|_| {
                    (0..3)
                        .map(|_| (lcg(&mut seed) * 4.0).round() / 4.0)
                        .collect()
                })
                .collect();
            let refs: Vec<&[f64]> = curve.iter().map(|v| v.as_slice()).collect();
            trial(n, TrialState::Running, &names, &refs)
        })
        .collect();
    let p = pruner("max_resource = 9\nbrackets = 2");
    let space = SearchSpace::default();
    let judge = |all: &[Trial]| -> Vec<Option<PruneReason>> {
        trials
            .iter()
            .map(|t| p.prune(&view(&space, &o, all), t))
            .collect()
    };
    let reference = judge(&trials);
    let stopped = reference.iter().filter(|d| d.is_some()).count();
    assert!((5..=30).contains(&stopped), "{stopped} stopped");
    let mut reversed = trials.clone();
    reversed.reverse();
    assert_eq!(judge(&reversed), reference);
    let mut shuffled = trials.clone();
    let mut s = 99;
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, (lcg(&mut s) * (i + 1) as f64) as usize);
    }
    assert_eq!(judge(&shuffled), reference);
}

#[test]
fn the_front_within_the_noise_goes_on_beyond_the_top_quarter() {
    // Eight trials at rung 1 of two minimised objectives, η = 4: 2 go on
    // by rank. Front 1 is A0 (1,8), B1 (2,6), C2 (4,4), D3 (6,2): with the
    // front kept all four go on; E4 (4.05, 4.05) is dominated by C only
    // within 0.05 in each objective.
    let points: [&[f64]; 8] = [
        &[1.0, 8.0],
        &[2.0, 6.0],
        &[4.0, 4.0],
        &[6.0, 2.0],
        &[4.05, 4.05],
        &[7.0, 7.0],
        &[8.0, 9.0],
        &[9.0, 8.0],
    ];
    let trials = at_step_one(&points);
    let o = minimize(&["f1", "f2"]);
    let plain = pruner("max_resource = 9\nbrackets = 1\nreduction_factor = 4");
    assert_eq!(going_on(&decisions(&plain, &o, &trials)).len(), 2);
    let kept = pruner("max_resource = 9\nbrackets = 1\nreduction_factor = 4\nkeep_front = true");
    // No report has neighbours: no noise is measured, the plain front goes on.
    assert_eq!(going_on(&decisions(&kept, &o, &trials)), vec![0, 1, 2, 3]);

    // E is near the front when a margin of at least 0.05 is measured, not
    // when it is smaller: the points stay, the margins are given directly.
    let at: Vec<AtRung> = points
        .iter()
        .enumerate()
        .map(|(i, p)| AtRung {
            number: i as u64,
            point: p.to_vec(),
            violation: 0.0,
        })
        .collect();
    assert!(near_front(&at, 4, &[0.06, 0.06]));
    // A margin in one objective is enough: C beats E by 0.05 in both.
    assert!(near_front(&at, 4, &[0.04, 0.06]));
    assert!(!near_front(&at, 4, &[0.04, 0.04]));
    assert!(!near_front(&at, 5, &[0.06, 0.06]));
    assert!(standing(&at, 4, 2, Some((&[0.06, 0.06], 8))).goes_on);
    assert!(!standing(&at, 4, 2, Some((&[0.04, 0.04], 8))).goes_on);
    // A cap of 4 places: the plain front fills them, E (5th) stops.
    assert!(!standing(&at, 4, 2, Some((&[0.06, 0.06], 4))).goes_on);
    assert!(standing(&at, 3, 2, Some((&[0.06, 0.06], 4))).goes_on);
    assert!(!standing(&at, 4, 2, None).goes_on);
    // An infeasible point is never near the front of the feasible ones.
    let mut infeasible = at.clone();
    infeasible[4].violation = 1.0;
    assert!(!near_front(&infeasible, 4, &[1.0, 1.0]));
}

#[test]
fn report_noise_is_read_from_second_differences() {
    // Straight lines have no second differences; a zig-zag of ±a has
    // |Δ²| = 4a at every step: σ = 4a / (0.6745 √6), margin z √2 σ.
    let o = minimize(&["f1"]);
    let line: Vec<Vec<f64>> = (0..8).map(|i| vec![1.0 - 0.1 * i as f64]).collect();
    let zig: Vec<Vec<f64>> = (0..8)
        .map(|i| vec![if i % 2 == 0 { 0.51 } else { 0.49 }])
        .collect();
    let refs = |c: &Vec<Vec<f64>>| c.iter().map(|v| v.to_vec()).collect::<Vec<_>>();
    let as_trial = |n: u64, c: &Vec<Vec<f64>>| {
        let c = refs(c);
        let steps: Vec<&[f64]> = c.iter().map(|v| v.as_slice()).collect();
        trial(n, TrialState::Complete, &["f1"], &steps)
    };
    let space = SearchSpace::default();
    let used: Vec<&Objective> = o.iter().collect();
    let flat = vec![as_trial(0, &line), as_trial(1, &line)];
    assert!(report_noise(&view(&space, &o, &flat), &used, 1.0)[0] < 1e-12);
    let noisy = vec![as_trial(0, &zig), as_trial(1, &zig)];
    let got = report_noise(&view(&space, &o, &noisy), &used, 2.0)[0];
    let want = 2.0 * std::f64::consts::SQRT_2 * (4.0 * 0.01) / (0.6745 * 6f64.sqrt());
    assert!((got - want).abs() < 1e-12, "{got} against {want}");
    // Fewer than 10 second differences: no estimate.
    let short = vec![as_trial(0, &zig[..5].to_vec())];
    assert_eq!(
        report_noise(&view(&space, &o, &short), &used, 1.0),
        vec![0.0]
    );
}

#[test]
fn the_defaults_are_one_bracket_with_rungs_that_scale_with_the_training() {
    let defaults = |max: u64| {
        MoAshaPruner::from_options(
            &table(&format!("max_resource = {max}")),
            &Objectives::default(),
        )
        .unwrap()
    };
    let p = defaults(20);
    assert!(p.keep_front);
    assert_eq!(p.schedule.reduction_factor, DEFAULT_ETA);
    assert_eq!(p.min_trials, DEFAULT_MIN_TRIALS);
    assert_eq!(p.noise_margin, DEFAULT_NOISE_Z);
    assert_eq!(p.front_cap, DEFAULT_FRONT_CAP);
    assert_eq!(p.schedule.count, 1);
    assert!((0..50).all(|n| p.bracket(n) == 0));
    // A ninth of the training, rounded, never before step 2 and always
    // below the end.
    for (max, rungs) in [
        (20, vec![2, 6, 18]),
        (40, vec![4, 12, 36]),
        (10, vec![2, 6]),
        (100, vec![11, 33, 99]),
        (3, vec![2]),
        (2, vec![1]),
    ] {
        assert_eq!(
            defaults(max).schedule.rungs(0),
            rungs,
            "max_resource = {max}"
        );
    }
    // What the table names wins; Hyperband's brackets on request.
    let named = MoAshaPruner::from_options(
        &table("max_resource = 27\nmin_resource = 1\nbrackets = 3"),
        &Objectives::default(),
    )
    .unwrap();
    assert_eq!(named.schedule.rungs(0), vec![1, 3, 9]);
    assert_eq!(named.schedule.count, 3);
}

#[test]
fn the_diagnosis_is_the_rungs_account_with_the_noise_margins() {
    // Rungs at 1, 3 and 9 of 27; the zig-zag of ±0.01 gives f1 a margin.
    let p = pruner("max_resource = 27\nkeep_front = true\nnoise_margin = 2.0");
    let o = minimize(&["f1", "f2"]);
    let zig: Vec<Vec<f64>> = (0..9)
        .map(|i| vec![if i % 2 == 0 { 0.51 } else { 0.49 }])
        .collect();
    let steps: Vec<&[f64]> = zig.iter().map(|v| v.as_slice()).collect();
    let trials: Vec<Trial> = (0..4)
        .map(|n| trial(n, TrialState::Complete, &["f1"], &steps))
        .collect();
    let space = SearchSpace::default();
    let d = p.diagnose(&view(&space, &o, &trials)).expect("a diagnosis");
    assert_eq!(d["rungs"].as_array().unwrap().len(), 3);
    assert_eq!(d["rungs"][0]["reached"], 4);
    assert_eq!(d["epochs"]["trained"], 36);
    assert_eq!(
        d["state"], "judging",
        "4 trials at the first rung, 3 needed"
    );
    let want = 2.0 * std::f64::consts::SQRT_2 * (4.0 * 0.01) / (0.6745 * 6f64.sqrt());
    let got = d["noise_margin"]["f1"].as_f64().unwrap();
    assert!((got - want).abs() < 1e-12, "{got} against {want}");
    assert!(
        d["noise_margin"].get("f2").is_none(),
        "f2 is never reported"
    );
    // Plain MO-ASHA keeps no front, so it has no margin to show.
    let plain = pruner("max_resource = 27");
    let d = plain.diagnose(&view(&space, &o, &trials)).unwrap();
    assert!(d.get("noise_margin").is_none());
}
