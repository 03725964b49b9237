//! Generated study files against the parser, the runner registry and
//! `check`: a valid study mutated line by line (values replaced by huge
//! numbers, NaN, unicode, control characters, arrays and tables; keys
//! renamed, inserted, deleted, duplicated). Whatever comes out, reading it
//! never panics or hangs; a refusal names the file and a line; an accepted
//! file runs one trial on the built-in runner (or its runner is refused
//! with a located error), and `check` exits 0 or 2, never anything else.

mod common;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use paretosearch::core::spec::RunnerSpec;
use paretosearch::{Options, Study};
use proptest::prelude::*;

const BASE: &str = r#"[study]
name = "fuzz"
seed = 3
heartbeat = "5s"

[[objectives]]
name = "f1"
direction = "minimize"

[[objectives]]
name = "f2"
direction = "minimize"
constraint = { max = 10.0 }

[search_space]
x0 = { type = "float", low = 0.0, high = 1.0 }
x1 = { type = "float", low = 0.0, high = 1.0, step = 0.25 }
x2 = { type = "float", low = 0.0, high = 1.0 }
x3 = { type = "float", low = 0.0, high = 1.0 }
x4 = { type = "float", low = 0.0, high = 1.0 }
x5 = { type = "float", low = 0.0, high = 1.0 }
x6 = { type = "float", low = 0.0, high = 1.0 }
x7 = { type = "float", low = 0.0, high = 1.0 }
x8 = { type = "float", low = 0.0, high = 1.0 }
x9 = { type = "float", low = 0.0, high = 1.0 }
n = { type = "int", low = 1, high = 64, log = true }
c = { type = "categorical", choices = ["a", "b"] }
d = { type = "int", low = 0, high = 8, step = 2, when = { c = "a" } }

[sampler]
kind = "tpe"

[pruner]
kind = "dominated"

[runner]
kind = "builtin"
problem = "zdt1"

[budget]
trials = 10
workers = 2
"#;

/// Keys the study format knows, and some it does not.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "name",
            "seed",
            "storage",
            "heartbeat",
            "stale_after",
            "kind",
            "problem",
            "trials",
            "workers",
            "timeout",
            "type",
            "low",
            "high",
            "step",
            "log",
            "choices",
            "when",
            "include",
            "direction",
            "constraint",
            "cheap",
            "monotone",
            "command",
            "env",
            "max_steps",
            "warmup",
            "x0",
            "x10",
            "c",
            "d",
            "min",
            "max",
        ])
        .prop_map(str::to_string),
        "[a-zA-Z_][a-zA-Z0-9_-]{0,8}",
        "\"[^\"\\\\\\x00-\\x1f]{0,6}\"",
    ]
}

/// A TOML value: numbers at and past the edges, non-finite floats, strings
/// with unicode and escaped control characters, arrays, inline tables.
fn toml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|i| i.to_string()),
        prop::sample::select(vec![
            "0",
            "-1",
            "1",
            "9223372036854775807",
            "-9223372036854775808",
            "1e308",
            "-1e308",
            "1.7976931348623157e308",
            "5e-324",
            "nan",
            "inf",
            "-inf",
            "-0.0",
            "0.5",
            "true",
            "false",
            "\"\"",
            "\" \"",
            "\"\\u0000\"",
            "\"a\\nb\"",
            "\"\\u001b[31m\"",
            "\"π→é\"",
            "\"/dev/zero\"",
            "\"sqlite::memory:\"",
            "\"10s\"",
            "\"0s\"",
            "\"1000000h\"",
            "\"zdt1\"",
            "\"dtlz2\"",
            "\"gp\"",
            "\"nsga2\"",
            "\"auto\"",
            "\"random\"",
            "\"hyperband\"",
            "\"mo-asha\"",
            "\"dominated\"",
            "\"partial-order\"",
            "\"maximize\"",
            "\"categorical\"",
            "\"int\"",
            "\"float\"",
            "\"increasing\"",
            "1979-05-27",
        ])
        .prop_map(str::to_string),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        "\"[^\"\\\\\\x00-\\x1f]{0,10}\"",
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((key(), inner), 0..3).prop_map(|kv| {
                let body: Vec<String> = kv.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", body.join(", "))
            }),
        ]
    })
}

#[derive(Clone, Debug)]
enum Edit {
    /// Replace the value of line `at` (a `key = value` line).
    Value(usize, String),
    /// Rename the key of line `at`.
    Key(usize, String),
    /// Insert a line before `at`.
    Insert(usize, String),
    /// Delete line `at`.
    Delete(usize),
    /// Repeat line `at`.
    Repeat(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let line = prop_oneof![
        (key(), toml_value()).prop_map(|(k, v)| format!("{k} = {v}")),
        prop::sample::select(vec![
            "[study]",
            "[search_space]",
            "[sampler]",
            "[pruner]",
            "[runner]",
            "[budget]",
            "[[objectives]]",
            "[runner.env]",
            "[search_space.y]",
            "[unknown]",
        ])
        .prop_map(str::to_string),
        "[ -~]{0,20}",
    ];
    prop_oneof![
        3 => (any::<usize>(), toml_value()).prop_map(|(a, v)| Edit::Value(a, v)),
        1 => (any::<usize>(), key()).prop_map(|(a, k)| Edit::Key(a, k)),
        2 => (any::<usize>(), line).prop_map(|(a, l)| Edit::Insert(a, l)),
        1 => any::<usize>().prop_map(Edit::Delete),
        1 => any::<usize>().prop_map(Edit::Repeat),
    ]
}

fn mutate(edits: &[Edit]) -> String {
    let mut lines: Vec<String> = BASE.lines().map(str::to_string).collect();
    for e in edits {
        let n = lines.len().max(1);
        match e {
            Edit::Value(a, v) => {
                let l = &mut lines[a % n];
                if let Some(eq) = l.find(" = ") {
                    *l = format!("{}{v}", &l[..eq + 3]);
                }
            }
            Edit::Key(a, k) => {
                let l = &mut lines[a % n];
                if let Some(eq) = l.find(" = ") {
                    *l = format!("{k}{}", &l[eq..]);
                }
            }
            Edit::Insert(a, l) => lines.insert(a % (n + 1), l.clone()),
            Edit::Delete(a) => {
                if !lines.is_empty() {
                    lines.remove(a % n);
                }
            }
            Edit::Repeat(a) => {
                let l = lines[a % n].clone();
                lines.insert(a % n, l);
            }
        }
    }
    lines.join("\n") + "\n"
}

/// What reading (and, when accepted, running one trial of) a study file
/// came to.
enum Outcome {
    Refused(String),
    Ran,
    RunnerRefused(String),
    NotBuiltin,
}

fn read_and_run(path: PathBuf) -> Outcome {
    let spec = match paretosearch::read_study_file(&path) {
        Ok(s) => s,
        Err(e) => {
            assert!(e.line.is_some(), "refusal without a line: {e}");
            return Outcome::Refused(e.to_string());
        }
    };
    let runner = match paretosearch::registry().build(&spec, 1) {
        Ok(r) => r,
        Err(e) => {
            assert!(e.line.is_some(), "runner refused without a line: {e}");
            return Outcome::RunnerRefused(e.to_string());
        }
    };
    if !matches!(spec.runner, RunnerSpec::Builtin(_)) {
        return Outcome::NotBuiltin;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        // Sampler and pruner options are checked as the study opens.
        let study = match Study::create_or_open(spec, "sqlite::memory:").await {
            Ok(s) => s,
            Err(paretosearch::EngineError::Spec(e)) => {
                assert!(
                    e.line.is_some(),
                    "sampler/pruner refused without a line: {e}"
                );
                return Outcome::RunnerRefused(e.to_string());
            }
            Err(e) => panic!("an accepted study does not open: {e}"),
        };
        let done = study
            .optimize(
                paretosearch::RunnerObjective(runner),
                Options {
                    budget: Some(1),
                    workers: 1,
                    ..Options::default()
                },
            )
            .await
            .expect("an accepted study runs");
        assert_eq!(done.trials, 1);
        let trials = study.trials().await.unwrap();
        assert_eq!(trials.len(), 1);
        assert!(trials[0].state.is_finished(), "{:?}", trials[0]);
        Outcome::Ran
    })
}

/// [`read_and_run`] on another thread, so that a hang fails the test
/// instead of stalling it.
fn within(path: &Path, limit: Duration) -> Outcome {
    let (tx, rx) = mpsc::channel();
    let p = path.to_path_buf();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(|| read_and_run(p));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(o)) => o,
        Ok(Err(panic)) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!(
                "panicked on\n{}\n{msg}",
                std::fs::read_to_string(path).unwrap()
            )
        }
        Err(_) => panic!(
            "still reading after {limit:?}:\n{}",
            std::fs::read_to_string(path).unwrap()
        ),
    }
}

#[test]
fn the_unmutated_study_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.toml");
    std::fs::write(&path, mutate(&[])).unwrap();
    assert!(matches!(
        within(&path, Duration::from_secs(60)),
        Outcome::Ran
    ));
}

static RAN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn generated_study_files_are_refused_with_a_location_or_run(
        edits in prop::collection::vec(edit(), 1..5),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fuzz.toml");
        std::fs::write(&path, mutate(&edits)).unwrap();
        match within(&path, Duration::from_secs(30)) {
            Outcome::Refused(e) | Outcome::RunnerRefused(e) => {
                prop_assert!(e.contains("fuzz.toml:") || e.contains(".toml:"), "{}", e);
            }
            Outcome::Ran => {
                let n = RAN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if std::env::var_os("FUZZ_VERBOSE").is_some() {
                    eprintln!("ran #{n}:\n{}", std::fs::read_to_string(&path).unwrap());
                }
            }
            Outcome::NotBuiltin => {}
        }
    }
}

proptest! {
    // Through the binary: fewer cases (each starts a process).
    #![proptest_config(ProptestConfig { cases: 40, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn check_exits_0_or_2_with_a_location(
        edits in prop::collection::vec(edit(), 1..5),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fuzz.toml");
        let text = mutate(&edits);
        std::fs::write(&path, &text).unwrap();
        let o = common::ps(&["check", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        match o.status.code() {
            Some(0) => {}
            Some(2) => prop_assert!(
                err.contains("fuzz.toml:"),
                "exit 2 without file:line: {}\n{}",
                err,
                text
            ),
            other => prop_assert!(false, "exit {:?}: {}\n{}", other, err, text),
        }
        // Nothing is created by check.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != "fuzz.toml")
            .collect();
        prop_assert!(left.is_empty(), "check created {:?}", left);
    }
}
