//! Unit tests of the crate root: building pruners from a study's
//! `[pruner]` table and the cheap values a profile stores.

use crate::testkit::*;
use crate::*;

fn spec(kind: &str, options: &str) -> PrunerSpec {
    PrunerSpec {
        kind: kind.into(),
        options: table(options),
    }
}

#[test]
fn build_reports_the_offending_key() {
    let space = SearchSpace::default();
    let o = acc_latency();
    let e = build(Some(&spec("dominated", "warmup = 2")), &space, &o).unwrap_err();
    assert_eq!(e.key(), "warmup");
    let e = build(Some(&spec("medain", "")), &space, &o).unwrap_err();
    assert_eq!(e.key(), "kind");
    let e = build(Some(&spec("dominated", "z = -1.0")), &space, &o).unwrap_err();
    assert_eq!(e.key(), "z");
    let e = build(Some(&spec("median", "")), &space, &o).unwrap_err();
    assert_eq!(e.key(), "metric", "two objectives need a metric");
    let e = build(Some(&spec("median", "metric = \"acc\"")), &space, &o).unwrap_err();
    assert_eq!(e.key(), "metric");
    let e = build(Some(&spec("none", "partial_order = true")), &space, &o).unwrap_err();
    assert_eq!(e.key(), "partial_order", "no monotone parameter");
    let e = build(
        Some(&spec("none", "partial_order_margin = 0.1")),
        &space,
        &o,
    )
    .unwrap_err();
    assert_eq!(e.key(), "partial_order_margin");
    let e = build(
        Some(&spec("hyperband", "metric = \"accuracy\"")),
        &space,
        &o,
    )
    .unwrap_err();
    assert_eq!(e.key(), "max_resource");
    let e = build(Some(&spec("mo-asha", "")), &space, &o).unwrap_err();
    assert_eq!(e.key(), "max_resource");
    assert!(e.to_string().contains("mo-asha needs"), "{e}");
    let e = build(
        Some(&spec("mo-asha", "max_resource = 9\nmetric = \"accuracy\"")),
        &space,
        &o,
    )
    .unwrap_err();
    assert_eq!(e.key(), "metric", "mo-asha uses every objective");
    let e = build(
        Some(&spec("mo-asha", "max_resource = 9\nbrackets = 4")),
        &space,
        &o,
    )
    .unwrap_err();
    assert_eq!(e.key(), "brackets");
    let e = build(
        Some(&spec("mo-asha", "max_resource = 9\nwarmup_steps = -1")),
        &space,
        &o,
    )
    .unwrap_err();
    assert_eq!(e.key(), "warmup_steps");
}

#[test]
fn build_kinds() {
    let space = SearchSpace::default();
    let o = acc_latency();
    assert!(build(None, &space, &o).unwrap().early.is_none());
    let p = build(Some(&spec("dominated", "")), &space, &o).unwrap();
    assert_eq!(p.early.as_ref().unwrap().name(), "dominated");
    assert!(p.needs_profile(&o));
    let p = build(
        Some(&spec("median", "metric = \"accuracy\"\nwarmup_steps = 3")),
        &space,
        &o,
    )
    .unwrap();
    assert_eq!(p.early.as_ref().unwrap().name(), "median");
    assert!(!p.needs_profile(&o));
    let p = build(
        Some(&spec(
            "hyperband",
            "metric = \"accuracy\"\nmax_resource = 27\nreduction_factor = 3",
        )),
        &space,
        &o,
    )
    .unwrap();
    assert_eq!(p.early.as_ref().unwrap().name(), "hyperband");
    let p = build(
        Some(&spec(
            "mo-asha",
            "max_resource = 27\nreduction_factor = 3\nbrackets = 2\nmin_trials = 4\nwarmup_steps = 1",
        )),
        &space,
        &o,
    )
    .unwrap();
    assert_eq!(p.early.as_ref().unwrap().name(), "mo-asha");
    assert!(p.needs_profile(&o), "latency is cheap");
    for kind in KINDS {
        let options = if kind.ends_with("asha") || *kind == "hyperband" {
            "max_resource = 9"
        } else {
            ""
        };
        let options = if matches!(*kind, "median" | "hyperband") {
            format!("{options}\nmetric = \"accuracy\"")
        } else {
            options.to_string()
        };
        assert!(
            build(Some(&spec(kind, &options)), &space, &o).is_ok(),
            "{kind}"
        );
    }
    assert!(build(Some(&spec("none", "")), &space, &o)
        .unwrap()
        .early
        .is_none());
}

#[test]
fn cheap_values_round_trip() {
    let t = with_cheap(Trial::new(0, TrialState::Running), &[("latency", 1.5)]);
    assert_eq!(cheap_values(&t), [("latency".to_string(), 1.5)].into());
    assert!(cheap_values(&Trial::new(1, TrialState::Running)).is_empty());
}
