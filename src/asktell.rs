//! `paretosearch ask` / `paretosearch tell`: the ask → tell loop for
//! training runs that happen elsewhere (a cluster scheduler, a notebook).
//!
//! `ask` claims the next trial exactly as a `run` worker does (a re-queued
//! trial first, else a new number while the budget allows), samples its
//! parameters with the study's sampler, stores them and prints them; the
//! trial is then RUNNING, owned by the worker `ask@<host>`. `tell` finishes
//! it (COMPLETE with every objective, PRUNED or FAIL), or with `--step`
//! records an intermediate report and says whether the study's pruner
//! would stop the trial (the caller then stops its training and tells
//! `--state pruned`).
//!
//! Validation happens before anything is written, as Optuna's `tell` does,
//! with one difference: a COMPLETE report that misses an objective or
//! holds a non-finite value is refused (exit status 2, the trial stays
//! RUNNING) instead of being turned into a FAIL, because here the values
//! are typed by a person, and a typo should not cost a trial.
//!
//! Both are thin clients of the library: `ask` is [`Study::try_ask`]
//! (the same claim, sampling, profile and partial-order pipeline as
//! `run`), `tell` attaches to the asked trial ([`Study::attach`]) and
//! reports to it or tells it.
//!
//! Asked trials send no heartbeats. A `paretosearch run` working on the
//! same study at the same time treats an asked trial like any other: if
//! nothing is told about it (a `tell --step` refreshes it) for
//! `stale_after`, it is failed and its parameters re-queued.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Result;
use paretosearch::worker::hostname;
use paretosearch::{
    registry, Asked, FailKind, PruneReason, PruneRule, Study, TrialHandle, TrialOutcome,
    TrialState, Verdict,
};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::cli::{AskArgs, TellArgs, TellState};
use crate::term::{paint, Paint};
use crate::util::fmt_num;
use crate::{study, BadInput};

/// Exit status of `ask` when the budget is spent (nothing to hand out).
pub const EXIT_BUDGET_SPENT: u8 = 3;

/// Exit status of `tell --step` when the pruner says to stop the trial (0
/// means go on), so that a training script can write
/// `paretosearch tell ... --step N --values ... || break`.
pub const EXIT_STOP: u8 = 4;

/// Run `ask`.
pub async fn ask(args: AskArgs) -> Result<ExitCode> {
    let prepared = study::prepare(&args.study.study, args.study.storage.as_deref())?;
    let budget = args.trials.unwrap_or(prepared.spec.budget.trials);
    if budget == 0 {
        return Err(BadInput("--trials must be at least 1".into()).into());
    }
    // The runner measures cheap objectives for the pruner, as in `run`
    // (built only when a rule uses them: a torch runner loads its data).
    let pruning = paretosearch::build_pruning(&prepared.spec)?;
    let profiler = if pruning.needs_profile(&prepared.spec.objectives) {
        Some(registry().build(&prepared.spec, 1)?)
    } else {
        None
    };
    let study = prepared.open_study(true).await?;
    study.set_logs_dir(prepared.logs_dir());
    if let Some(runner) = profiler {
        study.set_profiler(runner);
    }
    study.set_budget(budget)?;
    // No colon in the name: the dead-worker check never applies to it,
    // only the heartbeat rule does.
    study.set_worker_id(format!("ask@{}", hostname()));
    let trial = match study.try_ask(&CancellationToken::new()).await? {
        Asked::Trial(t) => t,
        Asked::Exhausted { running } => {
            let msg = format!(
                "the budget of {budget} trials is spent ({running} still running); nothing to ask (raise `[budget] trials` or pass --trials)"
            );
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &json!({"trial": null, "reason": msg, "running": running})
                    )?
                );
            }
            eprintln!("{}: {msg}", paint("budget spent", Paint::Yellow));
            return Ok(ExitCode::from(EXIT_BUDGET_SPENT));
        }
    };
    print_asked(&study, &trial, &args)?;
    Ok(ExitCode::SUCCESS)
}

fn print_asked(study: &Study, trial: &TrialHandle, args: &AskArgs) -> Result<()> {
    let spec = study.spec();
    if args.json {
        let out = json!({
            "study": spec.name,
            "trial": trial.number(),
            "seed": trial.seed(),
            // JSON tools read numbers as doubles: seeds past 2^53 lose
            // digits there, the string does not.
            "seed_str": trial.seed().to_string(),
            "params": trial.params(),
            "objectives": spec.objectives.names(),
            "retry_of": trial.retry_of(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{} {} of study `{}` (seed {}{})",
        paint("trial", Paint::Bold),
        paint(&trial.number().to_string(), Paint::Bold),
        spec.name,
        trial.seed(),
        trial
            .retry_of()
            .map(|n| format!(", retrying trial {n}"))
            .unwrap_or_default()
    );
    // Every digit: the value is what the training must use.
    for (k, v) in trial.params() {
        println!("  {k} = {v}");
    }
    let example: Vec<String> = spec
        .objectives
        .names()
        .iter()
        .map(|n| format!("\"{n}\": ..."))
        .collect();
    println!(
        "tell the result with: paretosearch tell {} {} --values '{{{}}}'",
        args.study.study.display(),
        trial.number(),
        example.join(", ")
    );
    Ok(())
}

/// Parse `--values`: a JSON object of numbers.
pub fn parse_values(text: &str) -> Result<BTreeMap<String, f64>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "--values is not JSON ({e}); write e.g. '{{\"accuracy\": 0.91, \"latency_ms\": 3.2}}'"
        )
    })?;
    let obj = v
        .as_object()
        .ok_or("--values must be a JSON object of name: number")?;
    obj.iter()
        .map(|(k, v)| {
            v.as_f64()
                .map(|x| (k.clone(), x))
                .ok_or_else(|| format!("--values: `{k}` is {v}, not a number"))
        })
        .collect()
}

/// When an objective is missing from `values` and some key is none of the
/// study's objectives, the likely typo: "`acuracy` is not an objective of
/// this study (did you mean `accuracy`?)".
fn unknown_keys(
    values: &BTreeMap<String, f64>,
    objectives: &paretosearch::core::Objectives,
) -> Option<String> {
    let names = objectives.names();
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !values.contains_key(*n))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let unknown: Vec<&String> = values
        .keys()
        .filter(|k| !names.contains(&k.as_str()))
        .collect();
    if unknown.is_empty() {
        return None;
    }
    let parts: Vec<String> = unknown
        .iter()
        .map(
            |k| match paretosearch::core::spec::did_you_mean(k, &missing) {
                Some(m) => format!("`{k}` is not an objective of this study (did you mean `{m}`?)"),
                None => format!("`{k}` is not an objective of this study"),
            },
        )
        .collect();
    Some(format!(
        "{}; the objectives are {}",
        parts.join("; "),
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Run `tell`.
pub async fn tell(args: TellArgs) -> Result<ExitCode> {
    let prepared = study::prepare(&args.study.study, args.study.storage.as_deref())?;
    let study = prepared.open_existing().await?;
    let handle = study.attach(args.trial).await?;
    let values = match &args.values {
        Some(v) => Some(parse_values(v).map_err(BadInput)?),
        None => None,
    };

    if let Some(step) = args.step {
        let values = values.expect("clap requires --values with --step");
        if let Some((k, v)) = values.iter().find(|(_, v)| !v.is_finite()) {
            return Err(BadInput(format!("--values: `{k}` is {v}, not a finite number")).into());
        }
        if let Some(last) = handle.last_step().filter(|&l| l >= step) {
            return Err(BadInput(format!(
                "trial {} already has a report at step {last}: steps must increase (report step {} or later); nothing was recorded",
                handle.number(),
                last + 1
            ))
            .into());
        }
        let verdict = handle.report(step, &values).await;
        let (prune, reason) = match &verdict {
            Verdict::Stop(r) => (true, r.to_string()),
            Verdict::Continue => (
                false,
                match &study.pruning().early {
                    Some(p) => format!("pruner `{}` lets it go on", p.name()),
                    None => "no early-stopping pruner configured".into(),
                },
            ),
        };
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "trial": handle.number(),
                    "step": step,
                    "prune": prune,
                    "reason": reason,
                }))?
            );
        } else {
            println!(
                "trial {} step {step} recorded; {}",
                handle.number(),
                if prune {
                    paint(&format!("prune: {reason}"), Paint::Yellow)
                } else {
                    format!("continue ({reason})")
                }
            );
        }
        return Ok(if prune {
            ExitCode::from(EXIT_STOP)
        } else {
            ExitCode::SUCCESS
        });
    }

    let outcome = match args.state.unwrap_or(TellState::Complete) {
        TellState::Complete => {
            let Some(values) = values else {
                return Err(BadInput(
                    "a COMPLETE trial needs --values (or say --state fail / --state pruned)".into(),
                )
                .into());
            };
            // Typed by a person: a typo is refused (the trial stays RUNNING)
            // rather than recorded as a FAIL.
            if let Err(e) = TrialOutcome::check_complete(&values, study.objectives()) {
                return Err(BadInput(format!(
                    "--values: {}; nothing was recorded (fix: {})",
                    unknown_keys(&values, study.objectives()).unwrap_or(e),
                    "--state fail if the run failed"
                ))
                .into());
            }
            TrialOutcome::Complete(values)
        }
        TellState::Pruned => TrialOutcome::Pruned {
            values: values.unwrap_or_default(),
            step: handle.last_step(),
            reason: PruneReason::new(
                PruneRule::Told,
                args.reason
                    .clone()
                    .unwrap_or_else(|| "pruned (told)".into()),
            ),
        },
        TellState::Fail => {
            if values.is_some() {
                return Err(BadInput(
                    "a FAIL trial has no values: drop --values (or use --state pruned to keep partial values)".into(),
                )
                .into());
            }
            TrialOutcome::Fail {
                kind: FailKind::Told,
                reason: args
                    .reason
                    .clone()
                    .unwrap_or_else(|| "failed (told)".into()),
            }
        }
    };
    let me = study.tell(&handle, outcome).await?;
    let (trials, summary) = study.summary().await?;
    let pareto_optimal = summary.pareto.iter().any(|&i| trials[i].id == me.id);
    let me = trials.iter().find(|t| t.id == me.id).cloned().unwrap_or(me);
    if args.json {
        let mut v = crate::export::trial_json(&me);
        v["pareto_optimal"] = json!(pareto_optimal);
        v["finished"] = json!(summary.finished);
        v["budget"] = json!(summary.effective_budget(study.spec().budget.trials));
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let vals: Vec<String> = me
            .values
            .iter()
            .map(|(k, v)| format!("{k} = {}", fmt_num(*v)))
            .collect();
        let state = me.state.as_str();
        println!(
            "trial {} {}{}{} | {}, Pareto set {}",
            me.number,
            match me.state {
                TrialState::Complete => paint(state, Paint::Green),
                TrialState::Pruned => paint(state, Paint::Yellow),
                _ => paint(state, Paint::Red),
            },
            if vals.is_empty() {
                String::new()
            } else {
                format!(": {}", vals.join(", "))
            },
            if pareto_optimal {
                " (Pareto-optimal)"
            } else {
                ""
            },
            crate::util::finished_of(&summary, study.spec().budget.trials),
            summary.pareto.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_and_reject() {
        let v = parse_values(r#"{"f1": 0.5, "f2": 2}"#).unwrap();
        assert_eq!(v["f1"], 0.5);
        assert_eq!(v["f2"], 2.0);
        assert!(parse_values(r#"{"f1": "x"}"#).unwrap_err().contains("f1"));
        assert!(parse_values("[1, 2]").is_err());
        assert!(parse_values("f1=0.5").unwrap_err().contains("not JSON"));
    }
}
