//! Helpers shared by the many-worker tests (`distributed.rs`,
//! `pg_restart.rs`): study files, worker processes, a private PostgreSQL
//! schema per test.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The environment variable holding the test server's URL.
pub const PG_ENV: &str = "PARETOSEARCH_TEST_POSTGRES";

pub use crate::common::{bin, ps, text};

/// An objective script: sleeps `SLOW` seconds when set (writing its pid to
/// `$MARK` first, so a test knows a trial is under way and can clean up),
/// else `SLEEP` seconds; prints two objectives.
pub const SCRIPT: &str = r#"#!/bin/sh
a=$1; n=$2
if [ -n "$SLOW" ]; then
    echo $$ > "$MARK.tmp" && mv "$MARK.tmp" "$MARK"
    exec sleep "$SLOW"
fi
sleep ${SLEEP:-0}
echo "{\"loss\": $a, \"cost\": $n}"
"#;

/// A study file running [`SCRIPT`].
pub fn study_file(dir: &Path, name: &str, trials: u64, stale_after: &str) -> PathBuf {
    let script = dir.join("obj.sh");
    std::fs::write(&script, SCRIPT).unwrap();
    let body = format!(
        r#"
[study]
name = "{name}"
seed = 5
heartbeat = "200ms"
stale_after = "{stale_after}"
retries = 1

[[objectives]]
name = "loss"
direction = "minimize"

[[objectives]]
name = "cost"
direction = "minimize"

[search_space]
a = {{ type = "float", low = 0.0, high = 1.0 }}
n = {{ type = "int", low = 1, high = 5 }}

[sampler]
kind = "random"

[runner]
kind = "command"
command = ["sh", "{}", "{{a}}", "{{n}}"]
timeout = "2m"

[budget]
trials = {trials}
workers = 1
"#,
        script.display()
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, body).unwrap();
    path
}

/// A worker process, its output in files under `dir`.
pub struct Worker {
    pub child: Child,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Worker {
    /// `paretosearch <args>` with extra environment variables.
    pub fn spawn(dir: &Path, tag: &str, args: &[&str], env: &[(&str, &str)]) -> Worker {
        let stdout = dir.join(format!("{tag}.out"));
        let stderr = dir.join(format!("{tag}.err"));
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).unwrap())
            .stderr(File::create(&stderr).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        Worker {
            child: cmd.spawn().expect("paretosearch starts"),
            stdout,
            stderr,
        }
    }

    /// Wait for the exit; kill and panic past `limit`.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("worker still running after {limit:?}\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn output(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            std::fs::read_to_string(&self.stdout).unwrap_or_default(),
            self.stderr_text()
        )
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `export --format json` of the study.
pub fn export(study: &Path, storage: &str) -> Vec<Value> {
    let o = ps(&[
        "export",
        study.to_str().unwrap(),
        "--storage",
        storage,
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice::<Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Finished trials counting towards the budget, per `status --json`.
pub fn finished(study: &Path, storage: &str) -> Option<u64> {
    let o = ps(&[
        "status",
        study.to_str().unwrap(),
        "--storage",
        storage,
        "--json",
    ]);
    if !o.status.success() {
        return None;
    }
    serde_json::from_slice::<Value>(&o.stdout).ok()?["finished"].as_u64()
}

/// Poll until `cond` holds; panic past `limit`.
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The trials that count towards the budget: all but failures whose
/// parameters were re-queued (a later trial retries them).
pub fn counted(trials: &[Value]) -> Vec<&Value> {
    trials
        .iter()
        .filter(|t| !(t["state"] == "FAIL" && trials.iter().any(|u| u["retry_of"] == t["number"])))
        .collect()
}

/// Every trial number is unique.
pub fn assert_unique_numbers(trials: &[Value]) {
    let numbers: Vec<u64> = trials
        .iter()
        .map(|t| t["number"].as_u64().unwrap())
        .collect();
    let unique: BTreeSet<u64> = numbers.iter().copied().collect();
    assert_eq!(unique.len(), numbers.len(), "duplicate trial numbers");
}

/// The lock file a test holding the test server takes: shared by tests
/// that use it, exclusively by the test that stops and restarts it.
pub fn pg_server_lock(exclusive: bool) -> File {
    let path = std::env::temp_dir().join("paretosearch-test-postgres.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap();
    if exclusive {
        f.lock().unwrap();
    } else {
        f.lock_shared().unwrap();
    }
    f
}

/// A private schema on the test server, dropped at the end.
pub struct PgSchema {
    base: String,
    schema: String,
    _lock: File,
}

fn psql(url: &str, sql: &str) {
    let o = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        .output()
        .expect("psql runs");
    assert!(o.status.success(), "psql {sql}: {}", text(&o));
}

impl PgSchema {
    /// `None` when `PARETOSEARCH_TEST_POSTGRES` is not set.
    pub fn new(tag: &str, exclusive: bool) -> Option<PgSchema> {
        let Some(base) = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty()) else {
            eprintln!("{PG_ENV} not set: PostgreSQL test skipped");
            return None;
        };
        let lock = pg_server_lock(exclusive);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let schema = format!("ps_{tag}_{}_{nanos}", std::process::id());
        psql(&base, &format!("CREATE SCHEMA {schema}"));
        Some(PgSchema {
            base,
            schema,
            _lock: lock,
        })
    }

    /// The storage URL whose tables live in this schema.
    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options[search_path]={}", self.base, self.schema)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                "-X",
                "-q",
                &self.base,
                "-c",
                &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema),
            ])
            .output();
    }
}
