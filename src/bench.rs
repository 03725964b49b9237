//! `paretosearch bench`: optimise a built-in problem in memory.
//!
//! No store and no processes: all the wall time is the sampler's, which is
//! what comparisons of optimiser overhead want. The last stdout line is one
//! JSON object: `problem`, `sampler`, `trials`, `seed`, `values` (objective
//! vectors of all completed trials, minimised), `seconds`, `ms_per_trial`,
//! `hypervolume` (with the problem's reference point when it has one).

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use paretosearch_core::spec::SamplerSpec;
use paretosearch_core::{Trial, TrialState};
use paretosearch_runner::problems;
use paretosearch_samplers::StudyView;
use serde_json::json;

use crate::cli::BenchArgs;
use crate::BadInput;

/// Run the benchmark.
pub fn bench(args: BenchArgs) -> Result<ExitCode> {
    let problem = problems::problem(&args.problem).ok_or_else(|| {
        BadInput(format!(
            "unknown problem `{}`; built-in problems: {}",
            args.problem,
            problems::names().join(", ")
        ))
    })?;
    let mut options = toml::Table::new();
    for kv in &args.options {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| BadInput(format!("--option `{kv}`: write KEY=VALUE")))?;
        options.insert(k.trim().to_string(), crate::util::toml_value(v));
    }
    let spec = SamplerSpec {
        kind: args.sampler.clone(),
        options,
    };
    let mut sampler = paretosearch_samplers::build(&spec)
        .map_err(|e| BadInput(format!("--sampler {}: {e}", args.sampler)))?;
    let space = problem.search_space();
    let objectives = problem.objectives();
    let mut trials: Vec<Trial> = Vec::with_capacity(args.trials as usize);
    let start = Instant::now();
    for n in 0..args.trials {
        let view = StudyView {
            space: &space,
            objectives: &objectives,
            trials: &trials,
            seed: args.seed,
        };
        let proposal = sampler.propose(&view, n)?;
        let x: Vec<f64> = (0..problem.n_vars)
            .map(|i| {
                proposal
                    .params
                    .get(&format!("x{i}"))
                    .and_then(|v| v.as_f64())
                    .unwrap_or(0.5)
            })
            .collect();
        let f = problem.evaluate(&x);
        let mut t = Trial::new(n, TrialState::Complete);
        t.params = proposal.params;
        t.attrs = proposal.attrs;
        t.values = objectives
            .names()
            .iter()
            .map(|s| s.to_string())
            .zip(f)
            .collect();
        trials.push(t);
    }
    let seconds = start.elapsed().as_secs_f64();
    let values: Vec<Vec<f64>> = trials
        .iter()
        .filter_map(|t| t.minimised(&objectives))
        .collect();
    println!(
        "{}",
        json!({
            "problem": args.problem,
            "sampler": args.sampler,
            "trials": args.trials,
            "seed": args.seed,
            "seconds": seconds,
            "ms_per_trial": 1000.0 * seconds / args.trials.max(1) as f64,
            "values": values,
        })
    );
    Ok(ExitCode::SUCCESS)
}
