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

mod chance;
pub(crate) mod gain;

/// The default `stop_below`: chosen on the replayed learning-curve
/// benchmark (see the README's Pruning section).
pub const DEFAULT_STOP_BELOW: f64 = 0.2;
/// The default `min_curves`.
pub const DEFAULT_MIN_CURVES: usize = 5;
/// The default `min_gain`: a final point matters only if it adds this
/// share of the front's hypervolume (see [`chance`]).
pub const DEFAULT_MIN_GAIN: f64 = 0.0;
/// The default `min_cases`.
pub const DEFAULT_MIN_CASES: usize = 10;
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
    /// The linear bound, and besides it the calibrated learning-curve
    /// forecast: stop when the chance that the final point matters is
    /// below `stop_below` (see [`chance`]).
    Forecast,
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
    /// `extrapolate = "forecast"`: stop below this chance of mattering.
    pub stop_below: f64,
    /// `extrapolate = "forecast"`: calibrate the intervals on the study's
    /// completed curves (`false`: take the raw scale as Gaussian).
    pub calibrate: bool,
    /// `extrapolate = "forecast"`: completed full-length curves needed
    /// before the forecast acts.
    pub min_curves: usize,
    /// `extrapolate = "forecast"`: a final point matters only if it is not
    /// dominated and adds at least this share of the front's hypervolume
    /// (normalised objectives), or reaches past the front's extent.
    pub min_gain: f64,
    /// `extrapolate = "forecast"`: backtest cases at the trial's progress
    /// needed before the forecast acts there.
    pub min_cases: usize,
    cache: crate::forecast::Cache,
}

impl Default for DominatedPruner {
    fn default() -> Self {
        DominatedPruner {
            warmup_steps: 2,
            z: 2.0,
            window: 5,
            valid_size_metric: "n_valid".into(),
            extrapolate: Extrapolation::Forecast,
            max_steps: None,
            min_trials: 1,
            peers: 5,
            stop_below: DEFAULT_STOP_BELOW,
            calibrate: true,
            min_curves: DEFAULT_MIN_CURVES,
            min_gain: DEFAULT_MIN_GAIN,
            min_cases: DEFAULT_MIN_CASES,
            cache: Default::default(),
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
        "stop_below",
        "calibrate",
        "min_curves",
        "min_gain",
        "min_cases",
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
                "forecast" => Extrapolation::Forecast,
                other => {
                    return Err(bad(
                        "extrapolate",
                        format!(
                            "`{other}` is not known; use \"forecast\", \"linear\", \"saturating\", \"peers\" or \"none\""
                        ),
                    ))
                }
            };
        }
        if let Some(p_) = option::<f64>(o, "stop_below")? {
            if !(p_ > 0.0 && p_ < 1.0) {
                return Err(bad(
                    "stop_below",
                    format!("must be a probability between 0 and 1 (exclusive), not {p_}"),
                ));
            }
            p.stop_below = p_;
        }
        if let Some(c) = option::<bool>(o, "calibrate")? {
            p.calibrate = c;
        }
        if let Some(m) = option::<usize>(o, "min_curves")? {
            if m < 3 {
                return Err(bad(
                    "min_curves",
                    "must be at least 3 (the forecast needs peers)",
                ));
            }
            p.min_curves = m;
        }
        if let Some(g) = option::<f64>(o, "min_gain")? {
            if !(0.0..0.5).contains(&g) {
                return Err(bad(
                    "min_gain",
                    format!("must be a share of the front's hypervolume in [0, 0.5), not {g}"),
                ));
            }
            p.min_gain = g;
        }
        if let Some(m) = option::<usize>(o, "min_cases")? {
            if m < 5 {
                return Err(bad(
                    "min_cases",
                    "must be at least 5 (an 80 % interval needs that many backtests)",
                ));
            }
            p.min_cases = m;
        }
        let forecast_only = [
            "stop_below",
            "calibrate",
            "min_curves",
            "min_gain",
            "min_cases",
        ];
        if p.extrapolate != Extrapolation::Forecast {
            if let Some(k) = forecast_only.iter().find(|k| o.contains_key(**k)) {
                return Err(bad(
                    k,
                    "only applies with extrapolate = \"forecast\" (the default)",
                ));
            }
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

    fn diagnose(&self, study: &StudyView<'_>) -> Option<serde_json::Value> {
        (self.extrapolate == Extrapolation::Forecast).then(|| self.diagnose_forecast(study))
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
        if self.extrapolate != Extrapolation::Forecast {
            return self.bound(study, trial, s, horizon, n_valid, &cheap, &refs);
        }
        let points: Vec<Vec<f64>> = refs.iter().map(|(_, r)| r.clone()).collect();
        let horizon_steps = horizon?;
        match self.judge(
            study.trials,
            objectives,
            trial,
            s,
            horizon_steps,
            &points,
            &cheap,
            study.seed,
            None,
        ) {
            Ok(j) => j.verdict(s, horizon_steps, self.stop_below),
            // Not calibrated yet: the conservative bound decides alone.
            Err(chance::NotYet::Warming { .. }) => {
                self.bound(study, trial, s, horizon, n_valid, &cheap, &refs)
            }
            Err(chance::NotYet::Unknown(_)) => None,
        }
    }
}

impl DominatedPruner {
    /// The bound rule: stop if the optimistic point is infeasible or
    /// dominated by a reference trial.
    #[allow(clippy::too_many_arguments)]
    fn bound(
        &self,
        study: &StudyView<'_>,
        trial: &Trial,
        s: u64,
        horizon: Option<u64>,
        n_valid: Option<f64>,
        cheap: &std::collections::BTreeMap<String, f64>,
        refs: &[(u64, Vec<f64>)],
    ) -> Option<PruneReason> {
        let objectives = study.objectives;
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
mod tests;
