//! Hardening of the command runner and `serve` (issue 13), end to end:
//! the per-trial log's cap set in the study file, what a killed run leaves
//! behind and how the next run cleans it up, and `serve` refusing foreign
//! `Host` headers.

mod common;

use std::io::{BufRead, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{bin, export_json, ps, text, write};

fn study(name: &str, command: &str, extra_runner: &str, trials: u64) -> String {
    format!(
        r#"
[study]
name = "{name}"
seed = 3
heartbeat = "200ms"
stale_after = "30s"

[[objectives]]
name = "loss"
direction = "minimize"

[[objectives]]
name = "cost"
direction = "minimize"

[search_space]
a = {{ type = "float", low = 0.0, high = 1.0 }}

[sampler]
kind = "random"

[runner]
kind = "command"
command = {command}
grace = "200ms"
{extra_runner}

[budget]
trials = {trials}
workers = 1
"#
    )
}

/// Running, not a zombie.
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s.rsplit_once(')').map(|r| r.1.trim_start()).unwrap_or("");
            !(state.starts_with('Z') || state.starts_with('X'))
        })
        .unwrap_or(false)
}

/// Wait (bounded) for `pid` to stop running; false if it still runs.
fn ends(pid: i32, within: Duration) -> bool {
    let end = Instant::now() + within;
    while alive(pid) {
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn read_pid(path: &Path, within: Duration) -> i32 {
    let end = Instant::now() + within;
    loop {
        if let Ok(s) = std::fs::read_to_string(path) {
            if let Ok(pid) = s.trim().parse() {
                return pid;
            }
        }
        assert!(Instant::now() < end, "{} never written", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills the test's stray processes whatever happens.
struct Strays(Vec<i32>);

impl Drop for Strays {
    fn drop(&mut self) {
        for &pid in &self.0 {
            if alive(pid) {
                // SAFETY: kill(2) on processes this test started.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

#[test]
fn sigkill_then_resume_kills_what_the_dead_run_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    // The first attempt starts a process that leaves the group (setsid)
    // and one that stays in it, then waits; the retry succeeds at once.
    let script = write(
        dir.path(),
        "t.sh",
        r#"cd "$(dirname "$0")"
if [ -e started ]; then echo '{"loss": 1, "cost": 1}'; exit 0; fi
touch started
setsid sleep 300 & echo $! > escaped.pid
sleep 300 & echo $! > member.pid
echo $$ > leader.pid
wait
"#,
    );
    let file = write(
        dir.path(),
        "s.toml",
        &study(
            "orphans",
            &format!(r#"["sh", "{}"]"#, script.display()),
            "",
            1,
        ),
    );
    let mut run = Command::new(bin())
        .args(["run", file.to_str().unwrap(), "--plain"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let wait = Duration::from_secs(30);
    let leader = read_pid(&dir.path().join("leader.pid"), wait);
    let member = read_pid(&dir.path().join("member.pid"), wait);
    let escaped = read_pid(&dir.path().join("escaped.pid"), wait);
    let _strays = Strays(vec![leader, member, escaped]);
    let record = dir.path().join("orphans-logs/trial-00000.proc");
    assert!(record.exists(), "the running command is recorded");

    // SAFETY: kill(2) on the test's own child: no chance to clean up.
    unsafe { libc::kill(run.id() as i32, libc::SIGKILL) };
    run.wait().unwrap();
    // The kernel kills the command (PR_SET_PDEATHSIG); what it started
    // lives on, in its group or out of it (the limit).
    assert!(ends(leader, Duration::from_secs(5)), "the command survived");
    std::thread::sleep(Duration::from_millis(300));
    assert!(alive(member), "the group member is orphaned, alive");
    assert!(alive(escaped), "the setsid process is orphaned, alive");
    assert!(record.exists(), "the record outlives the run");

    let o = ps(&["run", file.to_str().unwrap(), "--plain"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        ends(member, Duration::from_secs(5)),
        "group member {member} survived the resume"
    );
    assert!(
        ends(escaped, Duration::from_secs(5)),
        "setsid process {escaped} survived the resume"
    );
    assert!(!record.exists(), "the record is removed");
    let out = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(
        out.contains("trial 0: killed 2 process(es) its command left behind"),
        "{}",
        text(&o)
    );
    let trials = export_json(&file);
    assert_eq!(trials.len(), 2, "{trials:?}");
    assert_eq!(trials[0]["state"], "FAIL");
    assert_eq!(trials[1]["state"], "COMPLETE");
    // Nothing of the study's is left running.
    let left: Vec<i32> = [leader, member, escaped]
        .into_iter()
        .filter(|&p| alive(p))
        .collect();
    assert!(left.is_empty(), "still running: {left:?}");
}

#[test]
fn log_limit_from_the_study_file_caps_the_log() {
    let dir = tempfile::tempdir().unwrap();
    // 5 000 lines of 20 bytes: 100 000 bytes of output.
    let script = write(
        dir.path(),
        "t.sh",
        r#"i=0; while [ $i -lt 5000 ]; do printf 'line %05d ........\n' $i; i=$((i+1)); done
echo '{"loss": 1, "cost": 2}'
"#,
    );
    let file = write(
        dir.path(),
        "s.toml",
        &study(
            "capped",
            &format!(r#"["sh", "{}"]"#, script.display()),
            "log_limit = \"8 KiB\"",
            1,
        ),
    );
    let o = ps(&["check", file.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = ps(&["run", file.to_str().unwrap(), "--plain"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(export_json(&file)[0]["state"], "COMPLETE");
    let log = std::fs::read_to_string(dir.path().join("capped-logs/trial-00000.log")).unwrap();
    assert!(log.len() < 8192 + 1024, "a log of {} bytes", log.len());
    assert!(log.contains("line 00000"), "head kept");
    assert!(log.contains("line 04999"), "tail kept");
    assert!(log.contains("the log reached its limit of 8 KiB ([runner] log_limit)"));
    assert!(log.contains("lines) of output were cut here"), "{log}");
}

#[test]
fn log_limit_mistakes_are_located_and_suggested() {
    let dir = tempfile::tempdir().unwrap();
    for (extra, want) in [
        ("log_limt = \"1 MiB\"", "did you mean `log_limit`?"),
        ("log_limit = \"10 MiBs\"", "`10 MiBs` is not a size"),
        ("log_limit = 100", "must be at least 1 KiB (got 100 bytes)"),
        ("log_limit = true", "expected a size, found a boolean"),
    ] {
        let file = write(
            dir.path(),
            "bad.toml",
            &study("bad", r#"["true"]"#, extra, 1),
        );
        let o = ps(&["check", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{extra}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{extra}: {err}");
        assert!(
            err.contains("runner.log_li"),
            "{extra}: names the field: {err}"
        );
    }
}

#[test]
fn an_overflowing_result_fails_naming_the_objective() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "s.toml",
        &study(
            "overflow",
            r#"["sh", "-c", "echo '{{\"loss\": 1e999, \"cost\": 1}}'"]"#,
            "",
            1,
        ),
    );
    let o = ps(&["run", file.to_str().unwrap(), "--plain"]);
    assert!(o.status.success(), "{}", text(&o));
    let t = &export_json(&file)[0];
    assert_eq!(t["state"], "FAIL");
    assert_eq!(
        t["reason"],
        "objective `loss` = 1e999 is not a finite number (too large for a 64-bit float)"
    );
}

/// One raw HTTP/1.1 request with this `Host`; the status code and body.
fn get(port: u16, host: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serve_refuses_a_foreign_host_header() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "s.toml", &study("served", r#"["true"]"#, "", 1));
    let mut serve = Command::new(bin())
        .args(["serve", file.to_str().unwrap(), "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    let results: Vec<(String, (u16, String))> = [
        "evil.example".to_string(),
        format!("evil.example:{port}"),
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "[::1]".to_string(),
    ]
    .into_iter()
    .map(|h| {
        let r = get(port, &h);
        (h, r)
    })
    .collect();
    let _ = serve.kill();
    let _ = serve.wait();
    for (host, (status, body)) in &results {
        if host.starts_with("evil") {
            assert_eq!(*status, 421, "{host}: {body}");
            assert!(body.contains("Host `evil.example"), "{host}: {body}");
            assert!(!body.contains("served"), "{host}: the page leaked: {body}");
        } else {
            assert_eq!(*status, 200, "{host}: {body}");
            assert!(body.contains("served"), "{host}: {body}");
        }
    }
}
