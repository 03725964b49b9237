//! Parametric learning-curve families, fitted by variable projection.
//!
//! Each family is `y(t) = c + a·φ(t; θ)` with one or two shape parameters
//! `θ` (Domhan, Springenberg & Hutter 2015 list these shapes; the
//! parametrisations here are ours). For a fixed `θ` the curve is linear in
//! `(c, a)`, so the fit is a small least-squares problem; `θ` is found on a
//! fixed grid. Grid search is slower to converge than Levenberg–Marquardt
//! but it cannot diverge, needs no starting point and costs a few
//! microseconds for the 5–50 reports a trial has, which is what a pruner
//! called after every report needs. Values are in minimised form (lower is
//! better), so an improving curve has `a > 0` for the decaying bases.

/// The curve families. `Last` is the null model (the curve stays where it
/// is); the others extrapolate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// The mean of the last two reports.
    Last,
    /// `c + a·t^(-α)`: power-law decay (pow3).
    Pow3,
    /// `c + a·exp(-t/τ)`: exponential saturation (exp3).
    Exp3,
    /// `c + a·exp(-(t/τ)^δ)`, δ ∈ {0.5, 2}: Weibull/Janoschek saturation.
    Weibull,
    /// `c + a / (1 + (t/τ)^δ)`: a sigmoid in log t (log-power, MMF-like).
    LogPower,
    /// `c + a·ln t`: no saturation at all (the optimistic family).
    LogLinear,
}

impl Family {
    /// Every family, in a fixed order.
    pub const ALL: [Family; 6] = [
        Family::Last,
        Family::Pow3,
        Family::Exp3,
        Family::Weibull,
        Family::LogPower,
        Family::LogLinear,
    ];

    /// Name, as shown in the calibration figures.
    pub fn name(self) -> &'static str {
        match self {
            Family::Last => "last",
            Family::Pow3 => "pow3",
            Family::Exp3 => "exp3",
            Family::Weibull => "weibull",
            Family::LogPower => "log-power",
            Family::LogLinear => "log-linear",
        }
    }

    /// Reports needed before the family is fitted (two for the null model,
    /// one more than its linear parameters otherwise).
    pub fn min_points(self) -> usize {
        match self {
            Family::Last => 1,
            _ => 3,
        }
    }

    /// The basis `φ(t; θ)` for shape parameters `θ`.
    fn basis(self, t: f64, theta: (f64, f64)) -> f64 {
        let (p, q) = theta;
        match self {
            Family::Last => 0.0,
            Family::Pow3 => t.powf(-p),
            Family::Exp3 => (-t / p).exp(),
            Family::Weibull => (-(t / p).powf(q)).exp(),
            Family::LogPower => 1.0 / (1.0 + (t / p).powf(q)),
            Family::LogLinear => t.ln(),
        }
    }

    /// The grid of shape parameters; `scale` is the horizon, so time
    /// constants cover curves that saturate early and late alike.
    fn grid(self, scale: f64) -> Vec<(f64, f64)> {
        let taus = |n: usize| -> Vec<f64> {
            let (lo, hi) = (0.3f64, (4.0 * scale).max(2.0));
            (0..n)
                .map(|i| lo * (hi / lo).powf(i as f64 / (n - 1) as f64))
                .collect()
        };
        match self {
            Family::Last | Family::LogLinear => vec![(0.0, 0.0)],
            Family::Pow3 => [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]
                .iter()
                .map(|a| (*a, 0.0))
                .collect(),
            Family::Exp3 => taus(16).into_iter().map(|t| (t, 1.0)).collect(),
            Family::Weibull => taus(12)
                .into_iter()
                .flat_map(|t| [(t, 0.5), (t, 2.0)])
                .collect(),
            Family::LogPower => taus(12)
                .into_iter()
                .flat_map(|t| [(t, 0.7), (t, 1.5), (t, 3.0)])
                .collect(),
        }
    }
}

/// A fitted curve: `c + a·φ(t; θ)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fit {
    /// The family.
    pub family: Family,
    c: f64,
    a: f64,
    theta: (f64, f64),
    /// Root mean squared residual of the fit.
    pub rmse: f64,
}

impl Fit {
    /// The fitted curve at step `t`.
    pub fn at(&self, t: f64) -> f64 {
        self.c + self.a * self.family.basis(t.max(1e-9), self.theta)
    }
}

/// Fit `family` to `(step, value)` points (steps ≥ 1); `None` with too few
/// points or a degenerate design.
pub fn fit(family: Family, points: &[(f64, f64)], scale: f64) -> Option<Fit> {
    let n = points.len();
    if n < family.min_points() {
        return None;
    }
    if family == Family::Last {
        let k = n.min(2);
        let c = points[n - k..].iter().map(|p| p.1).sum::<f64>() / k as f64;
        let sse: f64 = points[n - k..].iter().map(|p| (p.1 - c).powi(2)).sum();
        return Some(Fit {
            family,
            c,
            a: 0.0,
            theta: (0.0, 0.0),
            rmse: (sse / k as f64).sqrt(),
        });
    }
    // The best grid point for each value of the second shape parameter,
    // refined, then the best of those.
    let grid = family.grid(scale);
    let mut seconds: Vec<f64> = grid.iter().map(|g| g.1).collect();
    seconds.sort_by(f64::total_cmp);
    seconds.dedup();
    let mut best: Option<Fit> = None;
    for q in seconds {
        let mut local: Option<Fit> = None;
        for theta in grid.iter().copied().filter(|g| g.1 == q) {
            let Some((c, a, sse)) = line_fit(points, |t| family.basis(t, theta)) else {
                continue;
            };
            if local.is_none_or(|b| sse < b.rmse) {
                local = Some(Fit {
                    family,
                    c,
                    a,
                    theta,
                    rmse: sse,
                });
            }
        }
        if let Some(mut l) = local {
            refine(&mut l, points, &grid);
            if best.is_none_or(|b| l.rmse < b.rmse) {
                best = Some(l);
            }
        }
    }
    let mut best = best?;
    best.rmse = (best.rmse / n as f64).sqrt();
    Some(best)
}

/// Golden-section search on the first shape parameter around the best grid
/// point (within a grid step either side, in log space), the second held.
/// `best.rmse` holds the sum of squared residuals here.
fn refine(best: &mut Fit, points: &[(f64, f64)], grid: &[(f64, f64)]) {
    let family = best.family;
    let firsts: Vec<f64> = {
        let mut v: Vec<f64> = grid.iter().map(|g| g.0).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    };
    if firsts.len() < 2 || firsts[0] <= 0.0 {
        return;
    }
    let Some(i) = firsts.iter().position(|p| *p == best.theta.0) else {
        return;
    };
    let lo = firsts[i.saturating_sub(1)].ln();
    let hi = firsts[(i + 1).min(firsts.len() - 1)].ln();
    let q = best.theta.1;
    let sse = |lp: f64| line_fit(points, |t| family.basis(t, (lp.exp(), q)));
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (lo, hi);
    for _ in 0..30 {
        let (x1, x2) = (b - g * (b - a), a + g * (b - a));
        let f1 = sse(x1).map_or(f64::INFINITY, |r| r.2);
        let f2 = sse(x2).map_or(f64::INFINITY, |r| r.2);
        if f1 < f2 {
            b = x2;
        } else {
            a = x1;
        }
    }
    let lp = (a + b) / 2.0;
    if let Some((c, a_, s)) = sse(lp) {
        if s < best.rmse {
            *best = Fit {
                family,
                c,
                a: a_,
                theta: (lp.exp(), q),
                rmse: s,
            };
        }
    }
}

/// Least squares `y ≈ c + a·φ(t)`: `(c, a, sse)`; `None` when `φ` does not
/// vary over the points.
fn line_fit(points: &[(f64, f64)], phi: impl Fn(f64) -> f64) -> Option<(f64, f64, f64)> {
    let n = points.len() as f64;
    let xs: Vec<f64> = points.iter().map(|p| phi(p.0)).collect();
    if xs.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let mx = xs.iter().sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    if sxx <= 1e-18 * (1.0 + mx * mx) {
        return None;
    }
    let sxy: f64 = xs
        .iter()
        .zip(points)
        .map(|(x, p)| (x - mx) * (p.1 - my))
        .sum();
    let a = sxy / sxx;
    let c = my - a * mx;
    let sse = xs
        .iter()
        .zip(points)
        .map(|(x, p)| (p.1 - c - a * x).powi(2))
        .sum();
    Some((c, a, sse))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(f: impl Fn(f64) -> f64, steps: usize) -> Vec<(f64, f64)> {
        (1..=steps).map(|t| (t as f64, f(t as f64))).collect()
    }

    /// Each family fits a curve of its own shape (with shape parameters on
    /// and off its grid) and extrapolates it.
    #[test]
    fn each_family_fits_its_own_shape() {
        type Shape = Box<dyn Fn(f64) -> f64>;
        let cases: Vec<(Family, Shape)> = vec![
            (Family::Pow3, Box::new(|t: f64| 0.1 + 0.8 * t.powf(-0.5))),
            (Family::Pow3, Box::new(|t: f64| 0.2 + 0.5 * t.powf(-1.2))),
            (
                Family::Exp3,
                Box::new(|t: f64| 0.05 + 0.9 * (-t / 4.0).exp()),
            ),
            (
                Family::Weibull,
                Box::new(|t: f64| 0.1 + 0.7 * (-(t / 6.0).powi(2)).exp()),
            ),
            (
                Family::LogPower,
                Box::new(|t: f64| 0.1 + 0.6 / (1.0 + (t / 5.0).powf(1.5))),
            ),
            (Family::LogLinear, Box::new(|t: f64| 2.0 - 0.3 * t.ln())),
            (Family::Last, Box::new(|_| 0.4)),
        ];
        for (family, f) in cases {
            let pts = sample(&f, 10);
            let fit = fit(family, &pts, 30.0).expect("fits");
            let truth = f(30.0);
            let span = (pts[0].1 - pts[9].1).abs().max(0.01);
            assert!(
                (fit.at(30.0) - truth).abs() < 0.08 * span,
                "{family:?}: at 30 {} vs {truth} (rmse {})",
                fit.at(30.0),
                fit.rmse
            );
            assert!(fit.rmse < 0.02 * span, "{family:?}: rmse {}", fit.rmse);
        }
    }

    /// A family of another shape fits worse than the right one.
    #[test]
    fn the_right_family_fits_best() {
        let f = |t: f64| 0.05 + 0.9 * (-(t / 6.0).powi(2)).exp();
        let pts = sample(f, 12);
        let right = fit(Family::Weibull, &pts, 30.0).unwrap().rmse;
        for other in [Family::Pow3, Family::LogLinear, Family::Last] {
            let wrong = fit(other, &pts, 30.0).unwrap().rmse;
            assert!(wrong > 3.0 * right, "{other:?}: {wrong} vs {right}");
        }
    }

    #[test]
    fn too_few_points_or_flat_designs_are_refused() {
        assert!(fit(Family::Pow3, &[(1.0, 0.5), (2.0, 0.4)], 10.0).is_none());
        let last = fit(Family::Last, &[(1.0, 0.5), (2.0, 0.3)], 10.0).unwrap();
        assert!((last.at(100.0) - 0.4).abs() < 1e-12);
        // A constant basis (ln 1 at every point) has no slope to fit.
        assert!(line_fit(&[(1.0, 0.5), (1.0, 0.4), (1.0, 0.3)], f64::ln).is_none());
    }
}
