//! Study files written by `export --format toml` and `pick --out` are
//! studies of their own: `check` accepts each, and running it re-creates
//! the trial's values, conditional parameters inactive in the trial
//! included.

mod common;

use common::{export_json, ps, text, write};

const CONDITIONAL: &str = r#"[study]
name = "conditional"
seed = 5

[[objectives]]
name = "f1"
direction = "minimize"

[[objectives]]
name = "f2"
direction = "maximize"

[search_space]
optimizer = { type = "categorical", choices = ["sgd", "adam"] }
momentum = { type = "float", low = 0.0, high = 0.99, step = 0.01, when = { optimizer = "sgd" } }
width = { type = "int", low = 1, high = 9 }

[sampler]
kind = "random"

[runner]
kind = "command"
command = ["sh", "-c", "printf '{{\"f1\": %d, \"f2\": %d}}\\n' \"${{#1}}\" \"$2\"", "sh", "{momentum}", "{width}"]

[budget]
trials = 12
"#;

#[test]
fn exported_files_of_trials_with_inactive_parameters_check_and_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "conditional.toml", CONDITIONAL);
    let o = ps(&["run", f.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", text(&o));
    let trials = export_json(&f);
    let inactive = trials
        .iter()
        .filter(|t| t["params"].get("momentum").is_none())
        .count();
    assert!(inactive > 0 && inactive < trials.len(), "{trials:?}");
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
    for t in &trials {
        let file = out.join(format!("conditional-trial-{}.toml", t["number"]));
        let o = ps(&["check", file.to_str().unwrap()]);
        assert!(
            o.status.success(),
            "{}\n{}",
            text(&o),
            std::fs::read_to_string(&file).unwrap()
        );
        let o = ps(&["run", file.to_str().unwrap(), "--quiet"]);
        assert!(o.status.success(), "{}", text(&o));
        let rerun = export_json(&file);
        assert_eq!(rerun[0]["values"], t["values"], "{file:?}");
        assert_eq!(rerun[0]["params"], t["params"], "{file:?}");
    }
}

/// The Optuna journal names the objectives (the dashboard's axis labels)
/// and `--append` adds a second study with its own id, so journals of two
/// studies (two samplers, say) open side by side.
#[test]
fn optuna_journals_name_objectives_and_hold_several_studies() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.toml", CONDITIONAL);
    let b = write(
        dir.path(),
        "b.toml",
        &CONDITIONAL.replace("name = \"conditional\"", "name = \"other\""),
    );
    for f in [&a, &b] {
        let o = ps(&["run", f.to_str().unwrap(), "--quiet", "--trials", "4"]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let journal = dir.path().join("journal.log");
    let j = journal.to_str().unwrap();
    for (f, append) in [(&a, false), (&b, true)] {
        let mut args = vec![
            "export",
            f.to_str().unwrap(),
            "--format",
            "optuna-journal",
            "--out",
            j,
        ];
        if append {
            args.push("--append");
        }
        let o = ps(&args);
        assert!(o.status.success(), "{}", text(&o));
    }
    // The same study twice is refused, and the journal is left as it was.
    let before = std::fs::read_to_string(&journal).unwrap();
    let o = ps(&[
        "export",
        b.to_str().unwrap(),
        "--format",
        "optuna-journal",
        "--out",
        j,
        "--append",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&journal).unwrap(), before);

    let ops: Vec<serde_json::Value> = before
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let studies: Vec<&serde_json::Value> = ops.iter().filter(|o| o["op_code"] == 0).collect();
    assert_eq!(studies.len(), 2);
    let names: Vec<&serde_json::Value> = ops
        .iter()
        .filter(|o| o["op_code"] == 3)
        .map(|o| &o["system_attr"]["study:metric_names"])
        .collect();
    assert_eq!(names, [&serde_json::json!(["f1", "f2"]); 2]);
    let ids: Vec<u64> = ops
        .iter()
        .filter(|o| o["op_code"] == 4)
        .map(|o| o["study_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [0, 0, 0, 0, 1, 1, 1, 1]);

    // Where Optuna is installed, it reads the journal as meant.
    let probe = std::process::Command::new("python3")
        .args(["-c", "import optuna"])
        .output();
    if probe.is_ok_and(|o| o.status.success()) {
        let script = format!(
            "import optuna\nfrom optuna.storages import JournalStorage\nfrom optuna.storages.journal import JournalFileBackend\ns = JournalStorage(JournalFileBackend({j:?}))\nfor n in ['conditional', 'other']:\n    st = optuna.load_study(study_name=n, storage=s)\n    assert st.metric_names == ['f1', 'f2'], st.metric_names\n    assert len(st.trials) == 4, len(st.trials)\nprint('ok')\n"
        );
        let o = std::process::Command::new("python3")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
}

/// Exports say which trials meet the constraints: `feasible` in JSON and
/// CSV, true or false for COMPLETE trials, empty for the others.
#[test]
fn exports_mark_infeasible_trials() {
    let dir = tempfile::tempdir().unwrap();
    // f1 is the length of the momentum argument: 0 when inactive, 4 for
    // "0.57"; at most 3 is feasible.
    let f = write(
        dir.path(),
        "constrained.toml",
        &CONDITIONAL.replace(
            "name = \"f1\"\ndirection = \"minimize\"",
            "name = \"f1\"\ndirection = \"minimize\"\nconstraint = { max = 3.0 }",
        ),
    );
    let o = ps(&["run", f.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", text(&o));
    let trials = export_json(&f);
    for t in &trials {
        let f1 = t["values"]["f1"].as_f64().unwrap();
        assert_eq!(t["feasible"], serde_json::json!(f1 <= 3.0), "{t:#}");
    }
    assert!(trials.iter().any(|t| t["feasible"] == true));
    assert!(trials.iter().any(|t| t["feasible"] == false));
    let o = ps(&["export", f.to_str().unwrap(), "--format", "csv"]);
    assert!(o.status.success(), "{}", text(&o));
    let csv = String::from_utf8_lossy(&o.stdout);
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "feasible")
        .expect("feasible column");
    let infeasible = csv
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(col) == Some("false"))
        .count();
    assert_eq!(
        infeasible,
        trials.iter().filter(|t| t["feasible"] == false).count()
    );
}

/// `export --pareto --format optuna-journal` keeps the trial numbers:
/// Optuna numbers a journal's trials in write order, so the journal holds
/// every trial and marks the Pareto set with the user attribute `pareto`
/// (a journal of the Pareto set alone renumbered trial 7 as 0).
#[test]
fn pareto_journal_keeps_trial_numbers_and_marks_the_front() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "conditional.toml", CONDITIONAL);
    let o = ps(&["run", f.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = ps(&["status", f.to_str().unwrap(), "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut front: Vec<u64> = status["pareto"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_u64().unwrap())
        .collect();
    front.sort_unstable();
    // A front that is not trials 0, 1, ...: leaving the others out would
    // have renumbered it.
    assert!(
        front.iter().enumerate().any(|(i, &n)| i as u64 != n),
        "{front:?}"
    );
    let journal = dir.path().join("pareto.log");
    let o = ps(&[
        "export",
        f.to_str().unwrap(),
        "--pareto",
        "--format",
        "optuna-journal",
        "--out",
        journal.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("pareto = true"),
        "{}",
        text(&o)
    );
    let ops: Vec<serde_json::Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let trials: Vec<&serde_json::Value> = ops.iter().filter(|o| o["op_code"] == 4).collect();
    assert_eq!(trials.len(), 12);
    for (i, t) in trials.iter().enumerate() {
        // Write order is Optuna's numbering.
        assert_eq!(t["user_attrs"]["paretosearch_number"], i as u64, "{t}");
    }
    let marked: Vec<u64> = trials
        .iter()
        .filter(|t| t["user_attrs"]["pareto"] == true)
        .map(|t| t["user_attrs"]["paretosearch_number"].as_u64().unwrap())
        .collect();
    assert_eq!(marked, front);
    assert!(trials
        .iter()
        .all(|t| t["user_attrs"]["pareto"].is_boolean()));

    // Where Optuna is installed: its numbers are ours, and its own Pareto
    // set of the journal is the marked one.
    let probe = std::process::Command::new("python3")
        .args(["-c", "import optuna"])
        .output();
    if probe.is_ok_and(|o| o.status.success()) {
        let j = journal.to_str().unwrap();
        let script = format!(
            "import optuna\nfrom optuna.storages import JournalStorage\nfrom optuna.storages.journal import JournalFileBackend\ns = JournalStorage(JournalFileBackend({j:?}))\nst = optuna.load_study(study_name='conditional', storage=s)\nassert len(st.trials) == 12, len(st.trials)\nfor t in st.trials:\n    assert t.number == t.user_attrs['paretosearch_number'], (t.number, t.user_attrs)\nmarked = sorted(t.number for t in st.trials if t.user_attrs['pareto'])\nbest = sorted(t.number for t in st.best_trials)\nassert marked == best, (marked, best)\nprint(marked)\n"
        );
        let o = std::process::Command::new("python3")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).trim(),
            format!("{front:?}")
        );
    }
}
