//! The command runner against real processes: results, reports, pruning,
//! failures, timeouts, cancellation and cleanup of process groups.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use paretosearch_core::spec::CommandSpec;
use paretosearch_core::{ParamValue, PruneReason, PruneRule, TrialOutcome, TrialState};
use serde_json::Value;
use tokio::time::sleep;
use tokio_util::sync::CancellationToken;

use super::CommandRunner;
use crate::{Job, NoReporter, Reporter, Runner, Verdict};

mod limits;

/// A reporter that records reports and stops at a given step.
#[derive(Default)]
struct Recorder {
    reports: Mutex<Vec<(u64, BTreeMap<String, f64>)>>,
    stop_at: Option<u64>,
}

#[async_trait]
impl Reporter for Recorder {
    async fn report(&self, step: u64, values: &BTreeMap<String, f64>) -> Verdict {
        self.reports.lock().unwrap().push((step, values.clone()));
        if self.stop_at == Some(step) {
            Verdict::Stop(PruneReason::new(
                PruneRule::Dominated,
                format!("dominated at step {step}"),
            ))
        } else {
            Verdict::Continue
        }
    }
}

fn spec(dir: &Path, argv: &[&str]) -> CommandSpec {
    CommandSpec {
        command: argv.iter().map(|s| s.to_string()).collect(),
        profile_command: None,
        timeout: Some(Duration::from_secs(10)),
        grace: Duration::from_millis(200),
        workdir: dir.to_path_buf(),
        env: BTreeMap::new(),
        log_limit: paretosearch_core::spec::DEFAULT_LOG_LIMIT,
    }
}

/// A runner for a shell script written to the working directory (the
/// script's braces are not templates).
fn sh(dir: &Path, script: &str) -> CommandRunner {
    std::fs::write(dir.join("trial.sh"), script).unwrap();
    CommandRunner::new(spec(dir, &["sh", "trial.sh"]))
}

fn job(dir: &Path) -> Job {
    Job {
        study: "demo".into(),
        trial: 7,
        params: [
            ("lr".to_string(), ParamValue::Float(0.01)),
            ("layers".to_string(), ParamValue::Int(3)),
            ("opt".to_string(), ParamValue::Str("adam".into())),
        ]
        .into(),
        seed: 42,
        objectives: vec!["acc".into(), "lat".into()],
        log_path: Some(dir.join("logs").join("trial-7.log")),
    }
}

fn log_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("logs").join("trial-7.log")).unwrap()
}

async fn run(r: &CommandRunner, job: Job) -> TrialOutcome {
    let started = std::time::Instant::now();
    let out = r.run(job, &NoReporter, CancellationToken::new()).await;
    // Guard only: proves the command was stopped rather than waited out.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    out
}

fn fail_reason(o: TrialOutcome) -> String {
    match o {
        TrialOutcome::Fail { reason, .. } => reason,
        o => panic!("expected a failure, got {o:?}"),
    }
}

/// Gone, or a zombie waiting for init: in both cases no longer running.
fn process_dead_now(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            let after = stat.rsplit(')').next().unwrap_or("");
            let state = after.trim_start();
            state.starts_with('Z') || state.starts_with('X')
        }
    }
}

/// SIGKILL is delivered asynchronously: a killed process can still show
/// as running for a moment. Wait (bounded) for it to become a zombie or
/// vanish; a process that survives two seconds really survived.
fn process_gone(pid: i32) -> bool {
    let end = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        if process_dead_now(pid) {
            return true;
        }
        if std::time::Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn read_pid(path: PathBuf) -> i32 {
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn success_with_values() {
    let d = tempfile::tempdir().unwrap();
    let r = sh(d.path(), r#"echo '{"acc": 0.9, "lat": 3, "note": "x"}'"#);
    let out = run(&r, job(d.path())).await;
    let want: BTreeMap<String, f64> = [("acc".to_string(), 0.9), ("lat".to_string(), 3.0)].into();
    assert_eq!(out, TrialOutcome::Complete(want));
}

#[tokio::test]
async fn reports_arrive_in_order_then_the_last_result_counts() {
    let d = tempfile::tempdir().unwrap();
    let r = sh(
        d.path(),
        r#"for i in 0 1 2 3; do echo "{\"step\": $i, \"acc\": 0.$i, \"tag\": \"t\"}"; done
           echo '{"acc": 0.1, "lat": 1}'
           echo '{"acc": 0.5, "lat": 2}'"#,
    );
    let rec = Recorder::default();
    let out = r.run(job(d.path()), &rec, CancellationToken::new()).await;
    let want: BTreeMap<String, f64> = [("acc".to_string(), 0.5), ("lat".to_string(), 2.0)].into();
    assert_eq!(out, TrialOutcome::Complete(want));
    let reports = rec.reports.lock().unwrap().clone();
    let steps: Vec<u64> = reports.iter().map(|r| r.0).collect();
    assert_eq!(steps, vec![0, 1, 2, 3]);
    assert_eq!(reports[2].1, [("acc".to_string(), 0.2)].into());
}

#[tokio::test]
async fn stop_verdict_terminates_and_prunes() {
    let d = tempfile::tempdir().unwrap();
    let r = sh(
        d.path(),
        r#"sleep 30 & echo $! > child.pid
           echo '{"step": 0, "acc": 0.1}'; echo '{"step": 1, "acc": 0.2}'
           wait
           echo '{"step": 2, "acc": 0.3}'"#,
    );
    let rec = Recorder {
        stop_at: Some(1),
        ..Recorder::default()
    };
    let started = std::time::Instant::now();
    let out = r.run(job(d.path()), &rec, CancellationToken::new()).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(
        out,
        TrialOutcome::Pruned {
            values: [("acc".to_string(), 0.2)].into(),
            step: Some(1),
            reason: PruneReason::new(PruneRule::Dominated, "dominated at step 1"),
        }
    );
    assert_eq!(rec.reports.lock().unwrap().len(), 2);
    assert!(process_gone(read_pid(d.path().join("child.pid"))));
    assert!(log_of(d.path()).contains("pruned at step 1"));
}

#[tokio::test]
async fn timeout_kills_the_group_including_grandchildren() {
    let d = tempfile::tempdir().unwrap();
    let mut s = spec(
        d.path(),
        // TERM is ignored by the shell and (inherited) by its child:
        // only the SIGKILL after the grace period ends them.
        &[
            "sh",
            "-c",
            "trap '' TERM; sleep 1000 & echo $! > child.pid; wait",
        ],
    );
    s.timeout = Some(Duration::from_secs(1));
    let out = run(&CommandRunner::new(s), job(d.path())).await;
    assert_eq!(fail_reason(out), "timed out after 1s");
    let pid = read_pid(d.path().join("child.pid"));
    assert!(process_gone(pid), "grandchild {pid} survived");
    let log = log_of(d.path());
    assert!(
        log.contains("timed out after 1s") && log.contains("signal 9"),
        "{log}"
    );
}

#[tokio::test]
async fn background_processes_are_cleaned_up_after_a_normal_exit() {
    let d = tempfile::tempdir().unwrap();
    let r = sh(
        d.path(),
        r#"sleep 1000 & echo $! > child.pid; echo '{"acc": 1, "lat": 2}'"#,
    );
    let out = run(&r, job(d.path())).await;
    assert_eq!(out.state(), TrialState::Complete, "{out:?}");
    assert!(process_gone(read_pid(d.path().join("child.pid"))));
}

#[tokio::test]
async fn a_process_that_leaves_the_group_does_not_lose_the_result() {
    let d = tempfile::tempdir().unwrap();
    let r = sh(
        d.path(),
        r#"setsid sleep 30 & echo $! > escaped.pid; echo '{"acc": 1, "lat": 2}'"#,
    );
    let out = run(&r, job(d.path())).await;
    let pid = read_pid(d.path().join("escaped.pid"));
    // SAFETY: kill(2) on the test's own escaped process.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(out.state(), TrialState::Complete, "{out:?}");
}

#[tokio::test]
async fn dropping_the_trial_kills_the_group() {
    let d = tempfile::tempdir().unwrap();
    let r = sh(d.path(), "sleep 1000 & echo $! > child.pid; wait");
    let (dir, path) = (d.path().to_path_buf(), d.path().join("child.pid"));
    let task = tokio::spawn(async move {
        r.run(job(&dir), &NoReporter, CancellationToken::new())
            .await
    });
    let mut tries = 0;
    while !path.exists() || std::fs::read_to_string(&path).unwrap().trim().is_empty() {
        tries += 1;
        assert!(tries < 500, "the command never started");
        sleep(Duration::from_millis(10)).await;
    }
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let pid = read_pid(path);
    let mut tries = 0;
    while !process_gone(pid) {
        tries += 1;
        assert!(tries < 500, "grandchild {pid} survived the drop");
        sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn non_zero_exit_fails_with_status_and_stderr_tail() {
    let d = tempfile::tempdir().unwrap();
    let r = sh(
        d.path(),
        r#"echo '{"acc": 1, "lat": 2}'; for i in 1 2 3 4 5; do echo "line $i" >&2; done; exit 3"#,
    );
    let reason = fail_reason(run(&r, job(d.path())).await);
    assert_eq!(
        reason,
        "command exited with status 3; stderr: line 3 | line 4 | line 5"
    );
    let log = log_of(d.path());
    assert!(
        log.contains("line 1") && log.contains("command exited with status 3"),
        "{log}"
    );
    assert!(
        log.contains(r#"trial 7: ["sh", "trial.sh"]"#),
        "header with argv: {log}"
    );
}

#[tokio::test]
async fn killed_by_signal() {
    let d = tempfile::tempdir().unwrap();
    let reason = fail_reason(run(&sh(d.path(), "kill -9 $$"), job(d.path())).await);
    assert_eq!(reason, "command killed by signal 9 (SIGKILL)");
}

#[tokio::test]
async fn spawn_failure_names_the_program() {
    let d = tempfile::tempdir().unwrap();
    let r = CommandRunner::new(spec(d.path(), &["python4-nonexistent", "train.py"]));
    let reason = fail_reason(run(&r, job(d.path())).await);
    assert_eq!(
        reason,
        "cannot start `python4-nonexistent`: No such file or directory"
    );
    let mut s = spec(d.path(), &["sh", "-c", "true"]);
    s.workdir = d.path().join("missing");
    let reason = fail_reason(run(&CommandRunner::new(s), job(d.path())).await);
    assert!(reason.starts_with("working directory"), "{reason}");
}

#[tokio::test]
async fn garbage_is_logged_and_ignored() {
    let d = tempfile::tempdir().unwrap();
    let r = sh(
        d.path(),
        r#"echo hello; echo '{not json'; echo '[1, 2]'; echo '{"acc": 0.7, "lat": 1}'; echo 'epoch done'
           echo 'warning: something' >&2"#,
    );
    let out = run(&r, job(d.path())).await;
    assert_eq!(out.state(), TrialState::Complete, "{out:?}");
    let log = log_of(d.path());
    for want in [
        "hello",
        "{not json",
        "[1, 2]",
        "epoch done",
        "warning: something",
    ] {
        assert!(log.contains(want), "log lacks {want:?}: {log}");
    }
}

#[tokio::test]
async fn bad_results_fail_with_the_objective_named() {
    let d = tempfile::tempdir().unwrap();
    let cases = [
        (
            r#"echo '{"acc": 1}'"#,
            "objective `lat` missing from the result (it has: acc)",
        ),
        (
            r#"echo '{"acc": "high", "lat": 1}'"#,
            r#"objective `acc` is not a number (got "high")"#,
        ),
        (r#"echo '{"acc": NaN, "lat": 1}'"#, "objective `acc` is NaN"),
        (
            r#"echo '{"acc": 1, "lat": -Infinity}'"#,
            "objective `lat` is -inf",
        ),
        (
            r#"echo '{"step": -1, "acc": 1}'; sleep 30"#,
            "a report has \"step\": -1; it must be a non-negative integer",
        ),
    ];
    for (script, want) in cases {
        assert_eq!(
            fail_reason(run(&sh(d.path(), script), job(d.path())).await),
            want
        );
    }
    let reason = fail_reason(run(&sh(d.path(), "echo no json here"), job(d.path())).await);
    assert!(
        reason.starts_with("the command printed no result"),
        "{reason}"
    );
}

#[tokio::test]
async fn python_nan_is_a_failure() {
    let d = tempfile::tempdir().unwrap();
    let script = d.path().join("train.py");
    std::fs::write(
        &script,
        "import json\nprint(json.dumps({'step': 0, 'acc': float('nan')}), flush=True)\n\
         print(json.dumps({'acc': float('nan'), 'lat': 1.5}))\n",
    )
    .unwrap();
    let r = CommandRunner::new(spec(d.path(), &["python3", script.to_str().unwrap()]));
    let rec = Recorder::default();
    let out = r.run(job(d.path()), &rec, CancellationToken::new()).await;
    assert_eq!(fail_reason(out), "objective `acc` is NaN");
    // The report arrives, without its non-finite value.
    assert_eq!(
        rec.reports.lock().unwrap().clone(),
        vec![(0, BTreeMap::new())]
    );
}

#[tokio::test]
async fn cancel_interrupts() {
    let d = tempfile::tempdir().unwrap();
    let r = sh(d.path(), "sleep 30");
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        sleep(Duration::from_millis(200)).await;
        c.cancel();
    });
    let started = std::time::Instant::now();
    let out = r.run(job(d.path()), &NoReporter, cancel).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(fail_reason(out).starts_with("interrupted"));

    // Cancelled before the start: nothing runs.
    let r = sh(d.path(), "touch started");
    let cancel = CancellationToken::new();
    cancel.cancel();
    let out = r.run(job(d.path()), &NoReporter, cancel).await;
    assert!(fail_reason(out).starts_with("interrupted"));
    assert!(!d.path().join("started").exists());
}

#[tokio::test]
async fn closing_stdout_does_not_escape_the_timeout() {
    let d = tempfile::tempdir().unwrap();
    let mut s = spec(d.path(), &["sh", "-c", "exec >&-; sleep 30"]);
    s.timeout = Some(Duration::from_secs(1));
    let out = run(&CommandRunner::new(s), job(d.path())).await;
    assert_eq!(fail_reason(out), "timed out after 1s");
}

#[tokio::test]
async fn placeholders_env_and_workdir() {
    let d = tempfile::tempdir().unwrap();
    let mut s = spec(
        d.path(),
        &[
            "sh",
            "-c",
            r#"printf '%s\n' "$1" "$2" "$3" "$PARETOSEARCH_TRIAL" "$PARETOSEARCH_STUDY" "$PARETOSEARCH_SEED" "$EXTRA" "$PARETOSEARCH_PARAMS" > args.txt
               echo '{{"acc": 1, "lat": 1}}'"#,
            "argv0",
            "--lr={lr}",
            "--opt={opt}{{x}}",
            "{dropout}",
        ],
    );
    s.env.insert("EXTRA".into(), "from-spec".into());
    let out = run(&CommandRunner::new(s), job(d.path())).await;
    assert_eq!(out.state(), TrialState::Complete, "{out:?}");
    let got = std::fs::read_to_string(d.path().join("args.txt")).unwrap();
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(
        &lines[..7],
        &[
            "--lr=0.01",
            "--opt=adam{x}",
            "",
            "7",
            "demo",
            "42",
            "from-spec"
        ]
    );
    let params: Value = serde_json::from_str(lines[7]).unwrap();
    assert_eq!(
        params,
        serde_json::json!({"lr": 0.01, "layers": 3, "opt": "adam"})
    );
}

#[tokio::test]
async fn long_lines_are_cut_and_not_parsed() {
    let d = tempfile::tempdir().unwrap();
    let r = sh(
        d.path(),
        r#"printf '{"acc": 2, "lat": 2, "pad": "'; head -c 1200000 /dev/zero | tr '\0' a; echo '"}'
           echo '{"acc": 1, "lat": 1}'"#,
    );
    let out = run(&r, job(d.path())).await;
    let want: BTreeMap<String, f64> = [("acc".to_string(), 1.0), ("lat".to_string(), 1.0)].into();
    assert_eq!(out, TrialOutcome::Complete(want));
    assert!(log_of(d.path()).contains("[cut at 1048576 bytes]"));
}

#[tokio::test]
async fn profile_runs_the_profile_command() {
    let d = tempfile::tempdir().unwrap();
    let mut s = spec(d.path(), &["sh", "-c", "exit 1"]);
    let r = CommandRunner::new(s.clone());
    assert!(r.profile(job(d.path()).profile_job(vec![])).await.is_none());
    s.profile_command = Some(vec![
        "sh".into(),
        "-c".into(),
        r#"echo "{{\"lat\": $1, \"size\": 12}}""#.into(),
        "argv0".into(),
        "{layers}".into(),
    ]);
    let r = CommandRunner::new(s);
    let j = job(d.path());
    assert_eq!(
        r.profile(j.profile_job(vec!["lat".into()])).await,
        Some(Ok([("lat".to_string(), 3.0)].into()))
    );
    let all: BTreeMap<String, f64> = [("lat".to_string(), 3.0), ("size".to_string(), 12.0)].into();
    assert_eq!(r.profile(j.profile_job(vec![])).await, Some(Ok(all)));
    assert!(
        matches!(r.profile(j.profile_job(vec!["flops".into()])).await, Some(Err(e)) if e.contains("`flops`"))
    );
}
