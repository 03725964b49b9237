//! `paretosearch status`: counts by state, the Pareto set, best per objective.

use std::process::ExitCode;

use anyhow::Result;
use comfy_table::{Cell, CellAlignment};
use paretosearch_core::{StudySpec, Trial, TrialState};
use serde_json::json;

use crate::cli::StatusArgs;
use crate::study;
use crate::term::wrap;
use crate::util::{finished_of, fmt_num, hv_long, Summary};
use paretosearch::summarize_against;

/// Print a study's status.
pub async fn status(args: StatusArgs) -> Result<ExitCode> {
    let loaded = study::load(&args.study.study, args.study.storage.as_deref()).await?;
    let record = loaded.existing_study().await?;
    let trials = loaded.store.trials(record.id).await?;
    let stored = paretosearch::reference::stored(&record.spec_json, &loaded.spec.objectives);
    let reference = paretosearch::reference::resolve(&loaded.spec, stored.as_ref(), &trials);
    let summary = summarize_against(&trials, &loaded.spec.objectives, reference);
    if args.json {
        let counts: serde_json::Map<String, serde_json::Value> = [
            TrialState::Waiting,
            TrialState::Running,
            TrialState::Complete,
            TrialState::Pruned,
            TrialState::Fail,
        ]
        .iter()
        .map(|s| {
            (
                s.as_str().to_string(),
                json!(summary.counts.get(s).copied().unwrap_or(0)),
            )
        })
        .collect();
        let best: serde_json::Map<String, serde_json::Value> = loaded
            .spec
            .objectives
            .iter()
            .zip(&summary.best)
            .map(|(o, b)| {
                (
                    o.name.clone(),
                    b.map(|i| crate::export::trial_json(&trials[i]))
                        .unwrap_or(json!(null)),
                )
            })
            .collect();
        let out = json!({
            "study": loaded.spec.name,
            "storage": loaded.storage_url,
            "budget": summary.effective_budget(loaded.spec.budget.trials),
            "budget_in_file": loaded.spec.budget.trials,
            "finished": summary.finished,
            "counts": counts,
            "pruned": { "stopped_early": summary.stopped, "skipped_before_training": summary.skipped },
            "hypervolume": summary.hypervolume,
            "hypervolume_normalised": summary.normalised,
            "reference": summary.reference.as_ref().map(|r| r.to_json(&loaded.spec.objectives)),
            "pareto": summary.pareto.iter().map(|&i| crate::export::trial_json(&trials[i])).collect::<Vec<_>>(),
            "best": best,
            "pruner": crate::pruner_status::diagnose(&loaded.spec, &trials),
        });
        let mut out = out;
        if args.posterior {
            let observed: Vec<u64> = summary.pareto.iter().map(|&i| trials[i].number).collect();
            out["posterior"] = crate::posterior::status_json(&loaded.spec, &trials, &observed);
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let head = format!(
            "study `{}` ({}): {}",
            loaded.spec.name,
            loaded.storage_url,
            finished_of(&summary, loaded.spec.budget.trials)
        );
        println!("{}", wrap(&head, 2));
        print_summary(&trials, &loaded.spec, &summary, usize::MAX);
        if args.posterior {
            let observed: Vec<u64> = summary.pareto.iter().map(|&i| trials[i].number).collect();
            crate::posterior::print(&loaded.spec, &trials, &observed);
        }
        if let Some(d) = crate::pruner_status::diagnose(&loaded.spec, &trials) {
            println!("{}", wrap(&crate::pruner_status::line(&d), 2));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// ` (3 stopped early, 2 skipped by partial order)`, or nothing when
/// every PRUNED trial is of one kind and that kind is early stopping.
fn pruned_breakdown(summary: &Summary) -> String {
    match (summary.stopped, summary.skipped) {
        (_, 0) => String::new(),
        (0, k) => format!(" (all {k} skipped by partial order)"),
        (n, k) => format!(" ({n} stopped early, {k} skipped by partial order)"),
    }
}

/// Print counts, the Pareto set (at most `max_rows` rows) and best per objective.
pub fn print_summary(trials: &[Trial], spec: &StudySpec, summary: &Summary, max_rows: usize) {
    let counts: Vec<String> = summary
        .counts
        .iter()
        .map(|(s, n)| match s {
            TrialState::Pruned => format!("{n} {s}{}", pruned_breakdown(summary)),
            _ => format!("{n} {s}"),
        })
        .collect();
    let line = format!(
        "trials: {}",
        if counts.is_empty() {
            "none".into()
        } else {
            counts.join(", ")
        }
    );
    println!("{}", wrap(&line, 2));
    if summary.pareto.is_empty() {
        println!("Pareto set: empty (no feasible COMPLETE trial yet)");
        return;
    }
    let mut pareto = summary.pareto.clone();
    // Sort the front by the first objective, best first.
    pareto.sort_by(|&a, &b| {
        let va = trials[a].minimised(&spec.objectives).unwrap_or_default();
        let vb = trials[b].minimised(&spec.objectives).unwrap_or_default();
        va.first()
            .unwrap_or(&0.0)
            .total_cmp(vb.first().unwrap_or(&0.0))
    });
    let line = format!(
        "Pareto set: {} trial{}",
        pareto.len(),
        if pareto.len() == 1 { "" } else { "s" },
    );
    println!("{}", wrap(&line, 2));
    if let Some(hv) = hv_long(summary, &spec.objectives) {
        println!("{}", wrap(&hv, 2));
    }
    let mut table = crate::term::table();
    let params: Vec<&str> = spec
        .space
        .params()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let mut header = vec![Cell::new("#")];
    header.extend(spec.objectives.iter().map(|o| {
        Cell::new(format!(
            "{} {}",
            o.name,
            match o.direction {
                paretosearch_core::Direction::Minimize => "↓",
                paretosearch_core::Direction::Maximize => "↑",
            }
        ))
    }));
    header.extend(params.iter().map(Cell::new));
    table.set_header(header);
    for &i in pareto.iter().take(max_rows) {
        let t = &trials[i];
        let mut row = vec![Cell::new(t.number).set_alignment(CellAlignment::Right)];
        row.extend(spec.objectives.iter().map(|o| {
            Cell::new(
                t.values
                    .get(&o.name)
                    .map(|v| fmt_num(*v))
                    .unwrap_or_default(),
            )
            .set_alignment(CellAlignment::Right)
        }));
        row.extend(params.iter().map(|p| {
            Cell::new(
                t.params
                    .get(*p)
                    .map(|v| match v.as_f64() {
                        Some(x) if matches!(v, paretosearch_core::ParamValue::Float(_)) => {
                            fmt_num(x)
                        }
                        _ => v.to_string(),
                    })
                    .unwrap_or_else(|| "-".into()),
            )
        }));
        table.add_row(row);
    }
    // `#` and the first objective stay; the last columns go first.
    let left_out = crate::term::fit(&mut table, 2);
    println!("{table}");
    if let Some(note) = crate::term::left_out_note(&left_out, "`paretosearch status --json`") {
        println!("{}", wrap(&note, 2));
    }
    if pareto.len() > max_rows {
        println!(
            "... {} more: `paretosearch status` shows all",
            pareto.len() - max_rows
        );
    }
    for (o, best) in spec.objectives.iter().zip(&summary.best) {
        if let Some(i) = best {
            let t = &trials[*i];
            let line = format!(
                "best {}: {} (trial {})",
                o.name,
                t.values
                    .get(&o.name)
                    .map(|v| fmt_num(*v))
                    .unwrap_or_default(),
                t.number
            );
            println!("{}", wrap(&line, 2));
        }
    }
}
