//! Rough edges of the CLI (issue 15): tables that fit the terminal, one
//! rule for "best per objective", a budget raised by `--trials` shown as
//! it is, `check --json` on a bad file, incompatible changes named by
//! field, and studies without a `[runner]`.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{bin, export_json, ps, text, write};
use serde_json::Value;

/// `paretosearch ARGS` with extra environment variables, stdin closed.
fn ps_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(bin())
        .args(args)
        .envs(env.iter().copied())
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .expect("paretosearch starts")
}

/// A study file of two minimised objectives `f1`, `f2` over `space`
/// (TOML lines of `[search_space]`), with `budget` trials and a runner
/// that is never run (the tests drive it with ask and tell).
fn study(name: &str, space: &str, budget: u64) -> String {
    format!(
        r#"[study]
name = "{name}"
seed = 3

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
kind = "command"
command = ["true"]

[budget]
trials = {budget}
"#
    )
}

/// Ask for a trial and tell it `values` (a JSON object); its number.
fn ask_tell(file: &Path, values: &str, extra: &[&str]) -> u64 {
    let s = file.to_str().unwrap();
    let mut args = vec!["ask", s, "--json"];
    args.extend_from_slice(extra);
    let o = ps(&args);
    assert!(o.status.success(), "{}", text(&o));
    let asked: Value = serde_json::from_slice(&o.stdout).unwrap();
    let n = asked["trial"].as_u64().unwrap();
    let o = ps(&["tell", s, &n.to_string(), "--values", values]);
    assert!(o.status.success(), "{}", text(&o));
    n
}

/// The 1-based line of `text` holding `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every line of `out` is at most `width` characters.
fn assert_fits(out: &str, width: usize, what: &str) {
    for line in out.lines() {
        assert!(
            line.chars().count() <= width,
            "{what}: a line of {} characters at COLUMNS={width}:\n{line}\n\nwhole output:\n{out}",
            line.chars().count()
        );
    }
}

#[test]
fn tables_fit_columns_and_wrap_long_cells() {
    let dir = tempfile::tempdir().unwrap();
    // 24 parameters with long names and a long categorical value: the
    // Pareto table's natural width is far beyond 80 characters.
    let mut space: Vec<String> = (0..24)
        .map(|i| format!("a_rather_long_parameter_name_{i:02} = {{ type = \"float\", low = 0.0, high = 1.0 }}"))
        .collect();
    let long_choice = "a-very-long-categorical-choice-".repeat(5);
    space.push(format!(
        "optimizer = {{ type = \"categorical\", choices = [\"{long_choice}\"] }}"
    ));
    let f = write(
        dir.path(),
        "wide.toml",
        &study("wide", &space.join("\n"), 10),
    );
    let s = f.to_str().unwrap();
    for (a, b) in [(0.1, 0.9), (0.5, 0.5), (0.9, 0.1)] {
        ask_tell(&f, &format!("{{\"f1\": {a}, \"f2\": {b}}}"), &[]);
    }
    let wide = ps(&["status", s]);
    assert!(wide.status.success(), "{}", text(&wide));
    assert!(
        stdout(&wide).lines().any(|l| l.chars().count() > 200),
        "a pipe without COLUMNS gets whole lines: {}",
        text(&wide)
    );
    for width in [80, 50] {
        let cols = width.to_string();
        let o = ps_env(&["status", s], &[("COLUMNS", &cols)]);
        assert!(o.status.success(), "{}", text(&o));
        let out = stdout(&o);
        assert_fits(&out, width, "status");
        // The trial numbers and both objectives are still there; the
        // parameters that do not fit are named as left out.
        assert!(out.contains("f1 ↓") && out.contains("f2 ↓"), "{out}");
        assert!(out.contains("left out to fit"), "{out}");
        assert!(out.contains("best f1: 0.1 (trial 0)"), "{out}");

        let o = ps_env(&["pick", s, "--best", "f2"], &[("COLUMNS", &cols)]);
        assert!(o.status.success(), "{}", text(&o));
        let out = stdout(&o);
        assert_fits(&out, width, "pick");
        // The long value is wrapped, not dropped.
        assert!(out.contains("a-very-long"), "{out}");
        if width == 80 {
            assert!(out.contains("a_rather_long_parameter_name_23"), "{out}");
        }
    }
}

#[test]
fn status_and_pick_name_the_same_best_trial_on_ties() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "ties.toml",
        &study(
            "ties",
            "x = { type = \"float\", low = 0.0, high = 1.0 }",
            10,
        ),
    );
    let s = f.to_str().unwrap();
    // Trials 0 and 1 tie on f1; trial 1 dominates trial 0 (better f2).
    // Trial 2 ties with trial 3 on f2, both Pareto-optimal: the lower
    // number wins.
    ask_tell(&f, r#"{"f1": 1.0, "f2": 5.0}"#, &[]);
    ask_tell(&f, r#"{"f1": 1.0, "f2": 2.0}"#, &[]);
    ask_tell(&f, r#"{"f1": 3.0, "f2": 0.5}"#, &[]);
    ask_tell(&f, r#"{"f1": 3.0, "f2": 0.5}"#, &[]);
    let o = ps(&["status", s, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let status: Value = serde_json::from_slice(&o.stdout).unwrap();
    for (objective, expected) in [("f1", 1), ("f2", 2)] {
        assert_eq!(
            status["best"][objective]["number"], expected,
            "status --json best {objective}: {status:#}"
        );
        let o = ps(&["pick", s, "--best", objective, "--json"]);
        assert!(o.status.success(), "{}", text(&o));
        let picked: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            picked["trial"]["number"], expected,
            "pick --best {objective}: {picked:#}"
        );
    }
    let o = ps(&["status", s]);
    let out = stdout(&o);
    assert!(out.contains("best f1: 1 (trial 1)"), "{}", text(&o));
    assert!(out.contains("best f2: 0.5 (trial 2)"), "{}", text(&o));
}

#[test]
fn a_budget_raised_by_ask_trials_is_shown_not_exceeded() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "raised.toml",
        &study(
            "raised",
            "x = { type = \"float\", low = 0.0, high = 1.0 }",
            2,
        ),
    );
    let s = f.to_str().unwrap();
    ask_tell(&f, r#"{"f1": 1.0, "f2": 2.0}"#, &[]);
    ask_tell(&f, r#"{"f1": 2.0, "f2": 1.0}"#, &[]);
    // The file's budget of 2 is spent: `ask --trials 4` raises it.
    let o = ps(&["ask", s]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    ask_tell(&f, r#"{"f1": 0.5, "f2": 3.0}"#, &["--trials", "4"]);

    let expected = "3 of 4 trials finished (budget 2 in the file, raised to 4 by --trials)";
    let o = ps(&["status", s]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).contains(expected), "{}", text(&o));
    assert!(!stdout(&o).contains("3 of 2"), "{}", text(&o));
    let o = ps(&["status", s, "--json"]);
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (j["finished"].as_u64(), j["budget"].as_u64()),
        (Some(3), Some(4)),
        "{j:#}"
    );
    assert_eq!(j["budget_in_file"], 2, "{j:#}");
    let o = ps(&["check", s]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).contains(expected), "{}", text(&o));
    // `run` without --trials works to the file's budget: spent, and it
    // says so without claiming 3 of 2.
    let o = ps(&["run", s]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).contains("budget spent"), "{}", text(&o));
    assert!(!stdout(&o).contains("3 of 2"), "{}", text(&o));
}

#[test]
fn check_json_prints_the_located_error_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let body = study(
        "bad",
        "lr = { type = \"float\", low = 0.1, high = 0.01 }",
        5,
    );
    let f = write(dir.path(), "bad.toml", &body);
    let o = ps(&["check", f.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let j: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is no JSON ({e}): {}", text(&o)));
    assert_eq!(j["ok"], false, "{j:#}");
    assert_eq!(j["file"], f.to_str().unwrap(), "{j:#}");
    assert_eq!(j["study_file"], f.to_str().unwrap(), "{j:#}");
    assert_eq!(j["line"], line_of(&body, "lr = "), "{j:#}");
    assert!(j["column"].as_u64().is_some_and(|c| c > 1), "{j:#}");
    assert_eq!(j["field"], "search_space.lr.low", "{j:#}");
    assert!(
        j["message"]
            .as_str()
            .unwrap()
            .contains("must be less than high"),
        "{j:#}"
    );
    assert!(j["help"].as_str().is_some_and(|h| !h.is_empty()), "{j:#}");
    // The human message still goes to stderr.
    assert!(stderr(&o).contains("search_space.lr.low"), "{}", text(&o));
    // A mistake found after parsing (an unknown sampler) is located too.
    let body = study(
        "bad2",
        "lr = { type = \"float\", low = 0.1, high = 1.0 }",
        5,
    )
    .replace("kind = \"random\"", "kind = \"randon\"");
    let f = write(dir.path(), "bad2.toml", &body);
    let o = ps(&["check", f.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (j["ok"].clone(), j["field"].clone()),
        (Value::Bool(false), Value::from("sampler.kind")),
        "{j:#}"
    );
    assert_eq!(j["line"], line_of(&body, "randon"), "{j:#}");
}

#[test]
fn an_incompatible_change_names_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let space = "x9 = { type = \"float\", low = 0.0, high = 1.0 }\nlr = { type = \"float\", low = 1e-5, high = 1e-1, log = true }";
    let f = write(dir.path(), "changed.toml", &study("changed", space, 5));
    ask_tell(&f, r#"{"f1": 1.0, "f2": 2.0}"#, &[]);
    // Widen x9, drop lr, add an objective.
    let body = study(
        "changed",
        "x9 = { type = \"float\", low = 0.0, high = 2.0 }",
        5,
    )
    .replace(
        "[search_space]",
        "[[objectives]]\nname = \"f3\"\ndirection = \"maximize\"\n\n[search_space]",
    );
    std::fs::write(&f, body).unwrap();
    let s = f.to_str().unwrap();
    // Read commands (status, check), and the commands that open the
    // study for writing (ask), all say the same.
    for args in [vec!["status", s], vec!["check", s], vec!["ask", s]] {
        let o = ps(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        let err = stderr(&o);
        for change in [
            "parameter `x9`: high 1.0 → 2.0",
            "parameter `lr` removed",
            "objective `f3` added",
        ] {
            assert!(
                err.contains(change),
                "{args:?}: no {change:?} in {}",
                text(&o)
            );
        }
        assert!(!err.contains("fingerprint"), "{args:?}: {}", text(&o));
    }
}

#[test]
fn a_study_without_a_runner_is_asked_and_told_but_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let start = "[runner]\nkind = \"command\"\ncommand = [\"true\"]\n\n";
    let body = study("told", "x = { type = \"float\", low = 0.0, high = 1.0 }", 3);
    assert!(body.contains(start));
    let f = write(dir.path(), "told.toml", &body.replace(start, ""));
    let s = f.to_str().unwrap();
    let o = ps(&["check", s]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(stdout(&o).contains("runner      none"), "{}", text(&o));
    let n = ask_tell(&f, r#"{"f1": 1.0, "f2": 2.0}"#, &[]);
    assert_eq!(n, 0);
    let o = ps(&["status", s]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        stdout(&o).contains("1 of 3 trials finished"),
        "{}",
        text(&o)
    );
    assert_eq!(export_json(&f).len(), 1);
    let o = ps(&["pick", s]);
    assert!(o.status.success(), "{}", text(&o));
    for command in ["run", "worker"] {
        let o = ps(&[command, s]);
        assert_eq!(o.status.code(), Some(2), "{command}: {}", text(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("{s}:1:1"))
                && err.contains("this study has no [runner]; add one or use ask/tell"),
            "{command}: {}",
            text(&o)
        );
    }
    // Nothing ran.
    assert_eq!(export_json(&f).len(), 1);
}
