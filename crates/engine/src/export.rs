//! Exporting trials: the JSON form every command and program shares.

use paretosearch_core::{Objectives, Trial, TrialState};
use serde_json::json;

/// The JSON form of a trial, the export contract of `paretosearch export`:
/// `number`, `state`, `params`, `values`, `intermediate` (`step`, `values`),
/// `reason`, `cause` (the typed half of the reason), `retry_of`, `attrs`,
/// `duration_s`.
pub fn trial_json(t: &Trial) -> serde_json::Value {
    json!({
        "number": t.number,
        "state": t.state.as_str(),
        "params": t.params,
        "values": t.values,
        "intermediate": t.intermediate.iter().map(|i| json!({"step": i.step, "values": i.values})).collect::<Vec<_>>(),
        "reason": t.reason,
        "cause": t.cause.map(|c| c.as_str()),
        "retry_of": t.retry_of,
        "attrs": t.attrs,
        "duration_s": t.duration_s(),
    })
}

/// Whether a COMPLETE trial meets every objective's constraint; `None`
/// for trials that are not COMPLETE (their values are partial or absent).
pub fn feasible(t: &Trial, objectives: &Objectives) -> Option<bool> {
    (t.state == TrialState::Complete).then(|| objectives.violation(&t.values) == 0.0)
}

/// [`trial_json`] with `feasible` ([`feasible`]: true, false, or null for
/// trials that are not COMPLETE), as exports of a study write it.
pub fn study_trial_json(t: &Trial, objectives: &Objectives) -> serde_json::Value {
    let mut v = trial_json(t);
    v["feasible"] = json!(feasible(t, objectives));
    v
}

/// The JSON array of `trials` (as `paretosearch export` prints it).
pub fn trials_json<'a>(
    trials: impl IntoIterator<Item = &'a Trial>,
    objectives: &Objectives,
) -> serde_json::Value {
    serde_json::Value::Array(
        trials
            .into_iter()
            .map(|t| study_trial_json(t, objectives))
            .collect(),
    )
}
