//! The suite's single-store behaviours: a study's life, claiming trials
//! against the budget, finishing them once, intermediate reports and
//! heartbeats.

use super::*;

// ---------------------------------------------------------------- studies

pub(super) async fn study_lifecycle(store: Arc<dyn Store>) {
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

pub(super) async fn claim_numbers_and_budget(store: Arc<dyn Store>) {
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

pub(super) async fn requeued_fail_does_not_count(store: Arc<dyn Store>) {
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

pub(super) async fn requeue_is_claimed_first(store: Arc<dyn Store>) {
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

pub(super) async fn finished_trials_are_immutable(store: Arc<dyn Store>) {
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
pub(super) async fn finished_trials_take_annotations(store: Arc<dyn Store>) {
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

pub(super) async fn only_failures_are_requeued(store: Arc<dyn Store>) {
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

pub(super) async fn params_are_set_once(store: Arc<dyn Store>) {
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

pub(super) async fn reports_upsert_in_step_order(store: Arc<dyn Store>) {
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

pub(super) async fn heartbeats_touch_running_trials(store: Arc<dyn Store>) {
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
