//! `paretosearch export`: trials as JSON, CSV, or ready-to-run study files.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use paretosearch_core::spec::RunnerSpec;
use paretosearch_core::{StudySpec, Trial};

use std::collections::BTreeMap;

use crate::cli::{ExportArgs, Format};
use crate::testset::test_values;
use crate::util::summarize;
use crate::{study, BadInput};

pub use paretosearch::export::trial_json;

/// Export trials.
pub async fn export(args: ExportArgs) -> Result<ExitCode> {
    let prepared = study::prepare(&args.study.study, args.study.storage.as_deref())?;
    let storage_url = prepared.storage_url.clone();
    let loaded = prepared.connect_existing().await?;
    let record = loaded.existing_study().await?;
    let mut trials = loaded.store.trials(record.id).await?;
    let pareto: Option<Vec<u64>> = if args.posterior {
        let front = crate::posterior::attach(&loaded.spec, &mut trials).ok_or_else(|| {
            BadInput(
                "--posterior: the posterior needs at least two COMPLETE trials; export --pareto gives the observed set"
                    .into(),
            )
        })?;
        Some(front)
    } else {
        args.pareto.then(|| {
            let s = summarize(&trials, &loaded.spec.objectives);
            let mut numbers: Vec<u64> = s.pareto.iter().map(|&i| trials[i].number).collect();
            numbers.sort_unstable();
            numbers
        })
    };
    // The held-out test set, when the runner has one: scored for the
    // Pareto-optimal trials only, after the study, and stored with them.
    if let (Some(numbers), false) = (&pareto, args.no_test) {
        let store = match paretosearch::store::open(&storage_url).await {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!(
                    "test scores will not be stored: storage {} cannot be written ({e})",
                    loaded.storage_url
                );
                None
            }
        };
        crate::testset::score(
            &loaded.spec,
            &mut trials,
            numbers,
            store.as_ref(),
            args.rescore_test,
        )
        .await?;
    }
    // Optuna numbers a journal's trials in the order they are written, so
    // a journal of the Pareto set alone would renumber them: it holds
    // every trial and marks the Pareto set (user attribute `pareto`).
    let journal = args.format == Format::OptunaJournal;
    let selected: Vec<&Trial> = match &pareto {
        Some(numbers) if !journal => trials
            .iter()
            .filter(|t| numbers.binary_search(&t.number).is_ok())
            .collect(),
        _ => trials.iter().collect(),
    };
    if journal && pareto.is_some() {
        eprintln!(
            "--pareto with --format optuna-journal: all {} trials written, so that Optuna's trial numbers are paretosearch's; the {} of the Pareto set carry the user attribute pareto = true",
            trials.len(),
            pareto.as_ref().map_or(0, Vec::len)
        );
    }
    let marks = pareto.as_deref().filter(|_| journal);
    match args.format {
        _ if args.append && args.format != Format::OptunaJournal => {
            return Err(BadInput("--append applies to --format optuna-journal only".into()).into());
        }
        Format::Json => {
            let v: Vec<serde_json::Value> = selected
                .iter()
                .map(|t| paretosearch::export::study_trial_json(t, &loaded.spec.objectives))
                .collect();
            write_out(
                args.out.as_deref(),
                &(serde_json::to_string_pretty(&v)? + "\n"),
            )?;
        }
        Format::Csv => {
            write_out(args.out.as_deref(), &csv(&selected, &loaded.spec)?)?;
        }
        Format::OptunaJournal if args.append => {
            let out = args
                .out
                .as_deref()
                .expect("clap requires --out with --append");
            let existing = match std::fs::read_to_string(out) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(e) => return Err(e).with_context(|| format!("reading {}", out.display())),
            };
            let (id, present) = crate::export_optuna::next_study_id(&existing, &loaded.spec.name)
                .map_err(|e| {
                BadInput(format!("{} is not an Optuna journal: {e}", out.display()))
            })?;
            if present {
                return Err(BadInput(format!(
                    "the journal {} holds a study `{}` already: Optuna would ignore the second one (export to another file, or rename the study)",
                    out.display(),
                    loaded.spec.name
                ))
                .into());
            }
            let mut text = existing;
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&crate::export_optuna::journal_as(
                &loaded.spec,
                &selected,
                id,
                marks,
            ));
            write_out(Some(out), &text)?;
        }
        Format::OptunaJournal => {
            write_out(
                args.out.as_deref(),
                &crate::export_optuna::journal_as(&loaded.spec, &selected, 0, marks),
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
    // Test-set figures (`export --pareto` scores them) beside the values.
    let tests: Vec<BTreeMap<String, f64>> = trials.iter().map(|t| test_values(t)).collect();
    let test_names: Vec<String> = tests
        .iter()
        .flat_map(|m| m.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    header.extend(test_names.iter().map(|o| format!("test.{o}")));
    let posterior = trials
        .iter()
        .any(|t| t.attrs.contains_key(crate::posterior::ATTR));
    if posterior {
        header.extend(objectives.iter().map(|o| format!("posterior.{o}")));
        header.extend(objectives.iter().map(|o| format!("posterior_sd.{o}")));
    }
    header.push("feasible".into());
    header.push("reason".into());
    w.write_record(&header)?;
    for (t, test) in trials.iter().zip(&tests) {
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
        row.extend(
            test_names
                .iter()
                .map(|o| test.get(o).map(|v| v.to_string()).unwrap_or_default()),
        );
        if posterior {
            for key in ["mean", "sd"] {
                row.extend(objectives.iter().map(|o| {
                    t.attrs
                        .get(crate::posterior::ATTR)
                        .and_then(|p| p[key][*o].as_f64())
                        .map(|v| v.to_string())
                        .unwrap_or_default()
                }));
            }
        }
        row.push(
            paretosearch::export::feasible(t, &spec.objectives)
                .map(|f| f.to_string())
                .unwrap_or_default(),
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
            // A conditional parameter inactive in this trial is not in the
            // exported space: its placeholders become what the runner put
            // there for this trial (nothing), so the file stays valid and
            // runs the same command.
            if let Some(cmd) = r.get_mut("command").and_then(Item::as_array_mut) {
                let mut argv = Array::new();
                for arg in c.command.iter() {
                    argv.push(drop_inactive(arg, &t.params));
                }
                if argv.len() == cmd.len() {
                    *cmd = argv;
                }
            }
        }
    }
    // Everything in the header comes from the user: names are written as
    // TOML keys and values by toml_edit (quoted and escaped where needed),
    // so no newline can end the comment and start a table.
    let values: Vec<String> = spec
        .objectives
        .iter()
        .filter_map(|o| {
            let v = *t.values.get(&o.name)?;
            Some(format!(
                "{} = {}",
                toml_edit::Key::new(o.name.as_str()),
                toml_edit::Value::from(v)
            ))
        })
        .collect();
    Ok(format!(
        "# Exported by paretosearch from study {}, trial {} ({}).\n# Its values: {}\n# Run it as it is to re-evaluate this configuration: paretosearch run FILE\n{}",
        toml_edit::Value::from(spec.name.as_str()),
        t.number,
        t.state,
        if values.is_empty() { "none".into() } else { values.join(", ") },
        doc
    ))
}

/// `template` with the placeholders of parameters absent from `params`
/// removed (literal braces kept escaped).
fn drop_inactive(template: &str, params: &paretosearch_core::Params) -> String {
    use paretosearch_core::spec::{parse_template, TemplatePart};
    let Ok(parts) = parse_template(template) else {
        return template.to_string(); // the spec checked it; keep it as it is
    };
    let mut out = String::new();
    for part in parts {
        match part {
            TemplatePart::Text(t) => out.push_str(&t.replace('{', "{{").replace('}', "}}")),
            TemplatePart::Param(n) if params.contains_key(&n) => {
                out.push('{');
                out.push_str(&n);
                out.push('}');
            }
            TemplatePart::Param(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! Every file `export --format toml` and `pick --out` write
    //! ([`study_file_for`]) parses back to the same objectives and the
    //! trial's parameters, whatever users named them and whatever values
    //! they took.

    use std::path::Path;

    use paretosearch_core::spec::RunnerSpec;
    use paretosearch_core::{Distribution, ParamValue, StudySpec, Trial, TrialState};
    use proptest::prelude::*;
    use toml_edit::{value, Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table};

    /// Printable names without braces (what the parser accepts for a
    /// parameter), quotes, `#`, `=`, brackets, dots and unicode included.
    fn name() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 _.#=\\[\\]\"'\\\\π→é-]{1,12}".prop_filter("not blank", |s| !s.trim().is_empty())
    }

    /// Any value a parameter can take: strings with newlines and control
    /// characters, extreme finite numbers, booleans.
    fn param_value() -> impl Strategy<Value = ParamValue> {
        prop_oneof![
            any::<String>().prop_map(ParamValue::Str),
            "[\\n\\r\\t\"\\\\#=\\[\\]a-z]{0,16}".prop_map(ParamValue::Str),
            any::<i64>().prop_map(ParamValue::Int),
            proptest::num::f64::NORMAL
                .prop_union(proptest::num::f64::SUBNORMAL)
                .or(proptest::num::f64::ZERO)
                .prop_map(ParamValue::Float),
            any::<bool>().prop_map(ParamValue::Bool),
        ]
    }

    fn toml_value(v: &ParamValue) -> toml_edit::Value {
        match v {
            ParamValue::Bool(b) => (*b).into(),
            ParamValue::Int(i) => (*i).into(),
            ParamValue::Float(f) => (*f).into(),
            ParamValue::Str(s) => s.as_str().into(),
        }
    }

    /// A study file (written with toml_edit, so it is valid whatever the
    /// names) whose space holds each parameter as a one-choice categorical
    /// of its value, with a command runner.
    fn study_text(study: &str, objectives: &[String], params: &[(String, ParamValue)]) -> String {
        let mut doc = DocumentMut::new();
        let mut s = Table::new();
        s.insert("name", value(study));
        doc.insert("study", Item::Table(s));
        let mut objs = ArrayOfTables::new();
        for (i, o) in objectives.iter().enumerate() {
            let mut t = Table::new();
            t.insert("name", value(o.as_str()));
            t.insert(
                "direction",
                value(if i % 2 == 0 { "minimize" } else { "maximize" }),
            );
            objs.push(t);
        }
        doc.insert("objectives", Item::ArrayOfTables(objs));
        let mut space = Table::new();
        for (n, v) in params {
            let mut it = InlineTable::new();
            it.insert("type", "categorical".into());
            let mut arr = Array::new();
            arr.push(toml_value(v));
            it.insert("choices", toml_edit::Value::Array(arr));
            space.insert(n, value(it));
        }
        doc.insert("search_space", Item::Table(space));
        let mut runner = Table::new();
        runner.insert("kind", value("command"));
        let mut cmd = Array::new();
        cmd.push("true");
        runner.insert("command", value(cmd));
        doc.insert("runner", Item::Table(runner));
        let mut budget = Table::new();
        budget.insert("trials", value(5));
        doc.insert("budget", Item::Table(budget));
        doc.to_string()
    }

    fn parse(text: &str) -> Result<StudySpec, String> {
        StudySpec::parse(text, Path::new("study.toml"), &mut |_| {
            Err("no includes".to_string())
        })
        .map_err(|e| format!("{e}\n{text}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn exported_study_files_parse_back_to_the_same_study(
            study in "[a-z][a-z0-9_.-]{0,10}",
            objectives in proptest::collection::btree_set(name(), 1..4),
            params in proptest::collection::btree_map(name(), param_value(), 1..5),
            number in 0u64..1000,
            values in proptest::collection::vec(-1e300f64..1e300, 4),
        ) {
            let objectives: Vec<String> = objectives.into_iter().collect();
            let params: Vec<(String, ParamValue)> = params.into_iter().collect();
            let spec = parse(&study_text(&study, &objectives, &params)).unwrap();
            let mut t = Trial::new(number, TrialState::Complete);
            for (n, v) in &params {
                t.params.insert(n.clone(), v.clone());
            }
            for (o, v) in objectives.iter().zip(&values) {
                t.values.insert(o.clone(), *v);
            }
            let text = super::study_file_for(&spec, &t).unwrap();
            let back = parse(&text).unwrap();
            prop_assert_eq!(&back.name, &format!("{study}-trial-{number}"));
            prop_assert_eq!(back.objectives.names(), spec.objectives.names());
            prop_assert_eq!(back.objectives.directions(), spec.objectives.directions());
            prop_assert!(matches!(back.runner, RunnerSpec::Command(_)));
            prop_assert_eq!(back.space.params().len(), params.len());
            for (n, v) in &params {
                let p = back.space.get(n).unwrap();
                match &p.distribution {
                    Distribution::Categorical { choices } => {
                        prop_assert_eq!(choices.len(), 1);
                        prop_assert!(choices[0] == *v, "{:?} != {:?}", choices[0], v);
                    }
                    other => prop_assert!(false, "{:?}", other),
                }
            }
            // Nothing but comments precedes the document: the header is
            // three comment lines, whatever the names held.
            let header: Vec<&str> = text.lines().take(3).collect();
            prop_assert!(header.iter().all(|l| l.starts_with("# ")), "{}", text);
            prop_assert!(!text.lines().nth(3).unwrap_or("").starts_with('#'), "{}", text);
        }
    }
}
