//! The SQLite backend: one file shared by any number of processes.
//!
//! Writes run in `BEGIN IMMEDIATE` transactions, which take SQLite's single
//! write lock before reading anything, so a transaction never has to upgrade
//! a read lock (the upgrade fails at once with `SQLITE_BUSY` instead of
//! waiting). Waiting for the lock is left to SQLite's busy timeout; an
//! operation that still fails with `SQLITE_BUSY` or `SQLITE_LOCKED` is
//! retried whole, with backoff.
//!
//! Opening (creating, switching to WAL, migrating; or reading only) is in
//! [`crate::open`]. Errors that mean the file is damaged name the file
//! ([`crate::diagnose::sqlite_damage`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use paretosearch_core::{Params, Trial, TrialOutcome, TrialState};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqlitePool;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, Transaction};

use crate::diagnose::sqlite_damage;
use crate::row::{
    self, assemble, check_requeue, encode_attrs, encode_params, encode_values, stale_reason,
    sweep_requeues, to_i64, Finish, IntermediateRow, Tally, TrialRow, STUDY_COLUMNS, TRIAL_COLUMNS,
};
use crate::{Claim, Known, Recovered, Store, StoreError, StudyRecord, INCOMPATIBLE_HELP};

pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// How long SQLite itself waits for a lock before reporting `SQLITE_BUSY`.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections per process: one writer at a time anyway, a few readers.
pub(crate) const POOL_SIZE: u32 = 4;
/// Attempts of an operation that keeps meeting `SQLITE_BUSY`.
pub(crate) const BUSY_ATTEMPTS: u32 = 8;

/// A [`Store`] on a SQLite database.
pub(crate) struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// The database file, for messages (`None`: in memory).
    pub(crate) file: Option<String>,
    /// Opened for reading only.
    pub(crate) read_only: bool,
}

/// Is this SQLite's "busy" or "locked" (primary result codes 5 and 6,
/// whatever the extended code)?
pub(crate) fn is_busy(e: &StoreError) -> bool {
    let db = match e {
        StoreError::Db(sqlx::Error::Database(db)) => db,
        StoreError::Migrate(sqlx::migrate::MigrateError::Execute(sqlx::Error::Database(db))) => db,
        _ => return false,
    };
    db.code()
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| matches!(c & 0xff, 5 | 6))
}

/// A pause before attempt `attempt` (from 1): doubling from 20 ms, with a
/// jitter so that processes that collided do not collide again.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let base = 20u64 << attempt.min(6);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    Duration::from_millis(base + nanos % base)
}

/// Run `op` again while it fails with `SQLITE_BUSY`.
pub(crate) async fn retry_busy<T, F, Fut>(op: F) -> Result<T, StoreError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if attempt < BUSY_ATTEMPTS && is_busy(&e) => {
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

impl SqliteStore {
    /// [`retry_busy`], errors that mean a damaged file naming it.
    async fn retry<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        retry_busy(op).await.map_err(|e| match &self.file {
            Some(file) => sqlite_damage(e, file),
            None => e,
        })
    }

    /// A write transaction holding the database's write lock.
    async fn write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

async fn study_exists(tx: &mut SqliteConnection, study_id: i64) -> Result<(), StoreError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM studies WHERE id = ?")
        .bind(study_id)
        .fetch_optional(&mut *tx)
        .await?;
    found.map(|_| ()).ok_or(StoreError::NoSuchStudyId(study_id))
}

async fn trial_row(tx: &mut SqliteConnection, trial_id: i64) -> Result<TrialRow, StoreError> {
    sqlx::query_as::<_, TrialRow>(&format!("SELECT {TRIAL_COLUMNS} FROM trials WHERE id = ?"))
        .bind(trial_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NoSuchTrial(trial_id))
}

async fn tally(tx: &mut SqliteConnection, study_id: i64) -> Result<Tally, StoreError> {
    Ok(sqlx::query_as::<_, Tally>(&row::tally_sql("?"))
        .bind(study_id)
        .fetch_one(&mut *tx)
        .await?)
}

/// A new WAITING trial retrying the parameters of `old` (which failed).
async fn insert_retry(tx: &mut SqliteConnection, old: &TrialRow) -> Result<u64, StoreError> {
    let next = tally(tx, old.study_id).await?.next_number;
    sqlx::query(
        "INSERT INTO trials (study_id, number, state, params, attrs, retry_of, retries) \
         VALUES (?, ?, 'WAITING', ?, ?, ?, ?)",
    )
    .bind(old.study_id)
    .bind(next)
    .bind(&old.params)
    .bind(&old.attrs)
    .bind(old.number)
    .bind(old.retries.saturating_add(1))
    .execute(&mut *tx)
    .await?;
    Ok(next.max(0) as u64)
}

impl SqliteStore {
    async fn open_study_once(
        &self,
        name: &str,
        fingerprint: &str,
        spec_json: &str,
    ) -> Result<StudyRecord, StoreError> {
        let mut tx = self.write().await?;
        let found = sqlx::query_as::<_, StudyRecord>(&format!(
            "SELECT {STUDY_COLUMNS} FROM studies WHERE name = ?"
        ))
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let record = match found {
            Some(s) if s.fingerprint != fingerprint => {
                return Err(StoreError::incompatible(
                    name,
                    (&s.fingerprint, &s.spec_json),
                    (fingerprint, spec_json),
                    INCOMPATIBLE_HELP,
                ))
            }
            Some(s) => {
                sqlx::query("UPDATE studies SET spec_json = ? WHERE id = ?")
                    .bind(spec_json)
                    .bind(s.id)
                    .execute(&mut *tx)
                    .await?;
                StudyRecord {
                    spec_json: spec_json.to_string(),
                    ..s
                }
            }
            None => {
                sqlx::query_as::<_, StudyRecord>(&format!(
                    "INSERT INTO studies (name, fingerprint, spec_json, created_at) VALUES (?, ?, ?, ?) \
                     RETURNING {STUDY_COLUMNS}"
                ))
                .bind(name)
                .bind(fingerprint)
                .bind(spec_json)
                .bind(crate::row::now_ms())
                .fetch_one(&mut *tx)
                .await?
            }
        };
        tx.commit().await?;
        Ok(record)
    }

    async fn claim_once(
        &self,
        study_id: i64,
        worker: &str,
        budget: u64,
        now_ms: i64,
    ) -> Result<Claim, StoreError> {
        let mut tx = self.write().await?;
        study_exists(&mut tx, study_id).await?;
        let queued = sqlx::query_as::<_, TrialRow>(&format!(
            "UPDATE trials SET state = 'RUNNING', worker = ?, started_at = ?, heartbeat_at = ? \
             WHERE id = (SELECT id FROM trials WHERE study_id = ? AND state = 'WAITING' ORDER BY number LIMIT 1) \
             RETURNING {TRIAL_COLUMNS}"
        ))
        .bind(worker)
        .bind(now_ms)
        .bind(now_ms)
        .bind(study_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = queued {
            tx.commit().await?;
            return Ok(Claim::Queued(row.into_trial(Vec::new())?));
        }
        let next: i64 = sqlx::query_scalar(&row::next_number_sql("?"))
            .bind(study_id)
            .fetch_one(&mut *tx)
            .await?;
        let next_number = if (next.max(0) as u64) < budget {
            next
        } else {
            let t = tally(&mut tx, study_id).await?;
            if (t.counted.max(0) as u64) >= budget {
                tx.commit().await?;
                return Ok(Claim::Exhausted {
                    running: t.running.max(0) as u64,
                });
            }
            t.next_number
        };
        let row = sqlx::query_as::<_, TrialRow>(&format!(
            "INSERT INTO trials (study_id, number, state, worker, started_at, heartbeat_at) \
             VALUES (?, ?, 'RUNNING', ?, ?, ?) RETURNING {TRIAL_COLUMNS}"
        ))
        .bind(study_id)
        .bind(next_number)
        .bind(worker)
        .bind(now_ms)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Claim::New(row.into_trial(Vec::new())?))
    }

    async fn set_params_once(
        &self,
        trial_id: i64,
        params: &str,
        attrs: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE trials SET params = ?, attrs = ? WHERE id = ? AND state = 'RUNNING' AND params = '{}'")
            .bind(params)
            .bind(attrs)
            .bind(trial_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        let row = trial_row(&mut conn, trial_id).await?;
        if row.params == params && row.attrs == attrs {
            return Ok(()); // a retry of a write that went through
        }
        if row.state != TrialState::Running.as_str() {
            return Err(row.not_running("set parameters"));
        }
        Err(StoreError::Trial {
            number: row.trial_number(),
            message: "its parameters are already set; they cannot change".into(),
        })
    }

    async fn annotate_once(
        &self,
        trial_id: i64,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        let mut row = trial_row(&mut conn, trial_id).await?;
        for _ in 0..row::ANNOTATE_TRIES {
            let attrs = row.annotated(key, value)?;
            // Written only over the attributes it was computed from.
            let done = sqlx::query("UPDATE trials SET attrs = ? WHERE id = ? AND attrs = ?")
                .bind(&attrs)
                .bind(trial_id)
                .bind(&row.attrs)
                .execute(&mut *conn)
                .await?;
            if done.rows_affected() == 1 {
                return Ok(());
            }
            row = trial_row(&mut conn, trial_id).await?;
        }
        Err(row.annotate_contended())
    }

    async fn heartbeat_once(&self, trial_ids: &[i64], now_ms: i64) -> Result<(), StoreError> {
        for chunk in trial_ids.chunks(500) {
            let mut q = QueryBuilder::<Sqlite>::new("UPDATE trials SET heartbeat_at = ");
            q.push_bind(now_ms)
                .push(" WHERE state = 'RUNNING' AND id IN (");
            let mut ids = q.separated(", ");
            for id in chunk {
                ids.push_bind(*id);
            }
            q.push(")");
            q.build().execute(&self.pool).await?;
        }
        Ok(())
    }

    async fn report_once(&self, trial_id: i64, step: i64, values: &str) -> Result<(), StoreError> {
        let done = sqlx::query(
            "INSERT INTO intermediate (trial_id, step, metric_values) \
             SELECT id, ?, ? FROM trials WHERE id = ? AND state = 'RUNNING' \
             ON CONFLICT (trial_id, step) DO UPDATE SET metric_values = excluded.metric_values",
        )
        .bind(step)
        .bind(values)
        .bind(trial_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        Err(trial_row(&mut conn, trial_id).await?.not_running("report"))
    }

    async fn finish_once(
        &self,
        trial_id: i64,
        outcome: &TrialOutcome,
        requeue: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let row = trial_row(&mut tx, trial_id).await?;
        if row.is_same_finish(outcome, now_ms) {
            return Ok(()); // a retry of a finish that went through
        }
        if row.state != TrialState::Running.as_str() {
            return Err(row.not_running("finish"));
        }
        check_requeue(&row, outcome, requeue)?;
        let f = Finish::new(&row, outcome)?;
        let done = sqlx::query(
            "UPDATE trials SET state = ?, objective_values = ?, reason = ?, attrs = ?, finished_at = ?, requeued = ?, \
             cause = ? WHERE id = ? AND state = 'RUNNING'",
        )
        .bind(f.state)
        .bind(&f.values)
        .bind(&f.reason)
        .bind(&f.attrs)
        .bind(now_ms)
        .bind(requeue)
        .bind(f.cause)
        .bind(trial_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(row.not_running("finish"));
        }
        if requeue {
            insert_retry(&mut tx, &row).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn enqueue_once(&self, study_id: i64, params: &str) -> Result<u64, StoreError> {
        let mut tx = self.write().await?;
        study_exists(&mut tx, study_id).await?;
        let next = tally(&mut tx, study_id).await?.next_number;
        sqlx::query(
            "INSERT INTO trials (study_id, number, state, params) VALUES (?, ?, 'WAITING', ?)",
        )
        .bind(study_id)
        .bind(next)
        .bind(params)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(next.max(0) as u64)
    }

    /// Fail one stale trial if it is still as the sweep saw it; returns the
    /// number of its retry when one was queued.
    async fn fail_one(
        &self,
        seen: &TrialRow,
        reason: &str,
        requeue: bool,
        now_ms: i64,
    ) -> Result<Option<Option<u64>>, StoreError> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE trials SET state = 'FAIL', cause = 'stale', reason = ?, finished_at = ?, requeued = ? \
             WHERE id = ? AND state = 'RUNNING' AND heartbeat_at IS ?",
        )
        .bind(reason)
        .bind(now_ms)
        .bind(requeue)
        .bind(seen.id)
        .bind(seen.heartbeat_at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            // Finished, swept by another process, or alive after all.
            return Ok(None);
        }
        let retry = if requeue {
            Some(insert_retry(&mut tx, seen).await?)
        } else {
            None
        };
        tx.commit().await?;
        Ok(Some(retry))
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn close(&self) {
        // A connection the pool is still taking back may close after
        // `close` returns; fold the log into the file before, so that the
        // file holds everything whichever connection closes last.
        if !self.read_only && self.file.is_some() {
            let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await;
        }
        self.pool.close().await;
    }

    async fn open_study(
        &self,
        name: &str,
        fingerprint: &str,
        spec_json: &str,
    ) -> Result<StudyRecord, StoreError> {
        self.retry(|| self.open_study_once(name, fingerprint, spec_json))
            .await
    }

    async fn find_study(&self, name: &str) -> Result<Option<StudyRecord>, StoreError> {
        self.retry(|| async {
            Ok(sqlx::query_as::<_, StudyRecord>(&format!(
                "SELECT {STUDY_COLUMNS} FROM studies WHERE name = ?"
            ))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
        })
        .await
    }

    async fn list_studies(&self) -> Result<Vec<StudyRecord>, StoreError> {
        self.retry(|| async {
            Ok(sqlx::query_as::<_, StudyRecord>(&format!(
                "SELECT {STUDY_COLUMNS} FROM studies ORDER BY name"
            ))
            .fetch_all(&self.pool)
            .await?)
        })
        .await
    }

    async fn delete_study(&self, name: &str) -> Result<bool, StoreError> {
        self.retry(|| async {
            let done = sqlx::query("DELETE FROM studies WHERE name = ?")
                .bind(name)
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    async fn trials(&self, study_id: i64) -> Result<Vec<Trial>, StoreError> {
        self.trials_since(study_id, &Known::default()).await
    }

    async fn trials_since(&self, study_id: i64, known: &Known) -> Result<Vec<Trial>, StoreError> {
        self.retry(|| async {
            let (mut trials, mut reports) = row::changed_queries::<Sqlite>(study_id, known)?;
            // One read transaction: both queries see the same snapshot.
            let mut tx = self.pool.begin().await?;
            let trials = trials
                .build_query_as::<TrialRow>()
                .fetch_all(&mut *tx)
                .await?;
            let reports = reports
                .build_query_as::<IntermediateRow>()
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            assemble(trials, reports)
        })
        .await
    }

    async fn claim(
        &self,
        study_id: i64,
        worker: &str,
        budget: u64,
        now_ms: i64,
    ) -> Result<Claim, StoreError> {
        self.retry(|| self.claim_once(study_id, worker, budget, now_ms))
            .await
    }

    async fn set_params(
        &self,
        trial_id: i64,
        params: &Params,
        attrs: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), StoreError> {
        let params = encode_params(params)?;
        let attrs = encode_attrs(attrs);
        self.retry(|| self.set_params_once(trial_id, &params, &attrs))
            .await
    }

    async fn heartbeat(&self, trial_ids: &[i64], now_ms: i64) -> Result<(), StoreError> {
        self.retry(|| self.heartbeat_once(trial_ids, now_ms)).await
    }

    async fn annotate(
        &self,
        trial_id: i64,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.retry(|| self.annotate_once(trial_id, key, value))
            .await
    }

    async fn report(
        &self,
        trial_id: i64,
        step: u64,
        values: &BTreeMap<String, f64>,
    ) -> Result<(), StoreError> {
        let step = to_i64("step", step)?;
        let values = encode_values(values);
        self.retry(|| self.report_once(trial_id, step, &values))
            .await
    }

    async fn finish(
        &self,
        trial_id: i64,
        outcome: &TrialOutcome,
        requeue: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.retry(|| self.finish_once(trial_id, outcome, requeue, now_ms))
            .await
    }

    async fn enqueue(&self, study_id: i64, params: &Params) -> Result<u64, StoreError> {
        let params = encode_params(params)?;
        self.retry(|| self.enqueue_once(study_id, &params)).await
    }

    async fn fail_stale(
        &self,
        study_id: i64,
        now_ms: i64,
        stale_after_ms: i64,
        retries: u32,
        is_dead: &(dyn for<'w> Fn(&'w str) -> bool + Send + Sync),
    ) -> Result<Recovered, StoreError> {
        let running = self.retry(|| async {
            Ok(sqlx::query_as::<_, TrialRow>(&format!(
                "SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = ? AND state = 'RUNNING' ORDER BY number"
            ))
            .bind(study_id)
            .fetch_all(&self.pool)
            .await?)
        })
        .await?;
        let mut recovered = Recovered::default();
        for row in running {
            let Some(reason) = stale_reason(&row, now_ms, stale_after_ms, is_dead) else {
                continue;
            };
            let requeue = sweep_requeues(&row, retries);
            if let Some(retry) = self
                .retry(|| self.fail_one(&row, &reason, requeue, now_ms))
                .await?
            {
                recovered.failed.push(row.trial_number());
                recovered.requeued.extend(retry);
            }
        }
        Ok(recovered)
    }
}
