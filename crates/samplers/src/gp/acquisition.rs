//! Acquisition functions, all in log space: log expected hypervolume
//! improvement over a box decomposition (log EI for one objective), plus
//! log probabilities of feasibility.
//!
//! ## Exact EHVI for independent Gaussians
//!
//! With `Yⱼ ~ N(μⱼ, σⱼ²)` independent and boxes `[l, u]` covering the
//! improvement region, `EHVI = Σ_boxes Πⱼ ψⱼ(l, u)` with
//! `ψ(l, u) = E[(u − max(l, Y))⁺] = σ (h(β_u) − h(β_l))`, `β_b = (b − μ)/σ`,
//! `h(z) = φ(z) + zΦ(z)`. Then `∂ψ/∂μ = −(Φ(β_u) − Φ(β_l))` and `∂ψ/∂σ =
//! φ(β_u) − φ(β_l)`.
//!
//! Per objective the box bounds take few distinct values, so `ln h(β_b)` is
//! computed once per bound. The sum is formed as `Πⱼ Cⱼ · Σ_boxes Πⱼ tⱼ`
//! with `Cⱼ = σⱼ max_b h(β_b)` and every `tⱼ ≤ 1`, which costs only
//! multiplications per box and is exact unless every box underflows; then
//! (a hopeless candidate, but candidates must still be ranked) the sum is
//! recomputed as a log-sum-exp of per-box log products.

use super::boxes::Boxes;
use super::model::Gp;
use super::normal::{log1mexp, log_cdf, log_h, log_pdf};

/// Smallest posterior standard deviation used (standardised units).
const MIN_SD: f64 = 1e-9;

/// The log probability that a Gaussian lies in `[lo, hi]`, with the
/// derivatives with respect to `μ` and `σ`.
pub(crate) fn log_prob_between(
    lo: Option<f64>,
    hi: Option<f64>,
    mu: f64,
    sd: f64,
) -> (f64, f64, f64) {
    match (lo, hi) {
        (None, None) => (0.0, 0.0, 0.0),
        (None, Some(h)) => {
            let b = (h - mu) / sd;
            let v = log_cdf(b);
            let r = (log_pdf(b) - v).exp(); // φ/Φ
            (v, -r / sd, -r * b / sd)
        }
        (Some(l), None) => {
            let b = (mu - l) / sd;
            let v = log_cdf(b);
            let r = (log_pdf(b) - v).exp();
            (v, r / sd, -r * b / sd)
        }
        (Some(l), Some(h)) => {
            let (bl, bh) = ((l - mu) / sd, (h - mu) / sd);
            // P = Φ(bh) − Φ(bl), or Φ(−bl) − Φ(−bh) in the upper tail.
            let (a, b) = if bl > 0.0 { (-bl, -bh) } else { (bh, bl) };
            let la = log_cdf(a);
            let lb = log_cdf(b);
            let v = la + log1mexp((lb - la).min(0.0));
            if !v.is_finite() {
                return (v, 0.0, 0.0);
            }
            // dP/dμ = −(φ(bh) − φ(bl))/σ; dP/dσ = −(bh φ(bh) − bl φ(bl))/σ.
            let ph = (log_pdf(bh) - v).exp();
            let pl = (log_pdf(bl) - v).exp();
            (v, -(ph - pl) / sd, -(bh * ph - bl * pl) / sd)
        }
    }
}

/// `ln EHVI` of independent Gaussians `N(mu, sd²)` over `boxes`, and, if
/// `grad`, its derivatives with respect to `mu` and `sd` written to `dmu`
/// and `dsd`.
pub(crate) fn log_ehvi(
    boxes: &Boxes,
    mu: &[f64],
    sd: &[f64],
    grad: Option<(&mut [f64], &mut [f64])>,
) -> f64 {
    let m = boxes.m;
    // Per objective, per distinct bound: scaled h, and scaled Φ, φ for the gradient.
    let mut lh: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut e: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut c = vec![0.0; m];
    for j in 0..m {
        let l: Vec<f64> = boxes.bounds[j]
            .iter()
            .map(|&b| {
                if b == f64::NEG_INFINITY {
                    b
                } else {
                    log_h((b - mu[j]) / sd[j])
                }
            })
            .collect();
        c[j] = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        e.push(l.iter().map(|&v| (v - c[j]).exp()).collect());
        lh.push(l);
    }
    let nb = boxes.len();
    let mut s = 0.0;
    for k in 0..nb {
        let mut p = 1.0;
        for j in 0..m {
            p *= e[j][boxes.hi[k * m + j] as usize] - e[j][boxes.lo[k * m + j] as usize];
        }
        s += p;
    }
    let base: f64 = (0..m).map(|j| sd[j].ln() + c[j]).sum();
    let fast = s > 1e-250 && s.is_finite();
    if fast {
        if let Some((dmu, dsd)) = grad {
            let mut gphi_cdf: Vec<Vec<f64>> = Vec::with_capacity(m);
            let mut gphi_pdf: Vec<Vec<f64>> = Vec::with_capacity(m);
            for j in 0..m {
                let shift = c[j] + sd[j].ln();
                gphi_cdf.push(
                    boxes.bounds[j]
                        .iter()
                        .map(|&b| {
                            if b == f64::NEG_INFINITY {
                                0.0
                            } else {
                                (log_cdf((b - mu[j]) / sd[j]) - shift).exp()
                            }
                        })
                        .collect(),
                );
                gphi_pdf.push(
                    boxes.bounds[j]
                        .iter()
                        .map(|&b| {
                            if b == f64::NEG_INFINITY {
                                0.0
                            } else {
                                (log_pdf((b - mu[j]) / sd[j]) - shift).exp()
                            }
                        })
                        .collect(),
                );
            }
            dmu.iter_mut().for_each(|v| *v = 0.0);
            dsd.iter_mut().for_each(|v| *v = 0.0);
            let mut t = [0.0f64; 3];
            for k in 0..nb {
                for j in 0..m {
                    t[j] = e[j][boxes.hi[k * m + j] as usize] - e[j][boxes.lo[k * m + j] as usize];
                }
                for j in 0..m {
                    let (hi, lo) = (boxes.hi[k * m + j] as usize, boxes.lo[k * m + j] as usize);
                    let others: f64 = (0..m).filter(|&i| i != j).map(|i| t[i]).product();
                    dmu[j] -= others * (gphi_cdf[j][hi] - gphi_cdf[j][lo]);
                    dsd[j] += others * (gphi_pdf[j][hi] - gphi_pdf[j][lo]);
                }
            }
            for j in 0..m {
                dmu[j] /= s;
                dsd[j] /= s;
            }
        }
        return base + s.ln();
    }

    // Slow path: per-box log products, log-sum-exp.
    let mut w = vec![0.0; nb];
    let mut ld = vec![0.0; nb * m]; // ln(h_u − h_l) per box and objective
    for k in 0..nb {
        let mut acc = 0.0;
        for j in 0..m {
            let (hi, lo) = (boxes.hi[k * m + j] as usize, boxes.lo[k * m + j] as usize);
            let (a, b) = (lh[j][hi], lh[j][lo]);
            let v = if b == f64::NEG_INFINITY {
                a
            } else {
                a + log1mexp((b - a).min(0.0))
            };
            ld[k * m + j] = v;
            acc += v;
        }
        w[k] = acc;
    }
    let wmax = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if wmax == f64::NEG_INFINITY {
        if let Some((dmu, dsd)) = grad {
            dmu.iter_mut().for_each(|v| *v = 0.0);
            dsd.iter_mut().for_each(|v| *v = 0.0);
        }
        return f64::NEG_INFINITY;
    }
    let sum: f64 = w.iter().map(|v| (v - wmax).exp()).sum();
    let log_s = wmax + sum.ln();
    if let Some((dmu, dsd)) = grad {
        dmu.iter_mut().for_each(|v| *v = 0.0);
        dsd.iter_mut().for_each(|v| *v = 0.0);
        for k in 0..nb {
            let p = (w[k] - log_s).exp();
            if p == 0.0 {
                continue;
            }
            for j in 0..m {
                let (hi, lo) = (boxes.hi[k * m + j] as usize, boxes.lo[k * m + j] as usize);
                let l = ld[k * m + j];
                let at = |idx: usize, f: fn(f64) -> f64| {
                    let b = boxes.bounds[j][idx];
                    if b == f64::NEG_INFINITY {
                        0.0
                    } else {
                        (f((b - mu[j]) / sd[j]) - l).exp()
                    }
                };
                dmu[j] -= p * (at(hi, log_cdf) - at(lo, log_cdf)) / sd[j];
                dsd[j] += p * (at(hi, log_pdf) - at(lo, log_pdf)) / sd[j];
            }
        }
    }
    (0..m).map(|j| sd[j].ln()).sum::<f64>() + log_s
}

/// A feasibility bound on one model's output (standardised units).
#[derive(Clone, Debug)]
pub(crate) struct Feasibility {
    /// Index of the model.
    pub(crate) model: usize,
    /// Lower bound.
    pub(crate) lo: Option<f64>,
    /// Upper bound.
    pub(crate) hi: Option<f64>,
}

/// The acquisition of one proposal: `ln EHVI` of some models over boxes
/// (omitted while nothing feasible is known) plus the log feasibility
/// probabilities.
pub(crate) struct Acquisition {
    /// The models (standardised outputs).
    pub(crate) models: Vec<Gp>,
    /// Which models are the objectives of the EHVI, and its boxes.
    pub(crate) ehvi: Option<(Vec<usize>, Boxes)>,
    /// Feasibility terms.
    pub(crate) feasibility: Vec<Feasibility>,
}

impl Acquisition {
    fn combine(&self, mean: &[f64], sd: &[f64], grad: Option<(&mut [f64], &mut [f64])>) -> f64 {
        let mut total = 0.0;
        let mut grad = grad;
        if let Some(g) = grad.as_mut() {
            g.0.iter_mut().for_each(|v| *v = 0.0);
            g.1.iter_mut().for_each(|v| *v = 0.0);
        }
        if let Some((idx, boxes)) = &self.ehvi {
            let mu: Vec<f64> = idx.iter().map(|&i| mean[i]).collect();
            let s: Vec<f64> = idx.iter().map(|&i| sd[i]).collect();
            match grad.as_mut() {
                Some((dmu, dsd)) => {
                    let mut gm = vec![0.0; idx.len()];
                    let mut gs = vec![0.0; idx.len()];
                    total += log_ehvi(boxes, &mu, &s, Some((&mut gm, &mut gs)));
                    for (k, &i) in idx.iter().enumerate() {
                        dmu[i] += gm[k];
                        dsd[i] += gs[k];
                    }
                }
                None => total += log_ehvi(boxes, &mu, &s, None),
            }
        }
        for f in &self.feasibility {
            let (v, gm, gs) = log_prob_between(f.lo, f.hi, mean[f.model], sd[f.model]);
            total += v;
            if let Some((dmu, dsd)) = grad.as_mut() {
                dmu[f.model] += gm;
                dsd[f.model] += gs;
            }
        }
        total
    }

    /// Values at the rows of `zs` (`d` columns).
    pub(crate) fn values(&self, zs: &[f64], d: usize) -> Vec<f64> {
        let b = zs.len() / d.max(1);
        let post: Vec<(Vec<f64>, Vec<f64>)> =
            self.models.iter().map(|g| g.posterior_batch(zs)).collect();
        (0..b)
            .map(|c| {
                let mean: Vec<f64> = post.iter().map(|p| p.0[c]).collect();
                let sd: Vec<f64> = post.iter().map(|p| p.1[c].sqrt().max(MIN_SD)).collect();
                self.combine(&mean, &sd, None)
            })
            .collect()
    }

    /// Value at `z` and its gradient (zero on categorical coordinates).
    pub(crate) fn value_grad(&self, z: &[f64], grad: &mut [f64]) -> f64 {
        let d = z.len();
        let k = self.models.len();
        let mut mean = vec![0.0; k];
        let mut sd = vec![0.0; k];
        let mut dmean = vec![vec![0.0; d]; k];
        let mut dvar = vec![vec![0.0; d]; k];
        for (i, g) in self.models.iter().enumerate() {
            let (m, v) = g.posterior_grad(z, &mut dmean[i], &mut dvar[i]);
            mean[i] = m;
            let s = v.sqrt();
            if s < MIN_SD {
                sd[i] = MIN_SD;
                dvar[i].iter_mut().for_each(|x| *x = 0.0);
            } else {
                sd[i] = s;
            }
        }
        let mut gm = vec![0.0; k];
        let mut gs = vec![0.0; k];
        let v = self.combine(&mean, &sd, Some((&mut gm, &mut gs)));
        grad.iter_mut().for_each(|x| *x = 0.0);
        for i in 0..k {
            for c in 0..d {
                // dσ = dvar / (2σ)
                grad[c] += gm[i] * dmean[i][c] + gs[i] * dvar[i][c] / (2.0 * sd[i]);
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use rand::SeedableRng;
    use rand_distr::{Distribution as _, StandardNormal};

    fn front(m: usize) -> Vec<Vec<f64>> {
        match m {
            2 => vec![
                vec![0.1, 0.9],
                vec![0.3, 0.5],
                vec![0.6, 0.3],
                vec![0.8, 0.05],
            ],
            _ => vec![
                vec![0.1, 0.5, 0.7],
                vec![0.4, 0.2, 0.6],
                vec![0.6, 0.6, 0.1],
                vec![0.3, 0.3, 0.3],
                vec![0.8, 0.1, 0.4],
            ],
        }
    }

    /// Monte-Carlo EHVI with its standard error.
    fn mc_ehvi(boxes: &Boxes, mu: &[f64], sd: &[f64], n: usize) -> (f64, f64) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let (mut s, mut s2) = (0.0, 0.0);
        for _ in 0..n {
            let y: Vec<f64> = mu
                .iter()
                .zip(sd)
                .map(|(m, s)| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    m + s * z
                })
                .collect();
            let v = boxes.improvement(&y);
            s += v;
            s2 += v * v;
        }
        let mean = s / n as f64;
        (mean, ((s2 / n as f64 - mean * mean) / n as f64).sqrt())
    }

    #[test]
    fn ehvi_matches_monte_carlo_in_2d_and_3d() {
        for m in [2, 3] {
            let boxes = Boxes::new(&front(m), &vec![1.0; m]);
            for (mu, sd) in [
                (vec![0.4; m], vec![0.2; m]),
                (
                    vec![0.2, 0.7, 0.1][..m].to_vec(),
                    vec![0.1, 0.3, 0.05][..m].to_vec(),
                ),
                (vec![0.8; m], vec![0.25; m]),
            ] {
                let exact = log_ehvi(&boxes, &mu, &sd, None).exp();
                let (mc, se) = mc_ehvi(&boxes, &mu, &sd, 200_000);
                assert!(
                    (exact - mc).abs() < 4.0 * se + 1e-9,
                    "m={m} exact {exact} mc {mc} ± {se}"
                );
            }
        }
    }

    #[test]
    fn ehvi_of_one_objective_is_expected_improvement() {
        let boxes = Boxes::new(&[vec![0.3], vec![0.5]], &[2.0]);
        let (mu, sd) = (0.6, 0.4);
        let z = (0.3 - mu) / sd;
        let ei = sd * super::super::normal::h(z);
        assert_relative_eq!(
            log_ehvi(&boxes, &[mu], &[sd], None),
            ei.ln(),
            max_relative = 1e-12
        );
    }

    #[test]
    fn log_ehvi_stays_finite_and_ordered_far_in_the_tail() {
        let boxes = Boxes::new(&front(2), &[1.0, 1.0]);
        let a = log_ehvi(&boxes, &[3.0, 3.0], &[0.01, 0.01], None);
        let b = log_ehvi(&boxes, &[4.0, 4.0], &[0.01, 0.01], None);
        assert!(a.is_finite() && b.is_finite(), "{a} {b}");
        assert!(a > b);
    }

    #[test]
    fn log_ehvi_gradients_match_finite_differences() {
        for m in [2, 3] {
            let boxes = Boxes::new(&front(m), &vec![1.0; m]);
            // Ordinary point, and a point deep in the tail (slow path).
            for (mu, sd) in [
                (
                    vec![0.35, 0.45, 0.2][..m].to_vec(),
                    vec![0.15, 0.2, 0.1][..m].to_vec(),
                ),
                (vec![2.5; m], vec![0.02; m]),
            ] {
                let mut gm = vec![0.0; m];
                let mut gs = vec![0.0; m];
                log_ehvi(&boxes, &mu, &sd, Some((&mut gm, &mut gs)));
                for j in 0..m {
                    let h = 1e-6 * sd[j];
                    let f = |dm: f64, ds: f64| {
                        let mut a = mu.clone();
                        a[j] += dm;
                        let mut b = sd.clone();
                        b[j] += ds;
                        log_ehvi(&boxes, &a, &b, None)
                    };
                    let nm = (f(h, 0.0) - f(-h, 0.0)) / (2.0 * h);
                    let ns = (f(0.0, h) - f(0.0, -h)) / (2.0 * h);
                    assert_relative_eq!(gm[j], nm, max_relative = 1e-4, epsilon = 1e-6);
                    assert_relative_eq!(gs[j], ns, max_relative = 1e-4, epsilon = 1e-6);
                }
            }
        }
    }

    #[test]
    fn feasibility_probability_and_gradients() {
        use super::super::normal::cdf;
        for (lo, hi) in [
            (None, Some(0.5)),
            (Some(-0.2), None),
            (Some(-0.2), Some(0.5)),
            (Some(2.0), Some(3.0)),
        ] {
            let (mu, sd) = (0.1, 0.7);
            let p = hi.map_or(1.0, |h| cdf((h - mu) / sd)) - lo.map_or(0.0, |l| cdf((l - mu) / sd));
            let (v, gm, gs) = log_prob_between(lo, hi, mu, sd);
            assert_relative_eq!(v, p.ln(), max_relative = 1e-10);
            let h = 1e-6;
            let nm = (log_prob_between(lo, hi, mu + h, sd).0
                - log_prob_between(lo, hi, mu - h, sd).0)
                / (2.0 * h);
            let ns = (log_prob_between(lo, hi, mu, sd + h).0
                - log_prob_between(lo, hi, mu, sd - h).0)
                / (2.0 * h);
            assert_relative_eq!(gm, nm, max_relative = 1e-5, epsilon = 1e-8);
            assert_relative_eq!(gs, ns, max_relative = 1e-5, epsilon = 1e-8);
        }
    }
}
