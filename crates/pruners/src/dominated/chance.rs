//! `extrapolate = "forecast"` (the default): stop a trial once the chance
//! that its final point still matters is small.
//!
//! For every objective the trial reports, the calibrated forecast of its
//! final value (see [`crate::forecast`]) is a distribution; an objective it
//! does not report is its cheap measurement. The trial **matters** if its
//! final point is feasible and not dominated by the feasible COMPLETE
//! trials. The probability of that is estimated from `SAMPLES` draws of the
//! final point (stratified: each objective's quantile levels are the
//! midpoints of `SAMPLES` equal slices, paired across objectives by a
//! permutation seeded by the study seed, the trial and the step, so every
//! worker computes the same number), and the trial stops when it falls
//! below `stop_below`. With `min_gain > 0` a draw that is not dominated
//! matters only if it adds that share of the front's hypervolume (see
//! [`super::gain`]).
//!
//! Until each reported objective's forecast has been backtested on
//! `min_curves` completed full-length curves (and `min_cases`, default 10,
//! cut points at the trial's progress; with fewer than 20 there, each
//! quantile is the wider of those cases' and all progress bins' pooled
//! ones), the forecast rule does not act: the linear bound
//! alone decides, which is conservative (it stops only trials that even an
//! optimistic secant leaves dominated), and `status --json` says so.

use std::sync::Arc;

use paretosearch_core::{Direction, Objectives, PruneReason, PruneRule, Trial, TrialState};
use serde_json::{json, Map, Value};

use super::gain::Gain;
use super::DominatedPruner;
use crate::forecast::calibrate::Forecast;
use crate::forecast::{self, Calibration, Curve};
use crate::{minimised, series};

/// Draws of the final point.
const SAMPLES: usize = 256;
/// The central interval stored with a stopped trial's forecast.
const STORED_LEVEL: f64 = 0.9;

/// One objective's final value: known, or forecast.
enum Final {
    Known(f64),
    Forecast {
        cal: Arc<Calibration>,
        f: Forecast,
        /// Minimised bounds of an accuracy-like metric.
        clamp: Option<(f64, f64)>,
    },
}

impl Final {
    fn quantile(&self, u: f64) -> f64 {
        match self {
            Final::Known(v) => *v,
            Final::Forecast { cal, f, clamp } => {
                let q = cal.quantile(f, u);
                clamp.map_or(q, |(lo, hi)| q.clamp(lo, hi))
            }
        }
    }
}

/// Why the forecast rule cannot judge yet.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NotYet {
    /// An objective is neither reported nor measured cheaply.
    Unknown(String),
    /// The forecast of an objective is not calibrated yet.
    Warming {
        objective: String,
        curves: usize,
        needed: usize,
    },
}

/// The judgement of one trial at one step.
pub(crate) struct Judgement {
    /// Probability that the final point matters.
    pub p: f64,
    /// The stored forecast (raw units).
    pub forecast: Value,
    /// A short description of the forecast objectives.
    pub shown: String,
}

/// The completed curves of objective `name` (minimised), other than `me`.
pub(crate) fn curves(trials: &[Trial], name: &str, direction: Direction, me: u64) -> Vec<Curve> {
    trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && t.number != me)
        .filter_map(|t| {
            let final_value = minimised(direction, *t.values.get(name)?);
            let points: Vec<(u64, f64)> = series(t, name, u64::MAX)
                .into_iter()
                .map(|(s, v)| (s, minimised(direction, v)))
                .collect();
            (final_value.is_finite() && !points.is_empty()).then_some(Curve {
                number: t.number,
                points,
                final_value,
            })
        })
        .collect()
}

impl DominatedPruner {
    /// The calibration of objective `name` on `curves` (cached).
    pub(crate) fn calibration(
        &self,
        name: &str,
        horizon: u64,
        curves: &[Curve],
    ) -> Arc<Calibration> {
        self.cache.get(name, horizon, curves, || {
            Calibration::build(
                curves,
                horizon,
                self.warmup_steps,
                self.window,
                self.calibrate,
            )
        })
    }

    /// The chance that `trial`, at step `s`, ends feasible and not
    /// dominated by `refs` (minimised points of feasible COMPLETE trials).
    /// `cheap` holds its cheap measurements; `seed` the study's seed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn judge(
        &self,
        trials: &[Trial],
        objectives: &Objectives,
        trial: &Trial,
        s: u64,
        horizon: u64,
        refs: &[Vec<f64>],
        cheap: &std::collections::BTreeMap<String, f64>,
        seed: u64,
        leave_out: Option<u64>,
    ) -> Result<Judgement, NotYet> {
        let mut finals = Vec::with_capacity(objectives.len());
        let mut stored = Map::new();
        let mut shown = Vec::new();
        let (lo_u, hi_u) = ((1.0 - STORED_LEVEL) / 2.0, (1.0 + STORED_LEVEL) / 2.0);
        for o in objectives.iter() {
            let reports = series(trial, &o.name, s);
            if reports.is_empty() {
                let v = cheap
                    .get(&o.name)
                    .ok_or_else(|| NotYet::Unknown(o.name.clone()))?;
                finals.push(Final::Known(minimised(o.direction, *v)));
                continue;
            }
            // Backtesting a completed trial (`leave_out`), the calibration
            // is the study's own and only the neighbour search leaves the
            // trial out.
            let peers = curves(
                trials,
                &o.name,
                o.direction,
                if leave_out.is_some() {
                    u64::MAX
                } else {
                    trial.number
                },
            );
            let cal = self.calibration(&o.name, horizon, &peers);
            let bounded = reports.iter().all(|(_, v)| (0.0..=1.0).contains(v));
            let points: Vec<(u64, f64)> = reports
                .iter()
                .map(|(st, v)| (*st, minimised(o.direction, *v)))
                .collect();
            let raw = forecast::raw(&points, horizon, &peers, leave_out, self.window)
                .ok_or_else(|| NotYet::Unknown(o.name.clone()))?;
            let f = cal.forecast(&raw);
            if !cal.ready_for(&f, self.min_curves, self.min_cases) {
                return Err(NotYet::Warming {
                    objective: o.name.clone(),
                    curves: cal.curves,
                    needed: self.min_curves,
                });
            }
            let clamp = bounded.then_some(match o.direction {
                Direction::Minimize => (0.0, 1.0),
                Direction::Maximize => (-1.0, 0.0),
            });
            let fin = Final::Forecast { cal, f, clamp };
            let natural = |v: f64| minimised(o.direction, v);
            let (a, b) = (natural(fin.quantile(lo_u)), natural(fin.quantile(hi_u)));
            let mean = natural(fin.quantile(0.5));
            stored.insert(
                o.name.clone(),
                json!({"mean": mean, "lo": a.min(b), "hi": a.max(b)}),
            );
            shown.push(format!(
                "{} {mean:.4} [{:.4}, {:.4}]",
                o.name,
                a.min(b),
                a.max(b)
            ));
            finals.push(fin);
        }
        let p = self.probability(
            objectives,
            &finals,
            refs,
            seed ^ trial.number.rotate_left(17) ^ s,
        );
        Ok(Judgement {
            p,
            forecast: json!({
                "step": s,
                "horizon": horizon,
                "level": STORED_LEVEL,
                "p_matters": p,
                "objectives": stored,
            }),
            shown: shown.join(", "),
        })
    }

    /// Share of stratified draws of the final point that are feasible and
    /// not dominated by `refs`.
    fn probability(
        &self,
        objectives: &Objectives,
        finals: &[Final],
        refs: &[Vec<f64>],
        seed: u64,
    ) -> f64 {
        let gain = Gain::new(refs, self.min_gain);
        let mut rng = crate::forecast::rng(seed);
        let levels: Vec<Vec<usize>> = finals
            .iter()
            .map(|_| {
                let mut idx: Vec<usize> = (0..SAMPLES).collect();
                for i in (1..SAMPLES).rev() {
                    let j = (rng() % (i as u64 + 1)) as usize;
                    idx.swap(i, j);
                }
                idx
            })
            .collect();
        let mut matters = 0usize;
        let mut point = vec![0.0; finals.len()];
        for k in 0..SAMPLES {
            for ((slot, fin), level) in point.iter_mut().zip(finals).zip(&levels) {
                *slot = fin.quantile((level[k] as f64 + 0.5) / SAMPLES as f64);
            }
            let feasible = objectives.iter().zip(&point).all(|(o, v)| {
                o.constraint
                    .is_none_or(|c| c.violation(minimised(o.direction, *v)) <= 0.0)
            });
            if feasible && gain.matters(&point) {
                matters += 1;
            }
        }
        matters as f64 / SAMPLES as f64
    }
}

impl Judgement {
    /// The forecast rule's verdict on this judgement of a trial at step
    /// `s`: stop when the chance of mattering is below `stop_below`.
    pub(crate) fn verdict(self, s: u64, horizon: u64, stop_below: f64) -> Option<PruneReason> {
        (self.p < stop_below).then(|| {
            PruneReason::new(
                PruneRule::Dominated,
                format!(
                    "dominated at step {s}: forecast at step {horizon} {} matters with probability {:.3} (< {stop_below})",
                    self.shown, self.p
                ),
            )
            .with_forecast(self.forecast)
        })
    }
}

mod diagnose;
#[cfg(test)]
mod tests;
