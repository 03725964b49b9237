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

// ---------------------------------------------------------------- studies

async fn study_lifecycle(store: Arc<dyn Store>) {
    assert_eq!(store.find_study("s").await.unwrap(), None);
    let a = store.open_study("s", "fp-1", r#"{"v":1}"#).await.unwrap();
    assert_eq!(
        (
            a.name.as_str(),
            a.fingerprint.as_str(),
            a.spec_json.as_str()
        ),
        ("s", "fp-1", r#"{"v":1}"#)
    );

    // A compatible reopen loads the same study and refreshes the spec.
    let b = store.open_study("s", "fp-1", r#"{"v":2}"#).await.unwrap();
    assert_eq!(b.id, a.id);
    assert_eq!(b.spec_json, r#"{"v":2}"#);
    assert_eq!(store.find_study("s").await.unwrap(), Some(b.clone()));

    let e = store.open_study("s", "fp-2", "{}").await.unwrap_err();
    let message = e.to_string();
    match e {
        StoreError::Incompatible {
            name,
            stored,
            given,
            changes,
            help,
        } => {
            assert_eq!(
                (name.as_str(), stored.as_str(), given.as_str()),
                ("s", "fp-1", "fp-2")
            );
            assert_eq!(help, INCOMPATIBLE_HELP);
            // Specs that say nothing of spaces: the fingerprints are named.
            assert!(changes.is_empty(), "{changes:?}");
            assert!(
                message.contains("stored fingerprint fp-1, file gives fp-2"),
                "{message}"
            );
        }
        other => panic!("expected Incompatible, got {other:?}"),
    }
    // The failed open changed nothing.
    assert_eq!(store.find_study("s").await.unwrap(), Some(b.clone()));

    let c = store.open_study("another", "fp-9", "{}").await.unwrap();
    assert_ne!(c.id, a.id);
    let names: Vec<String> = store
        .list_studies()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["another", "s"]);

    // Deleting takes the trials and reports along.
    let t = claimed(store.claim(a.id, "w", 5, 0).await.unwrap());
    store
        .report(t.id, 0, &values(&[("loss", 1.0)]))
        .await
        .unwrap();
    assert!(store.delete_study("s").await.unwrap());
    assert!(!store.delete_study("s").await.unwrap());
    assert_eq!(store.find_study("s").await.unwrap(), None);
    assert!(store.trials(a.id).await.unwrap().is_empty());
    assert!(
        matches!(store.claim(a.id, "w", 5, 0).await, Err(StoreError::NoSuchStudyId(id)) if id == a.id)
    );
    assert_eq!(store.list_studies().await.unwrap(), vec![c]);

    // Specs with spaces: the change is named from the stored spec.
    let space = |high: f64| {
        format!(
            r#"{{"search_space": [{{"name": "x", "distribution": {{"type": "float", "low": 0.0, "high": {high:?}, "log": false}}}}], "objectives": []}}"#
        )
    };
    store
        .open_study("spaced", "fp-a", &space(1.0))
        .await
        .unwrap();
    match store.open_study("spaced", "fp-b", &space(2.0)).await {
        Err(StoreError::Incompatible { changes, .. }) => {
            assert_eq!(changes, vec!["parameter `x`: high 1.0 → 2.0".to_string()]);
        }
        other => panic!("expected Incompatible, got {other:?}"),
    }
}

// ---------------------------------------------------------------- claiming

async fn claim_numbers_and_budget(store: Arc<dyn Store>) {
    let s = study(&store, "budget").await;
    let mut numbers = Vec::new();
    for i in 0..3 {
        let t = new_trial(store.claim(s, &format!("w{i}"), 3, 100 + i).await.unwrap());
        assert_eq!(t.state, TrialState::Running);
        assert!(t.params.is_empty());
        assert_eq!(t.worker.as_deref(), Some(format!("w{i}").as_str()));
        assert_eq!(
            (t.started_at, t.heartbeat_at),
            (Some(100 + i), Some(100 + i))
        );
        numbers.push(t.number);
    }
    assert_eq!(numbers, [0, 1, 2]);
    assert_eq!(
        store.claim(s, "w", 3, 200).await.unwrap(),
        Claim::Exhausted { running: 3 }
    );

    // Finished trials still count; running ones are reported.
    let ts = store.trials(s).await.unwrap();
    store
        .finish(
            ts[0].id,
            &TrialOutcome::Complete(values(&[("f", 1.0)])),
            false,
            300,
        )
        .await
        .unwrap();
    store
        .finish(ts[1].id, &fail("boom"), false, 300)
        .await
        .unwrap();
    assert_eq!(
        store.claim(s, "w", 3, 400).await.unwrap(),
        Claim::Exhausted { running: 1 }
    );
    // A larger budget continues the numbering.
    assert_eq!(
        new_trial(store.claim(s, "w", 4, 500).await.unwrap()).number,
        3
    );
}

async fn requeued_fail_does_not_count(store: Arc<dyn Store>) {
    let s = study(&store, "requeue-budget").await;
    let t0 = new_trial(store.claim(s, "w", 2, 0).await.unwrap());
    store
        .set_params(t0.id, &sample_params(), &Default::default())
        .await
        .unwrap();
    store.finish(t0.id, &fail("oom"), true, 10).await.unwrap();

    let t1 = queued(store.claim(s, "w", 2, 20).await.unwrap());
    assert_eq!(t1.number, 1);
    // Trial 0 (FAIL, re-queued) no longer counts: room for one more.
    let t2 = new_trial(store.claim(s, "w", 2, 30).await.unwrap());
    assert_eq!(t2.number, 2);
    assert_eq!(
        store.claim(s, "w", 2, 40).await.unwrap(),
        Claim::Exhausted { running: 2 }
    );

    let t0 = trial(&store, s, 0).await;
    assert!(t0.requeued && !t0.counts_towards_budget());
}

async fn requeue_is_claimed_first(store: Arc<dyn Store>) {
    let s = study(&store, "requeue").await;
    let _t0 = new_trial(store.claim(s, "w", 10, 0).await.unwrap());
    let t1 = new_trial(store.claim(s, "w", 10, 0).await.unwrap());
    let mut attrs = serde_json::Map::new();
    attrs.insert("generation".into(), 3.into());
    store
        .set_params(t1.id, &sample_params(), &attrs)
        .await
        .unwrap();
    store
        .finish(t1.id, &fail("CUDA error"), true, 50)
        .await
        .unwrap();

    let ts = store.trials(s).await.unwrap();
    assert_eq!(ts.len(), 3);
    let (old, retry) = (&ts[1], &ts[2]);
    assert_eq!(
        (old.state, old.requeued, old.reason.as_deref()),
        (TrialState::Fail, true, Some("CUDA error"))
    );
    assert_eq!(old.finished_at, Some(50));
    assert_eq!(retry.state, TrialState::Waiting);
    assert_eq!(
        (retry.number, retry.retry_of, retry.retries),
        (2, Some(1), 1)
    );
    assert_eq!(retry.params, sample_params());
    assert_eq!(retry.attrs, attrs);
    assert_eq!((retry.worker.as_deref(), retry.started_at), (None, None));

    // Enqueued configurations wait behind the older retry.
    let p = params(&[("lr", ParamValue::Float(0.5))]);
    assert_eq!(store.enqueue(s, &p).await.unwrap(), 3);

    let c = queued(store.claim(s, "w2", 10, 60).await.unwrap());
    assert_eq!(
        (c.number, c.state, c.params.clone()),
        (2, TrialState::Running, sample_params())
    );
    assert_eq!(
        (c.worker.as_deref(), c.started_at, c.heartbeat_at),
        (Some("w2"), Some(60), Some(60))
    );
    // Its parameters are fixed.
    assert!(matches!(
        store.set_params(c.id, &p, &Default::default()).await,
        Err(StoreError::Trial { number: 2, .. })
    ));
    let e = queued(store.claim(s, "w2", 10, 70).await.unwrap());
    assert_eq!((e.number, e.params.clone(), e.retry_of), (3, p, None));
    assert_eq!(
        new_trial(store.claim(s, "w2", 10, 80).await.unwrap()).number,
        4
    );

    // A retry of a retry counts up.
    store.finish(c.id, &fail("again"), true, 90).await.unwrap();
    let r = queued(store.claim(s, "w3", 10, 100).await.unwrap());
    assert_eq!((r.number, r.retry_of, r.retries), (5, Some(2), 2));
}

// ---------------------------------------------------------------- finishing

async fn finished_trials_are_immutable(store: Arc<dyn Store>) {
    let s = study(&store, "immutable").await;
    let t = new_trial(store.claim(s, "w", 10, 0).await.unwrap());
    store
        .set_params(t.id, &sample_params(), &Default::default())
        .await
        .unwrap();
    let v = values(&[("acc", 0.9), ("latency_ms", 12.5)]);
    store
        .finish(t.id, &TrialOutcome::Complete(v.clone()), false, 99)
        .await
        .unwrap();

    for (outcome, requeue) in [
        (fail("late"), false),
        (fail("late"), true),
        (TrialOutcome::Complete(values(&[("acc", 0.1)])), false),
    ] {
        match store.finish(t.id, &outcome, requeue, 200).await {
            Err(StoreError::Trial { number, message }) => {
                assert_eq!(number, t.number);
                assert!(message.contains("already finished"), "{message}");
            }
            other => panic!("second finish: {other:?}"),
        }
    }
    assert!(matches!(
        store
            .set_params(t.id, &Params::new(), &Default::default())
            .await,
        Err(StoreError::Trial { .. })
    ));
    assert!(matches!(
        store.report(t.id, 0, &v).await,
        Err(StoreError::Trial { .. })
    ));

    let all = store.trials(s).await.unwrap();
    assert_eq!(all.len(), 1, "nothing was re-queued");
    let got = &all[0];
    assert_eq!(
        (
            got.state,
            &got.values,
            got.finished_at,
            got.reason.as_deref()
        ),
        (TrialState::Complete, &v, Some(99), None)
    );
    assert_eq!(got.params, sample_params());

    assert!(matches!(
        store.finish(i64::MAX, &fail("x"), false, 0).await,
        Err(StoreError::NoSuchTrial(_))
    ));
}

/// Annotations: set on finished trials only, other attributes kept, a
/// second one for the same key replaces the first; values and state stay.
async fn finished_trials_take_annotations(store: Arc<dyn Store>) {
    let s = study(&store, "annotate").await;
    let t = new_trial(store.claim(s, "w", 10, 0).await.unwrap());
    let mut attrs = serde_json::Map::new();
    attrs.insert("sampler".into(), serde_json::json!({"kind": "tpe"}));
    store
        .set_params(t.id, &sample_params(), &attrs)
        .await
        .unwrap();
    let test = serde_json::json!({"test": {"acc": 0.8}});
    match store.annotate(t.id, "test", &test).await {
        Err(StoreError::Trial { number, message }) => {
            assert_eq!(number, t.number);
            assert!(message.contains("not COMPLETE or PRUNED"), "{message}");
        }
        other => panic!("annotating a RUNNING trial: {other:?}"),
    }
    let v = values(&[("acc", 0.9)]);
    store
        .finish(t.id, &TrialOutcome::Complete(v.clone()), false, 5)
        .await
        .unwrap();
    store.annotate(t.id, "test", &test).await.unwrap();
    let again = serde_json::json!({"test": {"acc": 0.7}});
    store.annotate(t.id, "test", &again).await.unwrap();
    let got = trial(&store, s, t.number).await;
    assert_eq!(got.attrs["test"], again);
    assert_eq!(got.attrs["sampler"], attrs["sampler"]);
    assert_eq!((got.state, &got.values), (TrialState::Complete, &v));
    assert!(matches!(
        store.annotate(i64::MAX, "test", &test).await,
        Err(StoreError::NoSuchTrial(_))
    ));
}

async fn only_failures_are_requeued(store: Arc<dyn Store>) {
    let s = study(&store, "requeue-check").await;
    let t = new_trial(store.claim(s, "w", 10, 0).await.unwrap());
    assert!(matches!(
        store
            .finish(
                t.id,
                &TrialOutcome::Complete(values(&[("f", 1.0)])),
                true,
                5
            )
            .await,
        Err(StoreError::Trial { .. })
    ));
    // Untouched, still finishable.
    assert_eq!(trial(&store, s, 0).await.state, TrialState::Running);
    let pruned = TrialOutcome::Pruned {
        values: values(&[("acc", 0.3)]),
        step: Some(7),
        reason: paretosearch_core::PruneReason::new(
            paretosearch_core::PruneRule::Dominated,
            "dominated at step 7",
        )
        .with_forecast(serde_json::json!({"step": 7, "objectives": {"acc": {"mean": 0.4}}})),
    };
    store.finish(t.id, &pruned, false, 6).await.unwrap();
    let got = trial(&store, s, 0).await;
    assert_eq!(got.state, TrialState::Pruned);
    assert_eq!(got.values, values(&[("acc", 0.3)]));
    assert_eq!(got.reason.as_deref(), Some("dominated at step 7"));
    assert_eq!(
        got.prune_rule(),
        Some(paretosearch_core::PruneRule::Dominated),
        "the rule is stored, typed"
    );
    assert_eq!(
        got.attrs.get(crate::row::PRUNED_STEP_ATTR),
        Some(&serde_json::Value::from(7))
    );
    assert_eq!(
        got.attrs[paretosearch_core::FORECAST_ATTR]["objectives"]["acc"]["mean"],
        0.4,
        "the forecast is stored with the trial, not as its values"
    );
}

async fn params_are_set_once(store: Arc<dyn Store>) {
    let s = study(&store, "params").await;
    let t = new_trial(store.claim(s, "w", 10, 0).await.unwrap());
    let mut attrs = serde_json::Map::new();
    attrs.insert("sampler".into(), "tpe".into());
    store
        .set_params(t.id, &sample_params(), &attrs)
        .await
        .unwrap();
    let got = trial(&store, s, 0).await;
    assert_eq!(got.params, sample_params());
    assert_eq!(
        got.params["dropout"],
        ParamValue::Float(1.0),
        "a whole float stays a float"
    );
    assert_eq!(got.attrs, attrs);

    match store
        .set_params(
            t.id,
            &params(&[("lr", ParamValue::Float(0.1))]),
            &Default::default(),
        )
        .await
    {
        Err(StoreError::Trial { number: 0, message }) => {
            assert!(message.contains("already set"), "{message}")
        }
        other => panic!("second set_params: {other:?}"),
    }
    assert_eq!(trial(&store, s, 0).await.params, sample_params());

    let nan = params(&[("lr", ParamValue::Float(f64::NAN))]);
    let t1 = new_trial(store.claim(s, "w", 10, 0).await.unwrap());
    assert!(matches!(
        store.set_params(t1.id, &nan, &Default::default()).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .set_params(i64::MAX, &sample_params(), &Default::default())
            .await,
        Err(StoreError::NoSuchTrial(_))
    ));
}

// ---------------------------------------------------------------- reports

async fn reports_upsert_in_step_order(store: Arc<dyn Store>) {
    let s = study(&store, "reports").await;
    let a = new_trial(store.claim(s, "w", 10, 0).await.unwrap());
    let b = new_trial(store.claim(s, "w", 10, 0).await.unwrap());
    store
        .report(a.id, 2, &values(&[("loss", 0.5)]))
        .await
        .unwrap();
    store
        .report(a.id, 0, &values(&[("loss", 2.0)]))
        .await
        .unwrap();
    store
        .report(b.id, 0, &values(&[("loss", 9.0)]))
        .await
        .unwrap();
    store
        .report(
            a.id,
            1,
            &values(&[("loss", f64::NAN), ("grad", f64::INFINITY)]),
        )
        .await
        .unwrap();
    // Reporting a step again replaces it.
    store
        .report(a.id, 0, &values(&[("loss", 1.5), ("acc", 0.2)]))
        .await
        .unwrap();

    let ts = store.trials(s).await.unwrap();
    let steps: Vec<u64> = ts[0].intermediate.iter().map(|i| i.step).collect();
    assert_eq!(steps, [0, 1, 2]);
    assert_eq!(
        ts[0].intermediate[0].values,
        values(&[("loss", 1.5), ("acc", 0.2)])
    );
    assert!(ts[0].intermediate[1].values["loss"].is_nan());
    assert_eq!(ts[0].intermediate[1].values["grad"], f64::INFINITY);
    assert_eq!(ts[0].intermediate[2].values, values(&[("loss", 0.5)]));
    assert_eq!(ts[1].intermediate.len(), 1);
    assert_eq!(ts[1].intermediate[0].values, values(&[("loss", 9.0)]));

    store.finish(b.id, &fail("x"), false, 1).await.unwrap();
    match store.report(b.id, 1, &values(&[("loss", 1.0)])).await {
        Err(StoreError::Trial { number: 1, message }) => {
            assert!(message.contains("already finished"), "{message}")
        }
        other => panic!("report after finish: {other:?}"),
    }
    assert!(matches!(
        store.report(i64::MAX, 0, &values(&[])).await,
        Err(StoreError::NoSuchTrial(_))
    ));
}

async fn heartbeats_touch_running_trials(store: Arc<dyn Store>) {
    let s = study(&store, "heartbeat").await;
    let a = new_trial(store.claim(s, "w", 10, 0).await.unwrap());
    let b = new_trial(store.claim(s, "w", 10, 0).await.unwrap());
    store.finish(b.id, &fail("x"), false, 5).await.unwrap();
    store.heartbeat(&[a.id, b.id], 1_000).await.unwrap();
    store.heartbeat(&[], 2_000).await.unwrap();
    let ts = store.trials(s).await.unwrap();
    assert_eq!(ts[0].heartbeat_at, Some(1_000));
    assert_eq!(
        ts[1].heartbeat_at,
        Some(0),
        "finished trials are not touched"
    );
}

// ---------------------------------------------------------------- sweeps

async fn stale_heartbeats_fail_and_requeue(store: Arc<dyn Store>) {
    let s = study(&store, "stale").await;
    let t0 = new_trial(store.claim(s, "host:1:1", 10, 1_000).await.unwrap());
    store
        .set_params(t0.id, &sample_params(), &Default::default())
        .await
        .unwrap();
    let _t1 = new_trial(store.claim(s, "host:2:1", 10, 1_000).await.unwrap()); // died before sampling
    let t2 = new_trial(store.claim(s, "host:3:1", 10, 1_000).await.unwrap());
    store.heartbeat(&[t2.id], 60_000).await.unwrap();

    let r = store
        .fail_stale(s, 64_000, 30_000, 1, &never)
        .await
        .unwrap();
    assert_eq!((r.failed, r.requeued), (vec![0, 1], vec![3, 4]));
    let ts = store.trials(s).await.unwrap();
    assert_eq!(
        (ts[0].state, ts[0].requeued, ts[0].finished_at),
        (TrialState::Fail, true, Some(64_000))
    );
    let reason = ts[0].reason.as_deref().unwrap();
    assert!(
        reason.contains("`host:1:1` stopped responding (no heartbeat for 63 s)"),
        "{reason}"
    );
    assert_eq!(
        ts[2].state,
        TrialState::Running,
        "a fresh heartbeat keeps a trial"
    );
    assert_eq!(
        (ts[3].state, ts[3].retry_of, ts[3].retries),
        (TrialState::Waiting, Some(0), 1)
    );
    assert_eq!(ts[3].params, sample_params());
    assert_eq!(
        (ts[4].state, ts[4].retry_of),
        (TrialState::Waiting, Some(1))
    );
    assert!(ts[4].params.is_empty());

    // A second sweep finds nothing to do.
    assert_eq!(
        store
            .fail_stale(s, 64_000, 30_000, 1, &never)
            .await
            .unwrap(),
        Default::default()
    );
    assert_eq!(store.trials(s).await.unwrap().len(), 5);

    // The retry dies too: its retries (1) reached the limit (1), so it stays
    // failed and counts. The unsampled one is re-queued regardless.
    let c3 = queued(store.claim(s, "host:4:1", 10, 70_000).await.unwrap());
    let c4 = queued(store.claim(s, "host:4:1", 10, 70_000).await.unwrap());
    assert_eq!((c3.number, c4.number), (3, 4));
    let r = store
        .fail_stale(s, 200_000, 30_000, 1, &never)
        .await
        .unwrap();
    assert_eq!((r.failed, r.requeued), (vec![2, 3, 4], vec![5, 6]));
    let ts = store.trials(s).await.unwrap();
    assert_eq!((ts[3].state, ts[3].requeued), (TrialState::Fail, false));
    assert!(ts[3].counts_towards_budget());
    assert_eq!((ts[5].retry_of, ts[5].retries), (Some(2), 1));
    assert_eq!(
        (ts[6].retry_of, ts[6].retries, ts[6].params.is_empty()),
        (Some(4), 2, true)
    );

    // With no retries allowed, sampled trials are not re-queued.
    let c5 = queued(store.claim(s, "w", 10, 300_000).await.unwrap());
    assert!(
        c5.params.is_empty(),
        "the re-queued unsampled trial gets sampled by its claimant"
    );
    store
        .set_params(c5.id, &sample_params(), &Default::default())
        .await
        .unwrap();
    let r = store
        .fail_stale(s, 400_000, 30_000, 0, &never)
        .await
        .unwrap();
    assert_eq!((r.failed, r.requeued), (vec![c5.number], vec![]));
}

async fn dead_workers_fail(store: Arc<dyn Store>) {
    let s = study(&store, "dead").await;
    let a = new_trial(store.claim(s, "host:100:1", 10, 1_000).await.unwrap());
    store
        .set_params(a.id, &sample_params(), &Default::default())
        .await
        .unwrap();
    let _b = new_trial(store.claim(s, "host:200:1", 10, 1_000).await.unwrap());
    let dead = |w: &str| w == "host:100:1";
    let r = store
        .fail_stale(s, 4_000, 3_600_000, 2, &dead)
        .await
        .unwrap();
    assert_eq!((r.failed, r.requeued), (vec![0], vec![2]));
    let ts = store.trials(s).await.unwrap();
    let reason = ts[0].reason.as_deref().unwrap();
    assert!(reason.contains("`host:100:1` is gone"), "{reason}");
    assert_eq!(ts[0].fail_kind(), Some(paretosearch_core::FailKind::Stale));
    assert_eq!(ts[1].state, TrialState::Running);
    assert_eq!(
        (ts[2].state, ts[2].params.clone()),
        (TrialState::Waiting, sample_params())
    );
    assert_eq!(
        store
            .fail_stale(s, 4_000, 3_600_000, 2, &dead)
            .await
            .unwrap(),
        Default::default()
    );
}

/// Two processes sweeping at once fail each trial once and re-queue it once.
async fn concurrent_sweeps_requeue_once(db: &Db) {
    let (x, y) = (db.open().await, db.open().await);
    let s = study(&x, "sweeps").await;
    for _ in 0..20 {
        let t = new_trial(x.claim(s, "w", 100, 0).await.unwrap());
        x.set_params(t.id, &sample_params(), &Default::default())
            .await
            .unwrap();
    }
    let (rx, ry) = tokio::join!(
        x.fail_stale(s, 100_000, 1_000, 3, &never),
        y.fail_stale(s, 100_000, 1_000, 3, &never)
    );
    let (rx, ry) = (rx.unwrap(), ry.unwrap());
    let failed: BTreeSet<u64> = rx.failed.iter().chain(&ry.failed).copied().collect();
    assert_eq!(rx.failed.len() + ry.failed.len(), 20);
    assert_eq!(failed, (0..20).collect());
    assert_eq!(rx.requeued.len() + ry.requeued.len(), 20);
    let ts = x.trials(s).await.unwrap();
    assert_eq!(ts.len(), 40);
    assert_eq!(
        ts.iter().filter(|t| t.state == TrialState::Waiting).count(),
        20
    );
}

// ---------------------------------------------------------------- many workers

/// `workers` tasks, each with its own store handle (as separate processes
/// would have), claim and finish until the budget is spent. Every fifth new
/// trial fails and is re-queued, so retries race with new trials.
async fn many_workers_share_a_budget(db: &Db, workers: usize) {
    const BUDGET: u64 = 200;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let url = db.url.clone();
        tasks.push(tokio::spawn(async move {
            let store = open(&url).await?;
            let s = store.open_study("crowd", "fp", "{}").await?.id;
            let worker = format!("w{w}");
            let mut done = 0u32;
            loop {
                match store.claim(s, &worker, BUDGET, 1).await? {
                    Claim::New(t) => {
                        let p = params(&[("x", ParamValue::Int(t.number as i64))]);
                        store.set_params(t.id, &p, &Default::default()).await?;
                        store.report(t.id, 0, &values(&[("loss", 1.0)])).await?;
                        if t.number % 5 == 0 {
                            store.finish(t.id, &fail("flaky"), true, 2).await?;
                        } else {
                            store
                                .finish(
                                    t.id,
                                    &TrialOutcome::Complete(values(&[("f", t.number as f64)])),
                                    false,
                                    2,
                                )
                                .await?;
                        }
                    }
                    Claim::Queued(t) => {
                        store
                            .finish(
                                t.id,
                                &TrialOutcome::Complete(values(&[("f", 0.0)])),
                                false,
                                2,
                            )
                            .await?;
                    }
                    Claim::Exhausted { .. } => break,
                }
                done += 1;
            }
            Ok::<u32, StoreError>(done)
        }));
    }
    let mut claims = 0;
    for t in tasks {
        claims += t.await.expect("worker task").expect("no store errors");
    }
    let store = db.open().await;
    let s = store.find_study("crowd").await.unwrap().unwrap().id;
    let ts = store.trials(s).await.unwrap();
    let counted = ts.iter().filter(|t| t.counts_towards_budget()).count() as u64;
    assert_eq!(counted, BUDGET);
    assert_eq!(
        ts.iter()
            .filter(|t| t.state == TrialState::Complete)
            .count() as u64,
        BUDGET
    );
    assert!(ts
        .iter()
        .all(|t| t.state == TrialState::Complete || (t.state == TrialState::Fail && t.requeued)));
    let numbers: Vec<u64> = ts.iter().map(|t| t.number).collect();
    assert_eq!(
        numbers,
        (0..ts.len() as u64).collect::<Vec<_>>(),
        "numbers unique and gapless"
    );
    assert_eq!(claims as usize, ts.len());
    // Every retry's parameters are its failed trial's.
    for t in ts.iter().filter(|t| t.retry_of.is_some()) {
        let old = &ts[t.retry_of.unwrap() as usize];
        assert_eq!((old.state, &old.params), (TrialState::Fail, &t.params));
    }
}

async fn reopen_keeps_data(db: &Db) {
    let id = {
        let store = db.open().await;
        let s = study(&store, "persist").await;
        let t = new_trial(store.claim(s, "w", 5, 0).await.unwrap());
        store
            .finish(
                t.id,
                &TrialOutcome::Complete(values(&[("f", 2.5)])),
                false,
                1,
            )
            .await
            .unwrap();
        s
    };
    let store = db.open().await;
    assert_eq!(study(&store, "persist").await, id);
    let ts = store.trials(id).await.unwrap();
    assert_eq!((ts.len(), &ts[0].values), (1, &values(&[("f", 2.5)])));
}

// ---------------------------------------------------------------- reading

async fn trials_since_reads_new_and_unfinished(store: Arc<dyn Store>) {
    let s = study(&store, "since").await;
    let other = study(&store, "since-other").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let t = new_trial(store.claim(s, "w", 100, i).await.unwrap());
        ids.push(t.id);
    }
    new_trial(store.claim(other, "w", 100, 0).await.unwrap());
    for &id in &ids[..3] {
        store
            .finish(
                id,
                &TrialOutcome::Complete(values(&[("f", 1.0)])),
                false,
                10,
            )
            .await
            .unwrap();
    }
    store
        .report(ids[4], 1, &values(&[("f", 0.5)]))
        .await
        .unwrap();

    let all = store.trials_since(s, &Known::default()).await.unwrap();
    assert_eq!(all, store.trials(s).await.unwrap());
    assert_eq!(all.len(), 5);

    // Holding 0..=4 with 3 and 4 unfinished: only those come back.
    let known = Known {
        max_number: Some(4),
        unfinished: vec![(ids[3], 3), (ids[4], 4)],
    };
    let got = store.trials_since(s, &known).await.unwrap();
    let numbers: Vec<u64> = got.iter().map(|t| t.number).collect();
    assert_eq!(numbers, [3, 4]);
    assert_eq!(got[1].intermediate.len(), 1, "reports come along");

    // A new trial and a finished one show up; finished old ones do not.
    store.finish(ids[3], &fail("x"), true, 20).await.unwrap();
    let got = store.trials_since(s, &known).await.unwrap();
    let seen: Vec<(u64, TrialState)> = got.iter().map(|t| (t.number, t.state)).collect();
    assert_eq!(
        seen,
        [
            (3, TrialState::Fail),
            (4, TrialState::Running),
            (5, TrialState::Waiting)
        ]
    );
    // Nothing unfinished held: only what is new.
    let known = Known {
        max_number: Some(5),
        unfinished: Vec::new(),
    };
    assert!(store.trials_since(s, &known).await.unwrap().is_empty());
}

async fn cache_reads_each_finished_trial_once(store: Arc<dyn Store>) {
    let s = study(&store, "cache").await;
    let mut cache = TrialCache::new(s);
    assert!(cache.refresh(&*store).await.unwrap().is_empty());
    let mut finished = 0;
    for round in 0..20i64 {
        let t = new_trial(store.claim(s, "w", 1000, round).await.unwrap());
        let running = new_trial(store.claim(s, "w", 1000, round).await.unwrap());
        store
            .finish(
                t.id,
                &TrialOutcome::Complete(values(&[("f", 1.0)])),
                false,
                round,
            )
            .await
            .unwrap();
        store
            .finish(running.id, &fail("x"), false, round)
            .await
            .unwrap();
        finished += 2;
        let snap = cache.refresh(&*store).await.unwrap();
        assert_eq!(*snap, store.trials(s).await.unwrap(), "round {round}");
    }
    // Every trial read once (they were finished when first read).
    assert_eq!(cache.rows_read(), finished);

    // A trial read while RUNNING is read again until it finishes.
    let t = new_trial(store.claim(s, "w", 1000, 0).await.unwrap());
    cache.refresh(&*store).await.unwrap();
    cache.refresh(&*store).await.unwrap();
    store.finish(t.id, &fail("x"), false, 1).await.unwrap();
    let snap = cache.refresh(&*store).await.unwrap();
    assert_eq!(snap.last().unwrap().state, TrialState::Fail);
    cache.refresh(&*store).await.unwrap();
    assert_eq!(cache.rows_read(), finished + 3);
}

async fn retried_writes_are_not_applied_twice(store: Arc<dyn Store>) {
    let s = study(&store, "retried").await;
    let t = new_trial(store.claim(s, "w", 10, 0).await.unwrap());
    let mut attrs = serde_json::Map::new();
    attrs.insert("generation".into(), 1.into());
    store
        .set_params(t.id, &sample_params(), &attrs)
        .await
        .unwrap();
    // The same parameters again: a retry, accepted.
    store
        .set_params(t.id, &sample_params(), &attrs)
        .await
        .unwrap();
    store.finish(t.id, &fail("oom"), true, 77).await.unwrap();
    // The same finish again (same state, same time): accepted, no second retry.
    store.finish(t.id, &fail("oom"), true, 77).await.unwrap();
    let all = store.trials(s).await.unwrap();
    assert_eq!(all.len(), 2, "one re-queued trial, not two");
    // Another outcome or another time is a second finish: refused.
    assert!(matches!(
        store.finish(t.id, &fail("oom"), true, 78).await,
        Err(StoreError::Trial { .. })
    ));
    assert!(matches!(
        store
            .finish(
                t.id,
                &TrialOutcome::Complete(values(&[("f", 1.0)])),
                false,
                77
            )
            .await,
        Err(StoreError::Trial { .. })
    ));
}

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
