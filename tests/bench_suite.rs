//! `paretosearch bench-suite`: the table, the JSON lines, the scores.

mod common;

use std::process::Command;

fn suite(args: &[&str]) -> (String, String, bool) {
    let out = Command::new(common::bin())
        .arg("bench-suite")
        .args(args)
        .output()
        .expect("the binary runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

#[test]
fn one_table_of_ratios_with_a_line_per_run() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("runs.jsonl");
    let (stdout, stderr, ok) = suite(&[
        "--problem",
        "families",
        "--problem",
        "zdt1-memory",
        "--problem",
        "zdt1-noisy",
        "--sampler",
        "random",
        "--sampler",
        "tpe:n_startup_trials=5",
        "--sampler",
        "auto",
        "--seeds",
        "2",
        "--trials",
        "20",
        "--jsonl",
        jsonl.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    for needle in [
        "families",
        "zdt1-memory",
        "zdt1-noisy",
        "conditional",
        "constrained",
        "noisy",
        "auto on conditional",
        "auto is within",
    ] {
        assert!(stdout.contains(needle), "`{needle}` missing:\n{stdout}");
    }
    let runs: Vec<serde_json::Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(runs.len(), 3 * 3 * 2);
    for r in &runs {
        let ratio = r["hv_ratio"].as_f64().unwrap();
        // The best known front is the union of every run's truth, so no
        // run's reported front can exceed it.
        assert!((0.0..=1.0 + 1e-12).contains(&ratio), "{r}");
    }
    // Some run reaches the best known front's hypervolume only where it is
    // that front: without noise, the best run of each problem scores
    // below 1 only if the union is better than every single run.
    let best = |p: &str| {
        runs.iter()
            .filter(|r| r["problem"] == p)
            .map(|r| r["hv_ratio"].as_f64().unwrap())
            .fold(0.0, f64::max)
    };
    assert!(best("families") > 0.5, "{runs:?}");
    assert!(best("zdt1-memory") > 0.0, "{runs:?}");
}

#[test]
fn unknown_problems_and_samplers_are_named() {
    let (_, stderr, ok) = suite(&["--problem", "zdt9"]);
    assert!(!ok);
    assert!(
        stderr.contains("zdt9") && stderr.contains("cells"),
        "{stderr}"
    );
    let (_, stderr, ok) = suite(&["--problem", "cells", "--sampler", "tpe:gama=0.2"]);
    assert!(!ok);
    assert!(stderr.contains("tpe:gama=0.2"), "{stderr}");
}
