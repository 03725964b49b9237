//! Many workers, many machines: `paretosearch worker` processes sharing one
//! study on PostgreSQL (when `PARETOSEARCH_TEST_POSTGRES` names a server)
//! and on SQLite, a worker killed mid-trial, and `worker`'s refusal to
//! create a study by accident. Stopping the server during a run is tested
//! in `pg_restart.rs`, a binary of its own.

mod common;
mod distributed_common;

use std::path::Path;
use std::time::Duration;

use distributed_common::*;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(120);

/// `processes` workers share `trials` trials of a fast command: exactly
/// that many finished trials, all COMPLETE, unique numbers, clean exits.
fn workers_share_a_budget(dir: &Path, storage: &str, processes: usize, trials: u64) {
    let study = study_file(dir, "many", trials, "60s");
    let study_s = study.to_str().unwrap();
    let mut workers: Vec<Worker> = (0..processes)
        .map(|i| {
            Worker::spawn(
                dir,
                &format!("w{i}"),
                &["worker", study_s, "--storage", storage, "--create"],
                &[],
            )
        })
        .collect();
    for w in &mut workers {
        let status = w.wait(LIMIT);
        assert!(status.success(), "{}", w.output());
        let err = w.stderr_text();
        assert!(!err.contains("error") && !err.contains("warning"), "{err}");
    }
    let all = export(&study, storage);
    assert_unique_numbers(&all);
    assert_eq!(all.len() as u64, trials, "no trial beyond the budget");
    assert!(
        all.iter().all(|t| t["state"] == "COMPLETE"),
        "{:#?}",
        all.iter()
            .filter(|t| t["state"] != "COMPLETE")
            .collect::<Vec<_>>()
    );
    // Every process did some of the work.
    let ran: Vec<usize> = workers
        .iter()
        .map(|w| {
            std::fs::read_to_string(&w.stdout)
                .unwrap()
                .lines()
                .filter(|l| l.starts_with("trial "))
                .count()
        })
        .collect();
    assert_eq!(ran.iter().sum::<usize>() as u64, trials, "{ran:?}");
}

#[test]
fn sixteen_workers_on_postgres_finish_400_trials() {
    let Some(pg) = PgSchema::new("sixteen", false) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    workers_share_a_budget(dir.path(), &pg.url(), 16, 400);
}

#[test]
fn four_workers_on_sqlite_finish_400_trials() {
    let dir = tempfile::tempdir().unwrap();
    let storage = format!("sqlite://{}", dir.path().join("many.db").display());
    workers_share_a_budget(dir.path(), &storage, 4, 400);
}

/// Which way the survivor learns that the victim died.
#[derive(Clone, Copy, PartialEq)]
enum Detection {
    /// Same host: the victim's pid is gone (seen at once).
    DeadPid,
    /// The victim claims another host name: only its silent heartbeat tells.
    Heartbeat,
}

/// A worker is SIGKILLed in the middle of a trial while another works on:
/// the survivor fails the orphaned trial, re-runs its parameters, and the
/// budget comes out exact.
fn killed_worker_is_recovered(dir: &Path, storage: &str, how: Detection) {
    let trials = 8;
    // Heartbeat detection within 2 s; the dead-pid path must not need it.
    let stale_after = if how == Detection::Heartbeat {
        "2s"
    } else {
        "10m"
    };
    let study = study_file(dir, "kill", trials, stale_after);
    let study_s = study.to_str().unwrap();
    let mark = dir.join("victim.pid");
    let mark_s = mark.to_str().unwrap();
    let mut env = vec![("SLOW", "60"), ("MARK", mark_s)];
    if how == Detection::Heartbeat {
        env.push(("PARETOSEARCH_HOSTNAME", "another-machine"));
    }
    let mut victim = Worker::spawn(
        dir,
        "victim",
        &["worker", study_s, "--storage", storage, "--create"],
        &env,
    );
    wait_until("the victim's trial to start", LIMIT, || mark.exists());
    let mut survivor = Worker::spawn(
        dir,
        "survivor",
        &["worker", study_s, "--storage", storage],
        &[("SLEEP", "0.1")],
    );
    // Let the survivor get going, then kill the victim mid-trial.
    wait_until("the survivor's first trial", LIMIT, || {
        finished(&study, storage).unwrap_or(0) >= 1
    });
    let before = export(&study, storage);
    unsafe { libc::kill(victim.child.id() as i32, libc::SIGKILL) };
    victim.child.wait().unwrap();
    // Its command (in its own process group) would sleep on: end it.
    if let Some(pid) = std::fs::read_to_string(&mark)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
    {
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }

    let status = survivor.wait(LIMIT);
    assert!(status.success(), "{}", survivor.output());
    let all = export(&study, storage);
    assert_unique_numbers(&all);
    let counted = counted(&all);
    assert_eq!(counted.len() as u64, trials, "{all:#?}");
    assert!(counted.iter().all(|t| t["state"] == "COMPLETE"), "{all:#?}");

    // The victim's trial: RUNNING when killed, then FAIL for the right
    // reason, its parameters re-run to completion by the survivor.
    let killed: Vec<&Value> = before
        .iter()
        .filter(|t| t["state"] == "RUNNING" && !t["params"].as_object().unwrap().is_empty())
        .collect();
    let victim_trial = all
        .iter()
        .find(|t| t["state"] == "FAIL" && killed.iter().any(|k| k["number"] == t["number"]))
        .unwrap_or_else(|| panic!("the victim's trial failed: {all:#?}"));
    let reason = victim_trial["reason"].as_str().unwrap();
    match how {
        Detection::DeadPid => assert!(reason.contains("is gone"), "{reason}"),
        Detection::Heartbeat => assert!(reason.contains("no heartbeat"), "{reason}"),
    }
    let retry = all
        .iter()
        .find(|t| t["retry_of"] == victim_trial["number"])
        .expect("the victim's trial was re-queued");
    assert_eq!(retry["params"], victim_trial["params"]);
    assert_eq!(retry["state"], "COMPLETE");
    // Exactly one failure: nothing else was disturbed.
    assert_eq!(all.iter().filter(|t| t["state"] == "FAIL").count(), 1);
    assert!(survivor.output().contains("its worker is gone"));
}

#[test]
fn killed_worker_on_this_host_is_recovered_at_once_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let storage = format!("sqlite://{}", dir.path().join("kill.db").display());
    killed_worker_is_recovered(dir.path(), &storage, Detection::DeadPid);
}

#[test]
fn killed_worker_elsewhere_is_recovered_by_heartbeat_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let storage = format!("sqlite://{}", dir.path().join("kill.db").display());
    killed_worker_is_recovered(dir.path(), &storage, Detection::Heartbeat);
}

#[test]
fn killed_worker_elsewhere_is_recovered_by_heartbeat_postgres() {
    let Some(pg) = PgSchema::new("kill", false) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    killed_worker_is_recovered(dir.path(), &pg.url(), Detection::Heartbeat);
}

#[test]
fn worker_refuses_to_create_a_study_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let storage = format!("sqlite://{}", dir.path().join("new.db").display());
    let study = study_file(dir.path(), "fresh", 2, "60s");
    let study_s = study.to_str().unwrap();
    let o = ps(&["worker", study_s, "--storage", &storage]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no study named `fresh`") && err.contains("--create"),
        "{err}"
    );
    let o = ps(&["worker", study_s, "--storage", &storage, "--create"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(counted(&export(&study, &storage)).len(), 2);
    // Now it exists: a plain worker joins, finds the budget spent, exits 0.
    let o = ps(&["worker", study_s, "--storage", &storage]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(export(&study, &storage).len(), 2);
}
