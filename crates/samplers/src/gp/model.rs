//! The Gaussian process: Matérn-5/2 kernel with ARD lengthscales and a
//! Hamming term for categorical coordinates, exact posterior through a
//! Cholesky factor (faer), and hyperparameters fitted by maximising the log
//! marginal likelihood plus log priors with L-BFGS (argmin).
//!
//! ## Kernel
//!
//! `k(x, y) = s · M(r²)`, `r² = Σᵢ θᵢ dᵢ(x, y)²`, `M(t) = (1 + √(5t) + 5t/3)
//! e^{−√(5t)}`, where `dᵢ = xᵢ − yᵢ` for numeric coordinates and `dᵢ² = 1[xᵢ ≠
//! yᵢ]` for categorical ones, `θᵢ` the inverse squared lengthscales and `s`
//! the signal variance. Observations carry Gaussian noise of variance `σ²`.
//! The posterior variance reported is that of the latent function (noise
//! excluded), as in Optuna.
//!
//! The hyperparameter fit is in [`super::fit`].

use faer::{Mat, Par, Side};

/// Smallest observation-noise variance (on standardised outputs).
pub(crate) const MIN_NOISE: f64 = 1e-6;

/// Weight `a` of the prior term `−a/θᵢ` that keeps lengthscales from
/// growing without bound. Optuna uses `0.1`, which holds every lengthscale
/// below about 3 (`θᵢ ≳ 0.1`, in unit coordinates): a coordinate an
/// objective does not depend on then still carries posterior variance far
/// from the data, and on ZDT1 that variance in `f1 = x0` (at `x0 = 0`, in
/// corners of the other nine coordinates) was what EHVI kept buying. With
/// `10⁻⁴` such coordinates reach lengthscales of 30–100; the fit is started
/// twice (see `fit_models`) so that an early fit that switched a coordinate
/// off does not stick.
pub(crate) const LONG_LENGTHSCALE_PRIOR: f64 = 1e-4;

/// Matérn-5/2 correlation of a squared scaled distance `t`, and its
/// derivative with respect to `t`.
pub(crate) fn matern52(t: f64) -> (f64, f64) {
    let r = (5.0 * t).sqrt();
    let e = (-r).exp();
    ((1.0 + r + 5.0 / 3.0 * t) * e, -5.0 / 6.0 * (1.0 + r) * e)
}

/// Kernel hyperparameters.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Kernel {
    /// Inverse squared lengthscales, one per coordinate.
    pub(crate) inv_sq_ls: Vec<f64>,
    /// Signal variance.
    pub(crate) scale: f64,
    /// Observation-noise variance.
    pub(crate) noise: f64,
}

impl Kernel {
    /// Optuna's starting point: every parameter 1.
    pub(crate) fn initial(d: usize) -> Kernel {
        Kernel {
            inv_sq_ls: vec![1.0; d],
            scale: 1.0,
            noise: 1.0,
        }
    }

    /// From fitting coordinates (`deterministic` pins the noise at its
    /// minimum).
    pub(crate) fn from_raw(raw: &[f64], deterministic: bool) -> Kernel {
        let d = raw.len() - 2;
        Kernel {
            inv_sq_ls: raw[..d].iter().map(|r| r.exp()).collect(),
            scale: raw[d].exp(),
            noise: if deterministic {
                MIN_NOISE
            } else {
                MIN_NOISE + raw[d + 1].exp()
            },
        }
    }

    /// To fitting coordinates.
    pub(crate) fn to_raw(&self) -> Vec<f64> {
        let mut raw: Vec<f64> = self.inv_sq_ls.iter().map(|t| t.ln()).collect();
        raw.push(self.scale.ln());
        // Keep the noise a little above its floor so its logarithm is finite.
        raw.push((self.noise - 0.99 * MIN_NOISE).max(0.01 * MIN_NOISE).ln());
        raw
    }

    /// `r²` between two points.
    fn r2(&self, a: &[f64], b: &[f64], is_cat: &[bool]) -> f64 {
        let mut s = 0.0;
        for i in 0..a.len() {
            s += self.inv_sq_ls[i] * sq_dist(a[i], b[i], is_cat[i]);
        }
        s
    }
}

/// Per-coordinate squared distance (Hamming for categoricals).
#[inline]
pub(super) fn sq_dist(a: f64, b: f64, categorical: bool) -> f64 {
    if categorical {
        if a == b {
            0.0
        } else {
            1.0
        }
    } else {
        (a - b) * (a - b)
    }
}

/// A fitted GP: training inputs, kernel and the Cholesky factor of
/// `K + σ² I`.
#[derive(Clone, Debug)]
pub(crate) struct Gp {
    d: usize,
    x: Vec<f64>,
    is_cat: Vec<bool>,
    kernel: Kernel,
    l: Mat<f64>,
    alpha: Vec<f64>,
}

impl Gp {
    /// Condition on `(x, y)` (`x` row-major, `d` columns). Adds diagonal
    /// jitter when the factorisation fails; `None` if it still fails.
    pub(crate) fn new(
        x: Vec<f64>,
        d: usize,
        is_cat: &[bool],
        y: &[f64],
        kernel: Kernel,
    ) -> Option<Gp> {
        let n = y.len();
        assert_eq!(x.len(), n * d);
        let mut c = Mat::<f64>::zeros(n, n);
        for j in 0..n {
            for i in j..n {
                let v = kernel.scale
                    * matern52(kernel.r2(&x[i * d..(i + 1) * d], &x[j * d..(j + 1) * d], is_cat)).0;
                c[(i, j)] = v;
            }
        }
        let mut jitter = 0.0;
        let l = loop {
            let mut cj = c.clone();
            for i in 0..n {
                cj[(i, i)] += kernel.noise + jitter;
            }
            match cj.llt(Side::Lower) {
                Ok(llt) => break llt.L().to_owned(),
                Err(_) if jitter < 1e-2 * kernel.scale => {
                    jitter = if jitter == 0.0 {
                        1e-9 * kernel.scale
                    } else {
                        jitter * 10.0
                    };
                }
                Err(_) => return None,
            }
        };
        let mut alpha = y.to_vec();
        forward(&l, &mut alpha);
        backward(&l, &mut alpha);
        Some(Gp {
            d,
            x,
            is_cat: is_cat.to_vec(),
            kernel,
            l,
            alpha,
        })
    }

    /// The kernel.
    pub(crate) fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// Number of training points.
    pub(crate) fn len(&self) -> usize {
        self.alpha.len()
    }

    fn row(&self, j: usize) -> &[f64] {
        &self.x[j * self.d..(j + 1) * self.d]
    }

    /// Posterior mean and latent variance at `z`.
    #[cfg(test)]
    pub(crate) fn posterior(&self, z: &[f64]) -> (f64, f64) {
        let n = self.len();
        let mut k = vec![0.0; n];
        let mut mean = 0.0;
        for (j, kj) in k.iter_mut().enumerate() {
            *kj = self.kernel.scale * matern52(self.kernel.r2(z, self.row(j), &self.is_cat)).0;
            mean += *kj * self.alpha[j];
        }
        forward(&self.l, &mut k);
        let var = self.kernel.scale - k.iter().map(|v| v * v).sum::<f64>();
        (mean, var.max(0.0))
    }

    /// Posterior mean and latent variance at `z`, with their gradients
    /// with respect to `z` written to `dmean` and `dvar` (zero for
    /// categorical coordinates).
    pub(crate) fn posterior_grad(
        &self,
        z: &[f64],
        dmean: &mut [f64],
        dvar: &mut [f64],
    ) -> (f64, f64) {
        let n = self.len();
        let d = self.d;
        let mut k = vec![0.0; n];
        let mut dk_dr2 = vec![0.0; n];
        let mut mean = 0.0;
        for j in 0..n {
            let (m, dm) = matern52(self.kernel.r2(z, self.row(j), &self.is_cat));
            k[j] = self.kernel.scale * m;
            dk_dr2[j] = self.kernel.scale * dm;
            mean += k[j] * self.alpha[j];
        }
        let mut w = k.clone();
        forward(&self.l, &mut w);
        let var = self.kernel.scale - w.iter().map(|v| v * v).sum::<f64>();
        backward(&self.l, &mut w); // w = C⁻¹ k
        dmean.iter_mut().for_each(|g| *g = 0.0);
        dvar.iter_mut().for_each(|g| *g = 0.0);
        for j in 0..n {
            let xj = self.row(j);
            let a = dk_dr2[j] * self.alpha[j];
            let b = -2.0 * dk_dr2[j] * w[j];
            for i in 0..d {
                if self.is_cat[i] {
                    continue;
                }
                // ∂r²/∂zᵢ = 2 θᵢ (zᵢ − xⱼᵢ)
                let dr2 = 2.0 * self.kernel.inv_sq_ls[i] * (z[i] - xj[i]);
                dmean[i] += a * dr2;
                dvar[i] += b * dr2;
            }
        }
        (mean, var.max(0.0))
    }

    /// Posterior means and latent variances at the rows of `zs`.
    pub(crate) fn posterior_batch(&self, zs: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let n = self.len();
        let b = zs.len() / self.d;
        let mut kc = Mat::<f64>::zeros(n, b);
        let mut mean = vec![0.0; b];
        for (c, m) in mean.iter_mut().enumerate() {
            let z = &zs[c * self.d..(c + 1) * self.d];
            let col = kc.col_as_slice_mut(c);
            for (j, v) in col.iter_mut().enumerate() {
                *v = self.kernel.scale * matern52(self.kernel.r2(z, self.row(j), &self.is_cat)).0;
                *m += *v * self.alpha[j];
            }
        }
        faer::linalg::triangular_solve::solve_lower_triangular_in_place(
            self.l.as_ref(),
            kc.as_mut(),
            Par::Seq,
        );
        let var = (0..b)
            .map(|c| {
                (self.kernel.scale - kc.col_as_slice(c).iter().map(|v| v * v).sum::<f64>()).max(0.0)
            })
            .collect();
        (mean, var)
    }
}

/// Solve `L v = b` in place (`L` lower triangular, column-oriented).
pub(super) fn forward(l: &Mat<f64>, b: &mut [f64]) {
    let n = b.len();
    for j in 0..n {
        let col = l.col_as_slice(j);
        let v = b[j] / col[j];
        b[j] = v;
        for i in j + 1..n {
            b[i] -= col[i] * v;
        }
    }
}

/// Solve `Lᵀ v = b` in place.
pub(super) fn backward(l: &Mat<f64>, b: &mut [f64]) {
    let n = b.len();
    for i in (0..n).rev() {
        let col = l.col_as_slice(i);
        let mut s = b[i];
        for j in i + 1..n {
            s -= col[j] * b[j];
        }
        b[i] = s / col[i];
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use rand::{Rng, SeedableRng};

    pub(crate) fn data(n: usize, d: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let x: Vec<f64> = (0..n * d).map(|_| rng.random::<f64>()).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| {
                (6.0 * x[i * d]).sin() + x[i * d + 1] * x[i * d + 1] + 0.01 * rng.random::<f64>()
            })
            .collect();
        (x, y)
    }

    /// Dense Gaussian elimination with partial pivoting: `A⁻¹ b`.
    fn dense_solve(a: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
        let n = b.len();
        let mut m: Vec<Vec<f64>> = a
            .iter()
            .zip(b)
            .map(|(r, &v)| {
                let mut r = r.clone();
                r.push(v);
                r
            })
            .collect();
        for c in 0..n {
            let p = (c..n)
                .max_by(|&i, &j| m[i][c].abs().total_cmp(&m[j][c].abs()))
                .unwrap();
            m.swap(c, p);
            let pivot = m[c].clone();
            for (r, row) in m.iter_mut().enumerate() {
                if r != c {
                    let f = row[c] / pivot[c];
                    for (a, b) in row[c..].iter_mut().zip(&pivot[c..]) {
                        *a -= f * b;
                    }
                }
            }
        }
        (0..n).map(|r| m[r][n] / m[r][r]).collect()
    }

    #[test]
    fn posterior_matches_a_dense_solve() {
        let (d, n) = (3, 7);
        let (x, y) = data(n, d, 1);
        let is_cat = vec![false, false, true];
        let x: Vec<f64> = x
            .chunks(d)
            .flat_map(|r| [r[0], r[1], (r[2] * 3.0).floor()])
            .collect();
        let kern = Kernel {
            inv_sq_ls: vec![2.0, 0.5, 1.5],
            scale: 1.3,
            noise: 0.01,
        };
        let gp = Gp::new(x.clone(), d, &is_cat, &y, kern.clone()).unwrap();
        let kf = |a: &[f64], b: &[f64]| kern.scale * matern52(kern.r2(a, b, &is_cat)).0;
        let c: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| {
                        kf(&x[i * d..i * d + d], &x[j * d..j * d + d])
                            + if i == j { kern.noise } else { 0.0 }
                    })
                    .collect()
            })
            .collect();
        let alpha = dense_solve(&c, &y);
        for z in [[0.2, 0.7, 1.0], [0.9, 0.1, 0.0], [0.5, 0.5, 2.0]] {
            let k: Vec<f64> = (0..n).map(|j| kf(&z, &x[j * d..j * d + d])).collect();
            let mean: f64 = k.iter().zip(&alpha).map(|(a, b)| a * b).sum();
            let ck = dense_solve(&c, &k);
            let var = kern.scale - k.iter().zip(&ck).map(|(a, b)| a * b).sum::<f64>();
            let (m, v) = gp.posterior(&z);
            assert_relative_eq!(m, mean, max_relative = 1e-9, epsilon = 1e-12);
            assert_relative_eq!(v, var, max_relative = 1e-7, epsilon = 1e-12);
            let (mb, vb) = gp.posterior_batch(&z);
            assert_relative_eq!(mb[0], m, max_relative = 1e-12, epsilon = 1e-14);
            assert_relative_eq!(vb[0], v, max_relative = 1e-9, epsilon = 1e-14);
            let mut dm = vec![0.0; d];
            let mut dv = vec![0.0; d];
            let (mg, vg) = gp.posterior_grad(&z, &mut dm, &mut dv);
            assert_relative_eq!(mg, m, max_relative = 1e-12, epsilon = 1e-14);
            assert_relative_eq!(vg, v, max_relative = 1e-9, epsilon = 1e-14);
            // Gradients against central differences on the numeric coordinates.
            for i in 0..2 {
                let h = 1e-6;
                let mut zp = z;
                zp[i] += h;
                let mut zm = z;
                zm[i] -= h;
                let (mp, vp) = gp.posterior(&zp);
                let (mm, vm) = gp.posterior(&zm);
                assert_relative_eq!(
                    dm[i],
                    (mp - mm) / (2.0 * h),
                    max_relative = 1e-5,
                    epsilon = 1e-7
                );
                assert_relative_eq!(
                    dv[i],
                    (vp - vm) / (2.0 * h),
                    max_relative = 1e-5,
                    epsilon = 1e-7
                );
            }
            assert_eq!(dm[2], 0.0);
        }
    }

    #[test]
    fn cholesky_reconstructs_the_covariance() {
        let (d, n) = (2, 30);
        let (x, y) = data(n, d, 2);
        let kern = Kernel {
            inv_sq_ls: vec![3.0, 1.0],
            scale: 0.8,
            noise: 1e-4,
        };
        let gp = Gp::new(x.clone(), d, &[false, false], &y, kern.clone()).unwrap();
        for i in 0..n {
            for j in 0..n {
                let llt: f64 = (0..n).map(|k| gp.l[(i, k)] * gp.l[(j, k)]).sum();
                let c = kern.scale
                    * matern52(kern.r2(
                        &x[i * d..i * d + d],
                        &x[j * d..j * d + d],
                        &[false, false],
                    ))
                    .0
                    + if i == j { kern.noise } else { 0.0 };
                assert_relative_eq!(llt, c, epsilon = 1e-12);
            }
        }
    }
}
