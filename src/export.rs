//! `paretosearch export`: trials as JSON, CSV, or ready-to-run study files.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use paretosearch_core::spec::RunnerSpec;
use paretosearch_core::{StudySpec, Trial};

use crate::cli::{ExportArgs, Format};
use crate::util::summarize;
use crate::{study, BadInput};

pub use paretosearch::export::trial_json;

/// Export trials.
pub async fn export(args: ExportArgs) -> Result<ExitCode> {
    let loaded = study::load(&args.study.study, args.study.storage.as_deref()).await?;
    let record = loaded.existing_study().await?;
    let trials = loaded.store.trials(record.id).await?;
    let selected: Vec<&Trial> = if args.pareto {
        let s = summarize(&trials, &loaded.spec.objectives);
        let mut idx = s.pareto.clone();
        idx.sort_unstable();
        idx.iter().map(|&i| &trials[i]).collect()
    } else {
        trials.iter().collect()
    };
    match args.format {
        Format::Json => {
            let v: Vec<serde_json::Value> = selected.iter().map(|t| trial_json(t)).collect();
            write_out(
                args.out.as_deref(),
                &(serde_json::to_string_pretty(&v)? + "\n"),
            )?;
        }
        Format::Csv => {
            write_out(args.out.as_deref(), &csv(&selected, &loaded.spec)?)?;
        }
        Format::OptunaJournal => {
            write_out(
                args.out.as_deref(),
                &crate::export_optuna::journal(&loaded.spec, &selected),
            )?;
        }
        Format::Toml => {
            let Some(dir) = args.out.as_deref() else {
                return Err(BadInput(
                    "--format toml writes one study file per trial and needs a folder: add --out DIR".into(),
                )
                .into());
            };
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            for t in &selected {
                let text = study_file_for(&loaded.spec, t)?;
                let path = dir.join(format!("{}-trial-{}.toml", loaded.spec.name, t.number));
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            eprintln!(
                "wrote {} study file(s) to {}",
                selected.len(),
                dir.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_out(out: Option<&Path>, text: &str) -> Result<()> {
    match out {
        Some(p) => {
            if let Some(parent) = p.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))
        }
        None => {
            let mut so = std::io::stdout().lock();
            so.write_all(text.as_bytes())?;
            Ok(())
        }
    }
}

fn csv(trials: &[&Trial], spec: &StudySpec) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let params: Vec<&str> = spec
        .space
        .params()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let objectives = spec.objectives.names();
    let mut header = vec!["number".to_string(), "state".to_string()];
    header.extend(params.iter().map(|p| format!("params.{p}")));
    header.extend(objectives.iter().map(|o| format!("values.{o}")));
    header.push("reason".into());
    w.write_record(&header)?;
    for t in trials {
        let mut row = vec![t.number.to_string(), t.state.as_str().to_string()];
        row.extend(
            params
                .iter()
                .map(|p| t.params.get(*p).map(|v| v.to_string()).unwrap_or_default()),
        );
        row.extend(
            objectives
                .iter()
                .map(|o| t.values.get(*o).map(|v| v.to_string()).unwrap_or_default()),
        );
        row.push(t.reason.clone().unwrap_or_default());
        w.write_record(&row)?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// A study file that re-runs exactly this trial's configuration with the
/// same objectives and runner: every parameter becomes a one-choice
/// categorical, the budget one trial, the storage a fresh default.
pub fn study_file_for(spec: &StudySpec, t: &Trial) -> Result<String> {
    use toml_edit::{value, Array, DocumentMut, InlineTable, Item, Table};
    let mut doc: DocumentMut = spec
        .origin
        .text
        .parse()
        .with_context(|| format!("re-reading {}", spec.origin.file.display()))?;
    let name = format!("{}-trial-{}", spec.name, t.number);
    if let Some(study) = doc.get_mut("study").and_then(Item::as_table_like_mut) {
        study.insert("name", value(name.clone()));
        study.remove("storage");
    }
    let mut space = Table::new();
    for p in spec.space.params() {
        if let Some(v) = t.params.get(&p.name) {
            let mut it = InlineTable::new();
            it.insert("type", "categorical".into());
            let mut arr = Array::new();
            arr.push(match v {
                paretosearch_core::ParamValue::Bool(b) => toml_edit::Value::from(*b),
                paretosearch_core::ParamValue::Int(i) => toml_edit::Value::from(*i),
                paretosearch_core::ParamValue::Float(f) => toml_edit::Value::from(*f),
                paretosearch_core::ParamValue::Str(s) => toml_edit::Value::from(s.as_str()),
            });
            it.insert("choices", toml_edit::Value::Array(arr));
            space.insert(&p.name, value(it));
        }
    }
    doc.insert("search_space", Item::Table(space));
    let mut sampler = Table::new();
    sampler.insert("kind", value("random"));
    doc.insert("sampler", Item::Table(sampler));
    let mut budget = Table::new();
    budget.insert("trials", value(1));
    budget.insert("workers", value(1));
    doc.insert("budget", Item::Table(budget));
    if let RunnerSpec::Command(c) = &spec.runner {
        let wd = std::path::absolute(&c.workdir).unwrap_or_else(|_| c.workdir.clone());
        if let Some(r) = doc.get_mut("runner").and_then(Item::as_table_like_mut) {
            r.insert("workdir", value(wd.display().to_string()));
        }
    }
    let values: Vec<String> = spec
        .objectives
        .iter()
        .filter_map(|o| Some(format!("{} = {}", o.name, t.values.get(&o.name)?)))
        .collect();
    Ok(format!(
        "# Exported by paretosearch from study `{}`, trial {} ({}).\n# Its values: {}\n# Run it as it is to re-evaluate this configuration: paretosearch run FILE\n{}",
        spec.name,
        t.number,
        t.state,
        if values.is_empty() { "none".into() } else { values.join(", ") },
        doc
    ))
}
