//! Every study in `studies/` runs as it is: one trial of each, from a copy
//! of the repository's `studies/` and `search_spaces/`, run from another
//! working directory. A study file that drifts from the parser, a fragment
//! that moved, or a runner option that no longer exists fails here, not in
//! a user's first minute. (`command-demo` is run longer in `cli.rs`.)

mod common;
use common::{bin, example_studies, export_json, ps, text};

use std::process::Command;

#[test]
fn every_example_study_runs_one_trial() {
    let dir = example_studies();
    let mut studies: Vec<_> = std::fs::read_dir(dir.path().join("studies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    studies.sort();
    assert!(studies.len() >= 5, "{studies:?}");
    for study in &studies {
        let torch = std::fs::read_to_string(study)
            .unwrap()
            .contains("kind = \"torch\"");
        if torch && !cfg!(feature = "torch") {
            // Built without libtorch: the study is refused, saying why.
            let o = ps(&["check", study.to_str().unwrap()]);
            assert_eq!(o.status.code(), Some(2), "{}", text(&o));
            assert!(text(&o).contains("no libtorch support"), "{}", text(&o));
            continue;
        }
        // `check` validates it, builds its runner and creates nothing.
        let o = ps(&["check", study.to_str().unwrap()]);
        assert!(o.status.success(), "{}: {}", study.display(), text(&o));
        assert!(text(&o).contains("is valid"), "{}", text(&o));
        assert!(text(&o).contains("does not exist yet"), "{}", text(&o));
        let db = study.with_extension("db");
        assert!(!db.exists(), "check created {}", db.display());
        let o = Command::new(bin())
            .args(["run", study.to_str().unwrap(), "--trials", "1", "--plain"])
            .current_dir("/")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}: {}", study.display(), text(&o));
        let trials = export_json(study);
        assert_eq!(trials.len(), 1, "{}", study.display());
        let t = &trials[0];
        // The first trial has nothing to be pruned against.
        assert_eq!(t["state"], "COMPLETE", "{}: {t:#}", study.display());
        let o = ps(&["check", study.to_str().unwrap(), "--json"]);
        assert!(o.status.success(), "{}", text(&o));
        let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let state = c["storage"]["state"].as_str().unwrap();
        assert!(state.starts_with("1 of "), "{}: {state}", study.display());
        let spec: toml::Table = std::fs::read_to_string(study).unwrap().parse().unwrap();
        for o in spec["objectives"].as_array().unwrap() {
            let name = o["name"].as_str().unwrap();
            let v = t["values"][name].as_f64();
            assert!(
                v.is_some_and(f64::is_finite),
                "{}: objective {name} missing: {t:#}",
                study.display()
            );
        }
    }
}
