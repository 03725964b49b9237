//! A tabular benchmark from the torch runner: every configuration of a
//! small, mostly categorical MLP grid trained on the embedded digits set
//! with three training seeds, written as a CSV, so that sampler benchmarks
//! replay real training results in microseconds.
//!
//! The trials go through [`TorchRunner`], built from the study file in
//! [`STUDY`] exactly as `[runner] kind = "torch"` builds it (same option
//! parsing, data split, model, training loop and measurements). The grid is
//! that study's `[search_space]`: every parameter is categorical and the
//! table holds their full cartesian product, in the order of [`GRID`] (the
//! last name varies fastest), each configuration with the seeds [`SEEDS`].
//! The study seed (0) fixes the train/validation split for every row; the
//! row's `seed` is the trial seed (initial weights and batch order). Each
//! trial uses one CPU thread, so every row is reproducible on the CPU.
//!
//! Columns: the grid's parameters, `seed`, `val_error` (1 − validation
//! accuracy), `val_loss` (validation cross-entropy), and `params` and
//! `macs` (per sample) as the runner reports them. Latency and training
//! time are machine-dependent and not recorded.
//!
//! ```sh
//! scripts/record-digits-table.sh      # regenerates bench/data/digits_mlp.csv
//! cargo run --release -p paretosearch-torch --example digits_table -- \
//!     bench/data/digits_mlp.csv [--workers 2] [--commit C] [--date D]
//! cargo run --release -p paretosearch-torch --example digits_table -- --check bench/data/digits_mlp.csv
//! cargo test --release -p paretosearch-torch --example digits_table   # checks the committed table
//! ```
//!
//! `--check` (and the end of a run) verifies that every grid point is
//! present once for every seed and prints a summary: the best and worst
//! validation error and the configurations that are Pareto-optimal for
//! (mean validation error over the seeds, parameter count).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use paretosearch_core::spec::RunnerSpec;
use paretosearch_core::{ParamValue, Params, StudySpec, TrialOutcome};
use paretosearch_runner::{Job, NoReporter, Runner};
use paretosearch_torch::TorchRunner;
use tokio_util::sync::CancellationToken;

/// The study whose runner trains every row: the grid is its search space.
const STUDY: &str = r#"
[study]
name = "digits-mlp-table"
seed = 0

[[objectives]]
name = "accuracy"
direction = "maximize"

[[objectives]]
name = "params"
direction = "minimize"

[[objectives]]
name = "macs"
direction = "minimize"

[search_space]
width = { type = "categorical", choices = [16, 32, 64, 128, 256] }
layers = { type = "categorical", choices = [1, 2, 3] }
activation = { type = "categorical", choices = ["relu", "tanh", "gelu"] }
optimizer = { type = "categorical", choices = ["adam", "sgd"] }
lr = { type = "categorical", choices = [0.001, 0.003, 0.01, 0.03] }

[runner]
kind = "torch"
task = "train"
dataset = "digits"
model = "mlp"
device = "cpu"
epochs = 8
threads = 1

[runner.params]
batch_size = 64
schedule = "constant"
dropout = 0.0

[budget]
trials = 1080
"#;

/// The grid's parameters in column order (the last varies fastest).
const GRID: [&str; 5] = ["width", "layers", "activation", "optimizer", "lr"];

/// The training seeds of every configuration.
const SEEDS: [u64; 3] = [0, 1, 2];

/// The measured columns after the grid's and `seed`.
const VALUES: [&str; 4] = ["val_error", "val_loss", "params", "macs"];

type Error = Box<dyn std::error::Error>;

fn study() -> Result<StudySpec, Error> {
    let spec = StudySpec::parse(STUDY, Path::new("digits_table.toml"), &mut |p: &Path| {
        Err(format!("no includes here ({})", p.display()))
    })?;
    let names: BTreeSet<&str> = spec
        .space
        .params()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    if names != GRID.iter().copied().collect() {
        return Err(format!("the search space has {names:?}, the grid {GRID:?}").into());
    }
    Ok(spec)
}

/// Every configuration of the grid, the last parameter of [`GRID`] varying fastest.
fn grid(spec: &StudySpec) -> Result<Vec<Params>, Error> {
    let mut configs = vec![Params::new()];
    for name in GRID {
        let param = spec.space.get(name).ok_or(format!("no parameter {name}"))?;
        let paretosearch_core::Distribution::Categorical { choices } = &param.distribution else {
            return Err(format!("{name} is not categorical").into());
        };
        configs = configs
            .into_iter()
            .flat_map(|c| {
                choices.iter().map(move |v| {
                    let mut c = c.clone();
                    c.insert(name.to_string(), v.clone());
                    c
                })
            })
            .collect();
    }
    Ok(configs)
}

/// A parameter value as the CSV writes it (and `--check` reads it back).
fn cell(v: &ParamValue) -> String {
    v.to_string()
}

fn key(params: &Params) -> Vec<String> {
    GRID.iter().map(|n| cell(&params[*n])).collect()
}

fn header() -> Vec<String> {
    GRID.iter()
        .copied()
        .chain(["seed"])
        .chain(VALUES)
        .map(str::to_string)
        .collect()
}

struct Args {
    out: Option<PathBuf>,
    check: Option<PathBuf>,
    workers: usize,
    commit: String,
    date: String,
}

fn parse_args() -> Result<Args, Error> {
    let mut args = Args {
        out: None,
        check: None,
        workers: 2,
        commit: "unknown".into(),
        date: "unknown".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--check" => args.check = Some(value()?.into()),
            "--workers" => args.workers = value()?.parse()?,
            "--commit" => args.commit = value()?,
            "--date" => args.date = value()?,
            s if s.starts_with("--") => return Err(format!("unknown option {s}").into()),
            s => args.out = Some(s.into()),
        }
    }
    if args.out.is_none() && args.check.is_none() {
        return Err(
            "usage: digits_table OUT.csv [--workers N] [--commit C] [--date D] | --check FILE.csv"
                .into(),
        );
    }
    Ok(args)
}

#[tokio::main]
async fn main() {
    if let Err(e) = real_main().await {
        eprintln!("digits_table: {e}");
        std::process::exit(1);
    }
}

async fn real_main() -> Result<(), Error> {
    let args = parse_args()?;
    let spec = study()?;
    if let Some(out) = &args.out {
        record(&spec, &args, out).await?;
    }
    let file = args.check.as_ref().or(args.out.as_ref()).expect("a file");
    let summary = check(&spec, &std::fs::read_to_string(file)?)?;
    println!("{summary}");
    Ok(())
}

/// Train every grid point with every seed and write the table to `out`.
async fn record(spec: &StudySpec, args: &Args, out: &Path) -> Result<(), Error> {
    let RunnerSpec::Other { options, .. } = &spec.runner else {
        return Err("not a torch study".into());
    };
    let started = Instant::now();
    let runner = TorchRunner::from_options(
        options,
        &spec.origin,
        spec.seed,
        &spec.space,
        &spec.objectives,
    )?;
    let configs = grid(spec)?;
    let objectives: Vec<String> = spec
        .objectives
        .names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let jobs: Vec<Job> = configs
        .iter()
        .flat_map(|c| SEEDS.iter().map(move |&s| (c, s)))
        .enumerate()
        .map(|(i, (params, seed))| Job {
            study: spec.name.clone(),
            trial: i as u64,
            params: params.clone(),
            seed,
            objectives: objectives.clone(),
            log_path: None,
        })
        .collect();
    let total = jobs.len();
    eprintln!(
        "{} configurations x {} seeds = {total} trials, {} workers x {} thread",
        configs.len(),
        SEEDS.len(),
        args.workers,
        runner.threads()
    );
    let runner = Arc::new(runner);
    let queue = Arc::new(Mutex::new(jobs.into_iter()));
    let done = Arc::new(Mutex::new(0usize));
    let mut workers = Vec::new();
    for _ in 0..args.workers.max(1) {
        let (runner, queue, done) = (runner.clone(), queue.clone(), done.clone());
        workers.push(tokio::spawn(async move {
            let mut rows = Vec::new();
            loop {
                let next = queue.lock().expect("queue").next();
                let Some(job) = next else { break };
                let out = runner
                    .run(job.clone(), &NoReporter, CancellationToken::new())
                    .await;
                let TrialOutcome::Complete(values) = out else {
                    return Err(format!("trial {:?} seed {}: {out:?}", job.params, job.seed));
                };
                rows.push((job, values));
                let mut n = done.lock().expect("count");
                *n += 1;
                if *n % 60 == 0 || *n == total {
                    eprintln!(
                        "  {n}/{total} trials, {:.0} s",
                        started.elapsed().as_secs_f64()
                    );
                }
            }
            Ok(rows)
        }));
    }
    let mut rows = Vec::new();
    for w in workers {
        rows.extend(w.await??);
    }
    rows.sort_by_key(|(job, _)| job.trial);
    let elapsed = started.elapsed().as_secs_f64();

    let mut text = String::new();
    let grid_line: Vec<String> = GRID
        .iter()
        .map(|n| {
            let p = spec.space.get(n).expect("grid parameter");
            let paretosearch_core::Distribution::Categorical { choices } = &p.distribution else {
                unreachable!("checked by grid()")
            };
            let c: Vec<String> = choices.iter().map(cell).collect();
            format!("{n} in {{{}}}", c.join(", "))
        })
        .collect();
    for line in [
        "digits_mlp: paretosearch's torch runner (crates/torch, [runner] kind = \"torch\", model = \"mlp\") on the embedded UCI digits set".to_string(),
        format!("regenerate: scripts/record-digits-table.sh (cargo run --release -p paretosearch-torch --example digits_table -- {})", out.display()),
        format!("commit {}, {}, libtorch {}, CPU, 1 thread per trial, {total} trials in {elapsed:.0} s", args.commit, args.date, option_env!("PARETOSEARCH_LIBTORCH_VERSION").unwrap_or("?")),
        format!("grid: {}; seeds {SEEDS:?} (trial seed: weights and batch order)", grid_line.join("; ")),
        "fixed: epochs 8, batch_size 64, constant lr, no dropout, no batch norm, sgd momentum 0.9; split by study seed 0: 1438 train, 359 validation digits".to_string(),
        "val_error = 1 - validation accuracy; val_loss = validation cross-entropy; params and macs (per sample) as the runner reports them".to_string(),
    ] {
        text.push_str("# ");
        text.push_str(&line);
        text.push('\n');
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header())?;
    for (job, values) in &rows {
        let get = |k: &str| {
            values
                .get(k)
                .copied()
                .ok_or(format!("trial {} reported no {k}", job.trial))
        };
        let mut rec = key(&job.params);
        rec.push(job.seed.to_string());
        rec.push(format!("{:.6}", 1.0 - get("accuracy")?));
        rec.push(format!("{:.6}", get("loss")?));
        rec.push(format!("{}", get("params")? as u64));
        rec.push(format!("{}", get("macs")? as u64));
        w.write_record(&rec)?;
    }
    text.push_str(std::str::from_utf8(&w.into_inner()?)?);
    let tmp = out.with_extension("csv.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, out)?;
    eprintln!(
        "wrote {} rows to {} in {elapsed:.1} s",
        rows.len(),
        out.display()
    );
    Ok(())
}

/// Check that the table holds every grid point once for every seed with
/// sane values, and summarise it.
fn check(spec: &StudySpec, text: &str) -> Result<String, Error> {
    let mut r = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let head: Vec<String> = r.headers()?.iter().map(str::to_string).collect();
    if head != header() {
        return Err(format!("header {head:?}, expected {:?}", header()).into());
    }
    let expected: BTreeSet<(Vec<String>, u64)> = grid(spec)?
        .iter()
        .flat_map(|c| SEEDS.iter().map(move |&s| (key(c), s)))
        .collect();
    // Per configuration: the seeds' errors and the (shared) parameter count.
    let mut configs: BTreeMap<Vec<String>, (Vec<f64>, u64)> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let (mut best, mut worst) = (
        (f64::INFINITY, String::new()),
        (f64::NEG_INFINITY, String::new()),
    );
    for (line, rec) in r.records().enumerate() {
        let rec = rec?;
        let at = |e: String| format!("row {}: {e}", line + 1);
        let k: Vec<String> = rec.iter().take(GRID.len()).map(str::to_string).collect();
        let seed: u64 = rec[GRID.len()]
            .parse()
            .map_err(|e| at(format!("seed: {e}")))?;
        let num = |i: usize| -> Result<f64, String> {
            rec[GRID.len() + 1 + i]
                .parse::<f64>()
                .map_err(|e| at(format!("{}: {e}", VALUES[i])))
        };
        let (err, loss, params, macs) = (num(0)?, num(1)?, num(2)?, num(3)?);
        if !expected.contains(&(k.clone(), seed)) {
            return Err(at(format!("{k:?} seed {seed} is not in the grid")).into());
        }
        if !seen.insert((k.clone(), seed)) {
            return Err(at(format!("{k:?} seed {seed} appears twice")).into());
        }
        if !((0.0..=1.0).contains(&err) && loss.is_finite() && loss >= 0.0) {
            return Err(at(format!("val_error {err} or val_loss {loss} out of range")).into());
        }
        if params < 1.0 || macs < params * 0.5 || params.fract() != 0.0 || macs.fract() != 0.0 {
            return Err(at(format!("params {params} or macs {macs} implausible")).into());
        }
        let label = format!("{} seed {seed}", k.join(" "));
        if err < best.0 {
            best = (err, label.clone());
        }
        if err > worst.0 {
            worst = (err, label);
        }
        let entry = configs
            .entry(k.clone())
            .or_insert((Vec::new(), params as u64));
        if entry.1 != params as u64 {
            return Err(at(format!("{k:?}: params differ between seeds")).into());
        }
        entry.0.push(err);
    }
    let missing: Vec<_> = expected.difference(&seen).take(5).collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} of {} rows missing, e.g. {missing:?}",
            expected.len() - seen.len(),
            expected.len()
        )
        .into());
    }
    let keys: Vec<&Vec<String>> = configs.keys().collect();
    let points: Vec<Vec<f64>> = configs
        .values()
        .map(|(errs, params)| {
            // Errors are multiples of 1 / n_valid written with 6 decimals:
            // means rounded to 1e-6 make equal error counts compare equal
            // whatever the float noise of the sum.
            let mean = errs.iter().sum::<f64>() / errs.len() as f64;
            vec![(mean * 1e6).round() / 1e6, *params as f64]
        })
        .collect();
    let mut front = paretosearch_core::pareto::pareto_front(&points);
    front.sort_by(|&a, &b| points[a][1].total_cmp(&points[b][1]));
    let distinct: BTreeSet<(u64, u64)> = front
        .iter()
        .map(|&i| (points[i][0].to_bits(), points[i][1] as u64))
        .collect();
    let mut s = format!(
        "{} rows ({} configurations x {} seeds), complete; val_error best {:.4} ({}), worst {:.4} ({})\n\
         Pareto-optimal for (mean val_error, params): {} configurations at {} distinct points ({})",
        seen.len(),
        configs.len(),
        SEEDS.len(),
        best.0,
        best.1,
        worst.0,
        worst.1,
        front.len(),
        distinct.len(),
        GRID.join(" "),
    );
    for i in front {
        s.push_str(&format!(
            "\n  {:<24} mean val_error {:.4}  params {}",
            keys[i].join(" "),
            points[i][0],
            points[i][1]
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_the_full_product() {
        let spec = study().unwrap();
        let g = grid(&spec).unwrap();
        assert_eq!(g.len(), 5 * 3 * 3 * 2 * 4);
        let distinct: BTreeSet<Vec<String>> = g.iter().map(key).collect();
        assert_eq!(distinct.len(), g.len());
        assert_eq!(key(&g[0]), ["16", "1", "relu", "adam", "0.001"]);
        assert_eq!(key(&g[1]), ["16", "1", "relu", "adam", "0.003"]);
    }

    /// The committed table holds every grid point for every seed.
    #[test]
    fn committed_table_is_complete() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/data/digits_mlp.csv");
        let text = std::fs::read_to_string(&file).unwrap();
        let summary = check(&study().unwrap(), &text).unwrap();
        assert!(summary.contains("1080 rows"), "{summary}");
    }

    #[test]
    fn check_finds_a_missing_row() {
        let spec = study().unwrap();
        let mut text = header().join(",") + "\n";
        for c in grid(&spec).unwrap().iter().skip(1) {
            for s in SEEDS {
                text.push_str(&format!("{},{s},0.1,0.3,1000,1000\n", key(c).join(",")));
            }
        }
        let e = check(&spec, &text).unwrap_err().to_string();
        assert!(e.contains("3 of 1080 rows missing"), "{e}");
    }

    /// Equal error counts tie whatever order the seeds' rounded errors are
    /// summed in: the larger network with the same mean is dominated.
    #[test]
    fn equal_means_tie_on_the_front() {
        let spec = study().unwrap();
        let mut text = header().join(",") + "\n";
        for (i, c) in grid(&spec).unwrap().iter().enumerate() {
            // 0.027855 + 0.038997 + 0.030641 and 0.038997 + 0.033426 +
            // 0.025070 count the same 35 errors of 3 x 359, the two sums
            // differ in the last bit.
            let errs = match i {
                0 => [0.027855, 0.038997, 0.030641],
                1 => [0.038997, 0.033426, 0.025070],
                _ => [0.5; 3],
            };
            let params = if i == 0 { 1000 } else { 2000 };
            for (s, e) in SEEDS.iter().zip(errs) {
                text.push_str(&format!(
                    "{},{s},{e},0.3,{params},{params}\n",
                    key(c).join(",")
                ));
            }
        }
        let summary = check(&spec, &text).unwrap();
        assert!(
            summary.contains(": 1 configurations at 1 distinct points"),
            "{summary}"
        );
    }
}
