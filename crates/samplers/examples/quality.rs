//! Optimise an analytic problem in memory with one sampler and print the
//! objective vectors: the `paretosearch bench` contract (last stdout line
//! one JSON object with `values` and `seconds`), built from this crate
//! alone so sampler changes are measured without building the binary.
//!
//! `cargo run --release -p paretosearch-samplers --example quality --
//!  --problem zdt3 --sampler gp --trials 200 --seed 0 [--option k=v]...`
//!
//! Problems: zdt1, zdt2, zdt3 (10 variables), dtlz2 (6 variables, 3
//! objectives), the same definitions as `../shared/bench/compare.py`;
//! `cells`, a synthetic cell-based architecture space (six edges, each one
//! of five operations, with interactions between edges; minimise error,
//! latency and size; `x` reports the choice indices); `cells2`, the same
//! with error and latency only; `arch`, eight categorical choices of 3-6
//! options with hashed pairwise interactions (error, latency, size);
//! `dtlz2_5` and `dtlz2_8`, DTLZ2 with 5 and 8 objectives (`m + 3`
//! variables). `bench/compare_samplers.py` has the same definitions.

use std::time::Instant;

use paretosearch_core::spec::SamplerSpec;
use paretosearch_core::{
    Direction, Distribution, Objective, Objectives, Param, ParamValue, SearchSpace, Trial,
    TrialState,
};
use paretosearch_samplers::StudyView;

fn zdt_g(x: &[f64]) -> f64 {
    1.0 + 9.0 * x[1..].iter().sum::<f64>() / (x.len() - 1) as f64
}

fn evaluate(problem: &str, x: &[f64]) -> Vec<f64> {
    match problem {
        "zdt1" => {
            let g = zdt_g(x);
            vec![x[0], g * (1.0 - (x[0] / g).sqrt())]
        }
        "zdt2" => {
            let g = zdt_g(x);
            vec![x[0], g * (1.0 - (x[0] / g).powi(2))]
        }
        "zdt3" => {
            let g = zdt_g(x);
            let f1 = x[0];
            let s = (10.0 * std::f64::consts::PI * f1).sin();
            vec![f1, g * (1.0 - (f1 / g).sqrt() - (f1 / g) * s)]
        }
        "dtlz2" | "dtlz2_5" | "dtlz2_8" => {
            let m = dtlz2_objectives(problem);
            let g: f64 = x[m - 1..].iter().map(|v| (v - 0.5).powi(2)).sum();
            (0..m)
                .map(|i| {
                    let mut v = 1.0 + g;
                    for xj in &x[..m - 1 - i] {
                        v *= (xj * std::f64::consts::FRAC_PI_2).cos();
                    }
                    if i > 0 {
                        v *= (x[m - 1 - i] * std::f64::consts::FRAC_PI_2).sin();
                    }
                    v
                })
                .collect()
        }
        other => panic!("unknown problem {other}"),
    }
}

/// Objectives of the DTLZ2 variants (`m + 3` variables each).
fn dtlz2_objectives(problem: &str) -> usize {
    match problem {
        "dtlz2_5" => 5,
        "dtlz2_8" => 8,
        _ => 3,
    }
}

/// Choices per parameter of `arch`.
const ARCH_CHOICES: [usize; 8] = [3, 4, 5, 6, 3, 4, 5, 6];

/// A number in `[0, 1)` from three small integers (an integer hash, so the
/// Python side of `bench/compare_samplers.py` computes the same table).
fn arch_hash(a: usize, b: usize, c: usize) -> f64 {
    let mut h =
        ((a as u64 * 73_856_093) ^ (b as u64 * 19_349_663) ^ (c as u64 * 83_492_791)) & 0xFFFF_FFFF;
    h = (h * 2_654_435_761) & 0xFFFF_FFFF;
    h ^= h >> 15;
    h as f64 / 4_294_967_296.0
}

/// `arch` at choice indices `o`: eight choices of 3-6 options, each a level
/// (accuracy and cost grow with it) plus hashed per-choice terms, and a
/// bonus for some pairs of neighbouring choices; error, latency, size.
fn arch(o: &[usize]) -> Vec<f64> {
    let (mut score, mut latency, mut size) = (0.0, 0.0, 0.0);
    for (k, &j) in o.iter().enumerate() {
        let level = j as f64 / (ARCH_CHOICES[k] - 1) as f64;
        score += 0.5 * level + 0.5 * arch_hash(k, j, 1);
        latency += level + 0.3 * arch_hash(k, j, 2);
        size += level * level;
    }
    for k in 0..7 {
        if arch_hash(k, o[k], 10 + o[k + 1]) > 0.8 {
            score += 0.6;
        }
    }
    vec![(-score / 2.0).exp(), latency, size]
}

/// Operations of an edge of `cells`: accuracy contribution, latency, size.
const OPS: [&str; 5] = ["none", "skip", "conv1", "conv3", "pool"];
const OP_ACC: [f64; 5] = [0.0, 0.25, 0.55, 0.85, 0.35];
const OP_LAT: [f64; 5] = [0.0, 0.05, 0.4, 1.2, 0.2];
const OP_SIZE: [f64; 5] = [0.0, 0.0, 1.0, 3.0, 0.0];
const EDGE_WEIGHT: [f64; 6] = [1.0, 0.8, 0.6, 1.0, 0.7, 0.5];

/// `cells` at choice indices `o` (six edges).
fn cells(o: &[usize]) -> Vec<f64> {
    let mut score: f64 = (0..6).map(|e| EDGE_WEIGHT[e] * OP_ACC[o[e]]).sum();
    score += 0.3 * (0..5).filter(|&e| o[e] == 3 && o[e + 1] == 1).count() as f64;
    if o[0] == 0 && o[1] == 0 {
        score -= 0.4;
    }
    if o[2] == 4 && o[5] == 2 {
        score += 0.2;
    }
    let mut latency: f64 = o.iter().map(|&k| OP_LAT[k]).sum();
    if o[3] == 3 && o[4] == 3 {
        latency += 0.3;
    }
    vec![(-score).exp(), latency, o.iter().map(|&k| OP_SIZE[k]).sum()]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut problem = "zdt1".to_string();
    let mut sampler = "gp".to_string();
    let mut trials = 200u64;
    let mut seed = 0u64;
    let mut options = toml::Table::new();
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "bench" => {
                i += 1;
                continue;
            }
            "--problem" => problem = v,
            "--sampler" => sampler = v,
            "--trials" => trials = v.parse().expect("--trials N"),
            "--seed" => seed = v.parse().expect("--seed N"),
            "--option" => {
                let (k, val) = v.split_once('=').expect("--option KEY=VALUE");
                let t: toml::Table = format!("v = {val}").parse().expect("a TOML value");
                options.insert(k.to_string(), t["v"].clone());
            }
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    let categorical = matches!(problem.as_str(), "cells" | "cells2" | "arch");
    let (n_vars, m) = match problem.as_str() {
        "cells" => (6, 3),
        "cells2" => (6, 2),
        "arch" => (8, 3),
        p if p.starts_with("dtlz2") => (dtlz2_objectives(p) + 3, dtlz2_objectives(p)),
        _ => (10, 2),
    };
    let distribution = |i: usize| match problem.as_str() {
        "cells" | "cells2" => Distribution::Categorical {
            choices: OPS.iter().map(|s| ParamValue::Str(s.to_string())).collect(),
        },
        "arch" => Distribution::Categorical {
            choices: (0..ARCH_CHOICES[i])
                .map(|j| ParamValue::Str(format!("o{j}")))
                .collect(),
        },
        _ => Distribution::Float {
            low: 0.0,
            high: 1.0,
            log: false,
            step: None,
        },
    };
    let space = SearchSpace::new(
        (0..n_vars)
            .map(|i| Param {
                name: format!("x{i}"),
                distribution: distribution(i),
                when: vec![],
                monotone: None,
            })
            .collect(),
    )
    .expect("valid space");
    let coordinate = |v: &ParamValue| -> f64 {
        match v {
            ParamValue::Str(s) => match s.strip_prefix('o') {
                Some(j) => j.parse::<f64>().expect("an arch choice"),
                None => OPS.iter().position(|o| o == s).expect("an operation") as f64,
            },
            other => other.as_f64().expect("a number"),
        }
    };
    let objectives = Objectives(
        (0..m)
            .map(|j| Objective {
                name: format!("f{}", j + 1),
                direction: Direction::Minimize,
                constraint: None,
                cheap: false,
            })
            .collect(),
    );
    let mut s = paretosearch_samplers::build(&SamplerSpec {
        kind: sampler.clone(),
        options,
    })
    .expect("sampler");
    let mut history: Vec<Trial> = Vec::new();
    let start = Instant::now();
    for n in 0..trials {
        let view = StudyView {
            space: &space,
            objectives: &objectives,
            trials: &history,
            seed,
        };
        let p = s.propose(&view, n).expect("proposal");
        let x: Vec<f64> = (0..n_vars)
            .map(|i| coordinate(&p.params[&format!("x{i}")]))
            .collect();
        let f = if categorical {
            let o: Vec<usize> = x.iter().map(|&v| v as usize).collect();
            match problem.as_str() {
                "cells" => cells(&o),
                "cells2" => cells(&o)[..2].to_vec(),
                _ => arch(&o),
            }
        } else {
            evaluate(&problem, &x)
        };
        let mut t = Trial::new(n, TrialState::Complete);
        t.params = p.params;
        t.attrs = p.attrs;
        t.values = objectives
            .names()
            .iter()
            .map(|s| s.to_string())
            .zip(f)
            .collect();
        history.push(t);
    }
    let seconds = start.elapsed().as_secs_f64();
    let values: Vec<Vec<f64>> = history
        .iter()
        .filter_map(|t| t.minimised(&objectives))
        .collect();
    let xs: Vec<Vec<f64>> = history
        .iter()
        .map(|t| {
            (0..n_vars)
                .map(|i| t.params.get(&format!("x{i}")).map_or(f64::NAN, coordinate))
                .collect()
        })
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "problem": problem, "sampler": sampler, "trials": trials, "seed": seed,
            "seconds": seconds, "ms_per_trial": 1000.0 * seconds / trials.max(1) as f64,
            "x": xs, "values": values, "attrs": history.iter().map(|t| serde_json::Value::Object(t.attrs.clone())).collect::<Vec<_>>(),
        })
    );
}
