//! The held-out test set: scored by `evaluate_test` on a re-run that
//! reproduces the trial, and never seen by a trial (what a trial measures
//! does not depend on the test rows' contents).

use std::collections::BTreeMap;

use paretosearch_core::{ParamValue, TrialOutcome};
use paretosearch_runner::{NoReporter, Runner};
use tch::{Device, Tensor};
use tokio_util::sync::CancellationToken;

use super::tests::{build, job};
use crate::data;

const OBJ: [&str; 2] = ["accuracy", "size_bytes"];
const SPACE: &str = "width = { type = \"int\", low = 8, high = 32 }";
const RUN: &str =
    "device = \"cpu\"\nepochs = 6\nlatency_repeats = 2\nlatency_warmup = 1\nlimit = 600";

fn params() -> Vec<(&'static str, ParamValue)> {
    vec![
        ("width", ParamValue::Int(32)),
        ("optimizer", ParamValue::Str("adam".into())),
        ("lr", ParamValue::Float(0.01)),
    ]
}

async fn run(r: &super::TorchRunner) -> BTreeMap<String, f64> {
    match r
        .run(job(&params(), &OBJ), &NoReporter, CancellationToken::new())
        .await
    {
        TrialOutcome::Complete(v) => v,
        other => panic!("{other:?}"),
    }
}

/// 300 digits (rows 1000..1300) as an npz file, with their labels, or with
/// every label moved to the next class (`wrong`).
fn digits_npz(dir: &std::path::Path, wrong: bool) -> std::path::PathBuf {
    let d = data::load_digits().unwrap();
    let x = d.x.narrow(0, 1000, 300).to_device(Device::Cpu);
    let mut y = d.y.narrow(0, 1000, 300);
    if wrong {
        y = (y + 1).remainder(10);
    }
    let path = dir.join(if wrong { "wrong.npz" } else { "test.npz" });
    Tensor::write_npz(&[("x", &x), ("y", &y)], &path).unwrap();
    path
}

fn with_test(file: &std::path::Path) -> String {
    format!(
        "{RUN}\nmodel = \"mlp\"\ntest = {{ kind = \"npz\", path = \"{}\", x = \"x\", y = \"y\" }}",
        file.display()
    )
}

#[tokio::test]
async fn the_test_set_is_scored_on_a_re_run_that_reproduces_the_trial() {
    let r = build(&format!("{RUN}\ntest_fraction = 0.25"), SPACE, &OBJ).unwrap();
    let stored = run(&r).await;
    let scores = r
        .evaluate_test(job(&params(), &OBJ))
        .await
        .expect("a runner with a test set scores it")
        .unwrap();
    // The re-run is the trial again: the same validation figures.
    assert_eq!(
        scores.valid.keys().collect::<Vec<_>>(),
        ["accuracy", "loss"]
    );
    assert!(
        (scores.valid["accuracy"] - stored["accuracy"]).abs() < 1e-9,
        "{scores:?} against {stored:?}"
    );
    let acc = scores.test["accuracy"];
    assert!(acc > 0.5 && acc <= 1.0, "{scores:?}");
    assert!(scores.test["loss"].is_finite());

    // Without a test set there is nothing to score.
    let plain = build(RUN, SPACE, &OBJ).unwrap();
    assert!(plain.evaluate_test(job(&params(), &OBJ)).await.is_none());
}

#[tokio::test]
async fn what_a_trial_measures_does_not_depend_on_the_test_rows() {
    let dir = tempfile::tempdir().unwrap();
    let right = build(&with_test(&digits_npz(dir.path(), false)), SPACE, &OBJ).unwrap();
    let wrong = build(&with_test(&digits_npz(dir.path(), true)), SPACE, &OBJ).unwrap();
    let none = build(&format!("{RUN}\nmodel = \"mlp\""), SPACE, &OBJ).unwrap();
    let (a, b, c) = (run(&right).await, run(&wrong).await, run(&none).await);
    for k in ["accuracy", "size_bytes"] {
        assert_eq!(a[k], b[k], "{k}: {a:?} / {b:?}");
        assert_eq!(a[k], c[k], "{k}: {a:?} / {c:?}");
    }
    // ... while the test scores are the test rows' own: every label
    // moved to the wrong class, the test accuracy collapses.
    let sa = right
        .evaluate_test(job(&params(), &OBJ))
        .await
        .unwrap()
        .unwrap();
    let sb = wrong
        .evaluate_test(job(&params(), &OBJ))
        .await
        .unwrap()
        .unwrap();
    assert!(
        sa.test["accuracy"] > 0.5 && sb.test["accuracy"] < 0.3,
        "{sa:?} / {sb:?}"
    );
    assert_eq!(sa.valid, sb.valid);
}

#[test]
fn test_and_test_fraction_are_checked_where_they_are_written() {
    let both = format!("{RUN}\ntest_fraction = 0.2\ntest = \"x.csv\"");
    let e = build(&both, SPACE, &OBJ).err().unwrap();
    assert!(
        e.line.is_some() && e.to_string().contains("test_fraction"),
        "{e}"
    );
    let big = format!("{RUN}\ntest_fraction = 0.7");
    let e = build(&big, SPACE, &OBJ).err().unwrap();
    assert!(e.to_string().contains("(0, 0.5)"), "{e}");
    // digits has no file to name: a path needs a dataset read from one.
    let path = format!("{RUN}\ntest = \"t.npz\"");
    let e = build(&path, SPACE, &OBJ).err().unwrap();
    assert!(e.to_string().contains("test = \"path\""), "{e}");
}
