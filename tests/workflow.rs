//! End-to-end tests of the commands around a study: `pick` (filter the
//! front and export a runnable file), `ask` / `tell` (a script drives the
//! study), and the shell completions and help.

use serde_json::Value;

mod common;
use common::{ok_json, ps, run_study, text, zdt1_study};

#[test]
fn pick_filters_and_exports_a_runnable_file() {
    let dir = tempfile::tempdir().unwrap();
    let study = zdt1_study(dir.path(), 30);
    run_study(&study);
    let s = study.to_str().unwrap();
    let all = ok_json(&["export", s]);
    let expected = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["state"] == "COMPLETE" && t["values"]["f1"].as_f64().unwrap() < 0.5)
        .min_by(|a, b| {
            a["values"]["f2"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["values"]["f2"].as_f64().unwrap())
        })
        .expect("some trial has f1 < 0.5")
        .clone();
    let out = dir.path().join("best/pick.toml");
    let picked = ok_json(&[
        "pick",
        s,
        "--where",
        "f1 < 0.5",
        "--best",
        "f2",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(picked["trial"]["number"], expected["number"]);
    assert!(picked["trial"]["values"]["f1"].as_f64().unwrap() < 0.5);
    // Two conditions joined by `and` narrow further (or empty the set: exit 1).
    let narrow = ps(&[
        "pick",
        s,
        "--where",
        "f1 < 0.5 and x0 >= 0.25",
        "--best",
        "f2",
        "--json",
    ]);
    match narrow.status.code() {
        Some(0) => {
            let v: Value = serde_json::from_slice(&narrow.stdout).unwrap();
            let x0 = v["trial"]["params"]["x0"].as_f64().unwrap();
            assert!(x0 >= 0.25 && v["trial"]["values"]["f1"].as_f64().unwrap() < 0.5);
        }
        other => assert_eq!(other, Some(1), "{}", text(&narrow)),
    }
    // The exported file re-runs the same configuration: same values.
    let rerun = ps(&["run", out.to_str().unwrap(), "--plain", "--quiet"]);
    assert!(rerun.status.success(), "{}", text(&rerun));
    let again = ok_json(&["export", out.to_str().unwrap()]);
    let f2 = again[0]["values"]["f2"].as_f64().unwrap();
    assert!((f2 - expected["values"]["f2"].as_f64().unwrap()).abs() < 1e-9);
    // The default rule picks a Pareto-optimal trial.
    let status = ok_json(&["status", s, "--json"]);
    let compromise = ok_json(&["pick", s, "--json"]);
    assert!(status["pareto"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["number"] == compromise["trial"]["number"]));
    // Human output: no colour when not on a terminal.
    let o = ps(&["pick", s, "--best", "f1"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!o.stdout.contains(&0x1b));
    // Nothing qualifies: exit 1; a name that is not there: exit 2.
    assert_eq!(
        ps(&["pick", s, "--where", "f1 < -1"]).status.code(),
        Some(1)
    );
    let bad = ps(&["pick", s, "--where", "latency < 5"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("latency"));
    assert_eq!(ps(&["pick", s, "--best", "x0"]).status.code(), Some(2));
}

#[test]
fn ask_and_tell_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let study = zdt1_study(dir.path(), 3);
    let s = study.to_str().unwrap();
    // `ask` creates the study and hands out trial 0 with every parameter.
    let a = ok_json(&["ask", s, "--json"]);
    assert_eq!(a["trial"], 0);
    assert_eq!(a["params"].as_object().unwrap().len(), 10);
    assert_eq!(a["objectives"], serde_json::json!(["f1", "f2"]));
    let status = ok_json(&["status", s, "--json"]);
    assert_eq!(status["counts"]["RUNNING"], 1);

    // Bad values are refused and nothing is recorded.
    let o = ps(&["tell", s, "0", "--values", r#"{"f1": 0.5}"#]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("f2"));
    assert_eq!(
        ps(&["tell", s, "0", "--values", "f1=1"]).status.code(),
        Some(2)
    );

    // An intermediate report, then the result.
    let r = ok_json(&[
        "tell",
        s,
        "0",
        "--step",
        "1",
        "--values",
        r#"{"f1": 0.7, "f2": 3.0}"#,
        "--json",
    ]);
    assert_eq!(r["prune"], false);
    let t = ok_json(&[
        "tell",
        s,
        "0",
        "--values",
        r#"{"f1": 0.25, "f2": 2.5}"#,
        "--json",
    ]);
    assert_eq!(t["state"], "COMPLETE");
    assert_eq!(t["pareto_optimal"], true);
    let status = ok_json(&["status", s, "--json"]);
    assert_eq!(status["counts"]["COMPLETE"], 1);
    assert_eq!(status["counts"]["RUNNING"], 0);
    let exported = ok_json(&["export", s]);
    assert_eq!(exported[0]["values"]["f1"], 0.25);
    assert_eq!(exported[0]["intermediate"][0]["step"], 1);

    // Finished trials are immutable; unknown trials are reported.
    let o = ps(&["tell", s, "0", "--values", r#"{"f1": 0.1, "f2": 0.1}"#]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already COMPLETE"));
    assert_eq!(
        ps(&["tell", s, "9", "--state", "fail"]).status.code(),
        Some(2)
    );

    // A failure and a pruning with a reason.
    assert_eq!(ok_json(&["ask", s, "--json"])["trial"], 1);
    let f = ok_json(&[
        "tell",
        s,
        "1",
        "--state",
        "fail",
        "--reason",
        "OOM on node 7",
        "--json",
    ]);
    assert_eq!(f["state"], "FAIL");
    assert_eq!(f["reason"], "OOM on node 7");
    assert_eq!(ok_json(&["ask", s, "--json"])["trial"], 2);
    let p = ok_json(&["tell", s, "2", "--state", "pruned", "--json"]);
    assert_eq!(p["state"], "PRUNED");

    // The budget (3) is spent: exit status 3, nothing handed out.
    let o = ps(&["ask", s, "--json"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["trial"].is_null());
    // ... unless the budget is raised.
    assert_eq!(ok_json(&["ask", s, "--trials", "4", "--json"])["trial"], 3);
    let o = ps(&["ask", s, "--trials", "4"]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "a RUNNING trial counts towards the budget"
    );
}

#[test]
fn completions_and_help() {
    for shell in ["bash", "zsh", "fish"] {
        let o = ps(&["completions", shell]);
        assert!(o.status.success(), "{}", text(&o));
        let script = String::from_utf8_lossy(&o.stdout);
        assert!(script.contains("paretosearch"));
        assert!(script.contains("pick"), "{shell} completes subcommands");
    }
    for cmd in ["plot", "report", "serve", "pick", "ask", "tell"] {
        let o = ps(&[cmd, "--help"]);
        assert!(o.status.success());
        let help = String::from_utf8_lossy(&o.stdout);
        assert!(help.contains("Example"), "`{cmd} --help` has an example");
        assert!(
            help.contains("--storage"),
            "`{cmd} --help` documents --storage"
        );
    }
}
