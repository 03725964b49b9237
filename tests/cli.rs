//! End-to-end tests of the `paretosearch` binary.

use std::process::Command;

use serde_json::Value;

mod common;
use common::{bin, export_json, ps, text, write};

const ZDT1: &str = r#"
[study]
name = "zdt1-e2e"
seed = 3

[[objectives]]
name = "f1"
direction = "minimize"

[[objectives]]
name = "f2"
direction = "minimize"

[search_space]
x0 = { type = "float", low = 0.0, high = 1.0 }
x1 = { type = "float", low = 0.0, high = 1.0 }
x2 = { type = "float", low = 0.0, high = 1.0 }
x3 = { type = "float", low = 0.0, high = 1.0 }
x4 = { type = "float", low = 0.0, high = 1.0 }
x5 = { type = "float", low = 0.0, high = 1.0 }
x6 = { type = "float", low = 0.0, high = 1.0 }
x7 = { type = "float", low = 0.0, high = 1.0 }
x8 = { type = "float", low = 0.0, high = 1.0 }
x9 = { type = "float", low = 0.0, high = 1.0 }

[sampler]
kind = "random"

[runner]
kind = "builtin"
problem = "zdt1"

[budget]
trials = 25
workers = 2
"#;

#[test]
fn builtin_study_runs_reports_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let study = write(dir.path(), "zdt1.toml", ZDT1);
    let s = study.to_str().unwrap();
    let o = ps(&["run", s]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        dir.path().join("zdt1-e2e.db").exists(),
        "default storage next to the study file"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("Pareto set"), "{stdout}");

    // status --json
    let o = ps(&["status", s, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let st: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(st["finished"], 25);
    assert_eq!(st["counts"]["COMPLETE"], 25);
    let front = st["pareto"].as_array().unwrap();
    assert!(!front.is_empty());

    // export json: the contract
    let all = export_json(&study);
    assert_eq!(all.len(), 25);
    let numbers: Vec<u64> = all.iter().map(|t| t["number"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (0..25).collect::<Vec<_>>());
    for t in &all {
        assert_eq!(t["state"], "COMPLETE");
        assert_eq!(t["params"].as_object().unwrap().len(), 10);
        let x0 = t["params"]["x0"].as_f64().unwrap();
        assert!(
            (t["values"]["f1"].as_f64().unwrap() - x0).abs() < 1e-12,
            "f1 = x0 for zdt1"
        );
        assert!(t["intermediate"].is_array());
    }

    // --pareto: mutually non-dominated, and every other trial is dominated by one of them
    let o = ps(&["export", s, "--pareto", "--format", "json"]);
    let pareto: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(pareto.len(), front.len());
    let v = |t: &Value| {
        (
            t["values"]["f1"].as_f64().unwrap(),
            t["values"]["f2"].as_f64().unwrap(),
        )
    };
    let dom = |a: (f64, f64), b: (f64, f64)| a.0 <= b.0 && a.1 <= b.1 && (a.0 < b.0 || a.1 < b.1);
    for a in &pareto {
        for b in &pareto {
            assert!(!dom(v(a), v(b)));
        }
    }
    for t in &all {
        let in_front = pareto.iter().any(|p| p["number"] == t["number"]);
        if !in_front {
            assert!(
                pareto.iter().any(|p| dom(v(p), v(t))),
                "trial {} neither in front nor dominated",
                t["number"]
            );
        }
    }

    // csv
    let o = ps(&["export", s, "--format", "csv"]);
    let csv = String::from_utf8_lossy(&o.stdout);
    assert!(csv.starts_with("number,state,params.x0"), "{csv}");
    assert_eq!(csv.lines().count(), 26);

    // toml: ready-to-run study files that reproduce the values
    let out = dir.path().join("best");
    let o = ps(&[
        "export",
        s,
        "--pareto",
        "--format",
        "toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let first = &pareto[0];
    let file = out.join(format!("zdt1-e2e-trial-{}.toml", first["number"]));
    assert!(file.exists());
    let o = ps(&["run", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let rerun = export_json(&file);
    assert_eq!(rerun.len(), 1);
    assert_eq!(rerun[0]["values"], first["values"]);
    assert_eq!(rerun[0]["params"], first["params"]);

    // A finished study: running again does nothing more.
    let o = ps(&["run", s]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(export_json(&study).len(), 25);
    // Raising the budget is a compatible change.
    let o = ps(&["run", s, "--trials", "30"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(export_json(&study).len(), 30);
}

#[test]
fn bench_prints_the_contract_line() {
    let o = ps(&[
        "bench",
        "--problem",
        "zdt1",
        "--sampler",
        "random",
        "--trials",
        "50",
        "--seed",
        "1",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let last: Value = serde_json::from_str(out.trim().lines().last().unwrap()).unwrap();
    let values = last["values"].as_array().unwrap();
    assert_eq!(values.len(), 50);
    assert_eq!(values[0].as_array().unwrap().len(), 2);
    assert!(last["seconds"].as_f64().unwrap() >= 0.0);
    // Same seed, same values.
    let o2 = ps(&[
        "bench",
        "--problem",
        "zdt1",
        "--sampler",
        "random",
        "--trials",
        "50",
        "--seed",
        "1",
    ]);
    let last2: Value = serde_json::from_str(
        String::from_utf8_lossy(&o2.stdout)
            .trim()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last["values"], last2["values"]);
    let o = ps(&[
        "bench",
        "--problem",
        "dtlz2",
        "--sampler",
        "sobol",
        "--trials",
        "20",
        "--seed",
        "1",
    ]);
    let last: Value = serde_json::from_str(
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last["values"][0].as_array().unwrap().len(), 3);
    let o = ps(&["bench", "--problem", "nope", "--sampler", "random"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn failing_hanging_and_garbage_commands_fail_only_their_trial() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "obj.sh", common::OBJECTIVE_SCRIPT);
    // Trial behaviour depends on n: 1 exits non-zero, 2 hangs, 3 prints garbage only, 4/5 succeed.
    let wrapper = write(
        dir.path(),
        "wrap.sh",
        &format!(
            "#!/bin/sh\ncase $2 in\n 1) echo boom >&2; exit 3;;\n 2) sleep 100;;\n 3) echo garbage; echo '{{\"loss\": \"x\"}}';;\n *) exec sh {} $1 $2;;\nesac\n",
            script.display()
        ),
    );
    let study = write(
        dir.path(),
        "s.toml",
        &common::command_study(
            "mixed",
            &format!(r#"["sh", "{}", "{{a}}", "{{n}}"]"#, wrapper.display()),
            16,
            4,
            "timeout = \"1s\"\ngrace = \"200ms\"",
        ),
    );
    let o = ps(&["run", study.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let trials = export_json(&study);
    assert_eq!(trials.len(), 16);
    let mut seen = std::collections::BTreeSet::new();
    for t in &trials {
        let n = t["params"]["n"].as_i64().unwrap();
        let reason = t["reason"].as_str().unwrap_or("");
        match n {
            1 => {
                assert_eq!(t["state"], "FAIL");
                assert!(reason.contains('3'), "exit status in reason: {reason}");
            }
            2 => {
                assert_eq!(t["state"], "FAIL");
                assert!(reason.contains("timed out"), "{reason}");
            }
            3 => assert_eq!(t["state"], "FAIL", "{reason}"),
            _ => {
                assert_eq!(t["state"], "COMPLETE", "{t}");
                assert_eq!(t["values"]["cost"].as_f64().unwrap(), n as f64);
                assert_eq!(t["intermediate"][0]["step"], 1);
            }
        }
        seen.insert(n);
    }
    assert!(
        seen.len() >= 4,
        "the random sampler should hit most n values: {seen:?}"
    );
    // Logs keep stderr and non-protocol stdout.
    let log =
        std::fs::read_to_string(dir.path().join("mixed-logs/trial-00000.log")).unwrap_or_default();
    let any_log = std::fs::read_dir(dir.path().join("mixed-logs"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .any(|l| l.contains("to stderr") && l.contains("not json"));
    assert!(any_log, "first log: {log}");
}

#[test]
fn incompatible_change_is_refused_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let study = write(
        dir.path(),
        "zdt1.toml",
        &ZDT1.replace("trials = 25", "trials = 5"),
    );
    let o = ps(&["run", study.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let changed = ZDT1.replace("trials = 25", "trials = 10").replace(
        "x9 = { type = \"float\", low = 0.0, high = 1.0 }",
        "x9 = { type = \"float\", low = 0.0, high = 0.5 }",
    );
    std::fs::write(&study, changed).unwrap();
    // `check` refuses it as `run` does.
    for cmd in ["check", "run"] {
        let o = ps(&[cmd, study.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("zdt1-e2e") && err.contains("search space"),
            "{cmd}: {err}"
        );
    }
    std::fs::write(&study, ZDT1.replace("trials = 25", "trials = 5")).unwrap();
    assert_eq!(export_json(&study).len(), 5);
}

#[test]
fn malformed_study_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str, &str)] = &[
        // (what, replace, with, expected fragment in the error)
        ("unknown key", "seed = 3", "seed = 3\nsead = 4", "sead"),
        ("wrong type", "seed = 3", "seed = \"three\"", "seed"),
        (
            "low >= high",
            "x9 = { type = \"float\", low = 0.0, high = 1.0 }",
            "x9 = { type = \"float\", low = 2.0, high = 1.0 }",
            "x9",
        ),
        (
            "empty choices",
            "x9 = { type = \"float\", low = 0.0, high = 1.0 }",
            "x9 = { type = \"categorical\", choices = [] }",
            "choices",
        ),
        (
            "unknown when",
            "x9 = { type = \"float\", low = 0.0, high = 1.0 }",
            "x9 = { type = \"float\", low = 0.0, high = 1.0, when = { nope = 1 } }",
            "nope",
        ),
        (
            "bad problem",
            "problem = \"zdt1\"",
            "problem = \"zdt99\"",
            "zdt99",
        ),
    ];
    for (what, from, to, frag) in cases {
        let body = ZDT1.replace(from, to);
        assert_ne!(body, ZDT1, "{what}: replacement applied");
        let study = write(dir.path(), "bad.toml", &body);
        for cmd in ["check", "run"] {
            let o = ps(&[cmd, study.to_str().unwrap()]);
            assert_eq!(o.status.code(), Some(2), "{cmd} {what}: {}", text(&o));
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains("bad.toml"), "{what}: names the file: {err}");
            assert!(err.contains(frag), "{what}: names `{frag}`: {err}");
            assert!(err.lines().count() <= 3, "{what}: one paragraph: {err}");
        }
        assert!(
            !dir.path().join("zdt1-e2e.db").exists(),
            "{what}: nothing ran"
        );
    }
    // A placeholder that is not a parameter.
    let study = write(
        dir.path(),
        "bad.toml",
        &common::command_study("ph", r#"["echo", "{a}", "{nope}"]"#, 3, 1, ""),
    );
    let o = ps(&["run", study.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope"));
    // A missing file.
    let o = ps(&["run", dir.path().join("missing.toml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn example_command_study_runs_as_it_is() {
    let dir = common::example_studies();
    let study = dir.path().join("studies/command-demo.toml");
    // Run from another working directory: paths resolve against the study file.
    let o = Command::new(bin())
        .args(["run", study.to_str().unwrap(), "--trials", "6"])
        .current_dir("/")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let trials = export_json(&study);
    assert_eq!(trials.len(), 6);
    for t in &trials {
        assert_eq!(t["state"], "COMPLETE", "{t}");
        assert!(t["values"]["accuracy"].as_f64().unwrap() > 0.0);
        assert_eq!(
            t["intermediate"].as_array().unwrap().len(),
            5,
            "one report per epoch"
        );
        let sgd = t["params"]["optimizer"] == "sgd";
        assert_eq!(
            t["params"].get("momentum").is_some(),
            sgd,
            "momentum only with sgd: {t}"
        );
    }
}
