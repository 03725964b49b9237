//! What both backends share: the row types, the JSON encodings of the TEXT
//! columns, and the small decisions (number conversions, failure reasons)
//! that must not drift apart between SQLite and PostgreSQL.

use std::collections::{BTreeMap, HashMap};

use paretosearch_core::{Intermediate, Params, Trial, TrialOutcome, TrialState};
use serde_json::{Map, Number, Value};

use crate::StoreError;

/// The trial columns, in the order [`TrialRow`] reads them.
pub(crate) const TRIAL_COLUMNS: &str =
    "id, study_id, number, state, params, objective_values, attrs, \
     reason, retry_of, retries, requeued, worker, started_at, finished_at, heartbeat_at, cause";

/// The study columns, in the order [`crate::StudyRecord`] reads them.
pub(crate) const STUDY_COLUMNS: &str = "id, name, fingerprint, spec_json";

/// Attribute under which a PRUNED trial's last step is kept.
pub(crate) const PRUNED_STEP_ATTR: &str = "pruned_step";

/// One `trials` row as stored.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TrialRow {
    pub id: i64,
    pub study_id: i64,
    pub number: i64,
    pub state: String,
    pub params: String,
    pub objective_values: String,
    pub attrs: String,
    pub reason: Option<String>,
    pub retry_of: Option<i64>,
    pub retries: i32,
    pub requeued: bool,
    pub worker: Option<String>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub heartbeat_at: Option<i64>,
    pub cause: Option<String>,
}

/// One `intermediate` row as stored.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct IntermediateRow {
    pub trial_id: i64,
    pub step: i64,
    pub metric_values: String,
}

/// Budget bookkeeping of a study, read under the study's write lock.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Tally {
    /// Trials that count towards the budget.
    pub counted: i64,
    /// RUNNING trials.
    pub running: i64,
    /// The number the next trial gets.
    pub next_number: i64,
}

/// SQL computing a [`Tally`] for the study bound to the one placeholder
/// `{}` (filled in by the backend).
pub(crate) fn tally_sql(placeholder: &str) -> String {
    format!(
        "SELECT COUNT(*) FILTER (WHERE NOT (state = 'FAIL' AND requeued)) AS counted, \
                COUNT(*) FILTER (WHERE state = 'RUNNING') AS running, \
                COALESCE(MAX(number) + 1, 0) AS next_number \
         FROM trials WHERE study_id = {placeholder}"
    )
}

/// SQL computing the next trial number of the study bound to `{}`: one
/// probe of the `(study_id, number)` unique index. Trial numbers are unique
/// and start at 0, so no more than this many trials exist and, while it is
/// below the budget, the budget cannot be spent: claims then skip the
/// full [`Tally`], which scans the study.
pub(crate) fn next_number_sql(placeholder: &str) -> String {
    format!("SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE study_id = {placeholder}")
}

impl TrialRow {
    /// The parameters are still empty (nothing sampled yet).
    pub fn has_no_params(&self) -> bool {
        self.params.trim() == "{}"
    }

    /// The state, decoded.
    pub fn trial_state(&self) -> Result<TrialState, StoreError> {
        TrialState::parse(&self.state).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "trial id {}: unknown state `{}`",
                self.id, self.state
            ))
        })
    }

    /// The trial number as the core type has it.
    pub fn trial_number(&self) -> u64 {
        // The schema has CHECK (number >= 0).
        self.number.max(0) as u64
    }

    /// Decode into a [`Trial`] with its intermediate reports.
    pub fn into_trial(self, intermediate: Vec<Intermediate>) -> Result<Trial, StoreError> {
        let state = self.trial_state()?;
        let what = |col: &str| format!("trial id {}, column {col}", self.id);
        let params: Params = serde_json::from_str(&self.params)
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", what("params"))))?;
        let values = decode_values(&self.objective_values)
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", what("objective_values"))))?;
        let attrs: Map<String, Value> = serde_json::from_str(&self.attrs)
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", what("attrs"))))?;
        Ok(Trial {
            id: self.id,
            number: self.trial_number(),
            state,
            params,
            values,
            intermediate,
            reason: self.reason,
            cause: paretosearch_core::Cause::parse(state, self.cause.as_deref()),
            attrs,
            retry_of: self.retry_of.map(|n| n.max(0) as u64),
            retries: self.retries.max(0) as u32,
            requeued: self.requeued,
            worker: self.worker,
            started_at: self.started_at,
            finished_at: self.finished_at,
            heartbeat_at: self.heartbeat_at,
        })
    }

    /// Is this trial already finished exactly as `outcome` at `now_ms`
    /// would finish it? Then a finish is the retry of one that committed
    /// while its answer was lost.
    pub fn is_same_finish(&self, outcome: &TrialOutcome, now_ms: i64) -> bool {
        self.finished_at == Some(now_ms) && self.state == outcome.state().as_str()
    }

    /// The error for an attempt to change this trial when it is no longer
    /// RUNNING.
    pub fn not_running(&self, action: &str) -> StoreError {
        let message = match self.trial_state() {
            Ok(s) if s.is_finished() => format!("cannot {action}: the trial is already finished ({s}); finished trials are immutable"),
            Ok(s) => format!("cannot {action}: the trial is {s}, not RUNNING"),
            Err(e) => return e,
        };
        StoreError::Trial {
            number: self.trial_number(),
            message,
        }
    }
}

/// How many times an annotation is retried when another writer changed
/// the trial's attributes between its read and its write.
pub(crate) const ANNOTATE_TRIES: usize = 8;

impl TrialRow {
    /// The row's attributes with `key` set to `value` (for
    /// [`Store::annotate`](crate::Store::annotate)), or why it cannot be.
    pub(crate) fn annotated(&self, key: &str, value: &Value) -> Result<String, StoreError> {
        match self.trial_state()? {
            TrialState::Complete | TrialState::Pruned => {}
            s => {
                return Err(StoreError::Trial {
                    number: self.trial_number(),
                    message: format!(
                        "cannot annotate it: the trial is {s}, not COMPLETE or PRUNED"
                    ),
                })
            }
        }
        let mut attrs: Map<String, Value> =
            serde_json::from_str(&self.attrs).map_err(|e| StoreError::Trial {
                number: self.trial_number(),
                message: format!("its stored attributes are not a JSON object: {e}"),
            })?;
        attrs.insert(key.to_string(), value.clone());
        Ok(encode_attrs(&attrs))
    }

    /// The error when every try of an annotation met a concurrent change.
    pub(crate) fn annotate_contended(&self) -> StoreError {
        StoreError::Trial {
            number: self.trial_number(),
            message: format!("its attributes changed under {ANNOTATE_TRIES} tries to annotate it"),
        }
    }
}

/// Join trial rows with their intermediate rows (sorted by trial, step).
pub(crate) fn assemble(
    trials: Vec<TrialRow>,
    reports: Vec<IntermediateRow>,
) -> Result<Vec<Trial>, StoreError> {
    let mut by_trial: HashMap<i64, Vec<Intermediate>> = HashMap::new();
    for r in reports {
        let values = decode_values(&r.metric_values).map_err(|e| {
            StoreError::Corrupt(format!(
                "intermediate report of trial id {} step {}: {e}",
                r.trial_id, r.step
            ))
        })?;
        by_trial.entry(r.trial_id).or_default().push(Intermediate {
            step: r.step.max(0) as u64,
            values,
        });
    }
    trials
        .into_iter()
        .map(|t| {
            let mut inter = by_trial.remove(&t.id).unwrap_or_default();
            inter.sort_by_key(|i| i.step);
            t.into_trial(inter)
        })
        .collect()
}

/// Encode parameters for the `params` column.
pub(crate) fn encode_params(params: &Params) -> Result<String, StoreError> {
    if let Some((name, _)) = params
        .iter()
        .find(|(_, v)| v.as_f64().is_some_and(|f| !f.is_finite()))
    {
        return Err(StoreError::Invalid(format!(
            "parameter `{name}`: not a finite number"
        )));
    }
    serde_json::to_string(params).map_err(|e| StoreError::Invalid(format!("parameters: {e}")))
}

/// Encode a JSON object for the `attrs` column.
pub(crate) fn encode_attrs(attrs: &Map<String, Value>) -> String {
    Value::Object(attrs.clone()).to_string()
}

/// Encode metric values. JSON has no NaN or infinities, and a diverging
/// training run does report them, so those are written as the strings
/// `"NaN"`, `"inf"` and `"-inf"`.
pub(crate) fn encode_values(values: &BTreeMap<String, f64>) -> String {
    let obj: Map<String, Value> = values
        .iter()
        .map(|(k, &v)| {
            let json = match Number::from_f64(v) {
                Some(n) => Value::Number(n),
                None if v.is_nan() => Value::String("NaN".into()),
                None if v > 0.0 => Value::String("inf".into()),
                None => Value::String("-inf".into()),
            };
            (k.clone(), json)
        })
        .collect();
    Value::Object(obj).to_string()
}

/// Decode what [`encode_values`] wrote.
pub(crate) fn decode_values(text: &str) -> Result<BTreeMap<String, f64>, String> {
    let obj: Map<String, Value> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    obj.into_iter()
        .map(|(k, v)| {
            let f = match &v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => match s.as_str() {
                    "NaN" => Some(f64::NAN),
                    "inf" => Some(f64::INFINITY),
                    "-inf" => Some(f64::NEG_INFINITY),
                    _ => None,
                },
                _ => None,
            };
            f.map(|f| (k.clone(), f))
                .ok_or_else(|| format!("value `{k}` is {v}, not a number"))
        })
        .collect()
}

/// The columns a finish writes, computed from the outcome.
pub(crate) struct Finish {
    pub state: &'static str,
    pub values: String,
    pub reason: Option<String>,
    pub cause: Option<&'static str>,
    pub attrs: String,
}

impl Finish {
    /// What finishing `row` with `outcome` writes.
    pub fn new(row: &TrialRow, outcome: &TrialOutcome) -> Result<Finish, StoreError> {
        let mut attrs: Map<String, Value> = serde_json::from_str(&row.attrs)
            .map_err(|e| StoreError::Corrupt(format!("trial id {}, column attrs: {e}", row.id)))?;
        let (values, reason) = match outcome {
            TrialOutcome::Complete(values) => (encode_values(values), None),
            TrialOutcome::Pruned {
                values,
                step,
                reason,
            } => {
                if let Some(step) = step {
                    attrs.insert(PRUNED_STEP_ATTR.into(), Value::from(*step));
                }
                if let Some(f) = &reason.forecast {
                    attrs.insert(paretosearch_core::FORECAST_ATTR.into(), f.clone());
                }
                (encode_values(values), Some(reason.detail.clone()))
            }
            TrialOutcome::Fail { reason, .. } => ("{}".to_string(), Some(reason.clone())),
        };
        Ok(Finish {
            state: outcome.state().as_str(),
            values,
            reason,
            cause: outcome.cause().map(|c| c.as_str()),
            attrs: Value::Object(attrs).to_string(),
        })
    }
}

/// Check the `requeue` flag of a finish before touching the database.
pub(crate) fn check_requeue(
    row: &TrialRow,
    outcome: &TrialOutcome,
    requeue: bool,
) -> Result<(), StoreError> {
    if requeue && !matches!(outcome, TrialOutcome::Fail { .. }) {
        return Err(StoreError::Trial {
            number: row.trial_number(),
            message: format!(
                "only a failed trial can be re-queued, not a {} one",
                outcome.state()
            ),
        });
    }
    Ok(())
}

/// Why a sweep failed a RUNNING trial, or `None` when it is alive.
pub(crate) fn stale_reason<F: Fn(&str) -> bool + ?Sized>(
    row: &TrialRow,
    now_ms: i64,
    stale_after_ms: i64,
    is_dead: &F,
) -> Option<String> {
    let last = row.heartbeat_at.or(row.started_at).unwrap_or(i64::MIN);
    let silent_s = now_ms.saturating_sub(last).max(0) / 1000;
    let worker = row.worker.as_deref().unwrap_or("(unknown)");
    if row.worker.as_deref().is_some_and(is_dead) {
        return Some(format!("worker `{worker}` is gone (its process no longer runs; last heartbeat {silent_s} s ago)"));
    }
    if last < now_ms.saturating_sub(stale_after_ms) {
        return Some(format!(
            "worker `{worker}` stopped responding (no heartbeat for {silent_s} s)"
        ));
    }
    None
}

/// The heartbeat grace a sweep applies: `stale_after_ms`, except during
/// the `stale_after_ms` after this store reconnected from an outage
/// (`restored_at`), when nobody could heartbeat and nobody is judged by
/// heartbeat (dead processes on this host are still recognised).
pub(crate) fn after_outage(stale_after_ms: i64, now_ms: i64, restored_at: Option<i64>) -> i64 {
    match restored_at {
        Some(t) if now_ms.saturating_sub(t) < stale_after_ms => i64::MAX,
        _ => stale_after_ms,
    }
}

/// Does a sweep re-queue this failed trial? While retries remain, and
/// always when nothing was sampled yet.
pub(crate) fn sweep_requeues(row: &TrialRow, retries: u32) -> bool {
    row.has_no_params() || (row.retries.max(0) as u32) < retries
}

/// A `u64` for an INTEGER column.
pub(crate) fn to_i64(what: &str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v)
        .map_err(|_| StoreError::Invalid(format!("{what} {v}: beyond a 64-bit signed integer")))
}

pub(crate) use paretosearch_core::clock::now_ms;

/// Most ids listed in one `id IN (...)`; beyond, [`push_changed`] re-reads
/// the range from the lowest unfinished number instead.
const MAX_LISTED_IDS: usize = 500;

/// Append to `q` the condition selecting, among trials aliased `t`, those
/// a reader holding `known` needs ([`crate::Store::trials_since`]).
pub(crate) fn push_changed<'a, DB>(
    q: &mut sqlx::QueryBuilder<'a, DB>,
    study_id: i64,
    known: &crate::Known,
) -> Result<(), StoreError>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    q.push("t.study_id = ").push_bind(study_id);
    let Some(max) = known.max_number else {
        return Ok(());
    };
    q.push(" AND (t.number > ")
        .push_bind(to_i64("trial number", max)?);
    if known.unfinished.len() > MAX_LISTED_IDS {
        let lowest = known
            .unfinished
            .iter()
            .map(|&(_, n)| n)
            .min()
            .unwrap_or(max);
        q.push(" OR t.number >= ")
            .push_bind(to_i64("trial number", lowest)?);
    } else if !known.unfinished.is_empty() {
        q.push(" OR t.id IN (");
        let mut ids = q.separated(", ");
        for &(id, _) in &known.unfinished {
            ids.push_bind(id);
        }
        q.push(")");
    }
    q.push(")");
    Ok(())
}

/// The `trials_since` queries: trial rows by number, then their reports by
/// trial and step.
pub(crate) fn changed_queries<'a, DB>(
    study_id: i64,
    known: &crate::Known,
) -> Result<(sqlx::QueryBuilder<'a, DB>, sqlx::QueryBuilder<'a, DB>), StoreError>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let cols: String = TRIAL_COLUMNS
        .split(',')
        .map(|c| format!("t.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut trials = sqlx::QueryBuilder::new(format!("SELECT {cols} FROM trials t WHERE "));
    push_changed(&mut trials, study_id, known)?;
    trials.push(" ORDER BY t.number");
    let mut reports = sqlx::QueryBuilder::new(
        "SELECT i.trial_id, i.step, i.metric_values FROM intermediate i \
         JOIN trials t ON t.id = i.trial_id WHERE ",
    );
    push_changed(&mut reports, study_id, known)?;
    reports.push(" ORDER BY i.trial_id, i.step");
    Ok((trials, reports))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nobody_is_judged_by_heartbeat_right_after_an_outage() {
        assert_eq!(after_outage(5_000, 100_000, None), 5_000);
        assert_eq!(after_outage(5_000, 100_000, Some(97_000)), i64::MAX);
        assert_eq!(after_outage(5_000, 100_000, Some(95_000)), 5_000);
    }
}
