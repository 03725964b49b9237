//! Tuning report for the GP sampler (ignored by default; no assertions on
//! speed): ms per proposal and hypervolume over that of the true front on
//! the problems of `shared/bench/compare.py`, reference points as there.
//!
//! `cargo test --release -p paretosearch-samplers --test gp_report -- --ignored --nocapture`

use std::f64::consts::PI;
use std::time::Instant;

use paretosearch_core::pareto::{hypervolume, pareto_front};
use paretosearch_core::{
    Direction, Distribution, Objective, Objectives, Param, SearchSpace, Trial, TrialState,
};
use paretosearch_samplers::gp::GpSampler;
use paretosearch_samplers::{Sampler, StudyView};

type Problem = fn(&[f64]) -> Vec<f64>;

/// Name, function, variables, loose reference, tight reference.
type Case = (&'static str, Problem, usize, Vec<f64>, Vec<f64>);

fn zdt_g(x: &[f64]) -> f64 {
    1.0 + 9.0 * x[1..].iter().sum::<f64>() / (x.len() - 1) as f64
}

fn zdt1(x: &[f64]) -> Vec<f64> {
    let g = zdt_g(x);
    vec![x[0], g * (1.0 - (x[0] / g).sqrt())]
}

fn zdt2(x: &[f64]) -> Vec<f64> {
    let g = zdt_g(x);
    vec![x[0], g * (1.0 - (x[0] / g).powi(2))]
}

fn zdt3(x: &[f64]) -> Vec<f64> {
    let g = zdt_g(x);
    let f = x[0];
    vec![
        f,
        g * (1.0 - (f / g).sqrt() - f / g * (10.0 * PI * f).sin()),
    ]
}

fn dtlz2(x: &[f64]) -> Vec<f64> {
    let m = 3;
    let g: f64 = x[m - 1..].iter().map(|v| (v - 0.5).powi(2)).sum();
    (0..m)
        .map(|i| {
            let mut v = 1.0 + g;
            for xj in &x[..m - 1 - i] {
                v *= (xj * PI / 2.0).cos();
            }
            if i > 0 {
                v *= (x[m - 1 - i] * PI / 2.0).sin();
            }
            v
        })
        .collect()
}

/// Hypervolume of the true front with reference `r` (dense samples for the
/// ZDTs; closed form for DTLZ2, whose front is the unit sphere's octant).
fn true_hv(name: &str, f: Problem, r: &[f64]) -> f64 {
    if name == "dtlz2" {
        return r.iter().product::<f64>() - PI / 6.0;
    }
    let pts: Vec<Vec<f64>> = (0..=20_000)
        .map(|i| {
            let mut x = vec![0.0; 10];
            x[0] = i as f64 / 20_000.0;
            f(&x)
        })
        .collect();
    let front: Vec<Vec<f64>> = pareto_front(&pts)
        .into_iter()
        .map(|i| pts[i].clone())
        .collect();
    hypervolume(&front, r)
}

fn hv(trials: &[Trial], m: usize, r: &[f64]) -> f64 {
    let pts: Vec<Vec<f64>> = trials
        .iter()
        .map(|t| {
            (0..m)
                .map(|j| t.values[&format!("f{j}")])
                .collect::<Vec<f64>>()
        })
        .filter(|p| p.iter().zip(r).all(|(a, b)| a < b))
        .collect();
    if pts.is_empty() {
        0.0
    } else {
        hypervolume(&pts, r)
    }
}

/// Returns the trials, the mean seconds per proposal, and the mean over the
/// last 10 proposals.
fn run(f: Problem, dims: usize, m: usize, n: u64, seed: u64) -> (Vec<Trial>, f64, f64) {
    let space = SearchSpace::new(
        (0..dims)
            .map(|i| Param {
                name: format!("x{i}"),
                distribution: Distribution::Float {
                    low: 0.0,
                    high: 1.0,
                    log: false,
                    step: None,
                },
                when: vec![],
                monotone: None,
            })
            .collect(),
    )
    .unwrap();
    let objs = Objectives(
        (0..m)
            .map(|j| Objective {
                name: format!("f{j}"),
                direction: Direction::Minimize,
                constraint: None,
                cheap: false,
            })
            .collect(),
    );
    let mut sampler = GpSampler::default();
    let mut trials: Vec<Trial> = Vec::new();
    let mut secs = 0.0;
    let mut tail = 0.0;
    for number in 0..n {
        let view = StudyView {
            space: &space,
            objectives: &objs,
            trials: &trials,
            seed,
        };
        let t0 = Instant::now();
        let p = sampler.propose(&view, number).unwrap();
        let dt = t0.elapsed().as_secs_f64();
        secs += dt;
        if number + 10 >= n {
            tail += dt / 10.0;
        }
        let x: Vec<f64> = (0..dims)
            .map(|i| p.params[&format!("x{i}")].as_f64().unwrap())
            .collect();
        let mut t = Trial::new(number, TrialState::Complete);
        t.values = f(&x)
            .into_iter()
            .enumerate()
            .map(|(j, v)| (format!("f{j}"), v))
            .collect();
        t.params = p.params;
        t.attrs = p.attrs;
        trials.push(t);
    }
    (trials, secs / n as f64, tail)
}

#[test]
#[ignore = "tuning report; run with --release --ignored --nocapture"]
fn gp_report() {
    let trials: u64 = std::env::var("GP_REPORT_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let seeds: u64 = std::env::var("GP_REPORT_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let problems: [Case; 4] = [
        ("zdt1", zdt1, 10, vec![1.1, 11.0], vec![1.1, 1.1]),
        ("zdt2", zdt2, 10, vec![1.1, 11.0], vec![1.1, 1.1]),
        ("zdt3", zdt3, 10, vec![1.1, 11.0], vec![1.1, 1.1]),
        ("dtlz2", dtlz2, 6, vec![2.5; 3], vec![1.1; 3]),
    ];
    let only = std::env::var("GP_REPORT_PROBLEMS").unwrap_or_default();
    println!("problem  seed  trials  ms/trial  last10 ms  HV/true loose  HV/true tight");
    for (name, f, dims, loose, tight) in problems {
        if !only.is_empty() && !only.split(',').any(|p| p == name) {
            continue;
        }
        let m = loose.len();
        let (tl, tt) = (true_hv(name, f, &loose), true_hv(name, f, &tight));
        for seed in 0..seeds {
            let (t, mean, tail) = run(f, dims, m, trials, seed);
            if std::env::var("GP_REPORT_DUMP").is_ok() {
                let pts: Vec<Vec<f64>> = t
                    .iter()
                    .map(|t| (0..m).map(|j| t.values[&format!("f{j}")]).collect())
                    .collect();
                for i in pareto_front(&pts) {
                    println!("  #{i} {:?}", pts[i]);
                }
            }
            println!(
                "{name:8} {seed:4} {trials:7} {:9.1} {:10.1} {:14.4} {:14.4}",
                1000.0 * mean,
                1000.0 * tail,
                hv(&t, m, &loose) / tl,
                hv(&t, m, &tight) / tt
            );
        }
    }
}

#[test]
#[ignore = "tuning report; run with --release --ignored --nocapture"]
fn gp_large_history_report() {
    // One proposal after 1,000 and 10,000 Sobol trials of ZDT1.
    for n in [1_000u64, 10_000] {
        let space = SearchSpace::new(
            (0..10)
                .map(|i| Param {
                    name: format!("x{i}"),
                    distribution: Distribution::Float {
                        low: 0.0,
                        high: 1.0,
                        log: false,
                        step: None,
                    },
                    when: vec![],
                    monotone: None,
                })
                .collect(),
        )
        .unwrap();
        let objs = Objectives(
            (0..2)
                .map(|j| Objective {
                    name: format!("f{j}"),
                    direction: Direction::Minimize,
                    constraint: None,
                    cheap: false,
                })
                .collect(),
        );
        let trials: Vec<Trial> = (0..n)
            .map(|i| {
                let u = paretosearch_samplers::SobolSampler::point(5, i, 10);
                let mut t = Trial::new(i, TrialState::Complete);
                t.params = space.from_unit(&u);
                t.values = zdt1(&u)
                    .into_iter()
                    .enumerate()
                    .map(|(j, v)| (format!("f{j}"), v))
                    .collect();
                t
            })
            .collect();
        let view = StudyView {
            space: &space,
            objectives: &objs,
            trials: &trials,
            seed: 1,
        };
        let mut s = GpSampler::default();
        let t0 = Instant::now();
        s.propose(&view, n).unwrap();
        let cold = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        s.propose(&view, n).unwrap();
        let warm = t0.elapsed().as_secs_f64();
        println!(
            "history {n}: {:.1} ms per proposal (cold fit), {:.1} ms (warm)",
            1000.0 * cold,
            1000.0 * warm
        );
    }
}
