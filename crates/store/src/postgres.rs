//! The PostgreSQL backend: a study shared by workers on many machines.
//!
//! WAITING trials are taken with `FOR UPDATE SKIP LOCKED`, so claimants
//! never queue behind each other for the same row. Whatever allocates a
//! trial number first locks the study's row (`FOR NO KEY UPDATE`, which
//! does not block foreign-key checks), always before any trial row: number
//! allocation is serialised per study and every transaction takes its locks
//! in the same order. Unique-key violations, serialisation failures and
//! deadlocks are retried all the same, with backoff.
//!
//! Every operation also waits out a server that cannot be reached
//! ([`crate::retry`]): the pool hands out only connections that answer a
//! ping, and an operation that fails for want of a server is run again
//! whole, in a new transaction. An attempt that timed out waiting for a
//! connection tries one connection of its own to learn why (the pool only
//! says it timed out), so messages can say `connection refused at
//! host:port`. Opening (migrating; or reading only: the server tried
//! once, sessions read-only) is in [`crate::open`].

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use paretosearch_core::{Params, Trial, TrialOutcome, TrialState};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool};
use sqlx::{Postgres, QueryBuilder};

use crate::retry::{retry_races, Reach};
use crate::row::{
    self, assemble, check_requeue, encode_attrs, encode_params, encode_values, stale_reason,
    sweep_requeues, to_i64, Finish, IntermediateRow, Tally, TrialRow, STUDY_COLUMNS, TRIAL_COLUMNS,
};
use crate::{Claim, Known, Recovered, Store, StoreError, StudyRecord, INCOMPATIBLE_HELP};

pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Connections per process.
pub(crate) const POOL_SIZE: u32 = 8;
/// How long one attempt waits for a connection before it counts as the
/// server being unreachable (and is retried).
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// A [`Store`] on a PostgreSQL database.
pub(crate) struct PgStore {
    pub(crate) pool: PgPool,
    pub(crate) reach: Reach,
    /// How to connect, for a connection of one's own when the pool times
    /// out.
    pub(crate) connect: PgConnectOptions,
}

impl PgStore {
    /// Run `op` again while it loses races or cannot reach the server.
    pub(crate) async fn retry<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        self.reach
            .run(|| async {
                match retry_races(&op).await {
                    Err(e) if is_pool_timeout(&e) => Err(self.why_no_connection().await),
                    other => other,
                }
            })
            .await
    }

    /// The pool timed out waiting for a connection: one connection of our
    /// own says why (refused, reset, a bad password), or still times out.
    async fn why_no_connection(&self) -> StoreError {
        let attempt = <PgConnection as sqlx::Connection>::connect_with(&self.connect);
        match tokio::time::timeout(ACQUIRE_TIMEOUT, attempt).await {
            Ok(Err(e)) => StoreError::Db(e),
            Ok(Ok(conn)) => {
                let _ = sqlx::Connection::close(conn).await;
                StoreError::Db(sqlx::Error::PoolTimedOut)
            }
            Err(_) => StoreError::Db(sqlx::Error::PoolTimedOut),
        }
    }
}

/// Did waiting for a pooled connection time out?
fn is_pool_timeout(e: &StoreError) -> bool {
    matches!(
        crate::diagnose::sqlx_error(e),
        Some(sqlx::Error::PoolTimedOut)
    )
}

/// Lock the study's row: the per-study lock under which trial numbers are
/// allocated.
async fn lock_study(tx: &mut PgConnection, study_id: i64) -> Result<(), StoreError> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM studies WHERE id = $1 FOR NO KEY UPDATE")
            .bind(study_id)
            .fetch_optional(&mut *tx)
            .await?;
    found.map(|_| ()).ok_or(StoreError::NoSuchStudyId(study_id))
}

async fn trial_row(
    conn: &mut PgConnection,
    trial_id: i64,
    lock: bool,
) -> Result<TrialRow, StoreError> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    sqlx::query_as::<_, TrialRow>(&format!(
        "SELECT {TRIAL_COLUMNS} FROM trials WHERE id = $1{lock}"
    ))
    .bind(trial_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NoSuchTrial(trial_id))
}

async fn tally(tx: &mut PgConnection, study_id: i64) -> Result<Tally, StoreError> {
    Ok(sqlx::query_as::<_, Tally>(&row::tally_sql("$1"))
        .bind(study_id)
        .fetch_one(&mut *tx)
        .await?)
}

/// A new WAITING trial retrying the parameters of `old` (which failed).
/// The caller holds the study lock.
async fn insert_retry(tx: &mut PgConnection, old: &TrialRow) -> Result<u64, StoreError> {
    let next = tally(tx, old.study_id).await?.next_number;
    sqlx::query(
        "INSERT INTO trials (study_id, number, state, params, attrs, retry_of, retries) \
         VALUES ($1, $2, 'WAITING', $3, $4, $5, $6)",
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

/// Take the lowest-numbered WAITING trial nobody else is taking.
async fn take_waiting(
    conn: &mut PgConnection,
    study_id: i64,
    worker: &str,
    now_ms: i64,
) -> Result<Option<TrialRow>, StoreError> {
    Ok(sqlx::query_as::<_, TrialRow>(&format!(
        "UPDATE trials SET state = 'RUNNING', worker = $2, started_at = $3, heartbeat_at = $3 \
         WHERE id = (SELECT id FROM trials WHERE study_id = $1 AND state = 'WAITING' \
                     ORDER BY number LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING {TRIAL_COLUMNS}"
    ))
    .bind(study_id)
    .bind(worker)
    .bind(now_ms)
    .fetch_optional(&mut *conn)
    .await?)
}

impl PgStore {
    async fn open_study_once(
        &self,
        name: &str,
        fingerprint: &str,
        spec_json: &str,
    ) -> Result<StudyRecord, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO studies (name, fingerprint, spec_json, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fingerprint)
        .bind(spec_json)
        .bind(row::now_ms())
        .execute(&mut *tx)
        .await?;
        let s = sqlx::query_as::<_, StudyRecord>(&format!(
            "SELECT {STUDY_COLUMNS} FROM studies WHERE name = $1 FOR NO KEY UPDATE"
        ))
        .bind(name)
        .fetch_one(&mut *tx)
        .await?;
        if s.fingerprint != fingerprint {
            return Err(StoreError::incompatible(
                name,
                (&s.fingerprint, &s.spec_json),
                (fingerprint, spec_json),
                INCOMPATIBLE_HELP,
            ));
        }
        sqlx::query("UPDATE studies SET spec_json = $1 WHERE id = $2")
            .bind(spec_json)
            .bind(s.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(StudyRecord {
            spec_json: spec_json.to_string(),
            ..s
        })
    }

    async fn claim_once(
        &self,
        study_id: i64,
        worker: &str,
        budget: u64,
        now_ms: i64,
    ) -> Result<Claim, StoreError> {
        // Fast path, no study lock: a queued trial.
        let mut conn = self.pool.acquire().await?;
        if let Some(row) = take_waiting(&mut conn, study_id, worker, now_ms).await? {
            return Ok(Claim::Queued(row.into_trial(Vec::new())?));
        }
        drop(conn);

        let mut tx = self.pool.begin().await?;
        lock_study(&mut tx, study_id).await?;
        // A retry may have been queued since the fast path looked.
        if let Some(row) = take_waiting(&mut tx, study_id, worker, now_ms).await? {
            tx.commit().await?;
            return Ok(Claim::Queued(row.into_trial(Vec::new())?));
        }
        let next: i64 = sqlx::query_scalar(&row::next_number_sql("$1"))
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
             VALUES ($1, $2, 'RUNNING', $3, $4, $4) RETURNING {TRIAL_COLUMNS}"
        ))
        .bind(study_id)
        .bind(next_number)
        .bind(worker)
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
        let done = sqlx::query(
            "UPDATE trials SET params = $1, attrs = $2 WHERE id = $3 AND state = 'RUNNING' AND params = '{}'",
        )
        .bind(params)
        .bind(attrs)
        .bind(trial_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        let row = trial_row(&mut conn, trial_id, false).await?;
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
        let mut row = trial_row(&mut conn, trial_id, false).await?;
        for _ in 0..row::ANNOTATE_TRIES {
            let attrs = row.annotated(key, value)?;
            // Written only over the attributes it was computed from.
            let done = sqlx::query("UPDATE trials SET attrs = $1 WHERE id = $2 AND attrs = $3")
                .bind(&attrs)
                .bind(trial_id)
                .bind(&row.attrs)
                .execute(&mut *conn)
                .await?;
            if done.rows_affected() == 1 {
                return Ok(());
            }
            row = trial_row(&mut conn, trial_id, false).await?;
        }
        Err(row.annotate_contended())
    }

    async fn report_once(&self, trial_id: i64, step: i64, values: &str) -> Result<(), StoreError> {
        let done = sqlx::query(
            "INSERT INTO intermediate (trial_id, step, metric_values) \
             SELECT id, $1, $2 FROM trials WHERE id = $3 AND state = 'RUNNING' \
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
        Err(trial_row(&mut conn, trial_id, false)
            .await?
            .not_running("report"))
    }

    async fn finish_once(
        &self,
        trial_id: i64,
        outcome: &TrialOutcome,
        requeue: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if requeue {
            // Study before trial, as everywhere.
            let study_id: Option<i64> =
                sqlx::query_scalar("SELECT study_id FROM trials WHERE id = $1")
                    .bind(trial_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            lock_study(&mut tx, study_id.ok_or(StoreError::NoSuchTrial(trial_id))?).await?;
        }
        let row = trial_row(&mut tx, trial_id, true).await?;
        if row.is_same_finish(outcome, now_ms) {
            return Ok(()); // a retry of a finish that went through
        }
        if row.state != TrialState::Running.as_str() {
            return Err(row.not_running("finish"));
        }
        check_requeue(&row, outcome, requeue)?;
        let f = Finish::new(&row, outcome)?;
        let done = sqlx::query(
            "UPDATE trials SET state = $1, objective_values = $2, reason = $3, attrs = $4, finished_at = $5, \
             requeued = $6, cause = $8 WHERE id = $7 AND state = 'RUNNING'",
        )
        .bind(f.state)
        .bind(&f.values)
        .bind(&f.reason)
        .bind(&f.attrs)
        .bind(now_ms)
        .bind(requeue)
        .bind(trial_id)
        .bind(f.cause)
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
        let mut tx = self.pool.begin().await?;
        lock_study(&mut tx, study_id).await?;
        let next = tally(&mut tx, study_id).await?.next_number;
        sqlx::query(
            "INSERT INTO trials (study_id, number, state, params) VALUES ($1, $2, 'WAITING', $3)",
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
        let mut tx = self.pool.begin().await?;
        if requeue {
            lock_study(&mut tx, seen.study_id).await?;
        }
        let done = sqlx::query(
            "UPDATE trials SET state = 'FAIL', cause = 'stale', reason = $1, finished_at = $2, requeued = $3 \
             WHERE id = $4 AND state = 'RUNNING' AND heartbeat_at IS NOT DISTINCT FROM $5",
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
impl Store for PgStore {
    async fn close(&self) {
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
                "SELECT {STUDY_COLUMNS} FROM studies WHERE name = $1"
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
            let done = sqlx::query("DELETE FROM studies WHERE name = $1")
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
            let (mut trials, mut reports) = row::changed_queries::<Postgres>(study_id, known)?;
            // One snapshot for both queries.
            let mut tx = self
                .pool
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?;
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
        for chunk in trial_ids.chunks(1000) {
            self.retry(|| async {
                let mut q = QueryBuilder::<Postgres>::new("UPDATE trials SET heartbeat_at = ");
                q.push_bind(now_ms)
                    .push(" WHERE state = 'RUNNING' AND id IN (");
                let mut ids = q.separated(", ");
                for id in chunk {
                    ids.push_bind(*id);
                }
                q.push(")");
                q.build().execute(&self.pool).await?;
                Ok(())
            })
            .await?;
        }
        Ok(())
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
        let running = self
            .retry(|| async {
                Ok(sqlx::query_as::<_, TrialRow>(&format!(
                    "SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = $1 AND state = 'RUNNING' ORDER BY number"
                ))
                .bind(study_id)
                .fetch_all(&self.pool)
                .await?)
            })
            .await?;
        let stale_after_ms = row::after_outage(stale_after_ms, now_ms, self.reach.restored_at());
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
