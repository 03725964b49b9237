//! Hostile and careless inputs, end to end through the binary: each test
//! pins one hole found by trying to break the tool (issue 13) — absurd
//! worker counts, ranges that overflow, includes of devices and FIFOs,
//! NaN choices, TOML injection through names, steps that do not divide
//! their range, built-in problems with too few variables. Every refusal is
//! exit 2 with `file:line:column` and nothing stored.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{ps, text, write, zdt_space};

/// A ZDT1 study on the built-in runner, with `space` as its search space
/// and `extra` appended (more tables).
fn study(name: &str, space: &str, extra: &str) -> String {
    format!(
        r#"[study]
name = "{name}"
seed = 1

[[objectives]]
name = "f1"
direction = "minimize"

[[objectives]]
name = "f2"
direction = "minimize"

[search_space]
{space}

[sampler]
kind = "random"

[runner]
kind = "builtin"
problem = "zdt1"

[budget]
trials = 3
{extra}"#
    )
}

/// `check` and `run` both refuse `file` with exit 2, name it with a line
/// and column and the `field`, and store nothing.
fn refused(file: &Path, field: &str) -> String {
    let path = file.to_str().unwrap();
    let mut last = String::new();
    for cmd in ["check", "run"] {
        let o = ps(&[cmd, path]);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let name = file.file_name().unwrap().to_str().unwrap();
        let located = err
            .find(name)
            .map(|i| &err[i + name.len()..])
            .is_some_and(|rest| {
                let mut parts = rest.splitn(3, ':');
                parts.next() == Some("")
                    && parts.next().is_some_and(|l| l.parse::<u32>().is_ok())
                    && parts
                        .next()
                        .is_some_and(|c| c.split(':').next().unwrap().parse::<u32>().is_ok())
            });
        assert!(located, "{cmd}: not located at file:line:column: {err}");
        assert!(
            err.contains(&format!("`{field}`")),
            "{cmd}: field `{field}` not named: {err}"
        );
        last = err;
    }
    let dir = file.parent().unwrap();
    let stored: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".db"))
        .collect();
    assert!(stored.is_empty(), "a refused study left {stored:?}");
    last
}

#[test]
fn absurd_worker_counts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "many.toml",
        &study("many", &zdt_space(), "workers = 100000000\n"),
    );
    let err = refused(&f, "budget.workers");
    assert!(err.contains("1024"), "{err}");

    // The flag too, before anything is stored.
    let ok = write(dir.path(), "ok.toml", &study("ok", &zdt_space(), ""));
    let o = ps(&["run", ok.to_str().unwrap(), "--workers", "100000000"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--workers"));
    assert!(!dir.path().join("ok.db").exists());
}

/// Peak resident memory of a running process, from /proc (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn concurrency_is_capped_at_the_trials_left_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    // The most workers allowed, for a budget of 3: 3 slots run.
    let f = write(
        dir.path(),
        "capped.toml",
        &study("capped", &zdt_space(), "workers = 1024\n"),
    );
    let mut child = Command::new(common::bin())
        .args(["run", f.to_str().unwrap(), "--plain"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let started = Instant::now();
    let mut peak = 0;
    let limit_kib = 300 * 1024;
    loop {
        if let Some(k) = rss_kib(pid) {
            peak = peak.max(k);
        }
        if peak > limit_kib {
            let _ = child.kill();
            let _ = child.wait();
            panic!("paretosearch grew past {} MiB", limit_kib / 1024);
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("running with 3 workers"), "{out}");
    assert_eq!(common::export_json(&f).len(), 3);
}

#[test]
fn ranges_wider_than_a_number_can_hold_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "wide-float.toml",
        &study(
            "wide-float",
            &format!(
                "{}huge = {{ type = \"float\", low = -1e308, high = 1e308 }}\n",
                zdt_space()
            ),
            "",
        ),
    );
    let err = refused(&f, "search_space.huge.high");
    assert!(err.contains("overflows"), "{err}");
    let f = write(
        dir.path(),
        "wide-int.toml",
        &study(
            "wide-int",
            &format!(
                "{}n = {{ type = \"int\", low = -9223372036854775808, high = 9223372036854775807 }}\n",
                zdt_space()
            ),
            "",
        ),
    );
    let err = refused(&f, "search_space.n.high");
    assert!(err.contains("2^53"), "{err}");
}

#[test]
fn wide_but_valid_ranges_sample_across_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "wide.toml",
        &study(
            "wide",
            &format!(
                "{}w = {{ type = \"float\", low = -1e307, high = 1e307 }}\nn = {{ type = \"int\", low = -4503599627370496, high = 4503599627370496 }}\n",
                zdt_space()
            ),
            "",
        )
        .replace("trials = 3", "trials = 12"),
    );
    let o = ps(&["run", f.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", text(&o));
    let trials = common::export_json(&f);
    let w: Vec<f64> = trials
        .iter()
        .map(|t| t["params"]["w"].as_f64().unwrap())
        .collect();
    let n: Vec<i64> = trials
        .iter()
        .map(|t| t["params"]["n"].as_i64().unwrap())
        .collect();
    assert!(
        w.iter().any(|&x| x < -1e306) && w.iter().any(|&x| x > 1e306),
        "{w:?}"
    );
    assert!(
        n.iter().any(|&x| x < -(1 << 50)) && n.iter().any(|&x| x > 1 << 50),
        "{n:?}"
    );
    let mut distinct = n.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), n.len(), "{n:?}");
}

/// Run `paretosearch check FILE` with a deadline: a read that never ends
/// must not hang the test.
fn check_within(file: &Path, limit: Duration) -> std::process::Output {
    let mut child = Command::new(common::bin())
        .args(["check", file.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("check {} still running after {limit:?}", file.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn includes_read_only_small_regular_toml_files() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.toml");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let big = dir.path().join("big.toml");
    let line = "# padding padding padding padding padding padding padding padding\n";
    std::fs::write(&big, line.repeat((2 << 20) / line.len())).unwrap();
    let cases = [
        ("/dev/zero", "not a search-space fragment"),
        (
            "../../../../../../../../etc/passwd",
            "not a search-space fragment",
        ),
        ("fifo.toml", "FIFO"),
        ("big.toml", "over the limit"),
        ("/dev/null/x.toml", "cannot read include"),
    ];
    for (i, (include, expect)) in cases.iter().enumerate() {
        let name = format!("inc{i}");
        let f = write(
            dir.path(),
            &format!("{name}.toml"),
            &study(
                &name,
                &format!("include = [\"{include}\"]\n{}", zdt_space()),
                "",
            ),
        );
        let o = check_within(&f, Duration::from_secs(20));
        assert_eq!(o.status.code(), Some(2), "{include}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(expect),
            "{include}: expected `{expect}`: {err}"
        );
        assert!(err.contains(&format!("{name}.toml:")), "{err}");
        assert!(!err.contains("root:"), "passwd content shown: {err}");
    }
    // The study file itself: a device or FIFO is refused, not read.
    for f in [Path::new("/dev/zero"), fifo.as_path()] {
        let o = check_within(f, Duration::from_secs(20));
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("not a regular file"),
            "{}",
            text(&o)
        );
    }
}

#[test]
fn nan_choices_are_refused_when_the_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [("[nan, 1.0]", 0), ("[1.0, inf]", 1), ("[-inf]", 0)];
    for (i, (choices, at)) in cases.iter().enumerate() {
        let name = format!("nan{i}");
        let f = write(
            dir.path(),
            &format!("{name}.toml"),
            &study(
                &name,
                &format!(
                    "{}c = {{ type = \"categorical\", choices = {choices} }}\n",
                    zdt_space()
                ),
                "",
            ),
        );
        let err = refused(&f, &format!("search_space.c.choices[{at}]"));
        assert!(err.contains("finite"), "{err}");
    }
}

#[test]
fn names_cannot_inject_into_generated_files() {
    let dir = tempfile::tempdir().unwrap();
    // The attack of the issue: an objective name that closes the header
    // comment of an exported study and opens `[runner.env]`.
    let text = study("inject", &zdt_space(), "").replacen(
        "name = \"f1\"",
        "name = \"f1\\n[runner.env]\\nINJECTED = \\\"yes\\\"\\n#\"",
        1,
    );
    let f = write(dir.path(), "inject.toml", &text);
    let err = refused(&f, "objectives[0].name");
    assert!(err.contains("control character"), "{err}");
    assert!(!err.contains("\n[runner.env]"), "raw newline echoed: {err}");
    // A study name likewise (it also names files).
    let f = write(
        dir.path(),
        "inject2.toml",
        &study("in\\u001b[31mject", &zdt_space(), ""),
    );
    let err = refused(&f, "study.name");
    assert!(!err.contains('\u{1b}'), "escape sequence echoed: {err:?}");
}

#[test]
fn exported_and_picked_files_quote_what_users_wrote() {
    let dir = tempfile::tempdir().unwrap();
    // Legal but awkward names and values: quotes, `#`, `=`, brackets,
    // unicode, and a choice with a newline.
    let space = format!(
        "{}\"we\\\"ird = #[x]\" = {{ type = \"categorical\", choices = [\"a\\nb = 1\\n[runner.env]\\nX=\\\"1\\\"\"] }}\n",
        zdt_space()
    );
    let body = study("awkward", &space, "")
        .replace("name = \"f1\"", "name = \"f1 # ] = [π\"")
        .replace(
            "[runner]\nkind = \"builtin\"\nproblem = \"zdt1\"",
            "[runner]\nkind = \"command\"\ncommand = [\"sh\", \"-c\", \"echo '{{\\\"f1 # ] = [π\\\": 1, \\\"f2\\\": 2}}'\"]",
        );
    let f = write(dir.path(), "awkward.toml", &body);
    let o = ps(&["run", f.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = dir.path().join("out");
    let o = ps(&[
        "export",
        f.to_str().unwrap(),
        "--format",
        "toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let picked = dir.path().join("picked.toml");
    let o = ps(&[
        "pick",
        f.to_str().unwrap(),
        "--out",
        picked.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let mut files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(picked);
    assert_eq!(files.len(), 4);
    for file in files {
        let body = std::fs::read_to_string(&file).unwrap();
        let doc: toml::Table = toml::from_str(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));
        let runner = doc["runner"].as_table().unwrap();
        assert!(!runner.contains_key("env"), "injected: {body}");
        let space = doc["search_space"].as_table().unwrap();
        let weird = &space["we\"ird = #[x]"]["choices"][0];
        assert_eq!(weird.as_str(), Some("a\nb = 1\n[runner.env]\nX=\"1\""));
        // It re-runs as it is.
        let o = ps(&["check", file.to_str().unwrap()]);
        assert!(o.status.success(), "{}\n{body}", text(&o));
    }
}

#[test]
fn steps_that_do_not_divide_the_range_are_refused_with_the_range_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "s = { type = \"float\", low = 0.0, high = 1.0, step = 0.3 }",
            "high = 0.9",
        ),
        (
            "s = { type = \"int\", low = 0, high = 10, step = 3 }",
            "high = 9",
        ),
        (
            "s = { type = \"int\", low = 0, high = 10, step = 100 }",
            "larger than high - low",
        ),
    ];
    for (i, (param, expect)) in cases.iter().enumerate() {
        let name = format!("step{i}");
        let f = write(
            dir.path(),
            &format!("{name}.toml"),
            &study(&name, &format!("{}{param}\n", zdt_space()), ""),
        );
        let err = refused(&f, "search_space.s.step");
        assert!(err.contains(expect), "{param}: expected `{expect}`: {err}");
    }
    // Steps that divide their range, floating-point noise included, pass.
    let f = write(
        dir.path(),
        "fine.toml",
        &study(
            "fine",
            &format!(
                "{}a = {{ type = \"float\", low = 0.1, high = 1.0, step = 0.05 }}\nb = {{ type = \"int\", low = 16, high = 1024, step = 16 }}\n",
                zdt_space()
            ),
            "",
        ),
    );
    let o = ps(&["check", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn builtin_problems_are_checked_against_the_space_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let few: String = (0..3)
        .map(|i| format!("x{i} = {{ type = \"float\", low = 0.0, high = 1.0 }}\n"))
        .collect();
    let f = write(dir.path(), "few.toml", &study("few", &few, ""));
    let err = refused(&f, "search_space");
    assert!(err.contains("x3"), "{err}");
    let wide = zdt_space().replace(
        "x5 = { type = \"float\", low = 0.0, high = 1.0 }",
        "x5 = { type = \"float\", low = 0.0, high = 2.0 }",
    );
    let f = write(dir.path(), "wide.toml", &study("wide", &wide, ""));
    let err = refused(&f, "search_space.x5");
    assert!(err.contains("[0, 1]"), "{err}");
    let f = write(
        dir.path(),
        "objective.toml",
        &study("objective", &zdt_space(), "").replace("name = \"f2\"", "name = \"latency\""),
    );
    let err = refused(&f, "objectives");
    assert!(err.contains("latency"), "{err}");
}
