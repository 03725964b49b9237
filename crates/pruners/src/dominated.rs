//! `kind = "dominated"`: stop a trial whose optimistic point is already
//! dominated by a completed trial (syftr's Pareto pruner, generalised).
//!
//! ## The rule
//!
//! After a report at step `s >= warmup_steps`, with at least `min_trials`
//! COMPLETE feasible trials (the reference set; the running trial itself
//! never counts), the trial's **optimistic point** is built objective by
//! objective, in minimised form:
//!
//! 1. An objective the trial has reported (at `s` or before): start from the
//!    best value reported so far (the final value may come from a later
//!    epoch, so a dip is not held against the trial), then move it towards
//!    its better side by
//!    * `z` standard errors. For a metric whose reports all lie in `[0, 1]`
//!      (accuracy-like) when the latest report carries the validation size
//!      (`valid_size_metric`, default `n_valid`), the binomial standard error
//!      `sqrt(p (1 - p) / n)` (at least `0.5 / n`). Otherwise the noise is
//!      estimated from the reports themselves: the sample standard deviation
//!      of the residuals of a straight line fitted to the last `window`
//!      reports (default 5), which separates noise from the trend. Fewer than
//!      three reports give no estimate, and then the trial is not judged.
//!    * plus, with `extrapolate = "linear"` (the default), the rest of the
//!      learning curve: the improvement per step of the best-so-far value
//!      over the last `window` reports, times the steps left until the
//!      horizon (`max_steps`, default the largest step any COMPLETE trial
//!      reported). Learning curves are concave (they saturate), so a secant
//!      through recent points over-estimates every later gain: this is an
//!      upper bound, not a forecast. `extrapolate = "saturating"` assumes
//!      instead that the per-step gains of the best-so-far value shrink
//!      geometrically: the ratio `ρ` is estimated from the gains in the
//!      older and newer halves of the window, and the rest of the curve
//!      adds `g ρ (1 - ρ^(H - s)) / (1 - ρ)` (`g` the newer half's mean gain
//!      per step, `H` the horizon), never more than the linear bound; when
//!      gains do not shrink it falls back to the linear bound. This is a
//!      forecast of a saturating curve rather than a bound, so it stops
//!      more and earlier. `extrapolate = "none"` compares the trial as it
//!      stands (syftr's behaviour, the most aggressive).
//!      `extrapolate = "peers"` learns the rest of the curve from the study
//!      itself: among the COMPLETE trials whose curves reached step `s`, the
//!      `peers` (default 5) whose best value up to `s` stood nearest to this
//!      trial's, the largest improvement of the final value over that
//!      best-so-far is the remaining gain (never more than the linear bound;
//!      with fewer than `peers` such trials, the linear bound). Curves that
//!      stood where this one stands show how far such curves still go, so
//!      slow starters keep their chance while plateaued ones stop.
//!    * Accuracy-like metrics (all reports in `[0, 1]`) are clamped to `[0, 1]`.
//! 2. An objective not reported by training: the trial's cheap measurement
//!    (from the profile phase, see [`cheap_values`](super::cheap_values)),
//!    taken as final.
//! 3. Otherwise the objective is unknown, hence optimistically `-inf`, and
//!    nothing can dominate the point: the trial goes on.
//!
//! The trial stops if some reference trial dominates the point, with the
//! reason `dominated at step s by trial n (...)`.
//!
//! ## Constraints
//!
//! Infeasible COMPLETE trials are not in the reference set: they never enter
//! the Pareto set, so they never stop anyone, however good their values.
//! A running trial is stopped as infeasible only when even its *optimistic*
//! value of a constrained objective violates the bound (a cheap objective
//! outside its bound, or an accuracy whose upper bound is below a `min`),
//! never on its current value alone: an accuracy of 0.5 at step 2 below a
//! `min = 0.9` says nothing while the curve still climbs. And with no
//! feasible COMPLETE trial there is no reference set, so nothing is stopped:
//! the least infeasible trials are then the study's answer and must finish.

use paretosearch_core::pareto::dominates;
use paretosearch_core::{Direction, Objective, Trial, TrialState};

use super::{bad, cheap_values, feasible_complete, minimised, option, series, Pruner, PrunerError};
use paretosearch_core::{PruneReason, PruneRule, StudyView};

/// How the rest of a learning curve is bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extrapolation {
    /// No extrapolation: the trial as it stands, plus its noise.
    None,
    /// The secant over the last `window` reports, extended to the horizon.
    Linear,
    /// Geometrically shrinking gains (capped by the linear bound).
    Saturating,
    /// The largest remaining gain of the completed trials that stood
    /// nearest at the same step (capped by the linear bound).
    Peers,
}

/// The dominated-trial early stopper. See the module documentation.
#[derive(Clone, Debug)]
pub struct DominatedPruner {
    /// No decision before this step.
    pub warmup_steps: u64,
    /// Standard errors added in the favourable direction.
    pub z: f64,
    /// Reports used for the noise and slope estimates.
    pub window: usize,
    /// Report key holding the validation-set size.
    pub valid_size_metric: String,
    /// How the rest of the curve is bounded.
    pub extrapolate: Extrapolation,
    /// The step a full trial ends at (default: learned from COMPLETE trials).
    pub max_steps: Option<u64>,
    /// COMPLETE feasible trials needed before any decision.
    pub min_trials: usize,
    /// Completed curves consulted by `extrapolate = "peers"`.
    pub peers: usize,
}

impl Default for DominatedPruner {
    fn default() -> Self {
        DominatedPruner {
            warmup_steps: 2,
            z: 2.0,
            window: 5,
            valid_size_metric: "n_valid".into(),
            extrapolate: Extrapolation::Linear,
            max_steps: None,
            min_trials: 1,
            peers: 5,
        }
    }
}

impl DominatedPruner {
    /// Option keys (besides the common `partial_order*`).
    pub const OPTIONS: &'static [&'static str] = &[
        "warmup_steps",
        "z",
        "window",
        "valid_size_metric",
        "extrapolate",
        "max_steps",
        "min_trials",
        "peers",
    ];

    /// Build from the `[pruner]` table.
    pub fn from_options(
        o: &toml::Table,
        _objectives: &paretosearch_core::Objectives,
    ) -> Result<Self, PrunerError> {
        let mut p = DominatedPruner::default();
        if let Some(w) = option::<u64>(o, "warmup_steps")? {
            p.warmup_steps = w;
        }
        if let Some(z) = option::<f64>(o, "z")? {
            if !(z.is_finite() && z >= 0.0) {
                return Err(bad("z", format!("must be a number >= 0, not {z}")));
            }
            p.z = z;
        }
        if let Some(w) = option::<usize>(o, "window")? {
            if w < 3 {
                return Err(bad("window", "must be at least 3 (a line and its noise)"));
            }
            p.window = w;
        }
        if let Some(m) = option::<String>(o, "valid_size_metric")? {
            p.valid_size_metric = m;
        }
        if let Some(e) = option::<String>(o, "extrapolate")? {
            p.extrapolate = match e.as_str() {
                "linear" => Extrapolation::Linear,
                "saturating" => Extrapolation::Saturating,
                "none" => Extrapolation::None,
                "peers" => Extrapolation::Peers,
                other => {
                    return Err(bad(
                        "extrapolate",
                        format!(
                            "`{other}` is not known; use \"linear\", \"saturating\", \"peers\" or \"none\""
                        ),
                    ))
                }
            };
        }
        if let Some(m) = option::<u64>(o, "max_steps")? {
            if m == 0 {
                return Err(bad("max_steps", "must be at least 1"));
            }
            p.max_steps = Some(m);
        }
        if let Some(m) = option::<usize>(o, "min_trials")? {
            p.min_trials = m;
        }
        if let Some(k) = option::<usize>(o, "peers")? {
            if k == 0 {
                return Err(bad("peers", "must be at least 1"));
            }
            p.peers = k;
        }
        Ok(p)
    }

    /// The optimistic (minimised) value of one reported objective at step
    /// `s`, or `None` when the reports cannot bound it yet.
    fn optimistic(
        &self,
        reports: &[(u64, f64)],
        direction: Direction,
        s: u64,
        horizon: Option<u64>,
        n_valid: Option<f64>,
        peers: &[(f64, f64)],
    ) -> Option<f64> {
        let values: Vec<f64> = reports.iter().map(|(_, v)| *v).collect();
        let bounded = values.iter().all(|v| (0.0..=1.0).contains(v));
        let best_so_far: Vec<f64> = values
            .iter()
            .scan(f64::INFINITY, |b, v| {
                *b = b.min(minimised(direction, *v));
                Some(*b)
            })
            .collect();
        let best = *best_so_far.last()?;
        let current = *values.last()?;
        let se = match n_valid {
            Some(n) if bounded => ((current * (1.0 - current)) / n).sqrt().max(0.5 / n),
            _ => detrended_std(&reports[reports.len().saturating_sub(self.window)..])?,
        };
        let mut opt = best - self.z * se;
        if self.extrapolate != Extrapolation::None {
            let h = horizon?;
            if h > s {
                let k = reports.len();
                let first = k.saturating_sub(self.window);
                if first + 1 >= k {
                    return None;
                }
                let steps = (reports[k - 1].0 - reports[first].0) as f64;
                if steps <= 0.0 {
                    return None;
                }
                let left = (h - s) as f64;
                let slope = ((best_so_far[first] - best) / steps).max(0.0);
                let linear = slope * left;
                let gain = match self.extrapolate {
                    Extrapolation::Saturating => {
                        saturating_gain(&reports[first..], &best_so_far[first..], left)
                            .map_or(linear, |g| g.min(linear))
                    }
                    Extrapolation::Peers => {
                        peer_gain(peers, best, self.peers).map_or(linear, |g| g.min(linear))
                    }
                    _ => linear,
                };
                opt -= gain;
            }
        }
        if bounded {
            let (lo, hi) = match direction {
                Direction::Minimize => (0.0, 1.0),
                Direction::Maximize => (-1.0, 0.0),
            };
            opt = opt.clamp(lo, hi);
        }
        Some(opt)
    }
}

/// Remaining gains of completed trials at one step: for each COMPLETE trial
/// whose curve reached step `s`, its best (minimised) value up to `s` and
/// how much its final value improved on that (at least 0).
fn peer_gains(
    trials: &[Trial],
    me: u64,
    metric: &str,
    direction: Direction,
    s: u64,
) -> Vec<(f64, f64)> {
    trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && t.number != me)
        .filter(|t| t.intermediate.last().is_some_and(|r| r.step >= s))
        .filter_map(|t| {
            let at_s = series(t, metric, s)
                .iter()
                .map(|(_, v)| minimised(direction, *v))
                .reduce(f64::min)?;
            let fin = minimised(direction, *t.values.get(metric)?);
            fin.is_finite().then_some((at_s, (at_s - fin).max(0.0)))
        })
        .collect()
}

/// The largest remaining gain among the `k` completed curves that stood
/// nearest to `best` at the same step; `None` with fewer than `k` curves.
fn peer_gain(peers: &[(f64, f64)], best: f64, k: usize) -> Option<f64> {
    if peers.len() < k {
        return None;
    }
    let mut by_distance: Vec<(f64, f64)> = peers
        .iter()
        .map(|(at, gain)| ((at - best).abs(), *gain))
        .collect();
    by_distance.sort_by(|a, b| a.0.total_cmp(&b.0));
    by_distance[..k].iter().map(|(_, g)| *g).reduce(f64::max)
}

/// The rest of a saturating curve: gains per step of the best-so-far value
/// (`best`, minimised, at the steps of `reports`) are assumed to shrink by a
/// constant ratio per step, estimated from the older and newer halves of the
/// gains. `None` when the gains do not shrink (or there are fewer than two).
fn saturating_gain(reports: &[(u64, f64)], best: &[f64], left: f64) -> Option<f64> {
    let gains: Vec<f64> = best
        .windows(2)
        .zip(reports.windows(2))
        .map(|(b, r)| (b[0] - b[1]) / (r[1].0 - r[0].0).max(1) as f64)
        .collect();
    let half = gains.len() / 2;
    if half == 0 {
        return None;
    }
    let older: f64 = gains[..half].iter().sum::<f64>() / half as f64;
    let newer: f64 = gains[gains.len() - half..].iter().sum::<f64>() / half as f64;
    if newer <= 0.0 {
        return Some(0.0);
    }
    if older <= newer {
        return None;
    }
    // Steps between the middles of the two halves.
    let n = reports.len();
    let mid = |a: usize, b: usize| (reports[a].0 + reports[b].0) as f64 / 2.0;
    let lag = mid(n - 1 - half, n - 1) - mid(0, half);
    if lag <= 0.0 {
        return None;
    }
    let rho = (newer / older).powf(1.0 / lag);
    Some(newer * rho * (1.0 - rho.powf(left)) / (1.0 - rho))
}

/// Sample standard deviation of the residuals of a least-squares line
/// through `(step, value)` points; `None` for fewer than three points.
pub(crate) fn detrended_std(points: &[(u64, f64)]) -> Option<f64> {
    let n = points.len();
    if n < 3 {
        return None;
    }
    let nf = n as f64;
    let mx = points.iter().map(|(x, _)| *x as f64).sum::<f64>() / nf;
    let my = points.iter().map(|(_, y)| *y).sum::<f64>() / nf;
    let sxx: f64 = points.iter().map(|(x, _)| (*x as f64 - mx).powi(2)).sum();
    let sxy: f64 = points
        .iter()
        .map(|(x, y)| (*x as f64 - mx) * (y - my))
        .sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let sse: f64 = points
        .iter()
        .map(|(x, y)| (y - my - slope * (*x as f64 - mx)).powi(2))
        .sum();
    Some((sse / (nf - 2.0)).sqrt())
}

fn raw(o: &Objective, minimised_value: f64) -> f64 {
    match o.direction {
        Direction::Minimize => minimised_value,
        Direction::Maximize => -minimised_value,
    }
}

impl Pruner for DominatedPruner {
    fn name(&self) -> &str {
        "dominated"
    }

    fn uses_cheap_objectives(&self) -> bool {
        true
    }

    fn prune(&self, study: &StudyView<'_>, trial: &Trial) -> Option<PruneReason> {
        let last = trial.intermediate.last()?;
        let s = last.step;
        if s < self.warmup_steps {
            return None;
        }
        let objectives = study.objectives;
        let refs = feasible_complete(study.trials, objectives, Some(trial.number));
        if refs.is_empty() || refs.len() < self.min_trials {
            return None;
        }
        let horizon = self.max_steps.or_else(|| {
            study
                .trials
                .iter()
                .filter(|t| t.state == TrialState::Complete)
                .filter_map(|t| t.intermediate.last().map(|r| r.step))
                .max()
        });
        let n_valid = last
            .values
            .get(&self.valid_size_metric)
            .copied()
            .filter(|n| n.is_finite() && *n >= 1.0);
        let cheap = cheap_values(trial);
        let mut point = Vec::with_capacity(objectives.len());
        for o in objectives.iter() {
            let reports = series(trial, &o.name, s);
            let v = if !reports.is_empty() {
                let peers = if self.extrapolate == Extrapolation::Peers {
                    peer_gains(study.trials, trial.number, &o.name, o.direction, s)
                } else {
                    Vec::new()
                };
                self.optimistic(&reports, o.direction, s, horizon, n_valid, &peers)?
            } else {
                minimised(o.direction, *cheap.get(&o.name)?)
            };
            point.push(v);
        }
        let shown = objectives
            .iter()
            .zip(&point)
            .map(|(o, v)| format!("{}={:.4}", o.name, raw(o, *v)))
            .collect::<Vec<_>>()
            .join(", ");
        for (o, v) in objectives.iter().zip(&point) {
            if let Some(c) = o.constraint {
                if c.violation(raw(o, *v)) > 0.0 {
                    return Some(PruneReason::new(PruneRule::Dominated, format!(
                        "dominated at step {s}: even optimistically `{}` = {:.4} violates its constraint (optimistic {shown})",
                        o.name,
                        raw(o, *v)
                    )));
                }
            }
        }
        let (n, _) = refs.iter().find(|(_, r)| dominates(r, &point))?;
        Some(PruneReason::new(
            PruneRule::Dominated,
            format!("dominated at step {s} by trial {n} (optimistic {shown})"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
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
        let r = check(&DominatedPruner::default(), &trials, &t).expect("pruned");
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
            ..DominatedPruner::default()
        };
        assert_eq!(
            check(&DominatedPruner::default(), &with_peers(0.7, 0.05), &t),
            None
        );
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
        assert_eq!(check(&DominatedPruner::default(), &trials, &t), None);
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
            ..Default::default()
        };
        assert_eq!(check(&p, &trials, &t), None);
        let p = DominatedPruner {
            warmup_steps: 3,
            ..Default::default()
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
            ..Default::default()
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
        assert_eq!(check(&DominatedPruner::default(), &trials, &t), None);
        let p = DominatedPruner {
            extrapolate: Extrapolation::None,
            ..Default::default()
        };
        assert!(check(&p, &trials, &t).is_some());
    }

    #[test]
    fn saturating_extrapolation_tells_plateaus_from_climbs() {
        let (_, _, trials) = study();
        let p = DominatedPruner {
            extrapolate: Extrapolation::Saturating,
            ..Default::default()
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
        assert_eq!(check(&DominatedPruner::default(), &trials, &flat), None);
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
            ..Default::default()
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
        assert_eq!(check(&DominatedPruner::default(), &[], &t), None);
        // A running (not complete) trial is no reference either.
        let other = running(2, "accuracy", &[0.99, 0.99, 0.99, 0.99]);
        assert_eq!(check(&DominatedPruner::default(), &[other], &t), None);
    }

    #[test]
    fn unknown_objective_means_optimistic() {
        let (_, _, trials) = study();
        // No cheap latency measured: latency is unknown, nothing dominates.
        let t = running(1, "accuracy", &[0.60, 0.60, 0.60, 0.60, 0.60]);
        assert_eq!(check(&DominatedPruner::default(), &trials, &t), None);
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
        assert_eq!(
            DominatedPruner::default().prune(&view(&space, &objectives, &all), &t),
            None
        );
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
        let p = DominatedPruner::default();
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
    }
}
