//! The early-stopping rule's account of itself, for `status` and the
//! report: for `dominated` its calibration on the study's completed curves
//! and its estimated false-stop rate, for the rung rules (`mo-asha`,
//! `hyperband`) who reached and who stopped at each rung and the epochs
//! saved so far (see `Pruner::diagnose`).

use paretosearch_core::spec::StudySpec;
use paretosearch_core::{StudyView, Trial};
use serde_json::Value;

/// The pruner's diagnosis of the study, `None` without an early-stopping
/// rule that has one.
pub fn diagnose(spec: &StudySpec, trials: &[Trial]) -> Option<Value> {
    let pruning = paretosearch::build_pruning(spec).ok()?;
    let early = pruning.early?;
    let view = StudyView {
        space: &spec.space,
        objectives: &spec.objectives,
        trials,
        seed: spec.seed,
    };
    let mut d = early.diagnose(&view)?;
    d["kind"] = Value::from(early.name());
    Some(d)
}

/// One line for people: the state and, once calibrated, coverage and
/// false stops.
pub fn line(d: &Value) -> String {
    let mut parts = vec![format!(
        "pruner {}: {}",
        d["kind"].as_str().unwrap_or("?"),
        d["state"].as_str().unwrap_or("?")
    )];
    if let Some(objs) = d["objectives"].as_object() {
        for (name, o) in objs {
            if let (Some(c), Some(raw)) =
                (o["coverage"].as_f64(), o["coverage_uncalibrated"].as_f64())
            {
                parts.push(format!(
                    "`{name}` 80 % intervals cover {:.0} % (uncalibrated {:.0} %) on {} curves",
                    100.0 * c,
                    100.0 * raw,
                    o["curves"]
                ));
            }
        }
    }
    let fs = &d["false_stops"];
    if let Some(n) = fs["backtested_trials"].as_u64().filter(|n| *n > 0) {
        parts.push(format!(
            "replayed {n} completed trials: {} would stop, {} of the {} on the front",
            fs["would_stop"], fs["wrongly_stopped"], fs["on_the_front"]
        ));
    }
    parts.extend(rungs(d));
    if let Some(n) = d["epochs"]["finished_trials"].as_u64().filter(|n| *n > 0) {
        parts.push(format!(
            "{:.0} % of the epochs of {n} finished trials saved ({} trained of {})",
            100.0 * d["epochs"]["saved"].as_f64().unwrap_or(0.0),
            d["epochs"]["trained"],
            d["epochs"]["unpruned"]
        ));
    }
    parts.join("; ")
}

/// A rung rule's account (`mo-asha`, `hyperband`): per rung, how many of
/// the trials that reached it were stopped there; the bracket is named
/// only when there are several.
fn rungs(d: &Value) -> Vec<String> {
    let Some(rows) = d["rungs"].as_array() else {
        return Vec::new();
    };
    let several = rows.iter().any(|r| r["bracket"].as_u64() != Some(0));
    rows.iter()
        .filter(|r| r["reached"].as_u64().is_some_and(|n| n > 0))
        .map(|r| {
            let at = if several {
                format!("bracket {} step {}", r["bracket"], r["step"])
            } else {
                format!("step {}", r["step"])
            };
            format!("{at}: {} of {} stopped", r["stopped"], r["reached"])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_rung_rules_line_names_each_rung_and_the_epochs_saved() {
        let d = json!({
            "kind": "mo-asha",
            "state": "judging",
            "rungs": [
                {"bracket": 0, "step": 2, "reached": 40, "stopped": 24, "went_on": 16},
                {"bracket": 0, "step": 6, "reached": 16, "stopped": 9, "went_on": 7},
                {"bracket": 0, "step": 18, "reached": 0, "stopped": 0, "went_on": 0},
            ],
            "epochs": {"finished_trials": 40, "trained": 270, "unpruned": 600, "saved": 0.55},
        });
        assert_eq!(
            line(&d),
            "pruner mo-asha: judging; step 2: 24 of 40 stopped; step 6: 9 of 16 stopped; \
             55 % of the epochs of 40 finished trials saved (270 trained of 600)"
        );
        let mut two = d.clone();
        two["rungs"][1]["bracket"] = json!(1);
        assert!(
            line(&two).contains("bracket 1 step 6: 9 of 16 stopped"),
            "{}",
            line(&two)
        );
    }
}
