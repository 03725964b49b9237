//! Static figures (issue 15): every axis of the scatter matrix and of the
//! parallel coordinates has tick labels (the first row and the last
//! column had none), and an objective spanning three decades is drawn on
//! a log axis with power-of-ten ticks, one spanning less on a linear one.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{ps, text, write};
use serde_json::Value;

const STUDY: &str = r#"[study]
name = "axes"
seed = 1

[[objectives]]
name = "accuracy"
direction = "maximize"

[[objectives]]
name = "latency_ms"
direction = "minimize"

[[objectives]]
name = "size_mb"
direction = "minimize"

[search_space]
x = { type = "float", low = 0.0, high = 1.0 }

[sampler]
kind = "random"

[budget]
trials = 12
"#;

fn tell(file: &Path, values: &str) {
    let s = file.to_str().unwrap();
    let o = ps(&["ask", s, "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let asked: Value = serde_json::from_slice(&o.stdout).unwrap();
    let n = asked["trial"].as_u64().unwrap().to_string();
    let o = ps(&["tell", s, &n, "--values", values]);
    assert!(o.status.success(), "{}", text(&o));
}

/// Tick labels by `data-axis`, in document order.
fn ticks(svg: &str) -> BTreeMap<String, Vec<String>> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in doc.descendants() {
        if n.attribute("class") == Some("tick") {
            let axis = n.attribute("data-axis").expect("a tick names its axis");
            let label = n.text().unwrap_or_default().trim().to_string();
            assert!(!label.is_empty(), "empty tick label on {axis}");
            out.entry(axis.to_string()).or_default().push(label);
        }
    }
    out
}

#[test]
fn every_axis_has_tick_labels_and_decades_get_log_axes() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "axes.toml", STUDY);
    // Latency spans 1.2 .. 950 ms (three decades), size 12 .. 80 MB and
    // accuracy 0.61 .. 0.93 (less than one).
    let rows = [
        (0.61, 1.2, 12.0),
        (0.70, 4.5, 20.0),
        (0.75, 18.0, 31.0),
        (0.80, 60.0, 40.0),
        (0.86, 210.0, 55.0),
        (0.93, 950.0, 80.0),
        (0.72, 300.0, 70.0),
    ];
    for (a, l, s) in rows {
        tell(
            &file,
            &format!(r#"{{"accuracy": {a}, "latency_ms": {l}, "size_mb": {s}}}"#),
        );
    }
    let out = dir.path().join("plots");
    let o = ps(&[
        "plot",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-png",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let names = ["accuracy", "latency_ms", "size_mb"];

    let matrix = std::fs::read_to_string(out.join("scatter-matrix.svg")).unwrap();
    let t = ticks(&matrix);
    for name in names {
        for axis in ["x", "y"] {
            let key = format!("{axis}:{name}");
            assert!(
                t.get(&key).is_some_and(|v| v.len() >= 2),
                "no tick labels on {key}: {t:?}"
            );
        }
    }
    assert_eq!(t["x:latency_ms"], ["1", "10", "100", "1000"], "{t:?}");
    assert_eq!(t["y:latency_ms"], ["1", "10", "100", "1000"], "{t:?}");
    // Every off-diagonal cell says its scales: log for latency only.
    let doc = roxmltree::Document::parse(&matrix).unwrap();
    let cells: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("cell"))
        .collect();
    assert_eq!(cells.len(), 6);
    for c in cells {
        for (axis, scale) in [("data-x", "data-x-scale"), ("data-y", "data-y-scale")] {
            let want = if c.attribute(axis) == Some("latency_ms") {
                "log"
            } else {
                "linear"
            };
            assert_eq!(c.attribute(scale), Some(want), "{:?}", c);
        }
    }

    let parallel = std::fs::read_to_string(out.join("parallel.svg")).unwrap();
    let t = ticks(&parallel);
    for name in names {
        assert!(
            t.get(&format!("y:{name}")).is_some_and(|v| v.len() >= 2),
            "{name}: {t:?}"
        );
    }
    assert_eq!(t["y:latency_ms"], ["1", "10", "100", "1000"], "{t:?}");
    assert!(parallel.contains("minimize, log"));
}

#[test]
fn two_objective_fronts_get_log_axes_where_values_span_decades() {
    let dir = tempfile::tempdir().unwrap();
    let two = STUDY.replace(
        "[[objectives]]\nname = \"size_mb\"\ndirection = \"minimize\"\n\n",
        "",
    );
    let file = write(dir.path(), "two.toml", &two);
    for (a, l) in [(0.6, 1.2), (0.7, 30.0), (0.9, 950.0)] {
        tell(&file, &format!(r#"{{"accuracy": {a}, "latency_ms": {l}}}"#));
    }
    let out = dir.path().join("plots");
    let o = ps(&[
        "plot",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-png",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let svg = std::fs::read_to_string(out.join("pareto.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let axes = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("axes"))
        .unwrap();
    assert_eq!(axes.attribute("data-x-scale"), Some("linear"));
    assert_eq!(axes.attribute("data-y-scale"), Some("log"));
    let t = ticks(&svg);
    assert!(t["x"].len() >= 2, "{t:?}");
    assert_eq!(t["y"], ["1", "10", "100", "1000"], "{t:?}");
}
