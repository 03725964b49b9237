//! The fixed hypervolume reference (issue 15): declared in `[hypervolume]`
//! or frozen from the first feasible trials and stored, the same in
//! `status` (text and JSON), the report's data and `plot --json`, with a
//! normalised figure; located errors for a bad declaration; a study stored
//! before the rule gets one frozen.

mod common;

use std::path::Path;

use common::{ps, text, write};
use serde_json::Value;

/// Two objectives, `f1` minimised and `f2` maximised; `extra` is appended
/// (a `[hypervolume]` table).
fn study(name: &str, extra: &str) -> String {
    format!(
        r#"[study]
name = "{name}"
seed = 3

[[objectives]]
name = "f1"
direction = "minimize"

[[objectives]]
name = "f2"
direction = "maximize"

[search_space]
x = {{ type = "float", low = 0.0, high = 1.0 }}

[sampler]
kind = "random"

[budget]
trials = 40
{extra}"#
    )
}

/// Ask for a trial and tell it `f1`, `f2`.
fn tell(file: &Path, f1: f64, f2: f64) {
    let s = file.to_str().unwrap();
    let o = ps(&["ask", s, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let asked: Value = serde_json::from_slice(&o.stdout).unwrap();
    let n = asked["trial"].as_u64().unwrap().to_string();
    let values = format!(r#"{{"f1": {f1}, "f2": {f2}}}"#);
    let o = ps(&["tell", s, &n, "--values", &values]);
    assert!(o.status.success(), "{}", text(&o));
}

fn status_json(file: &Path) -> Value {
    let o = ps(&["status", file.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

/// Hypervolume of a 2-D front (`f1` minimised, `f2` maximised) against
/// `(r1, r2)`, by hand: the staircase of rectangles.
fn staircase(mut front: Vec<(f64, f64)>, r1: f64, r2: f64) -> f64 {
    front.retain(|&(a, b)| a < r1 && b > r2);
    front.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut hv = 0.0;
    let mut best_f2 = r2;
    // Sweep from the best f1 to the worst: each point adds the slab of f2
    // above what the points with smaller f1 already cover.
    for &(a, b) in &front {
        if b > best_f2 {
            hv += (r1 - a) * (b - best_f2);
            best_f2 = b;
        }
    }
    hv
}

#[test]
fn reference_is_frozen_from_the_first_ten_feasible_trials_and_stays() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "s.toml", &study("frozen", ""));
    // Three trials: the reference is provisional and says so.
    for i in 0..3 {
        tell(&file, 1.0 + i as f64, 10.0 * i as f64);
    }
    let s = status_json(&file);
    assert_eq!(s["reference"]["kind"], "provisional", "{s:#}");
    // Ten: frozen from them. Their worst f1 is 10 and worst f2 0, their
    // ranges 9 and 90: the reference is 10 + 0.9 and 0 - 9.
    for i in 3..10 {
        tell(&file, 1.0 + i as f64, 10.0 * i as f64);
    }
    let s = status_json(&file);
    let r = &s["reference"];
    assert_eq!(r["kind"], "frozen", "{s:#}");
    assert_eq!(r["stored"], true, "{s:#}");
    assert_eq!(
        r["trials"],
        serde_json::json!((0..10).collect::<Vec<u64>>())
    );
    assert!(close(r["values"]["f1"].as_f64().unwrap(), 10.9), "{r}");
    assert!(close(r["values"]["f2"].as_f64().unwrap(), -9.0), "{r}");
    let front: Vec<(f64, f64)> = (0..10).map(|i| (1.0 + i as f64, 10.0 * i as f64)).collect();
    let hv10 = s["hypervolume"].as_f64().unwrap();
    assert!(close(hv10, staircase(front.clone(), 10.9, -9.0)), "{hv10}");
    // Normalised by the box between the ideal (1, 90) and the reference.
    let norm = s["hypervolume_normalised"].as_f64().unwrap();
    assert!(close(norm, hv10 / ((10.9 - 1.0) * (90.0 + 9.0))), "{norm}");
    assert!(norm > 0.0 && norm <= 1.0);

    // Trials far worse in f1 (and far better in f2) would have moved the
    // old nadir reference; the frozen one stays, and the hypervolume only
    // grows (a trial beyond the reference counts for nothing).
    let mut last = hv10;
    for (f1, f2) in [(500.0, 5000.0), (0.5, 95.0), (3.0, 99.0), (1e4, -100.0)] {
        tell(&file, f1, f2);
        let s = status_json(&file);
        assert_eq!(s["reference"]["values"], r["values"], "{s:#}");
        let hv = s["hypervolume"].as_f64().unwrap();
        assert!(hv >= last, "hypervolume fell from {last} to {hv}");
        last = hv;
    }
    let mut all = front;
    all.extend([(500.0, 5000.0), (0.5, 95.0), (3.0, 99.0), (1e4, -100.0)]);
    assert!(close(last, staircase(all, 10.9, -9.0)), "{last}");

    // The text says the normalised figure and the reference it is against.
    let o = ps(&["status", file.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout).replace("\n  ", " ");
    assert!(out.contains("f1 ≤ 10.9, f2 ≥ -9"), "{out}");
    assert!(
        out.contains("frozen from the first 10 feasible trials"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "hypervolume {:.3} of the box",
            s_norm(&status_json(&file))
        )),
        "{out}"
    );

    // The report's data and plot --json use the same reference.
    let html = dir.path().join("r.html");
    let o = ps(&[
        "report",
        file.to_str().unwrap(),
        "--out",
        html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let data = embedded_data(&std::fs::read_to_string(&html).unwrap());
    let page_ref = &data["study"]["reference"];
    assert_eq!(
        page_ref["values"],
        serde_json::json!([10.9, -9.0]),
        "{page_ref}"
    );
    assert!(
        page_ref["source"]
            .as_str()
            .unwrap()
            .contains("frozen from the first 10"),
        "{page_ref}"
    );
    let hv = data["study"]["hypervolume"].as_array().unwrap();
    let (raw, norm) = (
        hv.last().unwrap()[1].as_f64().unwrap(),
        hv.last().unwrap()[2].as_f64().unwrap(),
    );
    assert!(close(raw, last), "{raw} vs {last}");
    assert!(close(norm, s_norm(&status_json(&file))), "{norm}");
    let o = ps(&[
        "plot",
        file.to_str().unwrap(),
        "--out",
        dir.path().join("plots").to_str().unwrap(),
        "--no-png",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let plot: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plot["reference"], serde_json::json!([10.9, -9.0]));
}

fn s_norm(s: &Value) -> f64 {
    s["hypervolume_normalised"].as_f64().unwrap()
}

/// The JSON document a report embeds.
fn embedded_data(html: &str) -> Value {
    let start = "<script type=\"application/json\" id=\"ps-data\">";
    let from = html.find(start).expect("the data block") + start.len();
    let len = html[from..].find("</script>").unwrap();
    serde_json::from_str(&html[from..from + len]).unwrap()
}

#[test]
fn declared_reference_is_used_from_the_first_trial() {
    let dir = tempfile::tempdir().unwrap();
    let extra = "\n[hypervolume]\nreference = { f1 = 20, f2 = 0.0 }\n";
    let file = write(dir.path(), "s.toml", &study("declared", extra));
    tell(&file, 4.0, 3.0);
    let s = status_json(&file);
    assert_eq!(s["reference"]["kind"], "declared", "{s:#}");
    assert!(close(s["hypervolume"].as_f64().unwrap(), 16.0 * 3.0));
    assert!(close(s_norm(&s), 1.0));
    tell(&file, 10.0, 8.0);
    let s = status_json(&file);
    let hv = staircase(vec![(4.0, 3.0), (10.0, 8.0)], 20.0, 0.0);
    assert!(close(s["hypervolume"].as_f64().unwrap(), hv));
    // Ideal (4, 8): the box is 16 by 8.
    assert!(close(s_norm(&s), hv / (16.0 * 8.0)));
}

/// `check --json` of a study whose `[hypervolume]` is `extra`: the error.
fn check_error(extra: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.toml", &study("bad", extra));
    let o = ps(&["check", file.to_str().unwrap(), "--json"]);
    assert!(!o.status.success(), "{}", text(&o));
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    assert_eq!(v["ok"], false, "{v:#}");
    assert!(v["file"].as_str().unwrap().ends_with("bad.toml"), "{v:#}");
    v
}

#[test]
fn bad_declared_references_are_located() {
    let e = check_error("\n[hypervolume]\nreference = { f1 = 2, f3 = 1 }\n");
    assert_eq!(e["field"], "hypervolume.reference.f3", "{e:#}");
    assert_eq!(e["line"], 23, "{e:#}");
    assert!(e["help"].as_str().unwrap().contains("f2"), "{e:#}");

    let e = check_error("\n[hypervolume]\nreference = { f1 = 2 }\n");
    assert_eq!(e["field"], "hypervolume.reference", "{e:#}");
    assert!(e["message"].as_str().unwrap().contains("`f2`"), "{e:#}");
    assert!(e["help"].as_str().unwrap().contains("add f2 = "), "{e:#}");

    let e = check_error("\n[hypervolume]\nreference = { f1 = 2, f2 = \"low\" }\n");
    assert_eq!(e["field"], "hypervolume.reference.f2", "{e:#}");

    let e = check_error("\n[hypervolume]\nreference = { f1 = 2, f2 = nan }\n");
    assert_eq!(e["field"], "hypervolume.reference.f2", "{e:#}");
    assert!(e["message"].as_str().unwrap().contains("finite"), "{e:#}");

    let e = check_error("\n[hypervolume]\nreference = [1, 2]\n");
    assert_eq!(e["field"], "hypervolume.reference", "{e:#}");
    assert!(e["help"].as_str().unwrap().contains("f1 = "), "{e:#}");

    let e = check_error("\n[hypervolume]\nfreeze_after = 0\n");
    assert_eq!(e["field"], "hypervolume.freeze_after", "{e:#}");

    let e = check_error("\n[hypervolume]\nreference = { f1 = 2, f2 = 0 }\nfreeze_after = 5\n");
    assert_eq!(e["field"], "hypervolume.freeze_after", "{e:#}");

    let e = check_error("\n[hypervolume]\nrefrence = { f1 = 2, f2 = 0 }\n");
    assert_eq!(e["field"], "hypervolume.refrence", "{e:#}");
    assert!(e["help"].as_str().unwrap().contains("reference"), "{e:#}");
}

#[test]
fn a_study_stored_before_the_rule_gets_its_reference_frozen() {
    let dir = tempfile::tempdir().unwrap();
    let extra = "\n[hypervolume]\nfreeze_after = 4\n";
    let file = write(dir.path(), "s.toml", &study("old", extra));
    for i in 0..6 {
        tell(&file, 1.0 + i as f64, 2.0 * i as f64);
    }
    // Drop the stored reference, as a study written before it was stored.
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = paretosearch::store::open(&url).await.unwrap();
        let rec = store.find_study("old").await.unwrap().unwrap();
        let mut spec: Value = serde_json::from_str(&rec.spec_json).unwrap();
        assert!(spec[paretosearch::reference::STORED_KEY].is_object());
        spec.as_object_mut()
            .unwrap()
            .remove(paretosearch::reference::STORED_KEY);
        store
            .open_study("old", &rec.fingerprint, &spec.to_string())
            .await
            .unwrap();
        store.close().await;
    });
    // A reader computes the same frozen reference from the first four.
    let s = status_json(&file);
    assert_eq!(s["reference"]["kind"], "frozen", "{s:#}");
    assert_eq!(s["reference"]["stored"], false, "{s:#}");
    assert_eq!(s["reference"]["trials"], serde_json::json!([0, 1, 2, 3]));
    assert!(close(s["reference"]["values"]["f1"].as_f64().unwrap(), 4.3));
    assert!(close(
        s["reference"]["values"]["f2"].as_f64().unwrap(),
        -0.6
    ));
    // The next writer stores it.
    tell(&file, 2.5, 5.0);
    let t = status_json(&file);
    assert_eq!(t["reference"]["stored"], true, "{t:#}");
    assert_eq!(t["reference"]["values"], s["reference"]["values"]);
}
