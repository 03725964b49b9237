//! Test helpers shared by the pruners' unit tests: objectives, trials
//! with curves and cheap values, views and option tables.

use crate::*;
use paretosearch_core::{Intermediate, Objective, ParamValue, Params};

pub fn objective(name: &str, direction: Direction, cheap: bool) -> Objective {
    Objective {
        name: name.into(),
        direction,
        constraint: None,
        cheap,
    }
}

/// accuracy (maximise, expensive) and latency (minimise, cheap).
pub fn acc_latency() -> Objectives {
    Objectives(vec![
        objective("accuracy", Direction::Maximize, false),
        objective("latency", Direction::Minimize, true),
    ])
}

pub fn complete(number: u64, values: &[(&str, f64)], curve: &[f64]) -> Trial {
    let mut t = Trial::new(number, TrialState::Complete);
    t.values = values.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    t.intermediate = reports("accuracy", curve);
    t
}

pub fn running(number: u64, metric: &str, curve: &[f64]) -> Trial {
    let mut t = Trial::new(number, TrialState::Running);
    t.intermediate = reports(metric, curve);
    t
}

pub fn reports(metric: &str, curve: &[f64]) -> Vec<Intermediate> {
    curve
        .iter()
        .enumerate()
        .map(|(i, v)| Intermediate {
            step: i as u64 + 1,
            values: [(metric.to_string(), *v)].into(),
        })
        .collect()
}

pub fn with_cheap(mut t: Trial, cheap: &[(&str, f64)]) -> Trial {
    let m: serde_json::Map<String, serde_json::Value> = cheap
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
        .collect();
    t.attrs
        .insert(CHEAP_ATTR.into(), serde_json::Value::Object(m));
    t
}

pub fn params(kv: &[(&str, ParamValue)]) -> Params {
    kv.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

pub fn view<'a>(
    space: &'a SearchSpace,
    objectives: &'a Objectives,
    trials: &'a [Trial],
) -> StudyView<'a> {
    StudyView {
        space,
        objectives,
        trials,
        seed: 0,
    }
}

pub fn table(s: &str) -> toml::Table {
    s.parse().expect("valid toml")
}
