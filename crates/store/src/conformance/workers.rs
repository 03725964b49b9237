//! The suite's behaviours across handles and workers: sweeps of stale
//! and dead workers, many workers sharing one budget, reopening, and
//! the incremental reads the trial cache relies on.

use super::*;

// ---------------------------------------------------------------- sweeps

pub(super) async fn stale_heartbeats_fail_and_requeue(store: Arc<dyn Store>) {
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

pub(super) async fn dead_workers_fail(store: Arc<dyn Store>) {
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
pub(super) async fn concurrent_sweeps_requeue_once(db: &Db) {
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
pub(super) async fn many_workers_share_a_budget(db: &Db, workers: usize) {
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

pub(super) async fn reopen_keeps_data(db: &Db) {
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

pub(super) async fn trials_since_reads_new_and_unfinished(store: Arc<dyn Store>) {
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

pub(super) async fn cache_reads_each_finished_trial_once(store: Arc<dyn Store>) {
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

pub(super) async fn retried_writes_are_not_applied_twice(store: Arc<dyn Store>) {
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
