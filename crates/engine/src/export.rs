//! Exporting trials: the JSON form every command and program shares.

use paretosearch_core::Trial;
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

/// The JSON array of `trials` (as `paretosearch export` prints it).
pub fn trials_json<'a>(trials: impl IntoIterator<Item = &'a Trial>) -> serde_json::Value {
    serde_json::Value::Array(trials.into_iter().map(trial_json).collect())
}
