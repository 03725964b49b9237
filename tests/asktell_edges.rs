//! The ask/tell commands as a training script drives them: a distinct exit
//! status when the pruner says stop, steps that must increase, seeds that
//! survive JSON tools, parameters printed with every digit, and typos in
//! `--values` named as typos.

mod common;

use common::{export_json, ps, text, write};

const STUDY: &str = r#"[study]
name = "asked"
seed = 11

[[objectives]]
name = "loss"
direction = "minimize"

[search_space]
lr = { type = "float", low = 1e-5, high = 1e-1, log = true }

[sampler]
kind = "random"

[pruner]
kind = "median"
warmup_steps = 2
min_trials = 1

[runner]
kind = "builtin"
problem = "zdt1"

[budget]
trials = 5
"#;

fn ask(s: &str) -> serde_json::Value {
    let o = ps(&["ask", s, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn tell_step(s: &str, n: u64, step: u64, loss: f64) -> std::process::Output {
    ps(&[
        "tell",
        s,
        &n.to_string(),
        "--step",
        &step.to_string(),
        "--values",
        &format!("{{\"loss\": {loss}}}"),
    ])
}

#[test]
fn tell_step_exits_4_when_the_pruner_says_stop_and_steps_must_increase() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "asked.toml", STUDY);
    let s = f.to_str().unwrap();
    // A first trial, good all along, completes.
    let t0 = ask(s)["trial"].as_u64().unwrap();
    for step in 1..=3 {
        let o = tell_step(s, t0, step, 0.1);
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = ps(&["tell", s, &t0.to_string(), "--values", "{\"loss\": 0.1}"]);
    assert!(o.status.success(), "{}", text(&o));
    // A second, far worse at step 2: stop, with exit status 4.
    let t1 = ask(s)["trial"].as_u64().unwrap();
    let o = tell_step(s, t1, 1, 9.0);
    assert!(o.status.success(), "warm-up step: {}", text(&o));
    let o = tell_step(s, t1, 2, 9.0);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("prune"),
        "{}",
        text(&o)
    );
    // The same step again (or an earlier one) is refused, nothing stored.
    for step in [2, 1] {
        let o = tell_step(s, t1, step, 0.0);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("steps must increase"),
            "{}",
            text(&o)
        );
    }
    let trials = export_json(&f);
    let t = trials.iter().find(|t| t["number"] == t1).unwrap();
    let reports = t["intermediate"].as_array().unwrap();
    assert_eq!(reports.len(), 2, "{t:#}");
    assert_eq!(reports[1]["values"]["loss"], 9.0, "{t:#}");
}

#[test]
fn ask_prints_seeds_as_strings_and_parameters_with_every_digit() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "asked.toml", STUDY);
    let s = f.to_str().unwrap();
    let j = ask(s);
    let seed_text = j["seed_str"].as_str().expect("seed_str");
    // The text parses to the same u64 as the number (serde_json keeps u64).
    assert_eq!(
        seed_text.parse::<u64>().unwrap(),
        j["seed"].as_u64().unwrap()
    );

    let o = ps(&["ask", s]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let shown: f64 = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("lr = "))
        .expect("lr printed")
        .parse()
        .unwrap();
    let n: u64 = out
        .split_whitespace()
        .nth(1)
        .and_then(|w| w.parse().ok())
        .expect("trial number");
    let stored = export_json(&f)
        .into_iter()
        .find(|t| t["number"] == n)
        .unwrap()["params"]["lr"]
        .as_f64()
        .unwrap();
    assert_eq!(shown, stored, "{out}");
}

#[test]
fn a_typo_in_values_is_named_as_a_typo() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "asked.toml", STUDY);
    let s = f.to_str().unwrap();
    let n = ask(s)["trial"].as_u64().unwrap();
    let o = ps(&["tell", s, &n.to_string(), "--values", "{\"los\": 0.3}"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("`los` is not an objective of this study (did you mean `loss`?)"),
        "{err}"
    );
    // Nothing was recorded: the right values are still accepted.
    let o = ps(&["tell", s, &n.to_string(), "--values", "{\"loss\": 0.3}"]);
    assert!(o.status.success(), "{}", text(&o));
}
