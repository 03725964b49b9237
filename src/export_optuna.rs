//! `export --format optuna-journal`: the study as an Optuna journal file,
//! so that `optuna-dashboard FILE` (or `optuna.load_study` with a
//! `JournalStorage(JournalFileBackend(FILE))`) can open it.
//!
//! A journal is one JSON operation per line. The export writes one
//! `CREATE_STUDY` (op code 0: name and directions, 1 = minimise,
//! 2 = maximise) and one `CREATE_TRIAL` (op code 4) per trial holding the
//! whole trial: state (RUNNING 0, COMPLETE 1, PRUNED 2, FAIL 3, WAITING 4),
//! `value` (one objective) or `values` (several) for COMPLETE trials, the
//! distributions in Optuna's JSON form and the parameters in Optuna's
//! internal representation (the float itself, the integer as a float, the
//! index of a categorical choice), start and end times (UTC, without
//! zone), intermediate reports (Optuna keeps one number per step: the
//! first objective reported at that step) and, for constrained studies,
//! the `constraints` system attribute Optuna's samplers and the dashboard
//! read (one number per bound, `<= 0` when satisfied). The failure or
//! pruning reason and paretosearch's trial number go to user attributes.
//!
//! Optuna numbers a journal's trials in write order, so the journal always
//! holds every trial, by number (Optuna's numbers are then paretosearch's);
//! with `--pareto` the Pareto set is marked by the user attribute
//! `pareto = true` (false on the others) instead of leaving the others out.

use paretosearch_core::{Direction, Distribution, ParamValue, StudySpec, Trial, TrialState};
use serde_json::{json, Map, Value};

fn distribution_json(d: &Distribution) -> String {
    let v = match d {
        Distribution::Float {
            low,
            high,
            log,
            step,
        } => {
            json!({"name": "FloatDistribution", "attributes": {"low": low, "high": high, "log": log, "step": step}})
        }
        Distribution::Int {
            low,
            high,
            log,
            step,
        } => {
            json!({"name": "IntDistribution", "attributes": {"low": low, "high": high, "log": log, "step": step}})
        }
        Distribution::Categorical { choices } => json!({
            "name": "CategoricalDistribution",
            "attributes": {"choices": choices.iter().map(ParamValue::to_json).collect::<Vec<_>>()},
        }),
    };
    v.to_string()
}

fn iso(ms: i64) -> Value {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    let s = humantime::format_rfc3339_micros(t).to_string();
    json!(s.trim_end_matches('Z'))
}

fn state_code(s: TrialState) -> u8 {
    match s {
        TrialState::Running => 0,
        TrialState::Complete => 1,
        TrialState::Pruned => 2,
        TrialState::Fail => 3,
        TrialState::Waiting => 4,
    }
}

/// The study id a journal's next `CREATE_STUDY` gets when Optuna replays
/// `existing` (ids count the `CREATE_STUDY` operations of studies with new
/// names), and whether `name` is among its studies already.
pub fn next_study_id(existing: &str, name: &str) -> Result<(u64, bool), String> {
    let mut names: Vec<String> = Vec::new();
    for (i, line) in existing.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let op: Value = serde_json::from_str(line)
            .map_err(|e| format!("line {} is not a journal operation ({e})", i + 1))?;
        if op["op_code"] == 0 {
            let n = op["study_name"]
                .as_str()
                .ok_or_else(|| format!("line {}: CREATE_STUDY without a study name", i + 1))?;
            if !names.iter().any(|m| m == n) {
                names.push(n.to_string());
            }
        }
    }
    Ok((names.len() as u64, names.iter().any(|n| n == name)))
}

/// The journal text (one JSON object per line) of the study, written as the journal's study
/// number `study_id` (0 in a fresh journal; see [`next_study_id`] to add it
/// to an existing one). With `pareto` (trial numbers, sorted), every trial
/// gets the user attribute `pareto`, true for those numbers.
///
/// Optuna numbers a journal's trials in the order their `CREATE_TRIAL`
/// operations come, whatever they hold, so `trials` should be all of them
/// by number: a subset would be renumbered.
pub fn journal_as(
    spec: &StudySpec,
    trials: &[&Trial],
    study_id: u64,
    pareto: Option<&[u64]>,
) -> String {
    let worker = "paretosearch-export";
    let mut lines = Vec::with_capacity(trials.len() + 1);
    let directions: Vec<u8> = spec
        .objectives
        .iter()
        .map(|o| match o.direction {
            Direction::Minimize => 1,
            Direction::Maximize => 2,
        })
        .collect();
    lines.push(json!({"op_code": 0, "worker_id": worker, "study_name": spec.name, "directions": directions}));
    // The objectives' names, as `study.set_metric_names` stores them.
    lines.push(json!({
        "op_code": 3,
        "worker_id": worker,
        "study_id": study_id,
        "system_attr": {"study:metric_names": spec.objectives.names()},
    }));
    let single = spec.objectives.len() == 1;
    for t in trials {
        let mut distributions = Map::new();
        let mut params = Map::new();
        for p in spec.space.params() {
            let Some(v) = t.params.get(&p.name) else {
                continue;
            };
            let internal = match &p.distribution {
                Distribution::Categorical { .. } => {
                    p.distribution.choice_index(v).map(|i| i as f64)
                }
                _ => v.as_f64(),
            };
            if let Some(x) = internal {
                distributions.insert(p.name.clone(), json!(distribution_json(&p.distribution)));
                params.insert(p.name.clone(), json!(x));
            }
        }
        let raw = spec.objectives.raw(&t.values);
        let (value, values) = match (&raw, t.state) {
            (Some(r), TrialState::Complete) if single => (json!(r[0]), Value::Null),
            (Some(r), TrialState::Complete) => (Value::Null, json!(r)),
            _ => (Value::Null, Value::Null),
        };
        let mut intermediate = Map::new();
        for r in &t.intermediate {
            if let Some(v) = spec.objectives.iter().find_map(|o| r.values.get(&o.name)) {
                intermediate.insert(r.step.to_string(), json!(v));
            }
        }
        let mut user = Map::new();
        user.insert("paretosearch_number".into(), json!(t.number));
        if let Some(front) = pareto {
            user.insert(
                "pareto".into(),
                json!(front.binary_search(&t.number).is_ok()),
            );
        }
        if let Some(r) = &t.reason {
            user.insert("reason".into(), json!(r));
        }
        let mut system = Map::new();
        if spec.objectives.constrained() && t.state == TrialState::Complete {
            let c: Vec<f64> = spec
                .objectives
                .iter()
                .filter_map(|o| Some((o.constraint?, *t.values.get(&o.name)?)))
                .flat_map(|(c, v)| c.max.map(|m| v - m).into_iter().chain(c.min.map(|m| m - v)))
                .collect();
            system.insert("constraints".into(), json!(c));
        }
        let mut op = json!({
            "op_code": 4,
            "worker_id": worker,
            "study_id": study_id,
            "state": state_code(t.state),
            "value": value,
            "values": values,
            "datetime_start": t.started_at.map(iso).unwrap_or(Value::Null),
            "distributions": distributions,
            "params": params,
            "user_attrs": user,
            "system_attrs": system,
            "intermediate_values": intermediate,
        });
        if let Some(f) = t.finished_at.filter(|_| t.state.is_finished()) {
            op["datetime_complete"] = iso(f);
        }
        lines.push(op);
    }
    let mut out = String::new();
    for l in lines {
        out.push_str(&l.to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_holds_one_study_and_every_trial() {
        let text = r#"
[study]
name = "j"
[[objectives]]
name = "acc"
direction = "maximize"
constraint = { min = 0.5 }
[[objectives]]
name = "lat"
direction = "minimize"
[search_space]
lr = { type = "float", low = 1e-4, high = 1e-1, log = true }
opt = { type = "categorical", choices = ["sgd", "adam"] }
[runner]
kind = "builtin"
problem = "zdt1"
[budget]
trials = 2
"#;
        let spec = StudySpec::parse(text, std::path::Path::new("j.toml"), &mut |_| {
            Err("none".into())
        })
        .unwrap();
        let mut done = Trial::new(0, TrialState::Complete);
        done.params.insert("lr".into(), ParamValue::Float(0.01));
        done.params
            .insert("opt".into(), ParamValue::Str("adam".into()));
        done.values = [("acc".to_string(), 0.4), ("lat".to_string(), 2.0)].into();
        done.started_at = Some(1_700_000_000_000);
        done.finished_at = Some(1_700_000_001_500);
        let mut failed = Trial::new(1, TrialState::Fail);
        failed.reason = Some("exit 3".into());
        let lines: Vec<Value> = journal_as(&spec, &[&done, &failed], 0, Some(&[0]))
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0]["directions"], json!([2, 1]));
        assert_eq!(
            lines[1]["system_attr"]["study:metric_names"],
            json!(["acc", "lat"])
        );
        let t = &lines[2];
        assert_eq!(t["state"], 1);
        assert_eq!(t["values"], json!([0.4, 2.0]));
        assert_eq!(t["params"]["opt"], json!(1.0));
        assert_eq!(t["datetime_start"], "2023-11-14T22:13:20.000000");
        assert_eq!(t["datetime_complete"], "2023-11-14T22:13:21.500000");
        assert_eq!(t["system_attrs"]["constraints"], json!([0.5 - 0.4]));
        let d: Value = serde_json::from_str(t["distributions"]["lr"].as_str().unwrap()).unwrap();
        assert_eq!(d["name"], "FloatDistribution");
        assert_eq!(d["attributes"]["log"], true);
        assert_eq!(lines[3]["state"], 3);
        assert!(lines[3]["values"].is_null());
        assert_eq!(lines[3]["user_attrs"]["reason"], "exit 3");
        assert_eq!(t["user_attrs"]["pareto"], true);
        assert_eq!(lines[3]["user_attrs"]["pareto"], false);
    }
}
