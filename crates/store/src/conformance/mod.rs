//! The conformance suite: every behaviour of [`Store`] as one async
//! function, run against SQLite (a fresh temporary file per test) always
//! and against PostgreSQL (a fresh schema per test) when
//! `PARETOSEARCH_TEST_POSTGRES` holds a database URL.
//!
//! Floats are compared exactly on purpose: a store must return the very
//! bits it was given.
#![allow(clippy::float_cmp)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use paretosearch_core::{ParamValue, Params, Trial, TrialOutcome, TrialState};
use sqlx::Connection;

use crate::{open, Claim, Known, Store, StoreError, TrialCache, INCOMPATIBLE_HELP};

const PG_ENV: &str = "PARETOSEARCH_TEST_POSTGRES";

/// Shared hold on the test server: a test that stops and restarts it (the
/// root package's `tests/pg_restart.rs`) takes the same file exclusively.
fn pg_server_lock() -> std::fs::File {
    let path = std::env::temp_dir().join("paretosearch-test-postgres.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .expect("open the test server lock file");
    f.lock_shared().expect("lock the test server");
    f
}

/// A fresh, empty database that any number of store handles can open.
struct Db {
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
    _lock: Option<std::fs::File>,
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().expect("temporary folder");
        // A missing sub-folder: `open` creates it.
        let path = dir.path().join("nested").join("study.db");
        Db {
            url: format!("sqlite://{}", path.display()),
            _dir: Some(dir),
            pg: None,
            _lock: None,
        }
    }

    async fn postgres() -> Option<Db> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let base = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty())?;
        let lock = tokio::task::spawn_blocking(pg_server_lock)
            .await
            .expect("lock task");
        let schema = format!(
            "ps_test_{}_{}_{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            crate::row::now_ms()
        );
        let mut admin = sqlx::PgConnection::connect(&base)
            .await
            .expect("connect to the test database");
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut admin)
            .await
            .expect("create a test schema");
        admin.close().await.ok();
        let sep = if base.contains('?') { '&' } else { '?' };
        Some(Db {
            url: format!("{base}{sep}options[search_path]={schema}"),
            _dir: None,
            pg: Some((base, schema)),
            _lock: Some(lock),
        })
    }

    async fn open(&self) -> Arc<dyn Store> {
        open(&self.url).await.expect("open the store")
    }

    async fn cleanup(self) {
        if let Some((base, schema)) = &self.pg {
            if let Ok(mut admin) = sqlx::PgConnection::connect(base).await {
                let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                    .execute(&mut admin)
                    .await;
            }
        }
    }
}

fn params(pairs: &[(&str, ParamValue)]) -> Params {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn values(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn sample_params() -> Params {
    params(&[
        ("lr", ParamValue::Float(0.001)),
        ("layers", ParamValue::Int(4)),
        ("act", ParamValue::Str("relu".into())),
        ("bn", ParamValue::Bool(true)),
        ("dropout", ParamValue::Float(1.0)),
    ])
}

fn never(_: &str) -> bool {
    false
}

async fn study(store: &Arc<dyn Store>, name: &str) -> i64 {
    store
        .open_study(name, "fp-1", "{}")
        .await
        .expect("open study")
        .id
}

fn claimed(c: Claim) -> Trial {
    match c {
        Claim::New(t) | Claim::Queued(t) => t,
        Claim::Exhausted { running } => {
            panic!("expected a trial, got Exhausted {{ running: {running} }}")
        }
    }
}

fn new_trial(c: Claim) -> Trial {
    match c {
        Claim::New(t) => t,
        other => panic!("expected a new trial, got {other:?}"),
    }
}

fn queued(c: Claim) -> Trial {
    match c {
        Claim::Queued(t) => t,
        other => panic!("expected a queued trial, got {other:?}"),
    }
}

async fn trial(store: &Arc<dyn Store>, study_id: i64, number: u64) -> Trial {
    store
        .trials(study_id)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.number == number)
        .unwrap_or_else(|| panic!("trial {number} missing"))
}

fn fail(reason: &str) -> TrialOutcome {
    TrialOutcome::Fail {
        kind: paretosearch_core::FailKind::Error,
        reason: reason.into(),
    }
}

mod lifecycle;
mod workers;

use lifecycle::*;
use workers::*;

macro_rules! suite {
    (single: $($single:ident),* ; multi: $($multi:ident),* ) => {
        mod sqlite_file {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $single() {
                    let db = Db::sqlite();
                    super::$single(db.open().await).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $multi() {
                    let db = Db::sqlite();
                    super::$multi(&db).await;
                }
            )*
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn eight_processes_share_a_budget() {
                let db = Db::sqlite();
                many_workers_share_a_budget(&db, 8).await;
            }
        }

        mod sqlite_memory {
            use super::*;
            $(
                #[tokio::test]
                async fn $single() {
                    super::$single(open("sqlite::memory:").await.unwrap()).await;
                }
            )*
        }

        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $single() {
                    let Some(db) = Db::postgres().await else {
                        eprintln!("{PG_ENV} not set: PostgreSQL suite skipped");
                        return;
                    };
                    super::$single(db.open().await).await;
                    db.cleanup().await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $multi() {
                    let Some(db) = Db::postgres().await else {
                        eprintln!("{PG_ENV} not set: PostgreSQL suite skipped");
                        return;
                    };
                    super::$multi(&db).await;
                    db.cleanup().await;
                }
            )*
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sixteen_processes_share_a_budget() {
                let Some(db) = Db::postgres().await else {
                    eprintln!("{PG_ENV} not set: PostgreSQL suite skipped");
                    return;
                };
                many_workers_share_a_budget(&db, 16).await;
                db.cleanup().await;
            }
        }
    };
}

suite!(
    single: study_lifecycle, claim_numbers_and_budget, requeued_fail_does_not_count, requeue_is_claimed_first,
        finished_trials_are_immutable, finished_trials_take_annotations, only_failures_are_requeued, params_are_set_once,
        reports_upsert_in_step_order, heartbeats_touch_running_trials, stale_heartbeats_fail_and_requeue,
        dead_workers_fail, trials_since_reads_new_and_unfinished, cache_reads_each_finished_trial_once,
        retried_writes_are_not_applied_twice;
    multi: concurrent_sweeps_requeue_once, reopen_keeps_data
);

#[tokio::test]
async fn bad_urls_are_refused() {
    for url in ["mysql://x/y", "study.db", "sqlite://"] {
        assert!(
            matches!(open(url).await, Err(StoreError::BadUrl { .. })),
            "{url}"
        );
    }
}

#[tokio::test]
async fn non_finite_values_round_trip() {
    let v = values(&[
        ("a", f64::NAN),
        ("b", f64::INFINITY),
        ("c", f64::NEG_INFINITY),
        ("d", -0.25),
    ]);
    let back = crate::row::decode_values(&crate::row::encode_values(&v)).unwrap();
    assert!(back["a"].is_nan());
    assert_eq!(
        (back["b"], back["c"], back["d"]),
        (f64::INFINITY, f64::NEG_INFINITY, -0.25)
    );
    assert!(crate::row::decode_values(r#"{"a":"fast"}"#).is_err());
}
