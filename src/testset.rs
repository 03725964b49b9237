//! Scoring exported trials on the runner's held-out test set.
//!
//! A study whose runner holds a test set (`[runner] test` or
//! `test_fraction` of the torch runner) never scores it while trials run:
//! `export --pareto` does, for the Pareto-optimal trials it exports, by
//! asking the runner to train each configuration again from the trial's
//! seed ([`Runner::evaluate_test`](paretosearch::runner::Runner::evaluate_test)).
//! The scores are stored with the trial as its attribute `test` (`{"test":
//! {...}, "valid": {...}}`: the test figures and the re-run's validation
//! figures), so a second export does not train again, `report` shows them,
//! and the study's samplers and pruners, which read only what trials
//! report while they run, never see them.

use std::collections::BTreeMap;
use std::sync::Arc;

use paretosearch::core::spec::RunnerSpec;
use paretosearch::runner::{Job, Runner, TestScores};
use paretosearch::store::Store;
use paretosearch::{trial_seed, StudySpec, Trial};
use serde_json::{json, Map, Value};

/// The attribute the scores are stored under.
pub const TEST_ATTR: &str = "test";

/// Differences below this between a stored validation figure and its
/// re-run's are rounding, not a failure to reproduce.
const REPRODUCED: f64 = 1e-6;

fn as_json(values: &BTreeMap<String, f64>) -> Value {
    Value::Object(
        values
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if v.is_finite() { json!(v) } else { Value::Null },
                )
            })
            .collect::<Map<String, Value>>(),
    )
}

/// Score the trials numbered `numbers` that have no `test` attribute yet
/// (all of them when `again`), store the scores when `store` is given, and
/// set them on `trials` for this export. Says on stderr what it does; a
/// study whose runner has no test set is left as it is, silently.
pub async fn score(
    spec: &StudySpec,
    trials: &mut [Trial],
    numbers: &[u64],
    store: Option<&Arc<dyn Store>>,
    again: bool,
) -> anyhow::Result<()> {
    let todo: Vec<usize> = trials
        .iter()
        .enumerate()
        .filter(|(_, t)| numbers.binary_search(&t.number).is_ok())
        .filter(|(_, t)| again || !t.attrs.contains_key(TEST_ATTR))
        .map(|(i, _)| i)
        .collect();
    if todo.is_empty() || !declares_test_set(spec) {
        return Ok(());
    }
    let runner = match paretosearch::registry().build(spec, 1) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("test set not scored: the runner could not be built: {e}");
            return Ok(());
        }
    };
    for (k, &i) in todo.iter().enumerate() {
        let t = &trials[i];
        let Some(scores) = scored(&*runner, spec, t).await else {
            return Ok(()); // no test set
        };
        let scores = match scores {
            Ok(s) => s,
            Err(e) => {
                eprintln!("trial {}: the test set could not be scored: {e}", t.number);
                continue;
            }
        };
        eprintln!(
            "trial {} ({} of {}): test {}",
            t.number,
            k + 1,
            todo.len(),
            figures(&scores.test)
        );
        for (name, v) in &scores.valid {
            if let Some(stored) = t.values.get(name) {
                if (stored - v).abs() > REPRODUCED * stored.abs().max(1.0) {
                    eprintln!(
                        "  the re-run measured {name} = {v} on the validation set, the study stored {stored}: training did not reproduce exactly on this machine, and its test figures are the re-run's"
                    );
                }
            }
        }
        let value = json!({"test": as_json(&scores.test), "valid": as_json(&scores.valid)});
        if let Some(store) = store {
            if let Err(e) = store.annotate(t.id, TEST_ATTR, &value).await {
                eprintln!(
                    "trial {}: the test scores could not be stored ({e}); they are in this export only",
                    t.number
                );
            }
        }
        trials[i].attrs.insert(TEST_ATTR.into(), value);
    }
    Ok(())
}

/// Does the study's runner table declare a test set (`test` or
/// `test_fraction`, the torch runner's keys)? Only then is the runner built
/// (which loads the dataset) to score it.
fn declares_test_set(spec: &StudySpec) -> bool {
    match &spec.runner {
        RunnerSpec::Other { options, .. } => {
            options.contains_key("test") || options.contains_key("test_fraction")
        }
        _ => false,
    }
}

async fn scored(
    runner: &dyn Runner,
    spec: &StudySpec,
    t: &Trial,
) -> Option<Result<TestScores, String>> {
    let job = Job {
        study: spec.name.clone(),
        trial: t.number,
        params: t.params.clone(),
        seed: trial_seed(spec.seed, t.number),
        objectives: spec
            .objectives
            .names()
            .into_iter()
            .map(String::from)
            .collect(),
        log_path: None,
    };
    runner.evaluate_test(job).await
}

fn figures(values: &BTreeMap<String, f64>) -> String {
    values
        .iter()
        .map(|(k, v)| format!("{k} = {v:.4}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A trial's stored test figures (`test.<objective>`), for tables.
pub fn test_values(t: &Trial) -> BTreeMap<String, f64> {
    t.attrs
        .get(TEST_ATTR)
        .and_then(|v| v.get("test"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                .collect()
        })
        .unwrap_or_default()
}
