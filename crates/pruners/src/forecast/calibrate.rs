//! Backtesting the forecast on the completed curves: model weights,
//! calibrated residuals and the coverage they achieve.
//!
//! See the [module essay](super) for why. The numbers a user reads
//! ([`Calibration::coverage`] against [`Calibration::coverage_raw`]) are
//! measured out of sample: the trials are split in two halves by the parity
//! of their number, each half's intervals come from the other half's
//! residuals, and the share of hidden final values inside the central 80 %
//! interval is counted over both.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{combine, model_names, normal_quantile, raw, Curve, Raw, BINS, MODELS};

/// Completed curves backtested at most (the most recent ones).
pub const MAX_CURVES: usize = 200;
/// Cut steps per backtested curve at most.
const CUTS: usize = 16;
/// Residuals a progress bin needs before it has its own distribution
/// (fewer: the pooled residuals of all bins).
const MIN_BIN: usize = 20;
/// A model whose backtest error is this many times the best's gets no weight.
const WORSE: f64 = 4.0;
/// The central interval whose coverage is reported.
pub const LEVEL: f64 = 0.8;

/// One backtest case: a completed curve cut at one step.
#[derive(Clone, Debug)]
struct Case {
    number: u64,
    raw: Raw,
    truth: f64,
}

/// The calibration of one objective's forecasts on a study's completed
/// curves.
#[derive(Clone, Debug)]
pub struct Calibration {
    /// Completed full-length curves backtested.
    pub curves: usize,
    /// Backtest cases (curves × cut steps).
    pub cases: usize,
    /// Calibrated (`false`: residuals taken as standard normal).
    pub calibrated: bool,
    /// Held-out coverage of the central 80 % interval, calibrated.
    pub coverage: Option<f64>,
    /// The same with the raw (uncalibrated, Gaussian) intervals.
    pub coverage_raw: Option<f64>,
    /// Root mean squared backtest error of each model (pooled), and of the
    /// weighted ensemble.
    pub model_rmse: Vec<(&'static str, f64)>,
    /// Root mean squared backtest error of the ensemble.
    pub ensemble_rmse: Option<f64>,
    weights: [[f64; MODELS]; BINS],
    residuals: [Vec<f64>; BINS],
    pooled: Vec<f64>,
    floor: f64,
}

/// A forecast of one objective's final value: `μ + σ·r`, `r` distributed
/// as the calibration's residuals of its progress bin.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Forecast {
    /// The weighted point forecast (minimised).
    pub mean: f64,
    /// The raw scale.
    pub sigma: f64,
    /// Progress bin.
    pub bin: usize,
}

impl Calibration {
    /// Backtest the forecast on `curves` (the completed curves of one
    /// objective, minimised) for the horizon `horizon`, cutting each at
    /// steps `>= warmup`.
    pub fn build(
        curves: &[Curve],
        horizon: u64,
        warmup: u64,
        window: usize,
        calibrate: bool,
    ) -> Calibration {
        let mut full: Vec<&Curve> = curves.iter().filter(|c| c.last_step() >= horizon).collect();
        full.sort_by_key(|c| std::cmp::Reverse(c.number));
        full.truncate(MAX_CURVES);
        let mut cases = Vec::new();
        for c in &full {
            let cuts: Vec<usize> = (0..c.points.len())
                .filter(|&i| c.points[i].0 >= warmup.max(1) && c.points[i].0 < horizon)
                .collect();
            for i in spread_cuts(&cuts) {
                if let Some(r) = raw(&c.points[..=i], horizon, curves, Some(c.number), window) {
                    cases.push(Case {
                        number: c.number,
                        raw: r,
                        truth: c.final_value,
                    });
                }
            }
        }
        let finals: Vec<f64> = full.iter().map(|c| c.final_value).collect();
        let range = finals.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            - finals.iter().copied().fold(f64::INFINITY, f64::min);
        let floor = if range.is_finite() { 1e-3 * range } else { 0.0 } + 1e-12;
        let (weights, model_rmse) = weights(&cases);
        let standardised: Vec<(u64, usize, f64)> = cases
            .iter()
            .map(|c| {
                let (mu, sigma) = combine(&c.raw, &weights[c.raw.bin], floor);
                (c.number, c.raw.bin, (c.truth - mu) / sigma)
            })
            .collect();
        let ensemble_rmse = (!cases.is_empty()).then(|| {
            let sse: f64 = cases
                .iter()
                .map(|c| (combine(&c.raw, &weights[c.raw.bin], floor).0 - c.truth).powi(2))
                .sum();
            (sse / cases.len() as f64).sqrt()
        });
        let mut residuals: [Vec<f64>; BINS] = Default::default();
        for (_, b, r) in &standardised {
            residuals[*b].push(*r);
        }
        for r in &mut residuals {
            r.sort_by(f64::total_cmp);
        }
        let mut pooled: Vec<f64> = standardised.iter().map(|c| c.2).collect();
        pooled.sort_by(f64::total_cmp);
        let (coverage, coverage_raw) = held_out_coverage(&standardised);
        Calibration {
            curves: full.len(),
            cases: cases.len(),
            calibrated: calibrate,
            coverage,
            coverage_raw,
            model_rmse,
            ensemble_rmse,
            weights,
            residuals,
            pooled,
            floor,
        }
    }

    /// Enough backtest cases to trust the residuals of some progress: at
    /// least `min_curves` curves and 20 cases.
    pub fn ready(&self, min_curves: usize) -> bool {
        self.curves >= min_curves && self.pooled.len() >= MIN_BIN
    }

    /// Enough backtest cases at the progress of `f` (its bin's own
    /// `min_cases` residuals, from at least `min_curves` curves) to act on
    /// it. Below 20 the bin's residuals are its distribution all the same
    /// (the empirical quantiles extend the tails beyond the extremes).
    pub fn ready_for(&self, f: &Forecast, min_curves: usize, min_cases: usize) -> bool {
        self.curves >= min_curves
            && (!self.calibrated || self.residuals[f.bin].len() >= min_cases.max(2))
    }

    /// Backtest cases per progress bin.
    pub fn cases_per_bin(&self) -> [usize; BINS] {
        std::array::from_fn(|b| self.residuals[b].len())
    }

    /// The forecast for `raw`.
    pub fn forecast(&self, raw: &Raw) -> Forecast {
        let (mean, sigma) = combine(raw, &self.weights[raw.bin], self.floor);
        Forecast {
            mean,
            sigma,
            bin: raw.bin,
        }
    }

    /// The model weights of a progress bin (normalised to sum 1).
    pub fn weights(&self, bin: usize) -> [f64; MODELS] {
        self.weights[bin.min(BINS - 1)]
    }

    /// The `u`-quantile of a forecast's final value (minimised): from its
    /// progress bin's residuals once it has 20; before, the wider of the
    /// bin's few and all bins' pooled (the more spread is the cautious
    /// side for a pruner: more of the draws land on the better side).
    pub fn quantile(&self, f: &Forecast, u: f64) -> f64 {
        let r = if self.calibrated {
            let own = &self.residuals[f.bin];
            if own.len() >= MIN_BIN || self.pooled.is_empty() {
                empirical_quantile(own, u)
            } else if own.len() >= 2 {
                let (a, b) = (
                    empirical_quantile(own, u),
                    empirical_quantile(&self.pooled, u),
                );
                if u < 0.5 {
                    a.min(b)
                } else {
                    a.max(b)
                }
            } else {
                empirical_quantile(&self.pooled, u)
            }
        } else {
            normal_quantile(u)
        };
        f.mean + f.sigma * r
    }
}

/// At most `CUTS` of the candidate cut indices `cuts`: all of them when
/// they are few, else geometrically spaced (every early step, where the
/// forecast changes fastest, then sparser).
fn spread_cuts(cuts: &[usize]) -> Vec<usize> {
    if cuts.len() <= CUTS {
        return cuts.to_vec();
    }
    let n = cuts.len() as f64;
    let mut out: Vec<usize> = (0..CUTS)
        .map(|k| {
            let x = (n.ln() * k as f64 / (CUTS - 1) as f64).exp() - 1.0;
            cuts[(x.round() as usize).min(cuts.len() - 1)]
        })
        .collect();
    out.dedup();
    out
}

/// Inverse-MSE weights per bin (pooled where a bin has fewer than
/// `MIN_BIN` cases), and each model's pooled RMSE.
fn weights(cases: &[Case]) -> ([[f64; MODELS]; BINS], Vec<(&'static str, f64)>) {
    let mse = |sel: &dyn Fn(&Case) -> bool| -> [Option<f64>; MODELS] {
        let mut out = [None; MODELS];
        for (m, slot) in out.iter_mut().enumerate() {
            let errs: Vec<f64> = cases
                .iter()
                .filter(|c| sel(c))
                .filter_map(|c| c.raw.preds[m].map(|p| (p - c.truth).powi(2)))
                .collect();
            // A model judged on under half of the cases is not comparable.
            let n = cases.iter().filter(|c| sel(c)).count();
            if !errs.is_empty() && 2 * errs.len() >= n {
                *slot = Some(errs.iter().sum::<f64>() / errs.len() as f64);
            }
        }
        out
    };
    let to_weights = |mse: [Option<f64>; MODELS]| -> [f64; MODELS] {
        let best = mse.iter().flatten().copied().fold(f64::INFINITY, f64::min);
        let mut w = [0.0; MODELS];
        if !best.is_finite() {
            w[0] = 1.0;
            return w;
        }
        for (wi, m) in w.iter_mut().zip(mse) {
            if let Some(m) = m {
                if m <= WORSE * best {
                    *wi = 1.0 / (m + 1e-12 * (1.0 + best));
                }
            }
        }
        let s: f64 = w.iter().sum();
        w.iter_mut().for_each(|x| *x /= s);
        w
    };
    let pooled_mse = mse(&|_| true);
    let pooled = to_weights(pooled_mse);
    let mut out = [pooled; BINS];
    for (b, slot) in out.iter_mut().enumerate() {
        if cases.iter().filter(|c| c.raw.bin == b).count() >= MIN_BIN {
            *slot = to_weights(mse(&|c: &Case| c.raw.bin == b));
        }
    }
    let names = model_names();
    let rmse = pooled_mse
        .iter()
        .enumerate()
        .filter_map(|(m, v)| v.map(|v| (names[m], v.sqrt())))
        .collect();
    (out, rmse)
}

/// Coverage of the central `LEVEL` interval on each half of the trials,
/// with intervals from the other half's residuals (calibrated) and from the
/// standard normal (raw).
fn held_out_coverage(cases: &[(u64, usize, f64)]) -> (Option<f64>, Option<f64>) {
    let (lo, hi) = ((1.0 - LEVEL) / 2.0, (1.0 + LEVEL) / 2.0);
    let z = normal_quantile(hi);
    let mut inside = 0usize;
    let mut inside_raw = 0usize;
    let mut n = 0usize;
    for fold in 0..2u64 {
        let mut other: Vec<f64> = cases
            .iter()
            .filter(|c| c.0 % 2 != fold)
            .map(|c| c.2)
            .collect();
        if other.len() < MIN_BIN {
            continue;
        }
        other.sort_by(f64::total_cmp);
        let (ql, qh) = (
            empirical_quantile(&other, lo),
            empirical_quantile(&other, hi),
        );
        for c in cases.iter().filter(|c| c.0 % 2 == fold) {
            n += 1;
            inside += usize::from(c.2 >= ql && c.2 <= qh);
            inside_raw += usize::from(c.2.abs() <= z);
        }
    }
    if n == 0 {
        return (None, None);
    }
    (
        Some(inside as f64 / n as f64),
        Some(inside_raw as f64 / n as f64),
    )
}

/// The `u`-quantile of sorted `xs`: interpolated between the conformal
/// plotting positions `(k + 1) / (n + 1)`, and beyond the extremes
/// extended linearly with the slope of the outermost fifth of the points
/// (so a tail is never cut at the most extreme residual seen: with few
/// residuals, the next one may well lie further out).
pub fn empirical_quantile(xs: &[f64], u: f64) -> f64 {
    let n = xs.len();
    match n {
        0 => return 0.0,
        1 => return xs[0],
        _ => {}
    }
    let pos = u * (n + 1) as f64 - 1.0; // fractional index
    let m = (n / 5).max(1);
    if pos < 0.0 {
        let slope = (xs[m] - xs[0]) / m as f64;
        return xs[0] + slope * pos;
    }
    if pos > (n - 1) as f64 {
        let slope = (xs[n - 1] - xs[n - 1 - m]) / m as f64;
        return xs[n - 1] + slope * (pos - (n - 1) as f64);
    }
    let i = pos.floor() as usize;
    let j = (i + 1).min(n - 1);
    xs[i] + (xs[j] - xs[i]) * (pos - i as f64)
}

/// Calibrations computed once per set of completed trials: the key is the
/// objective, the horizon and the numbers of the completed trials, so a
/// cached calibration is exactly the one that would be computed again.
#[derive(Debug, Default)]
pub struct Cache {
    entries: Mutex<BTreeMap<Slot, Entry>>,
}

/// An objective's name and the horizon.
type Slot = (String, u64);
/// The completed trials' numbers and their calibration.
type Entry = (Vec<u64>, Arc<Calibration>);

impl Cache {
    /// The calibration of objective `name` at `horizon` for `curves`
    /// (computed with `build` on a miss).
    pub fn get(
        &self,
        name: &str,
        horizon: u64,
        curves: &[Curve],
        build: impl FnOnce() -> Calibration,
    ) -> Arc<Calibration> {
        let mut key: Vec<u64> = curves.iter().map(|c| c.number).collect();
        key.sort_unstable();
        let slot = (name.to_string(), horizon);
        if let Some((k, cal)) = self.entries.lock().unwrap().get(&slot) {
            if *k == key {
                return cal.clone();
            }
        }
        let cal = Arc::new(build());
        self.entries
            .lock()
            .unwrap()
            .insert(slot, (key, cal.clone()));
        cal
    }
}

impl Clone for Cache {
    fn clone(&self) -> Self {
        Cache::default()
    }
}
