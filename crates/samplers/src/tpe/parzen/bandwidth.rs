//! Bandwidth rules of the observation kernels of a numeric dimension.

use super::ParzenSettings;

const EPS: f64 = 1e-12;

/// How the bandwidths of observation kernels are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BandwidthRule {
    /// Larger distance to the neighbouring observations, per dimension
    /// (Optuna 5, any number of parameters).
    Neighbours,
    /// As `Neighbours`, with the prior centre counted as an observation
    /// (Optuna 3/4's univariate TPE).
    NeighboursWithPrior,
    /// Scott's rule `0.2 * n^(-1/(d + 4)) * width`, shared by all
    /// observations (Optuna 3/4's multivariate TPE).
    Scott,
}

/// Bandwidths of the observation kernels of one numeric dimension.
pub(super) fn bandwidths(
    mus: &[f64],
    low: f64,
    high: f64,
    step: f64,
    n_params: usize,
    s: &ParzenSettings,
) -> Vec<f64> {
    let n = mus.len();
    let width = high - low + step;
    let mut sigmas = if s.bandwidth == BandwidthRule::Scott {
        let sigma = 0.2 * (n.max(1) as f64).powf(-1.0 / (n_params as f64 + 4.0)) * width;
        vec![sigma; n]
    } else {
        // Neighbour distances among the observations (and the prior centre
        // under `NeighboursWithPrior`), with the domain ends (widened by
        // half a step) as outer neighbours.
        let with_prior = s.bandwidth == BandwidthRule::NeighboursWithPrior;
        let m = n + usize::from(with_prior);
        let mut order: Vec<usize> = (0..m).collect();
        let prior_mu = 0.5 * (low + high);
        let at = |i: usize| if i < n { mus[i] } else { prior_mu };
        order.sort_by(|&a, &b| at(a).total_cmp(&at(b)));
        let mut ext = Vec::with_capacity(m + 2);
        ext.push(low - step / 2.0);
        ext.extend(order.iter().map(|&i| at(i)));
        ext.push(high + step / 2.0);
        let mut sorted_sigma: Vec<f64> = (1..=m)
            .map(|j| (ext[j] - ext[j - 1]).max(ext[j + 1] - ext[j]))
            .collect();
        if !s.consider_endpoints && ext.len() >= 4 {
            sorted_sigma[0] = ext[2] - ext[1];
            sorted_sigma[m - 1] = ext[m] - ext[m - 1];
        }
        let mut out = vec![0.0; n];
        for (pos, &i) in order.iter().enumerate() {
            if i < n {
                out[i] = sorted_sigma[pos];
            }
        }
        out
    };
    let max_sigma = width;
    let min_sigma = if s.consider_magic_clip {
        width / (100f64).min(n as f64 + 2.0)
    } else {
        EPS
    };
    for x in &mut sigmas {
        *x = x.clamp(min_sigma, max_sigma);
    }
    sigmas
}
