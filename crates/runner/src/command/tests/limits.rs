//! Hardening (issue 13): reasons that say what happened to a cut or
//! overflowing result, the log's size cap, and processes that leave the
//! command's process group or outlive paretosearch.

use std::time::Duration;

use paretosearch_core::TrialState;

use super::super::process::{record_path, stat, write_record};
use super::super::{reap_orphans, CommandRunner, Reaped};
use super::{fail_reason, job, log_of, process_gone, read_pid, run, sh, spec};
use crate::Runner;

#[tokio::test]
async fn an_overflowing_objective_is_named_with_its_text() {
    let d = tempfile::tempdir().unwrap();
    let out = run(
        &sh(d.path(), r#"echo '{"acc": 1e999, "lat": 1}'"#),
        job(d.path()),
    )
    .await;
    assert_eq!(
        fail_reason(out),
        "objective `acc` = 1e999 is not a finite number (too large for a 64-bit float)"
    );
    let out = run(
        &sh(
            d.path(),
            r#"echo '{"acc": 1, "lat": -2.5E+400, "s": "1e999"}'"#,
        ),
        job(d.path()),
    )
    .await;
    assert_eq!(
        fail_reason(out),
        "objective `lat` = -2.5E+400 is not a finite number (too large for a 64-bit float)"
    );
}

#[tokio::test]
async fn a_result_cut_at_the_line_limit_is_named_in_the_reason() {
    let d = tempfile::tempdir().unwrap();
    let r = sh(
        d.path(),
        r#"echo starting
           printf '{"acc": 2, "lat": 2, "pad": "'; head -c 1200000 /dev/zero | tr '\0' a; echo '"}'"#,
    );
    let reason = fail_reason(run(&r, job(d.path())).await);
    assert!(
        reason.starts_with(
            "the command printed no result (a JSON object without \"step\" on stdout): \
             line 2 of stdout was longer than 1 MiB and was cut"
        ),
        "{reason}"
    );
}

#[tokio::test]
async fn the_log_keeps_its_head_and_tail_within_the_limit() {
    let d = tempfile::tempdir().unwrap();
    // 20 000 lines of 20 bytes ("line 00000 ........\n") = 400 000 bytes.
    std::fs::write(
        d.path().join("trial.sh"),
        r#"i=0; while [ $i -lt 20000 ]; do printf 'line %05d ........\n' $i; i=$((i+1)); done
           echo '{"acc": 1, "lat": 1}'"#,
    )
    .unwrap();
    let mut s = spec(d.path(), &["sh", "trial.sh"]);
    s.log_limit = 64 << 10;
    s.timeout = Some(Duration::from_secs(60));
    let out = CommandRunner::new(s)
        .run(job(d.path()), &super::NoReporter, Default::default())
        .await;
    assert_eq!(out.state(), TrialState::Complete, "{out:?}");
    let log = log_of(d.path());
    // The limit, plus paretosearch's own lines (header, markers, footer).
    assert!(log.len() <= (64 << 10) + 1024, "log of {} bytes", log.len());
    assert!(log.contains("line 00000 ........\n"), "head kept");
    assert!(log.contains("line 19999 ........\n"), "tail kept");
    assert!(
        log.contains("the log reached its limit of 64 KiB ([runner] log_limit)"),
        "{}",
        &log[..2000]
    );
    // What was cut is counted exactly: every line not in the log.
    let kept = log.lines().filter(|l| l.starts_with("line ")).count() as u64;
    let cut_lines = 20_001 - kept - 1; // the result line is logged too
    let marker = format!(
        "{} bytes ({cut_lines} lines) of output were cut here",
        cut_lines * 20
    );
    assert!(log.contains(&marker), "no `{marker}` in the log");
    let footer = log.rfind("==> paretosearch: command exited with status 0");
    assert!(footer > log.rfind("line 19999"), "the footer comes last");
}

#[tokio::test]
async fn a_process_that_leaves_the_group_is_killed_with_the_trial() {
    let d = tempfile::tempdir().unwrap();
    let r = sh(
        d.path(),
        r#"setsid sleep 300 & echo $! > escaped.pid; sleep 0.2; echo '{"acc": 1, "lat": 2}'"#,
    );
    let out = run(&r, job(d.path())).await;
    assert_eq!(out.state(), TrialState::Complete, "{out:?}");
    let pid = read_pid(d.path().join("escaped.pid"));
    let gone = process_gone(pid);
    // SAFETY: kill(2) on the test's own escaped process, if it survived.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    assert!(gone, "the setsid process {pid} survived the trial");
    assert!(log_of(d.path()).contains("killed 1 process(es) that had left"));
    // The record of the running command is gone with it.
    assert!(!record_path(&d.path().join("logs/trial-7.log")).exists());
}

/// A child of the test in a group of its own (`sleep 300`), killed on drop.
struct Sleeper(std::process::Child);

impl Sleeper {
    fn start() -> Sleeper {
        use std::os::unix::process::CommandExt;
        Sleeper(
            std::process::Command::new("sleep")
                .arg("300")
                .process_group(0)
                .spawn()
                .unwrap(),
        )
    }

    fn pid(&self) -> i32 {
        self.0.id() as i32
    }

    /// Still running (not a zombie awaiting our wait)?
    fn running(&self) -> bool {
        stat(self.pid()).is_some_and(|s| !s.zombie)
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Write the record of `pgid` for trial 7, as a dead paretosearch process
/// would have left it, with the leader's start time shifted by `skew`.
fn dead_owners_record(dir: &std::path::Path, pgid: i32, skew: i64) -> std::path::PathBuf {
    let log = dir.join("trial-00007.log");
    let path = write_record(
        &record_path(&log),
        7,
        pgid,
        "no-process-has-this-tag",
        Duration::from_millis(100),
    )
    .expect("records are written on Linux");
    let mut r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    r["owner"] = 4_194_400.into(); // above Linux's pid_max: never alive
    r["leader_start"] = (r["leader_start"].as_i64().unwrap() + skew).into();
    std::fs::write(&path, r.to_string()).unwrap();
    log
}

#[test]
fn the_recorded_group_of_a_dead_owner_is_killed() {
    let d = tempfile::tempdir().unwrap();
    let sleeper = Sleeper::start();
    let log = dead_owners_record(d.path(), sleeper.pid(), 0);
    assert_eq!(
        reap_orphans(&log),
        Some(Reaped {
            trial: 7,
            killed: 1
        })
    );
    assert!(!sleeper.running(), "the recorded group survived");
    assert!(!record_path(&log).exists(), "the record is removed");
    assert_eq!(reap_orphans(&log), None, "nothing left to do");
}

#[test]
fn a_reused_pid_is_not_killed() {
    let d = tempfile::tempdir().unwrap();
    let sleeper = Sleeper::start();
    // The recorded leader started at another time: its pid was reused.
    let log = dead_owners_record(d.path(), sleeper.pid(), -1);
    assert_eq!(
        reap_orphans(&log),
        Some(Reaped {
            trial: 7,
            killed: 0
        })
    );
    assert!(sleeper.running(), "an unrelated process was killed");
}

#[test]
fn a_record_whose_owner_lives_is_left_alone() {
    let d = tempfile::tempdir().unwrap();
    let sleeper = Sleeper::start();
    let log = d.path().join("trial-00007.log");
    write_record(&record_path(&log), 7, sleeper.pid(), "t", Duration::ZERO).unwrap();
    assert_eq!(reap_orphans(&log), None);
    assert!(sleeper.running());
    assert!(record_path(&log).exists());
}
