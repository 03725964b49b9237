//! What `run` prints at its edges: `--quiet` keeps the final summary its
//! help promises, and a study whose budget is spent says so instead of
//! starting workers.

mod common;

use common::{ps, text, write};

fn zdt1(trials: u64) -> String {
    let space: String = common::zdt_space();
    format!(
        "[study]\nname = \"edges\"\n\n[[objectives]]\nname = \"f1\"\ndirection = \"minimize\"\n\n[[objectives]]\nname = \"f2\"\ndirection = \"minimize\"\n\n[search_space]\n{space}\n[runner]\nkind = \"builtin\"\nproblem = \"zdt1\"\n\n[budget]\ntrials = {trials}\n"
    )
}

#[test]
fn quiet_runs_print_the_final_summary_only() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "edges.toml", &zdt1(4));
    let o = ps(&["run", f.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("done in") && out.contains("4 of 4 trials finished"),
        "{out}"
    );
    assert!(!out.contains("running with"), "progress printed: {out}");
    assert!(!out.contains("trial 0 "), "per-trial lines printed: {out}");
}

#[test]
fn a_spent_budget_is_named_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "edges.toml", &zdt1(3));
    let o = ps(&["run", f.to_str().unwrap(), "--plain"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = ps(&["run", f.to_str().unwrap(), "--plain"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("budget spent: 3 of 3 trials finished"),
        "{out}"
    );
    assert!(out.contains("--trials"), "{out}");
    assert!(!out.contains("running with"), "{out}");
    assert_eq!(common::export_json(&f).len(), 3);
    // Raising it runs the difference.
    let o = ps(&["run", f.to_str().unwrap(), "--plain", "--trials", "5"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(common::export_json(&f).len(), 5);
}
