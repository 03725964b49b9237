//! Runs a torch study file's budget of random configurations through
//! [`TorchRunner`] without the CLI or a store, timing the whole run and
//! printing the Pareto-optimal trials: a check that the study finishes in
//! its time budget and yields a real trade-off.
//!
//! `cargo run --release -p paretosearch-torch --example quickstart -- studies/quickstart.toml`

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use paretosearch_core::spec::RunnerSpec;
use paretosearch_core::{StudySpec, TrialOutcome};
use paretosearch_runner::{Job, NoReporter, Runner};
use paretosearch_torch::TorchRunner;
use rand::{Rng, SeedableRng};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() {
    let file = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "studies/quickstart.toml".into()),
    );
    let text = std::fs::read_to_string(&file).expect("study file");
    let spec = StudySpec::parse(&text, &file, &mut |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| e.to_string())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let RunnerSpec::Other { options, .. } = &spec.runner else {
        panic!("not a torch study")
    };
    let started = Instant::now();
    let runner = TorchRunner::from_options(
        options,
        &spec.origin,
        spec.seed,
        &spec.space,
        &spec.objectives,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    runner.set_workers(spec.budget.workers);
    let runner = Arc::new(runner);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(spec.seed);
    let jobs: Vec<Job> = (0..spec.budget.trials)
        .map(|trial| {
            let u: Vec<f64> = (0..spec.space.len()).map(|_| rng.random()).collect();
            Job {
                study: spec.name.clone(),
                trial,
                params: spec.space.from_unit(&u),
                seed: spec.seed.wrapping_mul(1_000_003).wrapping_add(trial),
                objectives: spec
                    .objectives
                    .names()
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                log_path: None,
            }
        })
        .collect();
    let queue = Arc::new(std::sync::Mutex::new(jobs.into_iter()));
    let mut workers = Vec::new();
    for _ in 0..spec.budget.workers {
        let (runner, queue) = (runner.clone(), queue.clone());
        workers.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let next = queue.lock().expect("queue").next();
                let Some(job) = next else { break };
                let out = runner
                    .run(job.clone(), &NoReporter, CancellationToken::new())
                    .await;
                done.push((job, out));
            }
            done
        }));
    }
    let mut results = Vec::new();
    for w in workers {
        results.extend(w.await.expect("worker"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let complete: Vec<_> = results
        .iter()
        .filter_map(|(j, o)| match o {
            TrialOutcome::Complete(v) => Some((j, v)),
            other => {
                eprintln!("trial {}: {other:?}", j.trial);
                None
            }
        })
        .collect();
    let points: Vec<Vec<f64>> = complete
        .iter()
        .filter_map(|(_, v)| spec.objectives.minimised(v))
        .collect();
    let front = paretosearch_core::pareto::pareto_front(&points);
    println!(
        "{} trials ({} complete) with {} workers x {} threads in {elapsed:.1} s; Pareto front: {} trials",
        results.len(),
        complete.len(),
        spec.budget.workers,
        runner.threads(),
        front.len()
    );
    let names = spec.objectives.names();
    for i in front {
        let (job, values) = complete[i];
        let vals: Vec<String> = names
            .iter()
            .map(|n| format!("{n}={:.4}", values[*n]))
            .collect();
        let params: Vec<String> = job.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "  trial {:>3}: {}  [{}]",
            job.trial,
            vals.join(" "),
            params.join(", ")
        );
    }
}
