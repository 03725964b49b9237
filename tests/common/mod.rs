//! Helpers shared by the end-to-end tests of the binary.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_paretosearch")
}

/// Run `paretosearch ARGS` to completion, stdin closed.
pub fn ps(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("paretosearch starts")
}

/// Exit status, stdout and stderr, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Write `body` to `dir/name`.
pub fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

/// Every trial of a study, as `export --format json` prints them.
pub fn export_json(study: &Path) -> Vec<Value> {
    let o = ps(&["export", study.to_str().unwrap(), "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice::<Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Copy a folder tree, leaving out what running studies leaves behind in
/// a checkout (SQLite files and per-study log folders): the copies must
/// start as a fresh clone has them, even after `scripts/quickstart.sh`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let run_output = [".db", ".db-wal", ".db-shm", ".db-journal", "-logs"]
            .iter()
            .any(|suffix| name.ends_with(suffix));
        if run_output {
            continue;
        }
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A scratch copy of the repository's `studies/` and `search_spaces/`
/// (study files reference fragments as `../search_spaces/...`).
pub fn example_studies() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_dir(&root.join("studies"), &dir.path().join("studies"));
    copy_dir(
        &root.join("search_spaces"),
        &dir.path().join("search_spaces"),
    );
    dir
}

/// `[search_space]` lines of ZDT1's ten unit variables `x0 .. x9`.
pub fn zdt_space() -> String {
    (0..10)
        .map(|i| format!("x{i} = {{ type = \"float\", low = 0.0, high = 1.0 }}\n"))
        .collect()
}

/// A two-objective study (`loss`, `cost` over `a` and `n`) run by the
/// command runner with `command`, 200 ms heartbeats and `extra_runner` lines.
pub fn command_study(
    name: &str,
    command: &str,
    trials: u64,
    workers: u64,
    extra_runner: &str,
) -> String {
    format!(
        r#"
[study]
name = "{name}"
seed = 11
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
n = {{ type = "int", low = 1, high = 5 }}

[sampler]
kind = "random"

[runner]
kind = "command"
command = {command}
{extra_runner}

[budget]
trials = {trials}
workers = {workers}
"#
    )
}

/// An objective script: sleeps `SLEEP` seconds, reports two steps, prints values.
pub const OBJECTIVE_SCRIPT: &str = r#"#!/bin/sh
a=$1; n=$2
sleep ${SLEEP:-0}
echo '{"step": 1, "loss": 1.0}'
echo "not json, goes to the log"
echo "to stderr" >&2
echo "{\"loss\": $a, \"cost\": $n}"
"#;

/// Run `paretosearch ARGS`, which must succeed, and parse its stdout as JSON.
pub fn ok_json(args: &[&str]) -> Value {
    let o = ps(args);
    assert!(o.status.success(), "{:?}: {}", args, text(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)))
}

/// A 10-variable ZDT1 study (`zdt1-rep`, random sampler, 2 workers) of
/// `trials` trials, evaluated in-process, written to `dir/zdt1.toml`.
pub fn zdt1_study(dir: &Path, trials: u64) -> PathBuf {
    let vars: String = (0..10)
        .map(|i| format!("x{i} = {{ type = \"float\", low = 0.0, high = 1.0 }}\n"))
        .collect();
    let body = format!(
        r#"
[study]
name = "zdt1-rep"
seed = 11

[[objectives]]
name = "f1"
direction = "minimize"

[[objectives]]
name = "f2"
direction = "minimize"

[search_space]
{vars}
[sampler]
kind = "random"

[runner]
kind = "builtin"
problem = "zdt1"

[budget]
trials = {trials}
workers = 2
"#
    );
    let p = dir.join("zdt1.toml");
    std::fs::write(&p, body).unwrap();
    p
}

/// `paretosearch run STUDY --plain --quiet`, which must succeed.
pub fn run_study(study: &Path) {
    let o = ps(&["run", study.to_str().unwrap(), "--plain", "--quiet"]);
    assert!(o.status.success(), "{}", text(&o));
}
