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
