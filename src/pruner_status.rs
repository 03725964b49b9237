//! The early-stopping rule's account of itself, for `status` and the
//! report: its calibration on the study's completed curves and its
//! estimated false-stop rate (see `Pruner::diagnose`).

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
    parts.join("; ")
}
