//! Learning-curve forecasts with honest uncertainty.
//!
//! The question an early stopper asks of a running trial is "where will
//! this curve end?", and the answer must come with an uncertainty that is
//! right, because the stopping rule spends it: stop when the probability
//! that the trial's final point still matters falls below a threshold.
//!
//! ## The point forecast: an ensemble fitted to the study
//!
//! For one objective of one running trial at step `s`, the forecast of its
//! value at the horizon `H` (the study's `max_steps`) combines seven
//! models:
//!
//! * five parametric curve families fitted to the trial's own reports
//!   (pow3, exp3, Weibull, log-power, log-linear; see [`families`]) and the
//!   null model `last` (the curve stays where it is);
//! * the **peers** (see [`peers`]): the remaining change of the completed
//!   curves of this study that stood nearest at step `s`. This is how the
//!   forecast learns what the study's curves do that no family describes,
//!   a learning-rate schedule's late drop above all.
//!
//! The models are weighted by how well each forecast the study's own
//! completed curves (inverse mean squared error, by progress `s/H` in four
//! geometric bins; a model more than four times worse than the best gets no weight).
//! So the same code leans on pow3 in a study whose curves follow a power
//! law and on the peers in one whose curves drop when the schedule steps.
//!
//! ## The uncertainty: calibrated on the study itself
//!
//! A forecast's raw scale `σ` is the root of the sum of the trial's noise
//! (the residual spread of a line through its last reports), the
//! disagreement of the models (their weighted variance) and the spread of
//! the peers' changes. Raw scales are not probabilities: they are right only
//! by luck. So every completed curve is **backtested** (its tail hidden at
//! up to sixteen steps (every early one), forecast from its head and the *other* curves, and
//! compared with its real final value), and the standardised residuals
//! `(final − μ) / σ` of the backtest become the forecast's distribution: a
//! forecast is `μ + σ·r` with `r` drawn from the residuals of its progress
//! bin (split conformal prediction). Intervals then cover at the rate they
//! claim, whatever the raw scale got wrong, and the measured coverage of
//! the central 80 % interval (on one half of the trials, calibrated on the
//! other) is what the pruner reports. With `calibrate = false` the residuals
//! are taken as standard normal instead, which is the comparison that shows
//! what calibration buys.
//!
//! The calibration is a pure function of the completed trials, so it is
//! computed once per set of completed trials and cached (see
//! [`calibrate::Cache`]): deciding after a report then costs one ensemble
//! fit and one neighbour search.

pub mod calibrate;
pub mod families;
pub mod peers;

pub use calibrate::{Cache, Calibration};
pub use families::Family;
pub use peers::Curve;

/// The models of the ensemble: the curve families, then the peers.
pub const MODELS: usize = Family::ALL.len() + 1;
/// Index of the peers among the models.
pub const PEERS: usize = Family::ALL.len();
/// Progress bins (see [`bin`]).
pub const BINS: usize = 4;
/// Reports fitted at most (the latest ones).
const FIT_POINTS: usize = 60;

/// Names of the models, in index order.
pub fn model_names() -> [&'static str; MODELS] {
    let mut names = ["peers"; MODELS];
    for (i, f) in Family::ALL.iter().enumerate() {
        names[i] = f.name();
    }
    names
}

/// What every model says of one curve at one step, before weighting.
#[derive(Clone, Debug, PartialEq)]
pub struct Raw {
    /// Progress bin of the step.
    pub bin: usize,
    /// The curve's level (mean of its last two reports).
    pub level: f64,
    /// Each model's forecast of the final value (`None`: not fitted).
    pub preds: [Option<f64>; MODELS],
    /// The trial's noise (residual spread of a line through its last reports).
    pub noise: f64,
    /// The spread of the peers' remaining changes.
    pub peer_spread: f64,
}

/// The progress bin of step `s` of `horizon`: progress below 1/8, 1/4,
/// 1/2, and the rest (geometric, because a forecast's error shrinks
/// fastest early on).
pub fn bin(s: u64, horizon: u64) -> usize {
    let p = s as f64 / horizon.max(1) as f64;
    match p {
        p if p < 0.125 => 0,
        p if p < 0.25 => 1,
        p if p < 0.5 => 2,
        _ => 3,
    }
}

/// Every model's forecast of the value at `horizon` for the minimised
/// `points` (step order, up to step `s`, the last point's step), with the
/// completed `peers` (`skip`: a trial left out of them). `None` without a
/// report.
pub fn raw(
    points: &[(u64, f64)],
    horizon: u64,
    peers: &[Curve],
    skip: Option<u64>,
    window: usize,
) -> Option<Raw> {
    let s = points.last()?.0;
    let me = peers::features(points)?;
    let fit_from = points.len().saturating_sub(FIT_POINTS);
    let xy: Vec<(f64, f64)> = points[fit_from..]
        .iter()
        .map(|(t, v)| ((*t).max(1) as f64, *v))
        .collect();
    let h = horizon.max(s) as f64;
    let mut preds = [None; MODELS];
    for (i, family) in Family::ALL.iter().enumerate() {
        preds[i] = families::fit(*family, &xy, h)
            .map(|f| f.at(h))
            .filter(|v| v.is_finite());
    }
    let mut peer_spread = 0.0;
    if let Some(p) = peers::forecast(peers, s, me, skip) {
        preds[PEERS] = Some(me.0 + p.change);
        peer_spread = p.spread;
    }
    let tail = &points[points.len().saturating_sub(window)..];
    let noise = crate::dominated::detrended_std(tail).unwrap_or(0.0);
    Some(Raw {
        bin: bin(s, horizon),
        level: me.0,
        preds,
        noise,
        peer_spread,
    })
}

/// The weighted forecast `(μ, σ)` of `raw` with model weights `w`
/// (normalised over the models that forecast), `σ` at least `floor`.
pub fn combine(raw: &Raw, w: &[f64; MODELS], floor: f64) -> (f64, f64) {
    let mut sw = 0.0;
    let mut swp = 0.0;
    for (p, wi) in raw.preds.iter().zip(w) {
        if let Some(p) = p {
            sw += wi;
            swp += wi * p;
        }
    }
    if sw <= 0.0 {
        let sigma = raw.noise.max(raw.peer_spread).max(floor);
        return (raw.preds[0].unwrap_or(raw.level), sigma);
    }
    let mu = swp / sw;
    let disagreement = raw
        .preds
        .iter()
        .zip(w)
        .filter_map(|(p, wi)| p.map(|p| wi * (p - mu).powi(2)))
        .sum::<f64>()
        / sw;
    let peer_share = if raw.preds[PEERS].is_some() {
        w[PEERS] / sw
    } else {
        0.0
    };
    let var = raw.noise.powi(2) + disagreement + peer_share * raw.peer_spread.powi(2);
    (mu, var.sqrt().max(floor))
}

/// The standard normal quantile function (Acklam's rational approximation,
/// relative error below 1.2e-9), for `u` in (0, 1).
pub fn normal_quantile(u: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let u = u.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if u < 0.02425 {
        tail((-2.0 * u.ln()).sqrt())
    } else if u > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - u).ln()).sqrt())
    } else {
        let q = u - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// A deterministic stream of 64-bit numbers (splitmix64) from `seed`.
pub(crate) fn rng(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
pub(crate) mod tests;
