//! Shared pieces of the engine's tests: studies written as TOML, and a toy
//! runner with a profile phase.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use async_trait::async_trait;
use paretosearch_core::{ParamValue, StudySpec, TrialOutcome};
use paretosearch_runner::{Job, ProfileJob, Reporter, Runner, Verdict};
use tokio_util::sync::CancellationToken;

/// A study parsed from TOML text (as if read from `study.toml`).
pub fn spec(text: &str) -> StudySpec {
    let mut no_includes = |_: &Path| Err::<String, String>("no includes here".into());
    StudySpec::parse(text, Path::new("study.toml"), &mut no_includes).expect("valid study")
}

/// ZDT1 on two variables with `sampler`, `trials` trials and a fast heartbeat.
pub fn zdt(name: &str, sampler: &str, trials: u64) -> StudySpec {
    spec(&format!(
        r#"
[study]
name = "{name}"
seed = 3
heartbeat = "100ms"
stale_after = "1s"

[[objectives]]
name = "f1"
direction = "minimize"

[[objectives]]
name = "f2"
direction = "minimize"

[search_space]
x0 = {{ type = "float", low = 0.0, high = 1.0 }}
x1 = {{ type = "float", low = 0.0, high = 1.0 }}

[sampler]
kind = "{sampler}"

[runner]
kind = "builtin"
problem = "zdt1"

[budget]
trials = {trials}
"#
    ))
}

/// A study of the [`Toy`] runner with partial-order pruning: `width`
/// (monotone) sets both the error (1/width) and the cheap latency (width,
/// at most 40 to be feasible).
pub fn toy(name: &str, trials: u64) -> StudySpec {
    spec(&format!(
        r#"
[study]
name = "{name}"
seed = 11

[[objectives]]
name = "err"
direction = "minimize"

[[objectives]]
name = "latency"
direction = "minimize"
cheap = true
constraint = {{ max = 40.0 }}

[search_space]
width = {{ type = "int", low = 1, high = 64, monotone = "increasing" }}
act = {{ type = "categorical", choices = ["relu", "gelu"] }}

[sampler]
kind = "random"

[pruner]
kind = "none"
partial_order = true

[runner]
kind = "builtin"
problem = "zdt1"

[budget]
trials = {trials}
"#
    ))
}

/// The toy's evaluation: error falls with width, latency grows with it.
pub struct Toy;

fn width(params: &paretosearch_core::Params) -> f64 {
    match params.get("width") {
        Some(ParamValue::Int(w)) => *w as f64,
        _ => f64::NAN,
    }
}

#[async_trait]
impl Runner for Toy {
    async fn run(&self, job: Job, reporter: &dyn Reporter, _: CancellationToken) -> TrialOutcome {
        let w = width(&job.params);
        for step in 1..=3 {
            let err = 1.0 / w + 1.0 / step as f64;
            if let Verdict::Stop(reason) = reporter
                .report(step, &BTreeMap::from([("err".to_string(), err)]))
                .await
            {
                return TrialOutcome::Pruned {
                    values: BTreeMap::from([("err".to_string(), err)]),
                    step: Some(step),
                    reason,
                };
            }
        }
        TrialOutcome::Complete(BTreeMap::from([
            ("err".to_string(), 1.0 / w),
            ("latency".to_string(), w),
        ]))
    }

    async fn profile(&self, job: ProfileJob) -> Option<Result<BTreeMap<String, f64>, String>> {
        Some(Ok(BTreeMap::from([(
            "latency".to_string(),
            width(&job.params),
        )])))
    }
}
