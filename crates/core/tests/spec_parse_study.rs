//! Study-file parsing: the documented example, the defaults of optional
//! tables, durations, the one-line `Display` of errors and `to_json`.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use paretosearch_core::spec::RunnerSpec;
use paretosearch_core::{Condition, Direction, Distribution, Monotone, ParamValue};

use common::*;

#[test]
fn the_documented_example_parses() {
    let spec = parse(EXAMPLE).unwrap();
    assert_eq!(spec.name, "zdt1-demo");
    assert_eq!(spec.seed, 7);
    assert_eq!(spec.storage, None);
    assert_eq!(spec.heartbeat, Duration::from_secs(2));
    assert_eq!(spec.stale_after, Duration::from_secs(60));
    assert_eq!(spec.retries, 1);

    assert_eq!(spec.objectives.names(), vec!["f1", "f2"]);
    assert_eq!(
        spec.objectives.directions(),
        vec![Direction::Minimize, Direction::Maximize]
    );
    let f1 = &spec.objectives.0[0];
    assert!(f1.cheap);
    assert_eq!(f1.constraint.unwrap().max, Some(5.0));
    assert_eq!(f1.constraint.unwrap().min, None);

    let s = &spec.space;
    assert_eq!(s.len(), 8);
    assert_eq!(
        s.get("x0").unwrap().distribution,
        Distribution::Float {
            low: 0.0,
            high: 1.0,
            log: false,
            step: None
        }
    );
    assert!(s.get("lr").unwrap().distribution.is_log());
    assert_eq!(
        s.get("layers").unwrap().distribution,
        Distribution::Int {
            low: 1,
            high: 8,
            log: false,
            step: 1
        }
    );
    let width = s.get("width").unwrap();
    assert_eq!(
        width.distribution,
        Distribution::Int {
            low: 16,
            high: 1024,
            log: false,
            step: 16
        }
    );
    assert_eq!(width.monotone, Some(Monotone::Increasing));
    assert_eq!(
        s.get("momentum").unwrap().when,
        vec![Condition {
            parent: "optimizer".into(),
            values: vec![
                ParamValue::Str("sgd".into()),
                ParamValue::Str("rmsprop".into())
            ],
        }]
    );
    // Parents precede children.
    assert!(s.index_of("optimizer").unwrap() < s.index_of("momentum").unwrap());
    // The fragment's parameters are merged where `include` is written.
    assert_eq!(
        s.get("dropout").unwrap().distribution,
        Distribution::Float {
            low: 0.0,
            high: 0.5,
            log: false,
            step: Some(0.1)
        }
    );
    assert_eq!(
        s.get("act").unwrap().distribution,
        Distribution::Categorical {
            choices: vec![
                ParamValue::Bool(true),
                ParamValue::Int(1),
                ParamValue::Float(2.5),
                ParamValue::Str("relu".into())
            ]
        }
    );
    assert_eq!(spec.origin.fragments.len(), 1);
    assert_eq!(spec.origin.fragments[0].file, PathBuf::from(FRAGMENT));
    assert_eq!(spec.origin.fragments[0].params, vec!["dropout", "act"]);

    assert_eq!(spec.sampler.kind, "tpe");
    assert_eq!(
        spec.sampler
            .options
            .get("n_startup")
            .and_then(|v| v.as_integer()),
        Some(10)
    );
    assert!(!spec.sampler.options.contains_key("kind"));
    assert_eq!(spec.pruner.as_ref().unwrap().kind, "dominated");

    let RunnerSpec::Command(c) = &spec.runner else {
        panic!("{:?}", spec.runner)
    };
    assert_eq!(c.command[3], "{lr}");
    assert_eq!(c.command.last().unwrap(), "--json={{}}");
    assert_eq!(c.timeout, Some(Duration::from_secs(600)));
    assert_eq!(c.grace, Duration::from_secs(5));
    assert_eq!(c.workdir, PathBuf::from("studies"));
    assert_eq!(
        c.env.get("CUDA_VISIBLE_DEVICES").map(String::as_str),
        Some("0")
    );
    assert_eq!(c.profile_command, None);

    assert_eq!(spec.budget.trials, 100);
    assert_eq!(spec.budget.timeout, Some(Duration::from_secs(7200)));
    assert_eq!(spec.budget.workers, 2);
}

#[test]
fn optional_tables_take_defaults() {
    let text = r#"
[study]
name = "s"
[[objectives]]
name = "y"
direction = "minimize"
[search_space]
x = { type = "float", low = -1, high = 1 }
[runner]
kind = "builtin"
problem = "zdt1"
[budget]
trials = 3
"#;
    let spec = parse(text).unwrap();
    assert_eq!(spec.sampler.kind, "auto");
    assert!(spec.sampler.options.is_empty());
    assert!(spec.pruner.is_none());
    assert_eq!(spec.seed, 0);
    assert_eq!(spec.heartbeat, Duration::from_secs(5));
    assert_eq!(spec.budget.workers, 1);
    assert_eq!(spec.budget.timeout, None);
    assert_eq!(
        spec.runner,
        RunnerSpec::Builtin(paretosearch_core::spec::BuiltinSpec {
            problem: "zdt1".into(),
            delay: None,
        })
    );
    // A fixed duration per trial, for benchmarks of many workers.
    let timed =
        parse(&text.replace("problem = \"zdt1\"", "problem = \"zdt1\"\ndelay = \"20ms\"")).unwrap();
    match &timed.runner {
        RunnerSpec::Builtin(b) => assert_eq!(b.delay, Some(Duration::from_millis(20))),
        other => panic!("expected a builtin runner, got {other:?}"),
    }
    assert_eq!(timed.to_json()["runner"]["delay"], "20ms");
    let bad = text.replace("problem = \"zdt1\"", "problem = \"zdt1\"\ndelay = 20");
    let e = parse(&bad).unwrap_err();
    assert_eq!(e.field, "runner.delay", "{e}");
}

#[test]
fn durations_must_parse() {
    let text = edit("timeout = \"10m\"", "timeout = \"10 minutes please\"");
    let e = expect_err(
        &text,
        line_of(&text, "10 minutes"),
        "runner.timeout",
        "is not a duration",
    );
    assert!(e.help.unwrap().contains("\"90s\""));
    let text = edit("timeout = \"2h\"", "timeout = 7200");
    expect_err(
        &text,
        line_of(&text, "7200"),
        "budget.timeout",
        "expected a duration string",
    );
    let text = edit(
        "heartbeat = \"2s\"",
        "heartbeat = \"2s\"\nstale_after = \"1s\"",
    );
    expect_err(
        &text,
        line_of(&text, "stale_after"),
        "study.stale_after",
        "must be longer than heartbeat",
    );
}

#[test]
fn display_is_one_readable_line() {
    let e = expect_err(
        &edit("low = 1e-5, high = 1e-1", "low = 0.1, high = 0.01"),
        line_of(EXAMPLE, "lr = {"),
        "search_space.lr.low",
        "low (0.1) must be less than high (0.01)",
    );
    let col = col_of(EXAMPLE, "1e-5");
    assert_eq!(
        e.to_string(),
        format!(
            "studies/study.toml:{}:{col}: `search_space.lr.low`: low (0.1) must be less than high (0.01) (fix: make low smaller than high (swap them if they are reversed))",
            line_of(EXAMPLE, "lr = {")
        )
    );
    assert!(!e.to_string().contains('\n'));
}

#[test]
fn to_json_is_canonical_and_complete() {
    let spec = parse(EXAMPLE).unwrap();
    let j = spec.to_json();
    assert_eq!(j["study"]["name"], "zdt1-demo");
    assert_eq!(j["study"]["heartbeat"], "2s");
    assert_eq!(j["study"]["stale_after"], "1m");
    assert_eq!(j["objectives"][1]["direction"], "maximize");
    assert_eq!(j["objectives"][0]["constraint"]["max"], 5.0);
    assert_eq!(j["search_space"].as_array().unwrap().len(), 8);
    let lr = j["search_space"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "lr")
        .unwrap();
    assert_eq!(lr["distribution"]["type"], "float");
    assert_eq!(lr["distribution"]["log"], true);
    assert_eq!(
        j["sampler"],
        serde_json::json!({"kind": "tpe", "options": {"n_startup": 10}})
    );
    assert_eq!(j["pruner"]["kind"], "dominated");
    assert_eq!(j["runner"]["kind"], "command");
    assert_eq!(j["runner"]["timeout"], "10m");
    assert_eq!(j["runner"]["grace"], "5s");
    assert_eq!(j["runner"]["workdir"], "studies");
    assert_eq!(
        j["budget"],
        serde_json::json!({"trials": 100, "timeout": "2h", "workers": 2})
    );
    // Formatting and comments do not change it.
    let reformatted = EXAMPLE
        .replace("seed = 7", "seed   =   7   # lucky")
        .replace("\n\n", "\n\n\n");
    assert_eq!(parse(&reformatted).unwrap().to_json(), j);
    assert_eq!(
        serde_json::to_string(&j).unwrap(),
        serde_json::to_string(&parse(EXAMPLE).unwrap().to_json()).unwrap()
    );
}
