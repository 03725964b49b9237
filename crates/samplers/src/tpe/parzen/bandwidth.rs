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

/// An unsigned key ordered as `f64::total_cmp` orders `x`.
pub(crate) fn total_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

/// Positions of `mus` sorted by value, ties by position: what a stable
/// sort by `total_cmp` gives, done on plain integer pairs (several times
/// faster than an indirect comparison sort on ten thousand observations).
pub(super) fn sorted_positions(mus: &[f64]) -> Vec<u32> {
    let mut keyed: Vec<(u64, u32)> = mus
        .iter()
        .enumerate()
        .map(|(i, &x)| (total_key(x), i as u32))
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// Bandwidths of the observation kernels of one numeric dimension.
#[cfg(test)]
pub(super) fn bandwidths(
    mus: &[f64],
    low: f64,
    high: f64,
    step: f64,
    n_params: usize,
    s: &ParzenSettings,
) -> Vec<f64> {
    bandwidths_and_order(mus, None, low, high, step, n_params, s).0
}

/// Bandwidths of the observation kernels of one numeric dimension, and the
/// observations' positions sorted by value (ties by position): `sorted`
/// when the caller has it (it must be that order), computed otherwise.
pub(super) fn bandwidths_and_order(
    mus: &[f64],
    sorted: Option<&[u32]>,
    low: f64,
    high: f64,
    step: f64,
    n_params: usize,
    s: &ParzenSettings,
) -> (Vec<f64>, Vec<u32>) {
    let n = mus.len();
    let width = high - low + step;
    let observations_sorted: Vec<u32> = match sorted {
        Some(o) => {
            debug_assert_eq!(o.len(), n);
            o.to_vec()
        }
        None => sorted_positions(mus),
    };
    let mut sigmas = if s.bandwidth == BandwidthRule::Scott {
        let sigma = 0.2 * (n.max(1) as f64).powf(-1.0 / (n_params as f64 + 4.0)) * width;
        vec![sigma; n]
    } else {
        // Neighbour distances among the observations (and the prior centre
        // under `NeighboursWithPrior`), with the domain ends (widened by
        // half a step) as outer neighbours.
        let with_prior = s.bandwidth == BandwidthRule::NeighboursWithPrior;
        let m = n + usize::from(with_prior);
        let prior_mu = 0.5 * (low + high);
        let at = |i: usize| if i < n { mus[i] } else { prior_mu };
        // The prior centre (position n) goes after the observations equal
        // to it, as in a stable sort.
        let mut order: Vec<usize> = observations_sorted.iter().map(|&i| i as usize).collect();
        if with_prior {
            let at_prior = order.partition_point(|&i| mus[i].total_cmp(&prior_mu).is_le());
            order.insert(at_prior, n);
        }
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
    (sigmas, observations_sorted)
}

#[cfg(test)]
mod tests {
    use super::total_key;

    #[test]
    fn total_key_orders_as_total_cmp() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -1e-310,
            -0.0,
            0.0,
            1e-310,
            3.0,
            1e300,
            f64::INFINITY,
        ];
        for a in xs {
            for b in xs {
                assert_eq!(total_key(a).cmp(&total_key(b)), a.total_cmp(&b), "{a} {b}");
            }
        }
    }
}
