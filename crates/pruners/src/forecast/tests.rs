//! Forecast tests on synthetic curves (and, in `recorded`, on curves
//! recorded from the project's torch studies).

use super::calibrate::{empirical_quantile, Calibration};
use super::*;

/// A small deterministic generator (splitmix64), for synthetic studies.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub(crate) fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// A study of error curves `c + a·t^(-α)` plus noise, `steps` long; the
/// exponent varies by trial, so early reports say little about the end.
pub(crate) fn power_study(n: usize, steps: u64, seed: u64, first: u64) -> Vec<Curve> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let c = 0.05 + 0.3 * rng.uniform();
            let a = 0.3 + 0.5 * rng.uniform();
            let alpha = 0.3 + 1.2 * rng.uniform();
            let noise = 0.004 + 0.006 * rng.uniform();
            // A drift over the second half that the head cannot foretell
            // (over-fitting, or a validation set that disagrees late).
            let drift = 0.04 * rng.normal();
            let half = steps as f64 / 2.0;
            let points: Vec<(u64, f64)> = (1..=steps)
                .map(|t| {
                    let late = drift * ((t as f64 - half) / half).max(0.0);
                    (
                        t,
                        c + a * (t as f64).powf(-alpha) + late + noise * rng.normal(),
                    )
                })
                .collect();
            Curve {
                number: first + i as u64,
                final_value: points.last().unwrap().1,
                points,
            }
        })
        .collect()
}

/// Coverage of the central 80 % interval on fresh curves the calibration
/// never saw, cut at every step from 3 on.
fn coverage_on_new_curves(cal: &Calibration, known: &[Curve], fresh: &[Curve], h: u64) -> f64 {
    let (mut inside, mut n) = (0, 0);
    for c in fresh {
        for i in 2..c.points.len() - 1 {
            let r = raw(&c.points[..=i], h, known, None, 5).unwrap();
            let f = cal.forecast(&r);
            let (lo, hi) = (cal.quantile(&f, 0.1), cal.quantile(&f, 0.9));
            inside += usize::from(c.final_value >= lo && c.final_value <= hi);
            n += 1;
        }
    }
    inside as f64 / n as f64
}

/// The forecast's intervals cover held-back tails at the rate they claim,
/// and they do so because of the calibration: with `calibrate = false`
/// (raw Gaussian intervals) the same check fails.
#[test]
fn intervals_cover_at_their_stated_rate_only_when_calibrated() {
    let h = 20;
    let known = power_study(80, h, 1, 0);
    let fresh = power_study(60, h, 2, 1000);
    let cal = Calibration::build(&known, h, 2, 5, true);
    assert!(cal.ready(5), "{cal:?}");
    let measured = cal.coverage.unwrap();
    assert!(
        (0.72..=0.88).contains(&measured),
        "held-out coverage {measured}"
    );
    let on_fresh = coverage_on_new_curves(&cal, &known, &fresh, h);
    assert!(
        (0.72..=0.88).contains(&on_fresh),
        "coverage on new curves {on_fresh}"
    );
    let off = Calibration::build(&known, h, 2, 5, false);
    let raw_cov = coverage_on_new_curves(&off, &known, &fresh, h);
    assert!(
        !(0.72..=0.88).contains(&raw_cov),
        "raw intervals happen to be calibrated ({raw_cov}); the test would not notice calibration off"
    );
    assert_eq!(off.coverage_raw, cal.coverage_raw);
}

/// Trials whose curves plateau and then drop when the learning-rate
/// schedule steps (at step 12 of 20): once completed peers show the drop, a
/// trial on the plateau at step 10 is forecast to drop too.
#[test]
fn a_late_schedule_drop_is_forecast_from_peers() {
    let mut rng = Rng::new(7);
    let curve = |number: u64, plateau: f64, rng: &mut Rng| {
        let points: Vec<(u64, f64)> = (1..=20u64)
            .map(|t| {
                let base = plateau + 0.4 * (-(t as f64) / 2.0).exp();
                let v = if t >= 12 { base - 0.15 } else { base };
                (t, v + 0.003 * rng.normal())
            })
            .collect();
        Curve {
            number,
            final_value: points.last().unwrap().1,
            points,
        }
    };
    let known: Vec<Curve> = (0..30)
        .map(|i| curve(i, 0.3 + 0.3 * rng.uniform(), &mut rng))
        .collect();
    let me = curve(100, 0.45, &mut rng);
    let cal = Calibration::build(&known, 20, 2, 5, true);
    assert!(cal.ready(5));
    let r = raw(&me.points[..10], 20, &known, None, 5).unwrap();
    let f = cal.forecast(&r);
    let level = r.level;
    // The plateau's level is far above the final value the peers point to.
    assert!(f.mean < level - 0.1, "forecast {} vs level {level}", f.mean);
    let hi = cal.quantile(&f, 0.95);
    assert!(
        (me.final_value - f.mean).abs() < 0.05 && me.final_value < hi,
        "final {} forecast {} (95 % {hi})",
        me.final_value,
        f.mean
    );
    // The null model forecasts the plateau, and no family the drop.
    assert!(r.preds[0].unwrap() > level - 0.01, "{r:?}");
    for p in r.preds[..PEERS].iter().flatten() {
        assert!(
            *p > me.final_value + 0.05,
            "a family forecast the drop: {p}"
        );
    }
    // And the weights know it: the peers carry most of the weight at that
    // progress.
    assert!(cal.weights(r.bin)[PEERS] > 0.5, "{:?}", cal.weights(r.bin));
}

#[test]
fn normal_quantile_matches_known_values() {
    for (u, z) in [
        (0.5, 0.0),
        (0.975, 1.959_963_984_540_054),
        (0.9, 1.281_551_565_544_601),
        (0.01, -2.326_347_874_040_841),
        (1e-6, -4.753_424_308_822_899),
    ] {
        assert!(
            (normal_quantile(u) - z).abs() < 1e-8,
            "{u}: {}",
            normal_quantile(u)
        );
    }
}

#[test]
fn empirical_quantiles_interpolate_and_extend_the_tails() {
    let xs = [0.0, 1.0, 2.0, 3.0];
    // Positions (k + 1) / 5: 0.2, 0.4, 0.6, 0.8.
    assert!((empirical_quantile(&xs, 0.5) - 1.5).abs() < 1e-12);
    assert!((empirical_quantile(&xs, 0.2) - 0.0).abs() < 1e-12);
    assert!((empirical_quantile(&xs, 0.8) - 3.0).abs() < 1e-12);
    assert!((empirical_quantile(&xs, 0.3) - 0.5).abs() < 1e-12);
    // Beyond the extremes, on with the outer slope (1 per position).
    assert!((empirical_quantile(&xs, 0.9) - 3.5).abs() < 1e-12);
    assert!((empirical_quantile(&xs, 0.0) + 1.0).abs() < 1e-12);
}

/// A model weight is zero when it forecasts much worse than the best, and
/// the combined forecast of agreeing models has their disagreement as
/// spread.
#[test]
fn combine_weights_and_spreads() {
    let mut preds = [None; MODELS];
    preds[0] = Some(1.0);
    preds[1] = Some(3.0);
    let r = Raw {
        bin: 0,
        level: 1.0,
        preds,
        noise: 0.0,
        peer_spread: 0.0,
    };
    let mut w = [0.0; MODELS];
    w[0] = 0.5;
    w[1] = 0.5;
    let (mu, sigma) = combine(&r, &w, 1e-9);
    assert!(
        (mu - 2.0).abs() < 1e-12 && (sigma - 1.0).abs() < 1e-12,
        "{mu} {sigma}"
    );
    let backtest = power_study(40, 15, 3, 0);
    let cal = Calibration::build(&backtest, 15, 2, 5, true);
    // Log-linear never saturates: on power-law curves it is the worst model.
    let rmse: std::collections::BTreeMap<_, _> = cal.model_rmse.iter().cloned().collect();
    assert!(rmse["log-linear"] > rmse["pow3"], "{rmse:?}");
    assert!(cal.ensemble_rmse.unwrap() <= 1.1 * rmse["last"], "{cal:?}");
}
