//! `status --posterior` and `export --pareto --posterior`: the posterior
//! Pareto set of a study with noisy objectives.

mod common;

use common::{ps, text, write};

/// A command whose two objectives are known functions of `x` plus
/// Gaussian-ish noise (sd about 0.1) drawn from the trial's seed.
const NOISY: &str = r#"#!/bin/sh
awk -v x="$1" -v s="$PARETOSEARCH_SEED" 'BEGIN {
  srand(s % 2147483647);
  n1 = (rand() + rand() + rand() + rand() - 2) * 0.17;
  n2 = (rand() + rand() + rand() + rand() - 2) * 0.17;
  printf "{\"f1\": %.6f, \"f2\": %.6f}\n", x + n1, (1 - x) * (1 - x) + n2;
}'
"#;

fn study(dir: &std::path::Path) -> std::path::PathBuf {
    let script = write(dir, "noisy.sh", NOISY);
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    write(
        dir,
        "noisy.toml",
        r#"
[study]
name = "noisy"
seed = 3

[search_space]
x = { type = "float", low = 0.0, high = 1.0 }

[[objectives]]
name = "f1"
direction = "minimize"

[[objectives]]
name = "f2"
direction = "minimize"

[sampler]
kind = "random"

[runner]
kind = "command"
command = ["./noisy.sh", "{x}"]

[budget]
trials = 40
"#,
    )
}

fn truth(x: f64) -> [f64; 2] {
    [x, (1.0 - x) * (1.0 - x)]
}

#[test]
fn the_posterior_set_reports_estimates_closer_to_the_truth_than_the_measurements() {
    let dir = tempfile::tempdir().unwrap();
    let file = study(dir.path());
    let f = file.to_str().unwrap();
    let o = ps(&["run", f, "-q"]);
    assert!(o.status.success(), "{}", text(&o));

    let o = ps(&["status", f, "--posterior", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let post = &s["posterior"];
    let front = post["pareto"].as_array().unwrap();
    assert!(front.len() >= 3, "{post}");
    let noise = post["noise_sd"]["f1"].as_f64().unwrap();
    assert!((0.03..0.3).contains(&noise), "fitted noise {noise}");
    let (mut err_estimate, mut err_observed) = (0.0, 0.0);
    for t in front {
        let x = t["params"]["x"].as_f64().unwrap();
        for (j, name) in ["f1", "f2"].iter().enumerate() {
            let truth = truth(x)[j];
            err_estimate += (t["posterior"]["mean"][name].as_f64().unwrap() - truth).abs();
            err_observed += (t["values"][name].as_f64().unwrap() - truth).abs();
            assert!(t["posterior"]["sd"][name].as_f64().unwrap() >= 0.0);
        }
    }
    assert!(
        err_estimate < 0.6 * err_observed,
        "estimates {err_estimate} against measurements {err_observed}"
    );

    // The text output shows both sets.
    let o = ps(&["status", f, "--posterior"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Pareto set:"), "{out}");
    assert!(out.contains("posterior Pareto set"), "{out}");
    assert!(out.contains("f1 estimate"), "{out}");

    // export: the posterior set, each trial with its estimate.
    let o = ps(&["export", f, "--pareto", "--posterior", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let exported: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let numbers = |v: &[serde_json::Value]| -> Vec<u64> {
        let mut n: Vec<u64> = v.iter().map(|t| t["number"].as_u64().unwrap()).collect();
        n.sort_unstable();
        n
    };
    assert_eq!(numbers(&exported), numbers(front));
    assert!(exported
        .iter()
        .all(|t| t["attrs"]["posterior"]["mean"]["f2"].is_f64()));
    let o = ps(&["export", f, "--pareto", "--posterior", "--format", "csv"]);
    assert!(o.status.success(), "{}", text(&o));
    let csv = String::from_utf8_lossy(&o.stdout);
    let header = csv.lines().next().unwrap();
    for col in [
        "posterior.f1",
        "posterior.f2",
        "posterior_sd.f1",
        "values.f1",
    ] {
        assert!(header.contains(col), "{header}");
    }
    // --posterior is a choice of Pareto set: it needs --pareto.
    let o = ps(&["export", f, "--posterior"]);
    assert!(!o.status.success(), "{}", text(&o));
}
