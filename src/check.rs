//! `paretosearch check`: validate a study file and say what `run` would do,
//! without running a trial. Everything `run` builds before it touches the
//! store is built here too (sampler, pruner, runner: a torch runner loads
//! its dataset and checks its options against the space), so a study that
//! passes `check` fails `run` only on what happens at run time. An existing
//! SQLite store is read to report its trials and refuse a study file whose
//! space or objectives no longer match it; a missing one is not created and
//! a PostgreSQL server is not contacted.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use paretosearch_core::spec::{RunnerSpec, SpecError, NO_RUNNER};
use paretosearch_core::{Direction, Distribution, Monotone, Param, StudySpec, TrialState};
use serde_json::json;

use crate::cli::CheckArgs;
use crate::study;

/// Validate the study file and print its plan. With `--json`, a mistake
/// is printed on stdout too, as `{"ok": false, "file", "line", "column",
/// "field", "message", "help", "study_file"}` (`null` where unknown),
/// before the error goes on to stderr and exits as it would without
/// `--json` (status 2 for a mistake in the file).
pub async fn check(args: CheckArgs) -> Result<ExitCode> {
    let json = args.json;
    let file = args.study.study.clone();
    let result = check_inner(args).await;
    if let (true, Err(e)) = (json, &result) {
        println!("{}", serde_json::to_string_pretty(&error_json(&file, e))?);
    }
    result
}

/// The JSON `check --json` prints for an error: located when it is a
/// study-file mistake, else the file and the message alone.
fn error_json(file: &Path, e: &anyhow::Error) -> serde_json::Value {
    let spec_error = e.chain().find_map(|c| {
        c.downcast_ref::<SpecError>().or_else(|| {
            match c.downcast_ref::<paretosearch::EngineError>() {
                Some(paretosearch::EngineError::Spec(s)) => Some(&**s),
                _ => None,
            }
        })
    });
    let mut out = match spec_error {
        Some(s) => json!({
            "file": s.file,
            "line": s.line,
            "column": s.column,
            "field": (!s.field.is_empty()).then_some(&s.field),
            "message": s.message,
            "help": s.help,
        }),
        None => {
            let mut message = String::new();
            for (i, cause) in e.chain().enumerate() {
                let s = cause.to_string();
                if i > 0 {
                    if message.contains(&s) {
                        continue;
                    }
                    message.push_str(": ");
                }
                message.push_str(&s);
            }
            json!({
                "file": file,
                "line": null,
                "column": null,
                "field": null,
                "message": message,
                "help": null,
            })
        }
    };
    out["ok"] = json!(false);
    // The file checked (`file` is the one at fault: it may be a fragment).
    out["study_file"] = json!(file);
    out
}

async fn check_inner(args: CheckArgs) -> Result<ExitCode> {
    let prepared = study::prepare(&args.study.study, args.study.storage.as_deref())?;
    let spec = &prepared.spec;
    if !no_runner(spec) {
        paretosearch::registry().build(spec, spec.budget.workers)?;
    }
    paretosearch::build_sampler(spec)?;
    let pruning = paretosearch::build_pruning(spec)?;
    let storage = stored(prepared.clone()).await?;

    let pruner = match (&pruning.early, &pruning.partial_order) {
        (None, None) => "none".to_string(),
        (Some(p), None) => p.name().to_string(),
        (None, Some(_)) => "partial order only".to_string(),
        (Some(p), Some(_)) => format!("{} + partial order", p.name()),
    };
    let runner = describe_runner(spec);
    if args.json {
        let out = json!({
            "study": spec.name,
            "file": spec.origin.file,
            "ok": true,
            "objectives": spec.objectives.iter().map(|o| json!({
                "name": o.name,
                "direction": o.direction,
                "constraint": o.constraint,
                "cheap": o.cheap,
            })).collect::<Vec<_>>(),
            "parameters": spec.space.params(),
            "sampler": spec.sampler.kind,
            "pruner": pruner,
            "runner": runner,
            "budget": {
                "trials": spec.budget.trials,
                "workers": spec.budget.workers,
                "timeout_s": spec.budget.timeout.map(|t| t.as_secs_f64()),
            },
            "storage": { "url": paretosearch::mask_url(&prepared.storage_url), "state": storage },
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}: study `{}` is valid",
        spec.origin.file.display(),
        spec.name
    );
    let objectives: Vec<String> = spec
        .objectives
        .iter()
        .map(|o| {
            let direction = match o.direction {
                Direction::Minimize => "minimize",
                Direction::Maximize => "maximize",
            };
            let mut s = format!("{} ({direction}", o.name);
            if let Some(c) = o.constraint {
                if let Some(min) = c.min {
                    s.push_str(&format!(", >= {min}"));
                }
                if let Some(max) = c.max {
                    s.push_str(&format!(", <= {max}"));
                }
            }
            if o.cheap {
                s.push_str(", cheap");
            }
            s + ")"
        })
        .collect();
    println!("  objectives  {}", objectives.join(", "));
    println!(
        "  parameters  {}{}",
        spec.space.len(),
        if spec.space.is_conditional() {
            " (some conditional)"
        } else {
            ""
        }
    );
    for p in spec.space.params() {
        println!("    {}", describe_param(p));
    }
    println!("  sampler     {}", spec.sampler.kind);
    println!("  pruner      {pruner}");
    println!("  runner      {runner}");
    println!(
        "  budget      {} trials, {} worker{}{}",
        spec.budget.trials,
        spec.budget.workers,
        if spec.budget.workers == 1 { "" } else { "s" },
        spec.budget
            .timeout
            .map(|t| format!(", at most {} per run", humantime::format_duration(t)))
            .unwrap_or_default()
    );
    println!(
        "  storage     {} ({storage})",
        paretosearch::mask_url(&prepared.storage_url)
    );
    Ok(ExitCode::SUCCESS)
}

/// What the storage holds for this study, without creating anything.
async fn stored(prepared: study::Prepared) -> Result<String> {
    let Some(path) = study::sqlite_path(&prepared.storage_url) else {
        return Ok("not contacted; `status` reads it".into());
    };
    if path.starts_with(':') {
        return Ok("in memory".into());
    }
    if !Path::new(path).exists() {
        return Ok("does not exist yet; `run` creates it".into());
    }
    let loaded = prepared.connect_existing().await?;
    if loaded.store.find_study(&loaded.spec.name).await?.is_none() {
        return Ok(format!("holds no study `{}` yet", loaded.spec.name));
    }
    // Refuses a space or objectives that no longer match, as `run` would.
    let record = loaded.existing_study().await?;
    let trials = loaded.store.trials(record.id).await?;
    let summary = paretosearch::summarize(&trials, &loaded.spec.objectives);
    Ok(format!(
        "{}, {} running; `run` resumes it",
        crate::util::finished_of(&summary, loaded.spec.budget.trials),
        summary.count(TrialState::Running)
    ))
}

fn describe_param(p: &Param) -> String {
    let range = |kind: &str, low: String, high: String, log: bool, step: Option<String>| {
        let log = if log { " log" } else { "" };
        let step = step.map(|s| format!(" step {s}")).unwrap_or_default();
        format!("{}: {kind} [{low}, {high}]{log}{step}", p.name)
    };
    let mut s = match &p.distribution {
        Distribution::Float {
            low,
            high,
            log,
            step,
        } => range(
            "float",
            low.to_string(),
            high.to_string(),
            *log,
            step.map(|s| s.to_string()),
        ),
        Distribution::Int {
            low,
            high,
            log,
            step,
        } => range(
            "int",
            low.to_string(),
            high.to_string(),
            *log,
            (*step != 1).then(|| step.to_string()),
        ),
        Distribution::Categorical { choices } => format!(
            "{}: one of {}",
            p.name,
            choices
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    match p.monotone {
        Some(Monotone::Increasing) => s.push_str(", monotone increasing"),
        Some(Monotone::Decreasing) => s.push_str(", monotone decreasing"),
        None => {}
    }
    for c in &p.when {
        let values: Vec<String> = c.values.iter().map(|v| v.to_string()).collect();
        s.push_str(&format!(", when {} in [{}]", c.parent, values.join(", ")));
    }
    s
}

/// A study without a `[runner]`: evaluated through ask and tell only.
fn no_runner(spec: &StudySpec) -> bool {
    matches!(&spec.runner, RunnerSpec::Other { kind, .. } if kind == NO_RUNNER)
}

fn describe_runner(spec: &StudySpec) -> String {
    if no_runner(spec) {
        return "none: trials are asked and told (`paretosearch ask`, `tell`); `run` needs a [runner]".into();
    }
    match &spec.runner {
        RunnerSpec::Command(c) => format!(
            "command `{}`{}",
            c.command.join(" "),
            if c.profile_command.is_some() {
                " (with a profile command)"
            } else {
                ""
            }
        ),
        RunnerSpec::Builtin(b) => format!("builtin problem {}", b.problem),
        RunnerSpec::Other { kind, options } => {
            let get = |k: &str| {
                options
                    .get(k)
                    .map(|v| v.to_string().trim_matches('"').to_string())
            };
            let parts: Vec<String> = ["task", "model", "dataset", "device", "epochs"]
                .iter()
                .filter_map(|k| get(k).map(|v| format!("{k} {v}")))
                .collect();
            if parts.is_empty() {
                kind.clone()
            } else {
                format!("{kind}: {}", parts.join(", "))
            }
        }
    }
}
