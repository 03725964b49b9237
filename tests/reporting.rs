//! End-to-end tests of the reporting commands (`plot`, `report`,
//! `serve`) on fast built-in studies (`pick`, `ask` / `tell` and the
//! completions are in `tests/workflow.rs`).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

mod common;
use common::{bin, ok_json, ps, run_study, text, zdt1_study};

fn svg(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Elements (any tag) with this class and a `data-trial` attribute.
fn markers(doc: &roxmltree::Document<'_>, class: &str) -> Vec<u64> {
    doc.descendants()
        .filter(|n| n.attribute("class") == Some(class))
        .filter_map(|n| n.attribute("data-trial")?.parse().ok())
        .collect()
}

#[test]
fn plot_writes_figures_that_match_the_study() {
    let dir = tempfile::tempdir().unwrap();
    let study = zdt1_study(dir.path(), 30);
    run_study(&study);
    let s = study.to_str().unwrap();
    let status = ok_json(&["status", s, "--json"]);
    let mut pareto: Vec<u64> = status["pareto"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_u64().unwrap())
        .collect();
    pareto.sort_unstable();
    assert!(!pareto.is_empty());

    let out = dir.path().join("figs");
    let plot = ok_json(&["plot", s, "--out", out.to_str().unwrap(), "--json"]);
    for name in ["pareto", "hypervolume", "importance"] {
        let png = std::fs::read(out.join(format!("{name}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}.png is a PNG");
    }

    let pareto_svg = svg(&out.join("pareto.svg"));
    let doc = roxmltree::Document::parse(&pareto_svg).expect("pareto.svg is XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let mut front = markers(&doc, "front");
    front.sort_unstable();
    assert_eq!(front, pareto, "one front marker per Pareto-optimal trial");
    let dominated = markers(&doc, "dominated");
    assert_eq!(
        front.len() + dominated.len(),
        30,
        "every trial is drawn once"
    );
    assert!(dominated.iter().all(|n| !pareto.contains(n)));
    if pareto.len() > 1 {
        assert_eq!(
            doc.descendants()
                .filter(|n| n.attribute("class") == Some("front-line"))
                .count(),
            1
        );
    }

    // Hypervolume: one step per finished trial, never decreasing, ending
    // at status's value (same reference rule).
    let hv: Vec<f64> = plot["hypervolume"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hypervolume"].as_f64().unwrap())
        .collect();
    assert_eq!(hv.len(), 30);
    assert!(hv.windows(2).all(|w| w[1] >= w[0]));
    let last = *hv.last().unwrap();
    let expected = status["hypervolume"].as_f64().unwrap();
    assert!(
        (last - expected).abs() <= 1e-9 * expected.abs().max(1.0),
        "{last} vs {expected}"
    );
    let hv_doc_text = svg(&out.join("hypervolume.svg"));
    let hv_doc = roxmltree::Document::parse(&hv_doc_text).unwrap();
    assert!(hv_doc
        .descendants()
        .any(|n| n.attribute("class") == Some("hv-line")));

    // Importance: every parameter for each objective; f1 of ZDT1 is x0.
    let imp_text = svg(&out.join("importance.svg"));
    let imp = roxmltree::Document::parse(&imp_text).unwrap();
    let bars = imp
        .descendants()
        .filter(|n| n.attribute("class") == Some("importance-bar"))
        .count();
    assert_eq!(bars, 2 * 10);
    let f1 = plot["importance"]["f1"].as_object().unwrap();
    let top = f1
        .iter()
        .max_by(|a, b| a.1.as_f64().unwrap().total_cmp(&b.1.as_f64().unwrap()))
        .unwrap();
    assert_eq!(top.0, "x0", "f1 = x0 in ZDT1: {f1:?}");

    // A fixed reference point given by hand is used as given.
    let plot2 = ok_json(&[
        "plot",
        s,
        "--out",
        out.to_str().unwrap(),
        "--no-png",
        "--reference",
        "2,10",
        "--json",
    ]);
    assert_eq!(plot2["reference"], serde_json::json!([2.0, 10.0]));
    let bad = ps(&["plot", s, "--reference", "1", "--no-png"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
}

#[test]
fn three_objectives_get_a_scatter_matrix_and_parallel_coordinates() {
    let dir = tempfile::tempdir().unwrap();
    let vars: String = (0..6)
        .map(|i| format!("x{i} = {{ type = \"float\", low = 0.0, high = 1.0 }}\n"))
        .collect();
    let body = format!(
        "[study]\nname = \"dtlz2-rep\"\nseed = 5\n\
         [[objectives]]\nname = \"f1\"\ndirection = \"minimize\"\n\
         [[objectives]]\nname = \"f2\"\ndirection = \"minimize\"\n\
         [[objectives]]\nname = \"f3\"\ndirection = \"minimize\"\n\
         [search_space]\n{vars}\n[runner]\nkind = \"builtin\"\nproblem = \"dtlz2\"\n\
         [budget]\ntrials = 20\n"
    );
    let study = dir.path().join("dtlz2.toml");
    std::fs::write(&study, body).unwrap();
    run_study(&study);
    let s = study.to_str().unwrap();
    let status = ok_json(&["status", s, "--json"]);
    let k = status["pareto"].as_array().unwrap().len();
    let out = dir.path().join("figs");
    ok_json(&[
        "plot",
        s,
        "--out",
        out.to_str().unwrap(),
        "--no-png",
        "--json",
    ]);
    assert!(!out.join("pareto.svg").exists());
    assert!(!out.join("pareto.png").exists(), "--no-png");
    let m = svg(&out.join("scatter-matrix.svg"));
    let m = roxmltree::Document::parse(&m).unwrap();
    assert_eq!(
        markers(&m, "front").len(),
        k * 6,
        "each front trial in all 6 off-diagonal cells"
    );
    let p = svg(&out.join("parallel.svg"));
    let p = roxmltree::Document::parse(&p).unwrap();
    let lines: Vec<_> = p
        .descendants()
        .filter(|n| n.tag_name().name() == "polyline" && n.attribute("class") == Some("front"))
        .collect();
    assert_eq!(lines.len(), k);
    assert!(lines
        .iter()
        .all(|l| l.attribute("points").unwrap().split(' ').count() == 3));
}

fn command_study(dir: &Path) -> PathBuf {
    // Prints a log line and the result; x0 > 0.8 fails the trial.
    let body = r#"
[study]
name = "cmd-rep"
seed = 2

[[objectives]]
name = "f1"
direction = "minimize"

[[objectives]]
name = "acc"
direction = "maximize"

[search_space]
x0 = { type = "float", low = 0.0, high = 1.0 }
opt = { type = "categorical", choices = ["sgd", "adam"] }

[sampler]
kind = "random"

[runner]
kind = "command"
command = ["sh", "-c", '''echo log-line-of-{x0}; awk 'BEGIN {{ x = {x0}; if (x > 0.8) exit 3; printf "{{\"f1\": %f, \"acc\": %f}}\n", x, 1 - (x - 0.3) ^ 2 }}' ''']
timeout = "20s"

[budget]
trials = 12
workers = 2
"#;
    let p = dir.join("cmd.toml");
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn report_is_one_self_contained_page() {
    let dir = tempfile::tempdir().unwrap();
    let study = command_study(dir.path());
    run_study(&study);
    let s = study.to_str().unwrap();
    let trials = ok_json(&["export", s]);
    let trials = trials.as_array().unwrap();
    assert!(
        trials.iter().any(|t| t["state"] == "COMPLETE"),
        "{trials:?}"
    );
    let status = ok_json(&["status", s, "--json"]);
    let k = status["pareto"].as_array().unwrap().len();
    let out = dir.path().join("out/report.html");
    let o = ps(&["report", s, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // Nothing is fetched: no external resources of any kind.
    let lower = html.to_lowercase();
    for bad in [
        "src=\"http",
        "src='http",
        "href=\"http",
        "href='http",
        "url(http",
        "<link",
        "@import",
        "<script src",
    ] {
        assert!(!lower.contains(bad), "the page references `{bad}`");
    }
    // The study is embedded as JSON the page's script draws from.
    let data = embedded_data(&html);
    let study = &data["study"];
    let rows = study["trials"].as_array().unwrap();
    assert_eq!(rows.len(), trials.len());
    for t in trials {
        assert!(rows
            .iter()
            .any(|r| r["n"] == t["number"] && r["s"] == t["state"]));
    }
    assert_eq!(study["pareto"].as_array().unwrap().len(), k);
    assert_eq!(
        study["pareto"],
        status["pareto"]
            .as_array()
            .map(|a| serde_json::json!(a.iter().map(|t| t["number"].clone()).collect::<Vec<_>>()))
            .unwrap()
    );
    assert!(
        rows.iter().any(|r| r["log"]
            .as_str()
            .is_some_and(|l| l.contains("log-line-of-"))),
        "log tails are included"
    );
    assert!(
        rows.iter().all(|r| r["k"].is_string()),
        "every trial has a kind"
    );
    assert!(
        rows.iter().all(|r| r.get("log_omitted").is_none()),
        "the default budget holds a dozen tails"
    );
    // A budget of 1 KiB: failed trials' tails first, then the front's;
    // the others name their file.
    let small = dir.path().join("out/small.html");
    let o = ps(&[
        "report",
        s,
        "--out",
        small.to_str().unwrap(),
        "--log-budget",
        "1",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let small = embedded_data(&std::fs::read_to_string(&small).unwrap());
    let small = small["study"]["trials"].as_array().unwrap();
    let with: Vec<&serde_json::Value> = small.iter().filter(|r| r["log"].is_string()).collect();
    let bytes: usize = with.iter().map(|r| r["log"].as_str().unwrap().len()).sum();
    assert!(
        !with.is_empty() && bytes <= 1024,
        "{} tails, {bytes} bytes",
        with.len()
    );
    let omitted = small.iter().filter(|r| r["log_omitted"] == true).count();
    assert_eq!(
        with.len() + omitted,
        rows.iter().filter(|r| r["log"].is_string()).count()
    );
    assert!(
        omitted > 0
            && small
                .iter()
                .all(|r| r["log_omitted"] != true || r["log_path"].is_string())
    );
    let failed = small.iter().filter(|r| r["s"] == "FAIL").count();
    let failed_with = with.iter().filter(|r| r["s"] == "FAIL").count();
    assert!(
        failed_with == failed || with.iter().all(|r| r["s"] == "FAIL"),
        "failed trials' tails come first"
    );
    if trials.iter().any(|t| t["state"] == "FAIL") {
        let failed = rows.iter().find(|r| r["s"] == "FAIL").unwrap();
        assert_eq!(failed["k"], "failed");
        assert!(
            failed["reason"].as_str().unwrap().contains("exit"),
            "the failure reason is shown"
        );
    }
    // The charting library and the application are inline.
    assert!(html.contains("Apache ECharts") || html.contains("echarts"));
    assert!(html.contains("PS.start()"));
    // The same trials as an Optuna journal: one study, one op per trial.
    let journal = dir.path().join("journal.log");
    let o = ps(&[
        "export",
        s,
        "--format",
        "optuna-journal",
        "--out",
        journal.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let ops: Vec<Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // CREATE_STUDY, the metric names, one CREATE_TRIAL per trial.
    assert_eq!(ops.len(), trials.len() + 2);
    assert_eq!(ops[0]["op_code"], 0);
    assert_eq!(ops[1]["op_code"], 3);
    assert_eq!(ops[0]["directions"], serde_json::json!([1, 2]));
    let complete = trials.iter().filter(|t| t["state"] == "COMPLETE").count();
    assert_eq!(ops.iter().filter(|o| o["state"] == 1).count(), complete);
}

/// The JSON document a report embeds.
fn embedded_data(html: &str) -> Value {
    let start = "<script type=\"application/json\" id=\"ps-data\">";
    let from = html.find(start).expect("the data block") + start.len();
    let len = html[from..].find("</script>").unwrap();
    serde_json::from_str(&html[from..from + len]).unwrap()
}

fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let code = buf[9..12].parse().unwrap();
    let body = buf
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    (code, body)
}

#[test]
fn serve_shows_the_live_page_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let study = zdt1_study(dir.path(), 10);
    let s = study.to_str().unwrap();
    let mut child = Command::new(bin())
        .args(["serve", s, "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    let port: u16 = url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    // Before the study exists: a waiting page.
    let (code, body) = http_get(port, "/");
    assert_eq!(code, 200);
    assert!(body.contains("waiting for the study"), "{body}");
    assert_eq!(http_get(port, "/state").1, "none");
    run_study(&study);
    let (code, state) = http_get(port, "/state");
    assert_eq!(code, 200);
    assert!(state.starts_with("10-"), "{state}");
    let (code, body) = http_get(port, "/");
    assert_eq!(code, 200);
    assert!(body.contains("data-live=\"1\""), "the live page");
    assert!(body.contains("PS.start()"));
    // The page draws `data.json`, which carries the state it was made at.
    let (code, data) = http_get(port, "/data.json");
    assert_eq!(code, 200);
    let data: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(data["token"], state.as_str(), "the data knows its state");
    assert_eq!(data["study"]["trials"].as_array().unwrap().len(), 10);
    assert_eq!(http_get(port, "/nope").0, 404);
    child.kill().unwrap();
    child.wait().unwrap();
}
