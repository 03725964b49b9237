//! The held-out test set of a torch study (`[runner] test_fraction`):
//! `export --pareto` scores it for the Pareto trials only, stores the
//! scores (a second export trains nothing), shows them beside the values
//! (CSV, JSON, report), and scoring it in the middle of a study changes
//! nothing the study does afterwards (TPE's proposals, the pruner's stops).
#![cfg(feature = "torch")]

mod common;
use common::{export_json, ps, text, write};

use std::path::Path;

fn study(dir: &Path, name: &str, test: &str) -> std::path::PathBuf {
    write(
        dir,
        &format!("{name}.toml"),
        &format!(
            r#"[study]
name = "{name}"
seed = 3

[[objectives]]
name = "accuracy"
direction = "maximize"

[[objectives]]
name = "size_bytes"
direction = "minimize"
cheap = true

[search_space]
width = {{ type = "int", low = 4, high = 48, log = true }}
lr = {{ type = "float", low = 1e-3, high = 3e-2, log = true }}

[sampler]
kind = "tpe"
n_startup_trials = 3

[pruner]
kind = "dominated"

[runner]
kind = "torch"
device = "cpu"
dataset = "digits"
limit = 600
epochs = 8
threads = 1
{test}

[runner.params]
optimizer = "adam"

[budget]
trials = 8
workers = 1
"#
        ),
    )
}

fn run(study: &Path, trials: &str) {
    let o = ps(&[
        "run",
        study.to_str().unwrap(),
        "--trials",
        trials,
        "--plain",
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

/// Number, parameters and measured values of every trial (what sampling
/// produced; `train_seconds` is a clock reading and left out).
fn history(study: &Path) -> Vec<String> {
    export_json(study)
        .iter()
        .map(|t| {
            let v = &t["values"];
            format!(
                "{} {} {} {} {} {}",
                t["number"], t["state"], t["params"], v["accuracy"], v["loss"], v["size_bytes"]
            )
        })
        .collect()
}

#[test]
fn pareto_trials_are_scored_on_the_test_set_once_and_shown_beside_their_values() {
    let dir = tempfile::tempdir().unwrap();
    let s = study(dir.path(), "held", "test_fraction = 0.25");
    run(&s, "4");
    let csv = dir.path().join("front.csv");
    let o = ps(&[
        "export",
        s.to_str().unwrap(),
        "--pareto",
        "--format",
        "csv",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let scored = text(&o).matches("): test accuracy = ").count();
    assert!(scored >= 1, "{}", text(&o));
    let table = std::fs::read_to_string(&csv).unwrap();
    let header: Vec<&str> = table.lines().next().unwrap().split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "test.accuracy")
        .expect("a test.accuracy column");
    assert!(header.contains(&"values.accuracy"), "{header:?}");
    for row in table.lines().skip(1) {
        let acc: f64 = row.split(',').nth(col).unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&acc), "{row}");
    }
    assert_eq!(table.lines().count() - 1, scored, "{table}");

    // Stored: the JSON export carries them, and nothing is trained again.
    let o = ps(&["export", s.to_str().unwrap(), "--pareto"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        !text(&o).contains("): test "),
        "trained again: {}",
        text(&o)
    );
    let front: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    for t in &front {
        let test = &t["attrs"]["test"];
        assert!(test["test"]["accuracy"].is_number(), "{t:#}");
        // The re-run reproduced the trial's validation accuracy.
        let (stored, rerun) = (
            t["values"]["accuracy"].as_f64().unwrap(),
            test["valid"]["accuracy"].as_f64().unwrap(),
        );
        assert!((stored - rerun).abs() < 1e-9, "{stored} against {rerun}");
    }
    // Trials off the front are never scored.
    for t in export_json(&s) {
        let on_front = front.iter().any(|f| f["number"] == t["number"]);
        assert_eq!(t["attrs"].get("test").is_some(), on_front, "{t:#}");
    }
    // --no-test: none scored.
    let other = study(dir.path(), "untested", "test_fraction = 0.25");
    run(&other, "2");
    let o = ps(&["export", other.to_str().unwrap(), "--pareto", "--no-test"]);
    assert!(
        o.status.success() && !text(&o).contains("test accuracy"),
        "{}",
        text(&o)
    );

    // The report shows them too.
    let html = dir.path().join("r.html");
    let o = ps(&[
        "report",
        s.to_str().unwrap(),
        "--out",
        html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("\"test\":{\"accuracy\":"),
        "no test figures in the report"
    );
}

#[test]
fn scoring_the_test_set_mid_study_changes_nothing_that_follows() {
    let dir = tempfile::tempdir().unwrap();
    let a = study(dir.path(), "straight", "test_fraction = 0.25");
    let b = study(dir.path(), "scored", "test_fraction = 0.25");
    // The names differ; the seed and everything else are the same.
    run(&a, "14");
    run(&b, "5");
    let o = ps(&["export", b.to_str().unwrap(), "--pareto", "--format", "csv"]);
    assert!(
        o.status.success() && text(&o).contains("test accuracy"),
        "{}",
        text(&o)
    );
    run(&b, "14");
    let h = history(&a);
    assert_eq!(h, history(&b));
    assert!(
        h.iter().any(|t| t.contains("PRUNED")),
        "nothing was pruned: {h:#?}"
    );
}
