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
use paretosearch_runner::suite::{self, arch, cells, ARCH_CHOICES, OPS};
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
        "dtlz2" | "dtlz2_5" | "dtlz2_8" => suite::dtlz2(x, dtlz2_objectives(problem)),
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
