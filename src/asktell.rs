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
//! Asked trials send no heartbeats. A `paretosearch run` working on the
//! same study at the same time treats an asked trial like any other: if
//! nothing is told about it (a `tell --step` refreshes it) for
//! `stale_after`, it is failed and its parameters re-queued.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use clap::{Args, ValueEnum};
use paretosearch_core::{StudySpec, Trial, TrialOutcome, TrialState};
use paretosearch_samplers::StudyView;
use paretosearch_store::{Claim, Store};
use serde_json::json;

use crate::cli::StudyArgs;
use crate::term::{paint, Paint};
use crate::util::{fmt_num, hostname, now_ms, summarize, trial_seed};
use crate::{study, BadInput};

/// Exit status of `ask` when the budget is spent (nothing to hand out).
pub const EXIT_BUDGET_SPENT: u8 = 3;

/// `ask`.
#[derive(Debug, Args)]
pub struct AskArgs {
    #[command(flatten)]
    pub study: StudyArgs,
    /// Total trial budget (overrides `[budget] trials`).
    #[arg(long, value_name = "N")]
    pub trials: Option<u64>,
    /// Print the trial as JSON: `{"trial", "seed", "params", "objectives", ...}`.
    #[arg(long)]
    pub json: bool,
}

/// How `tell` finishes a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TellState {
    /// Every objective measured (`--values` required).
    Complete,
    /// Stopped early; `--values` optional (the last values measured).
    Pruned,
    /// Failed; no values.
    Fail,
}

/// `tell`.
#[derive(Debug, Args)]
pub struct TellArgs {
    #[command(flatten)]
    pub study: StudyArgs,
    /// The trial number `ask` printed.
    pub trial: u64,
    /// Values as a JSON object, e.g. `'{"accuracy": 0.91, "latency_ms": 3.2}'`.
    #[arg(long, value_name = "JSON")]
    pub values: Option<String>,
    /// How the trial ended (default: complete when `--values` is given).
    #[arg(long, value_enum, conflicts_with = "step")]
    pub state: Option<TellState>,
    /// Why the trial was pruned or failed (stored with it).
    #[arg(long, value_name = "TEXT", conflicts_with = "step")]
    pub reason: Option<String>,
    /// Record an intermediate report at this step (epoch) instead of
    /// finishing the trial; prints whether the pruner would stop it.
    #[arg(long, value_name = "N", requires = "values")]
    pub step: Option<u64>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Run `ask`.
pub async fn ask(args: AskArgs) -> Result<ExitCode> {
    let prepared = study::prepare(&args.study)?;
    let budget = args.trials.unwrap_or(prepared.spec.budget.trials);
    if budget == 0 {
        return Err(BadInput("--trials must be at least 1".into()).into());
    }
    let mut sampler = study::build_sampler(&prepared.spec)?;
    let loaded = prepared.connect().await?;
    let record = loaded.open_study().await?;
    let store = loaded.store.clone();
    let spec = &loaded.spec;
    // No colon in the name: `run`'s dead-worker check never applies to it,
    // only the heartbeat rule does.
    let worker = format!("ask@{}", hostname());
    let trial = match store.claim(record.id, &worker, budget, now_ms()).await? {
        Claim::Queued(t) | Claim::New(t) => t,
        Claim::Exhausted { running } => {
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
    let params = if trial.params.is_empty() {
        let trials = store.trials(record.id).await?;
        let view = StudyView {
            space: &spec.space,
            objectives: &spec.objectives,
            trials: &trials,
            seed: spec.seed,
        };
        let proposal = match tokio::task::block_in_place(|| sampler.propose(&view, trial.number)) {
            Ok(p) => p,
            Err(e) => {
                let reason = format!("sampler failed: {e}");
                store
                    .finish(trial.id, &TrialOutcome::Fail { reason }, true, now_ms())
                    .await?;
                return Err(anyhow!(
                    "sampler `{}` failed on trial {}: {e}",
                    spec.sampler.kind,
                    trial.number
                ));
            }
        };
        store
            .set_params(trial.id, &proposal.params, &proposal.attrs)
            .await?;
        proposal.params
    } else {
        trial.params.clone()
    };
    let seed = trial_seed(spec.seed, trial.number);
    if args.json {
        let out = json!({
            "study": spec.name,
            "trial": trial.number,
            "seed": seed,
            "params": params,
            "objectives": spec.objectives.names(),
            "retry_of": trial.retry_of,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{} {} of study `{}` (seed {seed}{})",
            paint("trial", Paint::Bold),
            paint(&trial.number.to_string(), Paint::Bold),
            spec.name,
            trial
                .retry_of
                .map(|n| format!(", retrying trial {n}"))
                .unwrap_or_default()
        );
        for (k, v) in &params {
            let shown = match v {
                paretosearch_core::ParamValue::Float(x) => fmt_num(*x),
                other => other.to_string(),
            };
            println!("  {k} = {shown}");
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
            trial.number,
            example.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
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

/// What the pruner says about a trial after an intermediate report.
#[derive(Debug, Clone, PartialEq)]
pub struct PruneAdvice {
    /// Should the trial stop?
    pub prune: bool,
    /// Why (or why not).
    pub reason: String,
}

/// The pruning decision of `tell --step`: the study's early-stopping
/// pruner (`[pruner] kind`, from `paretosearch_samplers::pruners`) judges
/// `trial`, with its intermediate reports up to the latest, against every
/// trial of the study, exactly as it does inside `run`.
pub fn pruning_advice(spec: &StudySpec, trials: &[Trial], trial: &Trial) -> Result<PruneAdvice> {
    let pruning =
        paretosearch_samplers::pruners::build(spec.pruner.as_ref(), &spec.space, &spec.objectives)
            .map_err(|e| {
                spec.origin
                    .error_at(&["pruner", e.key()], e.to_string(), None)
            })?;
    let Some(pruner) = pruning.early else {
        return Ok(PruneAdvice {
            prune: false,
            reason: "no early-stopping pruner configured".into(),
        });
    };
    let view = StudyView {
        space: &spec.space,
        objectives: &spec.objectives,
        trials,
        seed: spec.seed,
    };
    Ok(match pruner.prune(&view, trial) {
        Some(reason) => PruneAdvice {
            prune: true,
            reason,
        },
        None => PruneAdvice {
            prune: false,
            reason: format!("pruner `{}` lets it go on", pruner.name()),
        },
    })
}

/// Run `tell`.
pub async fn tell(args: TellArgs) -> Result<ExitCode> {
    let loaded = study::load(&args.study).await?;
    let spec = &loaded.spec;
    let record = loaded.existing_study().await?;
    let store: &dyn Store = loaded.store.as_ref();
    let trials = store.trials(record.id).await?;
    let Some(trial) = trials.iter().find(|t| t.number == args.trial) else {
        return Err(BadInput(format!(
            "study `{}` has no trial {} (it has {} trials; `paretosearch ask` hands out new ones)",
            spec.name,
            args.trial,
            trials.len()
        ))
        .into());
    };
    match trial.state {
        TrialState::Running => {}
        TrialState::Waiting => {
            return Err(BadInput(format!(
                "trial {} is WAITING: nobody has asked for it yet (fix: `paretosearch ask {}` hands it out)",
                trial.number,
                args.study.study.display()
            ))
            .into())
        }
        s => {
            return Err(BadInput(format!(
                "trial {} is already {s}{}; finished trials cannot change",
                trial.number,
                trial
                    .reason
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ))
            .into())
        }
    }
    let values = match &args.values {
        Some(v) => Some(parse_values(v).map_err(BadInput)?),
        None => None,
    };

    if let Some(step) = args.step {
        let values = values.expect("clap requires --values with --step");
        if let Some((k, v)) = values.iter().find(|(_, v)| !v.is_finite()) {
            return Err(BadInput(format!("--values: `{k}` is {v}, not a finite number")).into());
        }
        pruning_advice(spec, &trials, trial)?; // a bad [pruner] fails before writing
        store.report(trial.id, step, &values).await?;
        store.heartbeat(&[trial.id], now_ms()).await?;
        let trials = store.trials(record.id).await?;
        let me = trials
            .iter()
            .find(|t| t.id == trial.id)
            .ok_or_else(|| anyhow!("trial {} vanished", trial.number))?;
        let advice = pruning_advice(spec, &trials, me)?;
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "trial": trial.number,
                    "step": step,
                    "prune": advice.prune,
                    "reason": advice.reason,
                }))?
            );
        } else {
            println!(
                "trial {} step {step} recorded; {}",
                trial.number,
                if advice.prune {
                    paint(&format!("prune: {}", advice.reason), Paint::Yellow)
                } else {
                    format!("continue ({})", advice.reason)
                }
            );
        }
        return Ok(ExitCode::SUCCESS);
    }

    let state = args.state.unwrap_or(TellState::Complete);
    let outcome = match state {
        TellState::Complete => {
            let Some(values) = values else {
                return Err(BadInput(
                    "a COMPLETE trial needs --values (or say --state fail / --state pruned)".into(),
                )
                .into());
            };
            for o in spec.objectives.iter() {
                match values.get(&o.name) {
                    None => {
                        return Err(BadInput(format!(
                            "--values misses objective `{}` (objectives: {}); nothing was recorded",
                            o.name,
                            spec.objectives.names().join(", ")
                        ))
                        .into())
                    }
                    Some(v) if !v.is_finite() => {
                        return Err(BadInput(format!(
                            "--values: objective `{}` is {v}, not a finite number; nothing was recorded (fix: --state fail if the run failed)",
                            o.name
                        ))
                        .into())
                    }
                    _ => {}
                }
            }
            TrialOutcome::Complete(values).validated(&spec.objectives)
        }
        TellState::Pruned => TrialOutcome::Pruned {
            values: values.unwrap_or_default(),
            step: trial.intermediate.last().map(|r| r.step),
            reason: args
                .reason
                .clone()
                .unwrap_or_else(|| "pruned (told)".into()),
        }
        .validated(&spec.objectives),
        TellState::Fail => {
            if values.is_some() {
                return Err(BadInput(
                    "a FAIL trial has no values: drop --values (or use --state pruned to keep partial values)".into(),
                )
                .into());
            }
            TrialOutcome::Fail {
                reason: args
                    .reason
                    .clone()
                    .unwrap_or_else(|| "failed (told)".into()),
            }
        }
    };
    store.finish(trial.id, &outcome, false, now_ms()).await?;
    let trials = store.trials(record.id).await?;
    let summary = summarize(&trials, &spec.objectives);
    let me = trials
        .iter()
        .find(|t| t.id == trial.id)
        .ok_or_else(|| anyhow!("trial {} vanished", trial.number))?;
    let pareto_optimal = summary.pareto.iter().any(|&i| trials[i].id == trial.id);
    if args.json {
        let mut v = crate::export::trial_json(me);
        v["pareto_optimal"] = json!(pareto_optimal);
        v["finished"] = json!(summary.finished);
        v["budget"] = json!(spec.budget.trials);
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let vals: Vec<String> = me
            .values
            .iter()
            .map(|(k, v)| format!("{k} = {}", fmt_num(*v)))
            .collect();
        let state = me.state.as_str();
        println!(
            "trial {} {}{}{} | finished {} of {}, Pareto set {}",
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
            summary.finished,
            spec.budget.trials,
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
