//! The kernels of one dimension (continuous, discrete or categorical),
//! with every component-only term folded into the estimator's biases.

use super::bandwidth::bandwidths_and_order;
use super::{KernelDomain, ParzenSettings};
use crate::tpe::truncnorm::{log_gauss_mass, HALF_LN_2PI};

/// Largest grid for which discrete cell masses are memoised.
pub(super) const MEMO_LIMIT: usize = 1 << 16;
/// Marks the prior component of a categorical dimension.
pub(super) const PRIOR: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub(super) enum DimKernels {
    Continuous {
        low: f64,
        high: f64,
        mu: Vec<f64>,
        sigma: Vec<f64>,
        inv_sigma: Vec<f64>,
        /// Observations' positions sorted by `mu` (the prior, last, apart).
        order: Vec<u32>,
    },
    Discrete {
        low: f64,
        high: f64,
        step: f64,
        mu: Vec<f64>,
        sigma: Vec<f64>,
        /// Bandwidth shared by every observation kernel (not the prior).
        shared: Option<f64>,
        cells: usize,
    },
    Categorical {
        n_choices: usize,
        obs: Vec<u32>,
        /// Per-choice weight of an observation kernel before normalisation.
        p: f64,
        log_hit: f64,
        log_miss: f64,
    },
}

/// Kernels of one dimension; adds component-only terms to `bias`.
/// `sorted`: the observations' positions sorted by value, if known.
pub(super) fn build_dim(
    dom: &KernelDomain,
    column: &[f64],
    sorted: Option<&[u32]>,
    n_params: usize,
    settings: &ParzenSettings,
    bias: &mut [f64],
) -> DimKernels {
    let n = column.len();
    if let KernelDomain::Categorical { n: n_choices } = *dom {
        let n_kernels = n + 1;
        let p = settings.prior_weight / n_kernels as f64;
        let denom = n_choices as f64 * p + 1.0;
        let mut obs: Vec<u32> = column.iter().map(|x| x.round().max(0.0) as u32).collect();
        obs.push(PRIOR);
        return DimKernels::Categorical {
            n_choices,
            obs,
            p,
            log_hit: ((p + 1.0) / denom).ln(),
            log_miss: (p / denom).ln(),
        };
    }
    let (low, high, step) = dom.numeric().expect("numeric domain");
    let (sigma_obs, order) =
        bandwidths_and_order(column, sorted, low, high, step, n_params, settings);
    let width = high - low + step;
    let mut mu = column.to_vec();
    mu.push(0.5 * (low + high));
    let mut sigma = sigma_obs;
    sigma.push(width);
    if step == 0.0 {
        let inv_sigma: Vec<f64> = sigma.iter().map(|s| 1.0 / s).collect();
        for ((b, &m), &s) in bias.iter_mut().zip(&mu).zip(&sigma) {
            *b -= HALF_LN_2PI + s.ln() + log_gauss_mass((low - m) / s, (high - m) / s);
        }
        DimKernels::Continuous {
            low,
            high,
            mu,
            sigma,
            inv_sigma,
            order,
        }
    } else {
        let cells = ((high - low) / step).round() as usize + 1;
        let shared = (n > 0 && sigma[..n].iter().all(|s| s.to_bits() == sigma[0].to_bits()))
            .then(|| sigma[0]);
        let (a, b) = (low - step / 2.0, high + step / 2.0);
        match shared {
            Some(s) if cells <= MEMO_LIMIT => {
                let mut memo = vec![f64::NAN; cells];
                for (bi, &m) in bias[..n].iter_mut().zip(&mu[..n]) {
                    let k = (((m - low) / step).round().max(0.0) as usize).min(cells - 1);
                    if memo[k].is_nan() {
                        memo[k] = log_gauss_mass((a - m) / s, (b - m) / s);
                    }
                    *bi -= memo[k];
                }
            }
            _ => {
                for ((bi, &m), &s) in bias[..n].iter_mut().zip(&mu[..n]).zip(&sigma[..n]) {
                    *bi -= log_gauss_mass((a - m) / s, (b - m) / s);
                }
            }
        }
        let (m, s) = (mu[n], sigma[n]);
        bias[n] -= log_gauss_mass((a - m) / s, (b - m) / s);
        DimKernels::Discrete {
            low,
            high,
            step,
            mu,
            sigma,
            shared,
            cells,
        }
    }
}
