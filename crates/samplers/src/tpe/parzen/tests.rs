//! Densities integrate to one, masses sum to one, bandwidth rules.

use super::bandwidth::bandwidths;
use super::*;
use approx::assert_relative_eq;
use paretosearch_core::{Distribution, ParamValue};
use rand::SeedableRng;

fn settings(multivariate: bool) -> ParzenSettings {
    ParzenSettings {
        bandwidth: if multivariate {
            BandwidthRule::Scott
        } else {
            BandwidthRule::NeighboursWithPrior
        },
        ..ParzenSettings::default()
    }
}

fn density(est: &ParzenEstimator, x: &[f64]) -> f64 {
    let mut out = [0.0];
    est.log_pdf(x, &mut out);
    out[0].exp()
}

fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
    let h = (b - a) / n as f64;
    let mut s = f(a) + f(b);
    for i in 1..n {
        s += if i % 2 == 1 { 4.0 } else { 2.0 } * f(a + i as f64 * h);
    }
    s * h / 3.0
}

#[test]
fn continuous_density_integrates_to_one() {
    for mv in [true, false] {
        let dom = KernelDomain::Continuous {
            low: -2.0,
            high: 3.0,
        };
        let obs = [-1.9, 0.1, 0.15, 2.9, 1.0];
        let est = ParzenEstimator::new(&[dom], &obs, &[1.0, 0.5, 1.0, 2.0, 1.0], &settings(mv));
        let total = simpson(|x| density(&est, &[x]), -2.0, 3.0, 20_000);
        assert_relative_eq!(total, 1.0, epsilon = 1e-6);
    }
}

#[test]
fn log_float_density_integrates_to_one_in_log_space() {
    let dist = Distribution::Float {
        low: 1e-4,
        high: 1.0,
        log: true,
        step: None,
    };
    let dom = KernelDomain::of(&dist);
    let obs: Vec<f64> = [1e-3, 2e-3, 0.5].iter().map(|v: &f64| v.ln()).collect();
    let est = ParzenEstimator::new(&[dom], &obs, &[1.0; 3], &settings(false));
    let total = simpson(|x| density(&est, &[x]), 1e-4f64.ln(), 0.0, 20_000);
    assert_relative_eq!(total, 1.0, epsilon = 1e-6);
}

#[test]
fn discrete_masses_sum_to_one() {
    for (dist, obs) in [
        (
            Distribution::Int {
                low: 2,
                high: 20,
                log: false,
                step: 3,
            },
            vec![2.0, 5.0, 20.0],
        ),
        (
            Distribution::Float {
                low: 0.0,
                high: 1.0,
                log: false,
                step: Some(0.1),
            },
            vec![0.0, 0.3, 0.3, 0.9],
        ),
    ] {
        let dom = KernelDomain::of(&dist);
        let n = dist.cardinality().unwrap();
        for mv in [true, false] {
            let est = ParzenEstimator::new(&[dom], &obs, &vec![1.0; obs.len()], &settings(mv));
            let total: f64 = (0..n)
                .map(|k| {
                    let v = dist.from_unit((k as f64 + 0.5) / n as f64);
                    density(&est, &[dist.to_internal(&v).unwrap()])
                })
                .sum();
            assert_relative_eq!(total, 1.0, epsilon = 1e-12);
        }
    }
}

#[test]
fn log_int_cell_masses_sum_to_one() {
    let dist = Distribution::Int {
        low: 1,
        high: 64,
        log: true,
        step: 1,
    };
    let dom = KernelDomain::of(&dist);
    let obs = [2f64.ln(), 3f64.ln(), 50f64.ln()];
    let est = ParzenEstimator::new(&[dom], &obs, &[1.0; 3], &settings(false));
    // The mass of integer k is the density integrated over its log cell.
    let total: f64 = (1..=64)
        .map(|k| {
            let a = (k as f64 - 0.5).ln();
            let b = (k as f64 + 0.5).ln();
            simpson(|x| density(&est, &[x]), a, b, 200)
        })
        .sum();
    assert_relative_eq!(total, 1.0, epsilon = 1e-6);
    // Samples round to legal integers.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    for x in est.sample(&mut rng, 200) {
        assert!(dist.contains(&dist.from_internal(x)));
    }
}

#[test]
fn categorical_probabilities_follow_the_kernel_rule() {
    let dom = KernelDomain::Categorical { n: 3 };
    let est = ParzenEstimator::new(&[dom], &[0.0, 0.0, 2.0], &[1.0; 3], &settings(true));
    let p: Vec<f64> = (0..3).map(|j| density(&est, &[j as f64])).collect();
    assert_relative_eq!(p.iter().sum::<f64>(), 1.0, epsilon = 1e-12);
    // By hand: 4 kernels, p = 1/4; an observation row is
    // (1 + 1/4, 1/4, 1/4) / 1.75 and the prior row is uniform; each
    // component has weight 1/4.
    let hit = 1.25 / 1.75;
    let miss = 0.25 / 1.75;
    let expect0 = (2.0 * hit + miss + 1.0 / 3.0) / 4.0;
    let expect1 = (3.0 * miss + 1.0 / 3.0) / 4.0;
    assert_relative_eq!(p[0], expect0, epsilon = 1e-12);
    assert_relative_eq!(p[1], expect1, epsilon = 1e-12);
    // Sampling frequencies agree.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let s = est.sample(&mut rng, 40_000);
    let f0 = s.iter().filter(|&&x| x == 0.0).count() as f64 / 40_000.0;
    assert!((f0 - expect0).abs() < 0.01, "{f0} vs {expect0}");
}

#[test]
fn joint_mixed_density_integrates_to_one() {
    let doms = [
        KernelDomain::Continuous {
            low: 0.0,
            high: 1.0,
        },
        KernelDomain::Categorical { n: 2 },
        KernelDomain::Discrete {
            low: 1.0,
            high: 4.0,
            step: 1.0,
        },
    ];
    let obs = [0.2, 1.0, 2.0, 0.8, 0.0, 4.0, 0.5, 1.0, 1.0];
    let est = ParzenEstimator::new(&doms, &obs, &[1.0, 2.0, 0.5], &settings(true));
    let mut total = 0.0;
    for c in 0..2 {
        for k in 1..=4 {
            total += simpson(|x| density(&est, &[x, c as f64, k as f64]), 0.0, 1.0, 4000);
        }
    }
    assert_relative_eq!(total, 1.0, epsilon = 1e-7);
}

#[test]
fn memoised_and_direct_discrete_masses_agree() {
    // Multivariate (shared bandwidth, memoised) against the same
    // kernels evaluated one by one through the truncated normal.
    let dom = KernelDomain::Discrete {
        low: 0.0,
        high: 10.0,
        step: 2.0,
    };
    let obs = [0.0, 4.0, 4.0, 10.0];
    let s = settings(true);
    let est = ParzenEstimator::new(&[dom], &obs, &[1.0; 4], &s);
    let sigma = 0.2 * 4f64.powf(-1.0 / 5.0) * 12.0;
    let sigma = sigma.clamp(12.0 / 6.0, 12.0);
    let mass = |x: f64, m: f64, sg: f64| {
        (log_gauss_mass((x - 1.0 - m) / sg, (x + 1.0 - m) / sg)
            - log_gauss_mass((-1.0 - m) / sg, (11.0 - m) / sg))
        .exp()
    };
    for x in [0.0, 2.0, 6.0, 10.0] {
        let expect =
            (obs.iter().map(|&m| mass(x, m, sigma)).sum::<f64>() + mass(x, 5.0, 12.0)) / 5.0;
        assert_relative_eq!(density(&est, &[x]), expect, max_relative = 1e-12);
    }
}

#[test]
fn univariate_bandwidths_follow_neighbour_rule() {
    // Observations 0.1 and 0.3 on [0, 1], prior centre 0.5.
    let s = ParzenSettings {
        bandwidth: BandwidthRule::NeighboursWithPrior,
        consider_magic_clip: false,
        ..ParzenSettings::default()
    };
    let sig = bandwidths(&[0.3, 0.1], 0.0, 1.0, 0.0, 1, &s);
    // Sorted: [0, 0.1, 0.3, 0.5, 1]; 0.1 is the first (endpoint
    // ignored): right gap 0.2; 0.3: max(0.2, 0.2).
    assert_relative_eq!(sig[1], 0.2, epsilon = 1e-12);
    assert_relative_eq!(sig[0], 0.2, epsilon = 1e-12);
    let clipped = bandwidths(&[0.3, 0.1], 0.0, 1.0, 0.0, 1, &ParzenSettings::default());
    // Magic clip: at least 1 / min(100, 4) = 0.25.
    assert!(clipped.iter().all(|&x| (x - 0.25).abs() < 1e-12));
}

#[test]
fn optuna5_bandwidths_ignore_the_prior_centre() {
    let s = ParzenSettings {
        consider_magic_clip: false,
        ..ParzenSettings::default()
    };
    assert_eq!(s.bandwidth, BandwidthRule::Neighbours);
    // Sorted: [0, 0.1, 0.3, 0.7, 1], endpoints ignored.
    let sig = bandwidths(&[0.3, 0.1, 0.7], 0.0, 1.0, 0.0, 3, &s);
    for (got, want) in sig.iter().zip([0.4, 0.2, 0.4]) {
        assert_relative_eq!(*got, want, epsilon = 1e-12);
    }
    // The prior centre 0.5 as a neighbour halves the outer gaps.
    let with_prior = ParzenSettings {
        bandwidth: BandwidthRule::NeighboursWithPrior,
        ..s
    };
    let sig = bandwidths(&[0.3, 0.1, 0.7], 0.0, 1.0, 0.0, 3, &with_prior);
    for (got, want) in sig.iter().zip([0.2, 0.2, 0.2]) {
        assert_relative_eq!(*got, want, epsilon = 1e-12);
    }
}

#[test]
fn no_observations_means_prior_only() {
    let dist = Distribution::Categorical {
        choices: vec![ParamValue::Int(1), ParamValue::Int(2)],
    };
    let est = ParzenEstimator::new(&[KernelDomain::of(&dist)], &[], &[], &settings(true));
    assert_eq!(est.n_components(), 1);
    assert_relative_eq!(density(&est, &[1.0]), 0.5, epsilon = 1e-12);
}

/// The windowed density of a one-dimensional continuous estimator against
/// the sum over every component, over bandwidth rules, sizes, clustered
/// and spread observations, ramped weights and points outside the domain.
#[test]
fn windowed_densities_equal_the_full_sum() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let dom = KernelDomain::Continuous {
        low: -1.0,
        high: 2.0,
    };
    for rule in [
        BandwidthRule::Neighbours,
        BandwidthRule::NeighboursWithPrior,
        BandwidthRule::Scott,
    ] {
        for endpoints in [false, true] {
            for n in [64, 65, 300, 5000] {
                let s = ParzenSettings {
                    bandwidth: rule,
                    consider_endpoints: endpoints,
                    ..ParzenSettings::default()
                };
                // Half the observations in a tight cluster, some repeated.
                let obs: Vec<f64> = (0..n)
                    .map(|i| match i % 4 {
                        0 => 0.3 + 0.001 * rng.random::<f64>(),
                        1 => 1.7,
                        _ => -1.0 + 3.0 * rng.random::<f64>(),
                    })
                    .collect();
                let weights = crate::tpe::split::default_weights(n);
                let est = ParzenEstimator::new(&[dom], &obs, &weights, &s);
                assert!(est.window.is_some());
                let xs: Vec<f64> = (0..200)
                    .map(|i| match i {
                        0 => -1.0,
                        1 => 2.0,
                        2 => -1.5,
                        3 => 1.7,
                        _ => -1.2 + 3.4 * rng.random::<f64>(),
                    })
                    .collect();
                let mut fast = vec![0.0; xs.len()];
                let mut full = vec![0.0; xs.len()];
                est.log_pdf(&xs, &mut fast);
                est.log_pdf_all(&xs, &mut full);
                for ((a, b), x) in fast.iter().zip(&full).zip(&xs) {
                    if b.is_finite() {
                        assert!(
                            (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                            "{rule:?} {n} {x}: {a} {b}"
                        );
                    } else {
                        assert_eq!(a, b, "{x}");
                    }
                }
            }
        }
    }
}

/// An estimator given its observations' sorted order is the same as one
/// that sorts them itself (densities bit for bit, samples too).
#[test]
fn presorted_estimators_are_the_same() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let doms = [
        KernelDomain::Continuous {
            low: 0.0,
            high: 1.0,
        },
        KernelDomain::Discrete {
            low: 0.0,
            high: 10.0,
            step: 1.0,
        },
    ];
    for rule in [
        BandwidthRule::Neighbours,
        BandwidthRule::NeighboursWithPrior,
    ] {
        let s = ParzenSettings {
            bandwidth: rule,
            ..ParzenSettings::default()
        };
        let n = 120;
        let obs: Vec<f64> = (0..n)
            .flat_map(|_| {
                [
                    (rng.random::<f64>() * 8.0).round() / 8.0,
                    (rng.random::<f64>() * 10.0).round(),
                ]
            })
            .collect();
        let weights = crate::tpe::split::default_weights(n);
        let orders: Vec<Vec<u32>> = (0..2)
            .map(|k| {
                let col: Vec<f64> = (0..n).map(|i| obs[2 * i + k]).collect();
                let mut o: Vec<u32> = (0..n as u32).collect();
                o.sort_by(|&a, &b| col[a as usize].total_cmp(&col[b as usize]));
                o
            })
            .collect();
        let a = ParzenEstimator::new(&doms, &obs, &weights, &s);
        let b = ParzenEstimator::with_sorted(&doms, &obs, &weights, &s, Some(&orders));
        let xs = a.sample(&mut rand::rngs::StdRng::seed_from_u64(1), 50);
        let ys = b.sample(&mut rand::rngs::StdRng::seed_from_u64(1), 50);
        assert_eq!(xs, ys);
        let (mut la, mut lb) = (vec![0.0; 50], vec![0.0; 50]);
        a.log_pdf(&xs, &mut la);
        b.log_pdf(&xs, &mut lb);
        assert_eq!(la, lb);
    }
}
