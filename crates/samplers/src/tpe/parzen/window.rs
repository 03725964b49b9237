//! Densities of a one-dimensional continuous estimator without visiting
//! every component.
//!
//! A component `i` adds `b_i - ((x - μ_i) / σ_i)² / 2` to the log-sum-exp
//! (`b_i` its bias: weight, normalisation, truncation). With the
//! components sorted by `μ`, every component at position `p` or beyond, on
//! the side of `x` away from the walk's start, adds at most
//! `B - ((μ_p - x) / S_p)² / 2`, where `B` is the largest bias and `S_p`
//! the largest σ from `p` outwards (suffix and prefix maxima). So a walk
//! outwards from `x` in both directions can stop as soon as that bound is
//! more than [`LSE_CUTOFF`] below the largest term seen, and every
//! component it never visits is one that [`log_sum_exp`] would have left
//! out anyway: the density is the same as over all components, up to the
//! order of the additions. With many observations the kernels are narrow
//! (neighbour distances, clipped at `width / 100`), so a density costs the
//! components within a few bandwidths of `x` instead of all of them.

use super::lse::{log_sum_exp, LSE_CUTOFF};

/// The observation components sorted by centre (the prior apart).
#[derive(Clone, Debug)]
pub(super) struct Window {
    mu: Vec<f64>,
    inv_sigma: Vec<f64>,
    bias: Vec<f64>,
    /// Largest σ over positions `..=p` (walking left stops on it).
    prefix_sigma: Vec<f64>,
    /// Largest σ over positions `p..` (walking right stops on it).
    suffix_sigma: Vec<f64>,
    max_bias: f64,
    /// The prior component: centre, 1/σ, bias.
    prior: (f64, f64, f64),
}

impl Window {
    /// From per-component centres, bandwidths and biases, the prior last,
    /// and the observations' positions sorted by centre.
    pub(super) fn new(mu: &[f64], sigma: &[f64], bias: &[f64], order: &[u32]) -> Self {
        let n = mu.len() - 1;
        debug_assert_eq!(order.len(), n);
        let pick = |v: &[f64]| -> Vec<f64> { order.iter().map(|&i| v[i as usize]).collect() };
        let sorted_sigma = pick(sigma);
        let mut prefix_sigma = sorted_sigma.clone();
        for p in 1..n {
            prefix_sigma[p] = prefix_sigma[p].max(prefix_sigma[p - 1]);
        }
        let mut suffix_sigma = sorted_sigma.clone();
        for p in (0..n.saturating_sub(1)).rev() {
            suffix_sigma[p] = suffix_sigma[p].max(suffix_sigma[p + 1]);
        }
        Window {
            mu: pick(mu),
            inv_sigma: sorted_sigma.iter().map(|s| 1.0 / s).collect(),
            bias: pick(bias),
            prefix_sigma,
            suffix_sigma,
            max_bias: bias[..n].iter().copied().fold(f64::NEG_INFINITY, f64::max),
            prior: (mu[n], 1.0 / sigma[n], bias[n]),
        }
    }

    /// Log density at `x` (inside the domain), using `terms` as scratch.
    pub(super) fn log_pdf(&self, x: f64, terms: &mut Vec<f64>) -> f64 {
        terms.clear();
        let term = |m: f64, inv: f64, b: f64| {
            let z = (x - m) * inv;
            b - 0.5 * z * z
        };
        let (pm, pi, pb) = self.prior;
        let mut top = term(pm, pi, pb);
        terms.push(top);
        let start = self.mu.partition_point(|&m| m < x);
        let beaten = |d: f64, s: f64, top: f64| {
            let z = d / s;
            self.max_bias - 0.5 * z * z < top - LSE_CUTOFF
        };
        for p in start..self.mu.len() {
            if beaten(self.mu[p] - x, self.suffix_sigma[p], top) {
                break;
            }
            let t = term(self.mu[p], self.inv_sigma[p], self.bias[p]);
            top = top.max(t);
            terms.push(t);
        }
        for p in (0..start).rev() {
            if beaten(x - self.mu[p], self.prefix_sigma[p], top) {
                break;
            }
            let t = term(self.mu[p], self.inv_sigma[p], self.bias[p]);
            top = top.max(t);
            terms.push(t);
        }
        log_sum_exp(terms)
    }
}
