//! `paretosearch bench-pruning`: replay recorded learning curves through
//! pruners and print what each saves and costs (see
//! `paretosearch_pruners::replay`).
//!
//! Workloads are the built-in synthetic ones (`--synthetic KIND`, all four
//! by default when no file is given) and JSON files of recorded studies
//! (`--workload FILE`: `{"name", "objectives", "trials": [{"reports",
//! "values", "cheap", "seconds_per_step", "profile_seconds"}]}`, written by
//! `scripts/record-curves.py` from a study or by `scripts/lcdb-curves.py`
//! from the curves the `lcdb` package ships; `.json.gz` compressed, or a
//! folder of them: `bench/curves/` holds the project's recorded set). Each arm is a `[pruner]`
//! table written `kind` or `kind:key=value,key=value` (`dominated`,
//! `dominated:stop_below=0.1`, `mo-asha:front_cap=0.6`); the arm `clairvoyant`
//! (`clairvoyant:warmup_steps=N,min_gain=G`) knows every final value and
//! gives the ceiling. Seeds shuffle the order of
//! the trials (a random sampler's order). Rows print medians over seeds
//! and, in brackets, the worst seed; a second table sums up each study
//! recorded at several seeds (`cnn-random-s1` ... `-s5` are `cnn-random`):
//! the median and range of its recordings' medians and the worst order.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use paretosearch_core::spec::PrunerSpec;
use paretosearch_core::SearchSpace;
use paretosearch_pruners::replay::clairvoyant::Clairvoyant;
use paretosearch_pruners::replay::{self, synthetic, Outcome, Workload};
use serde_json::json;

use crate::cli::BenchPruningArgs;
use crate::BadInput;

/// Default arms: the defaults of `dominated` and `mo-asha`, the previous
/// default of `dominated` (the linear bound alone), and the clairvoyant
/// ceiling that no rule stopping only trials that end dominated can pass.
const DEFAULT_ARMS: [&str; 4] = [
    "dominated",
    "dominated:extrapolate=linear",
    "mo-asha",
    "clairvoyant",
];

/// Run the benchmark.
pub fn bench_pruning(args: BenchPruningArgs) -> Result<ExitCode> {
    let mut workloads: Vec<Workload> = Vec::new();
    for path in &args.workloads {
        for file in workload_files(path)? {
            workloads.push(read_workload(&file)?);
        }
    }
    let kinds: Vec<String> = if args.synthetic.is_empty() && args.workloads.is_empty()
        || args.synthetic.iter().any(|k| k == "all")
    {
        synthetic::KINDS.iter().map(|s| s.to_string()).collect()
    } else {
        args.synthetic.clone()
    };
    for k in &kinds {
        let w = synthetic::workload(k, args.trials, args.steps, 0).ok_or_else(|| {
            BadInput(format!(
                "--synthetic {k}: unknown; use one of {}",
                synthetic::KINDS.join(", ")
            ))
        })?;
        workloads.push(w);
    }
    let arms: Vec<String> = if args.arms.is_empty() {
        DEFAULT_ARMS.iter().map(|s| s.to_string()).collect()
    } else {
        args.arms.clone()
    };
    let mut rows = Vec::new();
    println!(
        "{:<24} {:<34} {:>6} {:>15} {:>7} {:>15} {:>6} {:>8}",
        "workload", "arm", "trials", "epochs saved", "time", "HV ratio", "false", "µs/rep"
    );
    for w in &workloads {
        for arm in &arms {
            let mut spec = arm_spec(arm)?;
            if matches!(spec.kind.as_str(), "mo-asha" | "hyperband")
                && !spec.options.contains_key("max_resource")
            {
                // The workload's full length, as a user would write it.
                let full = w.trials.iter().map(|t| t.reports.len()).max().unwrap_or(1);
                spec.options
                    .insert("max_resource".into(), toml::Value::Integer(full as i64));
            }
            let mut outs: Vec<(Outcome, f64)> = Vec::new();
            for seed in 0..args.seeds {
                let order = replay::shuffled(w.trials.len(), seed);
                // A fresh pruner per seed: nothing cached carries over.
                let pruner: Box<dyn paretosearch_pruners::Pruner> = if spec.kind == "clairvoyant" {
                    Box::new(
                        Clairvoyant::from_options(&spec.options, w, &order)
                            .map_err(|e| BadInput(format!("--arm {arm}: {e}")))?,
                    )
                } else {
                    let pruning = paretosearch_pruners::build(
                        Some(&spec),
                        &SearchSpace::default(),
                        &w.objectives,
                    )
                    .map_err(|e| BadInput(format!("--arm {arm}: {e}")))?;
                    pruning
                        .early
                        .ok_or_else(|| BadInput(format!("--arm {arm}: no early-stopping rule")))?
                };
                let t = Instant::now();
                let out = replay::replay(pruner.as_ref(), w, &order, seed);
                let us = t.elapsed().as_secs_f64() * 1e6 / out.decisions.max(1) as f64;
                outs.push((out, us));
            }
            let med = |f: &dyn Fn(&(Outcome, f64)) -> f64| {
                crate::util::median(outs.iter().map(f).collect())
            };
            let worst_saved = outs
                .iter()
                .map(|o| o.0.epochs_saved)
                .fold(f64::INFINITY, f64::min);
            let worst_hv = outs
                .iter()
                .map(|o| o.0.hv_ratio)
                .fold(f64::INFINITY, f64::min);
            let row = json!({
                "workload": w.name,
                "arm": arm,
                "trials": w.trials.len(),
                "seeds": args.seeds,
                "epochs_saved": med(&|o| o.0.epochs_saved),
                "epochs_saved_worst": worst_saved,
                "time_saved": med(&|o| o.0.time_saved),
                "hv_ratio": med(&|o| o.0.hv_ratio),
                "hv_ratio_worst": worst_hv,
                "false_stops": med(&|o| o.0.false_stops as f64),
                "us_per_report": med(&|o| o.1),
            });
            println!(
                "{:<24} {:<34} {:>6} {:>6.1} % [{:>4.1}] {:>5.1} % {:>6.4} [{:.4}] {:>6.1} {:>8.0}",
                trunc(&w.name, 24),
                trunc(arm, 34),
                w.trials.len(),
                100.0 * row["epochs_saved"].as_f64().unwrap_or(0.0),
                100.0 * worst_saved,
                100.0 * row["time_saved"].as_f64().unwrap_or(0.0),
                row["hv_ratio"].as_f64().unwrap_or(0.0),
                worst_hv,
                row["false_stops"].as_f64().unwrap_or(0.0),
                row["us_per_report"].as_f64().unwrap_or(0.0),
            );
            rows.push(row);
        }
    }
    let studies = per_study(&rows, &arms);
    if args.json {
        println!("{}", json!({ "rows": rows, "studies": studies }));
    }
    Ok(ExitCode::SUCCESS)
}

/// The study a workload was recorded from: its name without a trailing
/// `-s<seed>` (`cnn-random-s3` is `cnn-random`).
fn study_of(name: &str) -> &str {
    match name.rsplit_once("-s") {
        Some((study, seed)) if !seed.is_empty() && seed.bytes().all(|b| b.is_ascii_digit()) => {
            study
        }
        _ => name,
    }
}

/// Per study recorded at several seeds and per arm: the range and median of
/// the recordings' medians, and the worst single order of any of them.
/// Printed as a second table (when some study has two recordings or more)
/// and returned as JSON.
fn per_study(rows: &[serde_json::Value], arms: &[String]) -> Vec<serde_json::Value> {
    let mut studies: Vec<&str> = Vec::new();
    for r in rows {
        let s = study_of(r["workload"].as_str().unwrap_or(""));
        if !studies.contains(&s) {
            studies.push(s);
        }
    }
    let mut out = Vec::new();
    for study in studies {
        for arm in arms {
            let of: Vec<&serde_json::Value> = rows
                .iter()
                .filter(|r| {
                    r["arm"] == arm.as_str()
                        && study_of(r["workload"].as_str().unwrap_or("")) == study
                })
                .collect();
            if of.len() < 2 {
                continue;
            }
            let get = |k: &str| -> Vec<f64> { of.iter().filter_map(|r| r[k].as_f64()).collect() };
            let range = |k: &str| {
                let v = get(k);
                let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (lo, crate::util::median(v), hi)
            };
            let worst = |k: &str| get(k).into_iter().fold(f64::INFINITY, f64::min);
            let (saved, hv) = (range("epochs_saved"), range("hv_ratio"));
            out.push(json!({
                "study": study,
                "arm": arm,
                "recordings": of.len(),
                "epochs_saved": { "min": saved.0, "median": saved.1, "max": saved.2,
                                  "worst": worst("epochs_saved_worst") },
                "hv_ratio": { "min": hv.0, "median": hv.1, "max": hv.2,
                              "worst": worst("hv_ratio_worst") },
                "false_stops": crate::util::median(get("false_stops")),
            }));
        }
    }
    if !out.is_empty() {
        println!();
        println!(
            "{:<20} {:<34} {:>4} {:>28} {:>33}",
            "study", "arm", "recs", "epochs saved, range [worst]", "HV ratio, range [worst]"
        );
        for s in &out {
            let f = |k: &str, q: &str| s[k][q].as_f64().unwrap_or(f64::NAN);
            println!(
                "{:<20} {:<34} {:>4} {:>6.1} % {:>5.1}–{:<5.1} [{:>4.1}] {:>10.4} {:.4}–{:.4} [{:.4}]",
                trunc(s["study"].as_str().unwrap_or(""), 20),
                trunc(s["arm"].as_str().unwrap_or(""), 34),
                s["recordings"],
                100.0 * f("epochs_saved", "median"),
                100.0 * f("epochs_saved", "min"),
                100.0 * f("epochs_saved", "max"),
                100.0 * f("epochs_saved", "worst"),
                f("hv_ratio", "median"),
                f("hv_ratio", "min"),
                f("hv_ratio", "max"),
                f("hv_ratio", "worst"),
            );
        }
    }
    out
}

/// The files of `--workload PATH`: the file itself, or every `*.json` and
/// `*.json.gz` in the folder (as `bench/curves/`), in name order.
fn workload_files(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("reading the folder {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            p.is_file() && (name.ends_with(".json") || name.ends_with(".json.gz"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(BadInput(format!(
            "--workload {}: the folder holds no *.json or *.json.gz workload",
            path.display()
        ))
        .into());
    }
    Ok(files)
}

/// One workload file, gzip-compressed where its name ends in `.gz`.
fn read_workload(path: &Path) -> Result<Workload> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading workload {}", path.display()))?;
    let text = if path.extension().is_some_and(|e| e == "gz") {
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .map_err(|e| {
                BadInput(format!(
                    "{}: not gzip-compressed JSON ({e})",
                    path.display()
                ))
            })?;
        text
    } else {
        String::from_utf8(bytes)
            .map_err(|e| BadInput(format!("{}: not UTF-8 ({e})", path.display())))?
    };
    serde_json::from_str(&text).map_err(|e| {
        BadInput(format!(
            "{}: not a workload ({e}); write {{\"name\", \"objectives\", \"trials\"}} as scripts/record-curves.py does",
            path.display()
        ))
        .into()
    })
}

/// `kind` or `kind:key=value,...` as a `[pruner]` table.
fn arm_spec(arm: &str) -> Result<PrunerSpec> {
    let (kind, options) = crate::util::kind_options(arm, "--arm")?;
    Ok(PrunerSpec { kind, options })
}

fn trunc(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(['…']).collect()
    }
}
