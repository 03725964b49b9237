//! The engine driven as a library: no subprocess anywhere.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{toy, zdt, Toy};
use paretosearch_core::{FailKind, PruneRule, TrialOutcome, TrialState};
use paretosearch_engine::{Cancel, Options, RunnerObjective, Stopped, Study, TrialHandle, Values};
use paretosearch_runner::Verdict;

fn zdt1(t: &TrialHandle) -> Result<Values, String> {
    let x0 = t.float("x0").map_err(|e| e.to_string())?;
    let x1 = t.float("x1").map_err(|e| e.to_string())?;
    let g = 1.0 + 9.0 * x1;
    Ok(Values::from([
        ("f1".to_string(), x0),
        ("f2".to_string(), g * (1.0 - (x0 / g).sqrt())),
    ]))
}

fn sqlite_file(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("study.db").display())
}

async fn ask_report_tell(url: &str) {
    let study = Study::create_or_open(zdt("art", "random", 3), url)
        .await
        .unwrap();
    let t = study.ask().await.unwrap().expect("a trial");
    assert_eq!(t.number(), 0);
    let x0 = t.float("x0").unwrap();
    assert!((0.0..=1.0).contains(&x0));
    assert!(t.int("x0").is_err(), "a float is not an int");
    assert!(t
        .float("nope")
        .unwrap_err()
        .to_string()
        .contains("no parameter `nope`"));
    let v = t.report(1, &BTreeMap::from([("f1".into(), 0.5)])).await;
    assert_eq!(v, Verdict::Continue);
    let rec = study
        .tell(&t, TrialOutcome::Complete(zdt1(&t).unwrap()))
        .await
        .unwrap();
    assert_eq!(rec.state, TrialState::Complete);
    assert!(
        study
            .tell(&t, TrialOutcome::Complete(zdt1(&t).unwrap()))
            .await
            .is_err(),
        "told twice"
    );
    let stored = study.trial(0).await.unwrap();
    assert_eq!(stored.state, TrialState::Complete);
    assert_eq!(stored.intermediate.len(), 1, "the report was stored");
    assert_eq!(stored.params, *t.params());

    // Optuna's validation: a COMPLETE without every objective becomes a FAIL.
    let t = study.ask().await.unwrap().unwrap();
    let rec = study
        .tell(
            &t,
            TrialOutcome::Complete(Values::from([("f1".into(), 1.0)])),
        )
        .await
        .unwrap();
    assert_eq!(rec.state, TrialState::Fail);
    assert_eq!(rec.fail_kind(), Some(FailKind::Error));
    assert!(rec.reason.unwrap().contains("`f2` missing"));

    let t = study.ask().await.unwrap().unwrap();
    study
        .tell(&t, TrialOutcome::Complete(zdt1(&t).unwrap()))
        .await
        .unwrap();
    assert!(study.ask().await.unwrap().is_none(), "budget of 3 spent");
    let front = study.pareto_front().await.unwrap();
    assert!(!front.trials.is_empty() && front.hypervolume >= 0.0);
    assert!(study.best("f1").await.unwrap().is_some());
    assert!(study.best("nope").await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn ask_report_tell_in_memory() {
    ask_report_tell("sqlite::memory:").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ask_report_tell_in_a_file() {
    let dir = tempfile::tempdir().unwrap();
    ask_report_tell(&sqlite_file(&dir)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn closure_with_four_workers_finishes_exactly_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let study = Study::create_or_open(zdt("w4", "tpe", 40), &sqlite_file(&dir))
        .await
        .unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (r, m) = (running.clone(), most.clone());
    let done = study
        .optimize(
            move |t: &TrialHandle| {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                r.fetch_sub(1, Ordering::SeqCst);
                zdt1(t)
            },
            Options {
                workers: 4,
                ..Options::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(done.stopped, Stopped::BudgetSpent);
    assert_eq!(done.trials, 40);
    let trials = study.trials().await.unwrap();
    assert_eq!(trials.len(), 40);
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    let numbers: HashSet<u64> = trials.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..40).collect());
    assert!(most.load(Ordering::SeqCst) > 1, "trials ran concurrently");
    assert!(most.load(Ordering::SeqCst) <= 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_handles_on_one_file_share_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_file(&dir);
    let a = Study::create_or_open(zdt("shared", "random", 30), &url)
        .await
        .unwrap();
    let b = Study::open(zdt("shared", "random", 30), &url)
        .await
        .unwrap();
    assert_ne!(a.worker_id(), b.worker_id());
    let slow = |t: &TrialHandle| {
        std::thread::sleep(Duration::from_millis(5));
        zdt1(t)
    };
    let opts = || Options {
        workers: 2,
        ..Options::default()
    };
    let (ra, rb) = tokio::join!(a.optimize(slow, opts()), b.optimize(slow, opts()));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.trials + rb.trials, 30);
    assert!(
        ra.trials > 0 && rb.trials > 0,
        "both worked: {} + {}",
        ra.trials,
        rb.trials
    );
    let trials = a.trials().await.unwrap();
    assert_eq!(trials.len(), 30, "no duplicates, no overshoot");
    assert!(trials.iter().all(|t| t.state == TrialState::Complete));
    let workers: HashSet<_> = trials.iter().filter_map(|t| t.worker.clone()).collect();
    assert_eq!(workers.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_handle_is_recovered_as_stale() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_file(&dir);
    let study = Study::create_or_open(zdt("stale", "random", 2), &url)
        .await
        .unwrap();
    let t = study.ask().await.unwrap().unwrap();
    let (number, params) = (t.number(), t.params().clone());
    // Heartbeats keep it alive while the handle lives ...
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(study.recover_stale().await.unwrap().is_empty());
    assert_eq!(
        study.trial(number).await.unwrap().state,
        TrialState::Running
    );
    // ... and stop when it is dropped without a tell.
    drop(t);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    study.recover_stale().await.unwrap();
    let failed = study.trial(number).await.unwrap();
    assert_eq!(failed.state, TrialState::Fail);
    assert_eq!(failed.fail_kind(), Some(FailKind::Stale));
    assert!(failed.requeued);
    // The parameters come back first, and the budget is still exact.
    let retry = study.ask().await.unwrap().unwrap();
    assert_eq!(retry.retry_of(), Some(number));
    assert_eq!(*retry.params(), params);
    study
        .tell(&retry, TrialOutcome::Complete(zdt1(&retry).unwrap()))
        .await
        .unwrap();
    let last = study.ask().await.unwrap().unwrap();
    study
        .tell(&last, TrialOutcome::Complete(zdt1(&last).unwrap()))
        .await
        .unwrap();
    assert!(study.ask().await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_mid_trial_leaves_nothing_running() {
    let study = Study::create_or_open(zdt("cancel", "random", 50), "sqlite::memory:")
        .await
        .unwrap();
    let cancel = Cancel::new();
    let c = cancel.clone();
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let done = study
        .optimize(
            move |t: &TrialHandle| {
                if s.fetch_add(1, Ordering::SeqCst) == 5 {
                    c.cancel("stop requested by the test");
                }
                // A long training that checks for stop between epochs.
                for epoch in 0..200 {
                    if t.should_stop() {
                        return Err(format!("stopped at epoch {epoch}"));
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                zdt1(t)
            },
            Options {
                workers: 3,
                cancel: cancel.clone(),
                ..Options::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        done.stopped,
        Stopped::Cancelled("stop requested by the test".into())
    );
    let trials = study.trials().await.unwrap();
    assert!(
        trials.iter().all(|t| t.state != TrialState::Running),
        "{trials:#?}"
    );
    let interrupted: Vec<_> = trials
        .iter()
        .filter(|t| t.fail_kind() == Some(FailKind::Interrupted))
        .collect();
    assert!(!interrupted.is_empty());
    for t in &interrupted {
        assert!(t.requeued, "interrupted trials are re-queued");
        assert!(t
            .reason
            .as_deref()
            .unwrap()
            .contains("stop requested by the test"));
    }
    // Their parameters wait for the next run.
    let waiting = trials
        .iter()
        .filter(|t| t.state == TrialState::Waiting)
        .count();
    assert_eq!(waiting, interrupted.len());
}

/// The old drift: `ask` skipped the profile and partial-order phase that
/// `run` applied. Now both are the same pipeline: a study driven by hand
/// through ask/tell and one driven by `optimize` record the same trials.
#[tokio::test(flavor = "multi_thread")]
async fn ask_applies_partial_order_exactly_as_optimize() {
    let by_hand = Study::create_or_open(toy("po", 30), "sqlite::memory:")
        .await
        .unwrap();
    by_hand.set_profiler(Arc::new(Toy));
    let objective = RunnerObjective(Arc::new(Toy));
    while let Some(t) = by_hand.ask().await.unwrap() {
        let outcome = paretosearch_engine::Objective::evaluate(&objective, &t).await;
        by_hand.tell(&t, outcome).await.unwrap();
    }
    let looped = Study::create_or_open(toy("po", 30), "sqlite::memory:")
        .await
        .unwrap();
    looped
        .optimize(RunnerObjective(Arc::new(Toy)), Options::default())
        .await
        .unwrap();

    let a = by_hand.trials().await.unwrap();
    let b = looped.trials().await.unwrap();
    assert_eq!(a.len(), 30);
    let shape = |ts: &[paretosearch_core::Trial]| {
        ts.iter()
            .map(|t| {
                (
                    t.number,
                    t.state,
                    t.params.clone(),
                    t.reason.clone(),
                    t.cause,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&a), shape(&b));
    let skipped: Vec<_> = a
        .iter()
        .filter(|t| t.prune_rule() == Some(PruneRule::PartialOrder))
        .collect();
    assert!(
        !skipped.is_empty(),
        "some candidates were skipped before training"
    );
    for t in skipped {
        assert!(t.intermediate.is_empty(), "a skipped trial never trained");
        assert!(
            t.values.contains_key("latency"),
            "it keeps its cheap measurement"
        );
        assert!(t.values["latency"] > 40.0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closure_that_stops_when_told_is_recorded_pruned() {
    let text = r#"
[study]
name = "stop"
seed = 1

[[objectives]]
name = "loss"
direction = "minimize"

[[objectives]]
name = "size"
direction = "minimize"

[search_space]
lr = { type = "float", low = 0.001, high = 1.0, log = true }

[sampler]
kind = "random"

[pruner]
kind = "median"
metric = "loss"
warmup_steps = 1
min_trials = 2

[runner]
kind = "builtin"
problem = "zdt1"

[budget]
trials = 12
"#;
    let study = Study::create_or_open(common::spec(text), "sqlite::memory:")
        .await
        .unwrap();
    study
        .optimize(
            |t: &TrialHandle| -> Result<Values, String> {
                let lr = t.float("lr").map_err(|e| e.to_string())?;
                let mut loss = 1.0;
                for epoch in 1..=5 {
                    loss = (lr - 0.1).abs() + 1.0 / epoch as f64;
                    t.report_blocking(epoch, &Values::from([("loss".into(), loss)]));
                    if t.should_stop() {
                        break;
                    }
                }
                Ok(Values::from([("loss".into(), loss), ("size".into(), 1.0)]))
            },
            Options::default(),
        )
        .await
        .unwrap();
    let trials = study.trials().await.unwrap();
    let pruned: Vec<_> = trials
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .collect();
    assert!(!pruned.is_empty(), "the median rule stopped someone");
    for t in pruned {
        assert_eq!(t.prune_rule(), Some(PruneRule::Median));
        assert!(t.intermediate.len() < 5);
    }
}

#[derive(Default)]
struct Counts {
    started: AtomicUsize,
    reported: AtomicUsize,
    finished: AtomicUsize,
    front: AtomicUsize,
    run_started: AtomicUsize,
}

impl paretosearch_engine::Observer for Counts {
    fn run_started(&self, e: &paretosearch_engine::observer::RunStarted) {
        assert_eq!(e.budget, 25);
        self.run_started.fetch_add(1, Ordering::SeqCst);
    }
    fn trial_started(&self, _: &TrialHandle) {
        self.started.fetch_add(1, Ordering::SeqCst);
    }
    fn trial_reported(&self, _: &TrialHandle, _: u64, _: &Values, _: &Verdict) {
        self.reported.fetch_add(1, Ordering::SeqCst);
    }
    fn trial_finished(&self, e: &paretosearch_engine::observer::TrialFinished<'_>) {
        assert!(e.trial.state.is_finished());
        assert!(e
            .trials
            .iter()
            .any(|t| t.id == e.trial.id && t.state == e.trial.state));
        self.finished.fetch_add(1, Ordering::SeqCst);
    }
    fn front_changed(&self, e: &paretosearch_engine::observer::TrialFinished<'_>) {
        assert_eq!(e.trial.state, TrialState::Complete);
        self.front.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn observers_hear_every_event() {
    let study = Study::create_or_open(zdt("obs", "random", 25), "sqlite::memory:")
        .await
        .unwrap();
    let counts = Arc::new(Counts::default());
    study.observe(counts.clone());
    study
        .optimize(
            |t: &TrialHandle| {
                t.report_blocking(1, &Values::from([("f1".into(), 0.5)]));
                zdt1(t)
            },
            Options::default(),
        )
        .await
        .unwrap();
    assert_eq!(counts.run_started.load(Ordering::SeqCst), 1);
    assert_eq!(counts.started.load(Ordering::SeqCst), 25);
    assert_eq!(counts.reported.load(Ordering::SeqCst), 25);
    assert_eq!(counts.finished.load(Ordering::SeqCst), 25);
    let front = counts.front.load(Ordering::SeqCst);
    // The first trial always enters the front; later ones sometimes.
    assert!((1..=25).contains(&front), "{front}");
    let final_front = study.pareto_front().await.unwrap().trials.len();
    assert!(
        front >= final_front,
        "every member of the final front entered it once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_interrupts_and_requeues_the_running_trials() {
    let study = Study::create_or_open(zdt("timeout", "random", 1000), "sqlite::memory:")
        .await
        .unwrap();
    let done = study
        .optimize(
            |t: &TrialHandle| {
                for _ in 0..50 {
                    if t.should_stop() {
                        return Err("stopped".to_string());
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                zdt1(t)
            },
            Options {
                workers: 2,
                timeout: Some(Duration::from_millis(1200)),
                ..Options::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(done.stopped, Stopped::Timeout(Duration::from_millis(1200)));
    let trials = study.trials().await.unwrap();
    assert!(trials.len() < 1000);
    assert!(trials.iter().all(|t| t.state != TrialState::Running));
    let interrupted: Vec<_> = trials
        .iter()
        .filter(|t| t.fail_kind() == Some(FailKind::Interrupted))
        .collect();
    assert!(!interrupted.is_empty());
    assert!(interrupted.iter().all(|t| t
        .reason
        .as_deref()
        .unwrap()
        .contains("run timeout of 1s 200ms reached")));
}
