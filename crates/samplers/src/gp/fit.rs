//! Fitting the Gaussian process's hyperparameters: the log marginal
//! likelihood with its analytic gradient, minimised with L-BFGS (argmin).
//!
//! Parameters are fitted in log space, `raw = [ln θ₁ … ln θ_d, ln s,
//! ln(σ² − σ²_min)]`, `σ²_min = 10⁻⁶`, minimising `−(log marginal likelihood +
//! log prior)`. The priors are Optuna's (up to constants) but for the
//! long-lengthscale side: `−(a/θᵢ + 0.1 θᵢ)` per coordinate with `a = 10⁻⁴`
//! ([`LONG_LENGTHSCALE_PRIOR`]; Optuna's `0.1` keeps irrelevant
//! coordinates relevant), Gamma(2, 1) on `s`, Gamma(1.1, 30) on `σ²`. The gradient is analytic:
//! `∂ log p(y)/∂r = ½ tr((ααᵀ − C⁻¹) ∂C/∂r)` with `α = C⁻¹y`.

use std::cell::RefCell;

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, Side};

use super::model::{
    backward, forward, matern52, sq_dist, Kernel, LONG_LENGTHSCALE_PRIOR, MIN_NOISE,
};
use super::normal::HALF_LN_2PI;

/// What the fit needs of the data: standardised outputs and the
/// per-coordinate squared distances of every pair of inputs.
pub(crate) struct FitData {
    n: usize,
    d: usize,
    /// Pair `p` of `(i, j)`, `i > j`, enumerated row by row; `d` values each.
    pair_d2: Vec<f64>,
    y: Vec<f64>,
    deterministic: bool,
}

impl FitData {
    /// Prepare `(x, y)` (`x` row-major with `d` columns).
    pub(crate) fn new(
        x: &[f64],
        d: usize,
        is_cat: &[bool],
        y: &[f64],
        deterministic: bool,
    ) -> FitData {
        let n = y.len();
        let mut pair_d2 = Vec::with_capacity(n * n.saturating_sub(1) / 2 * d);
        for i in 1..n {
            for j in 0..i {
                for c in 0..d {
                    pair_d2.push(sq_dist(x[i * d + c], x[j * d + c], is_cat[c]));
                }
            }
        }
        FitData {
            n,
            d,
            pair_d2,
            y: y.to_vec(),
            deterministic,
        }
    }

    /// `−(log marginal likelihood + log prior)` at `raw`, and its gradient;
    /// `None` when the covariance is not numerically positive definite.
    pub(crate) fn loss(&self, raw: &[f64]) -> Option<(f64, Vec<f64>)> {
        let (n, d) = (self.n, self.d);
        let k = Kernel::from_raw(raw, self.deterministic);
        let mut c = Mat::<f64>::zeros(n, n);
        let mut r2s = Vec::with_capacity(self.pair_d2.len() / d.max(1));
        let mut p = 0;
        for i in 1..n {
            for j in 0..i {
                let dd = &self.pair_d2[p * d..(p + 1) * d];
                let r2: f64 = dd.iter().zip(&k.inv_sq_ls).map(|(a, t)| a * t).sum();
                r2s.push(r2);
                c[(i, j)] = k.scale * matern52(r2).0;
                p += 1;
            }
        }
        for i in 0..n {
            c[(i, i)] = k.scale + k.noise;
        }
        let llt = c.llt(Side::Lower).ok()?;
        let l = llt.L().to_owned();
        let mut alpha = self.y.clone();
        forward(&l, &mut alpha);
        let quad: f64 = alpha.iter().map(|v| v * v).sum();
        backward(&l, &mut alpha);
        let logdet: f64 = (0..n).map(|i| l[(i, i)].ln()).sum::<f64>() * 2.0;
        let lml = -0.5 * quad - 0.5 * logdet - n as f64 * HALF_LN_2PI;
        let cinv = llt.inverse();

        // Gradient of the log marginal likelihood, W = ααᵀ − C⁻¹.
        let mut grad = vec![0.0; d + 2];
        let mut g_scale = 0.0;
        let mut p = 0;
        for i in 1..n {
            for j in 0..i {
                let w = alpha[i] * alpha[j] - cinv[(i, j)];
                let (m, dm) = matern52(r2s[p]);
                // Off-diagonal pairs count twice in the trace; ½ · 2 = 1.
                let g = w * k.scale * dm;
                let dd = &self.pair_d2[p * d..(p + 1) * d];
                for (gc, a) in grad[..d].iter_mut().zip(dd) {
                    *gc += g * a;
                }
                g_scale += w * k.scale * m;
                p += 1;
            }
        }
        let mut trace_w = 0.0;
        for i in 0..n {
            trace_w += alpha[i] * alpha[i] - cinv[(i, i)];
        }
        for (gc, t) in grad[..d].iter_mut().zip(&k.inv_sq_ls) {
            *gc *= t;
        }
        grad[d] = g_scale + 0.5 * trace_w * k.scale;
        grad[d + 1] = if self.deterministic {
            0.0
        } else {
            0.5 * trace_w * (k.noise - MIN_NOISE)
        };

        // Log prior and its gradient.
        let mut prior = 0.0;
        for (gc, &t) in grad[..d].iter_mut().zip(&k.inv_sq_ls) {
            prior -= LONG_LENGTHSCALE_PRIOR / t + 0.1 * t;
            *gc += LONG_LENGTHSCALE_PRIOR / t - 0.1 * t;
        }
        prior += k.scale.ln() - k.scale;
        grad[d] += 1.0 - k.scale;
        prior += 0.1 * k.noise.ln() - 30.0 * k.noise;
        if !self.deterministic {
            grad[d + 1] += (0.1 / k.noise - 30.0) * (k.noise - MIN_NOISE);
        }

        let loss = -(lml + prior);
        if !loss.is_finite() {
            return None;
        }
        Some((loss, grad.into_iter().map(|g| -g).collect()))
    }
}

/// The fit as an argmin problem; remembers the last evaluation (argmin asks
/// for cost and gradient separately at the same point) and the best point
/// seen (the answer if the solver stops on an error).
/// A point with its loss and gradient.
type Evaluation = (Vec<f64>, f64, Vec<f64>);

struct Problem<'a> {
    data: &'a FitData,
    last: RefCell<Option<Evaluation>>,
    best: RefCell<Option<(f64, Vec<f64>)>>,
}

impl Problem<'_> {
    fn eval(&self, p: &[f64]) -> Result<(f64, Vec<f64>), argmin::core::Error> {
        if let Some((q, c, g)) = &*self.last.borrow() {
            if q.as_slice() == p {
                return Ok((*c, g.clone()));
            }
        }
        let (c, g) = self
            .data
            .loss(p)
            .ok_or_else(|| argmin::core::Error::msg("covariance not positive definite"))?;
        *self.last.borrow_mut() = Some((p.to_vec(), c, g.clone()));
        let mut best = self.best.borrow_mut();
        if best.as_ref().is_none_or(|(b, _)| c < *b) {
            *best = Some((c, p.to_vec()));
        }
        Ok((c, g))
    }
}

impl CostFunction for &Problem<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        Ok(self.eval(p)?.0)
    }
}

impl Gradient for &Problem<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, p: &Vec<f64>) -> Result<Vec<f64>, argmin::core::Error> {
        Ok(self.eval(p)?.1)
    }
}

/// Fit the hyperparameters starting from `init` (fitting coordinates);
/// returns the best point found, or `None` if no evaluation succeeded.
pub(crate) fn fit(data: &FitData, init: &[f64], max_iters: u64) -> Option<Vec<f64>> {
    let problem = Problem {
        data,
        last: RefCell::new(None),
        best: RefCell::new(None),
    };
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
        .with_tolerance_grad(1e-2)
        .ok()?
        .with_tolerance_cost(1e-9)
        .ok()?;
    let best_from_state = {
        let run = Executor::new(&problem, solver)
            .configure(|s| s.param(init.to_vec()).max_iters(max_iters))
            .run();
        match run {
            Ok(res) => {
                let st = res.state();
                st.get_best_param().map(|p| (st.get_best_cost(), p.clone()))
            }
            Err(_) => None,
        }
    };
    let seen = problem.best.borrow().clone();
    match (best_from_state, seen) {
        (Some((a, p)), Some((b, q))) => Some(if a <= b { p } else { q }),
        (Some((_, p)), None) => Some(p),
        (None, Some((_, q))) => Some(q),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gp::model::tests::data;
    use approx::assert_relative_eq;

    #[test]
    fn loss_gradient_matches_finite_differences() {
        let (d, n) = (3, 12);
        let (x, y) = data(n, d, 3);
        let is_cat = [false, true, false];
        let x: Vec<f64> = x
            .chunks(d)
            .flat_map(|r| [r[0], (r[1] * 2.0).floor(), r[2]])
            .collect();
        for deterministic in [false, true] {
            let fd = FitData::new(&x, d, &is_cat, &y, deterministic);
            let raw = vec![0.3, -0.5, 1.1, 0.2, -3.0];
            let (_, g) = fd.loss(&raw).unwrap();
            for i in 0..raw.len() {
                let h = 1e-5;
                let mut rp = raw.clone();
                rp[i] += h;
                let mut rm = raw.clone();
                rm[i] -= h;
                let num = (fd.loss(&rp).unwrap().0 - fd.loss(&rm).unwrap().0) / (2.0 * h);
                assert_relative_eq!(g[i], num, max_relative = 1e-5, epsilon = 1e-6);
            }
        }
    }

    #[test]
    fn a_coordinate_the_output_ignores_gets_a_long_lengthscale() {
        // y = sin(6 x0) exactly; x1 and x2 are irrelevant. Optuna's prior
        // weight 0.1 holds their lengthscales below 10 (8.2 here); ours does not.
        let (d, n) = (3, 40);
        let (x, _) = data(n, d, 6);
        let y: Vec<f64> = (0..n).map(|i| (6.0 * x[i * d]).sin()).collect();
        let mean = y.iter().sum::<f64>() / n as f64;
        let sd = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        let y: Vec<f64> = y.iter().map(|v| (v - mean) / sd).collect();
        let fd = FitData::new(&x, d, &[false; 3], &y, false);
        let raw = fit(&fd, &Kernel::initial(d).to_raw(), 200).unwrap();
        let k = Kernel::from_raw(&raw, false);
        for &t in &k.inv_sq_ls[1..] {
            assert!(
                1.0 / t.sqrt() > 10.0,
                "lengthscale {} ({k:?})",
                1.0 / t.sqrt()
            );
        }
        assert!(1.0 / k.inv_sq_ls[0].sqrt() < 1.0, "{k:?}");
    }

    #[test]
    fn fit_improves_the_loss_and_finds_the_relevant_coordinates() {
        let (d, n) = (3, 40);
        let (x, y) = data(n, d, 4);
        let mean = y.iter().sum::<f64>() / n as f64;
        let sd = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        let y: Vec<f64> = y.iter().map(|v| (v - mean) / sd).collect();
        let fd = FitData::new(&x, d, &[false; 3], &y, false);
        let init = Kernel::initial(d).to_raw();
        let raw = fit(&fd, &init, 200).unwrap();
        assert!(fd.loss(&raw).unwrap().0 < fd.loss(&init).unwrap().0 - 1.0);
        let k = Kernel::from_raw(&raw, false);
        // y depends on x0 (fast) and x1, not x2.
        assert!(k.inv_sq_ls[0] > k.inv_sq_ls[2], "{k:?}");
        assert!(k.inv_sq_ls[1] > k.inv_sq_ls[2], "{k:?}");
    }
}
