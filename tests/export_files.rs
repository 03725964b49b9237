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
