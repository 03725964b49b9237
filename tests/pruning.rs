//! End-to-end tests of pruning: a command-runner study with a fake training
//! script whose learning curves are known, checking that trials are stopped
//! (PRUNED, with reason and step), that their processes are really gone, and
//! that partial-order pruning skips candidates without training them.

mod common;
use common::{export_json as export, ps, text, write};

fn pid_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // A zombie has exited; only its process-table entry is left.
    !stat
        .rsplit_once(')')
        .is_some_and(|r| r.1.trim_start().starts_with('Z'))
}

/// Trial 0 trains well and fast (5 epochs to 0.95, latency 1). Every other
/// trial is slow (latency 2) and flat at 0.5, and would train for 200
/// epochs of 50 ms: dominated by trial 0 as soon as the pruner may decide.
/// Each training writes its pid to `pids/<trial>` and, if it ever
/// finishes, `done/<trial>`.
const EARLY: &str = r#"import json, os, sys, time
trial = int(os.environ["PARETOSEARCH_TRIAL"])
if sys.argv[1:] == ["--profile"]:
    print(json.dumps({"latency": 1.0 if trial == 0 else 2.0}))
    sys.exit(0)
open(f"pids/{trial}", "w").write(str(os.getpid()))
epochs = 5 if trial == 0 else 200
for e in range(1, epochs + 1):
    acc = 0.95 - 0.3 * 0.5 ** e if trial == 0 else 0.5 + 0.001 * (e % 2)
    print(json.dumps({"step": e, "accuracy": acc}), flush=True)
    time.sleep(0.0 if trial == 0 else 0.05)
open(f"done/{trial}", "w").write("")
print(json.dumps({"accuracy": acc, "latency": 1.0 if trial == 0 else 2.0}))
"#;

const EARLY_STUDY: &str = r#"
[study]
name = "early"
seed = 5

[[objectives]]
name = "accuracy"
direction = "maximize"

[[objectives]]
name = "latency"
direction = "minimize"
cheap = true

[search_space]
x = { type = "float", low = 0.0, high = 1.0 }

[pruner]
kind = "dominated"
warmup_steps = 2

[sampler]
kind = "random"

[runner]
kind = "command"
command = ["python3", "train.py"]
profile_command = ["python3", "train.py", "--profile"]
timeout = "2m"
grace = "1s"

[budget]
trials = 4
workers = 1
"#;

#[test]
fn dominated_trials_are_stopped_and_their_processes_terminated() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "train.py", EARLY);
    std::fs::create_dir(d.path().join("pids")).unwrap();
    std::fs::create_dir(d.path().join("done")).unwrap();
    let study = write(d.path(), "early.toml", EARLY_STUDY);
    let o = ps(&["run", study.to_str().unwrap(), "--plain"]);
    assert!(o.status.success(), "{}", text(&o));

    let trials = export(&study);
    assert_eq!(trials.len(), 4);
    let o = ps(&["status", study.to_str().unwrap(), "--json"]);
    let st: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(st["pruned"]["stopped_early"], 3, "{st:#}");
    assert_eq!(st["pruned"]["skipped_before_training"], 0, "{st:#}");
    // One completed curve cannot calibrate a forecast: the pruner says it
    // stays conservative (the bound alone stopped these trials).
    let state = st["pruner"]["state"].as_str().unwrap_or_default();
    assert!(state.starts_with("conservative"), "{st:#}");
    assert_eq!(st["pruner"]["kind"], "dominated");
    assert_eq!(trials[0]["state"], "COMPLETE", "{:#?}", trials[0]);
    for t in &trials[1..] {
        let n = t["number"].as_u64().unwrap();
        assert_eq!(t["state"], "PRUNED", "{t:#?}");
        let reason = t["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("dominated at step 3 by trial 0"),
            "{reason}"
        );
        // It keeps its last values, the cheap measurement included, and its
        // reports stop at the step it was stopped at.
        assert_eq!(t["values"]["latency"], 2.0, "{t:#?}");
        assert!(t["values"]["accuracy"].as_f64().unwrap() < 0.51);
        let steps = t["intermediate"].as_array().unwrap();
        assert_eq!(steps.last().unwrap()["step"], 3, "{t:#?}");
        // The training process is gone and never got to its end.
        let pid: u32 = std::fs::read_to_string(d.path().join(format!("pids/{n}")))
            .unwrap()
            .parse()
            .unwrap();
        assert!(!pid_alive(pid), "trial {n}'s process {pid} still runs");
        assert!(!d.path().join(format!("done/{n}")).exists());
    }
}

/// `kind` y trains to 0.95 at latency 0.5; `kind` x plateaus at 0.9 whatever
/// its width, at latency = width. Once a y and a wide-enough x are trained,
/// every narrower x is dominated by y before it trains. Training writes
/// `ran/<trial>`.
const PO: &str = r#"import json, os, sys
p = json.loads(os.environ["PARETOSEARCH_PARAMS"])
lat = 0.5 if p["kind"] == "y" else float(p["width"])
if sys.argv[1:] == ["--profile"]:
    print(json.dumps({"latency": lat}))
    sys.exit(0)
open(f"ran/{os.environ['PARETOSEARCH_TRIAL']}", "w").write("")
acc = 0.95 if p["kind"] == "y" else 0.9
print(json.dumps({"step": 1, "accuracy": acc}))
print(json.dumps({"accuracy": acc, "latency": lat}))
"#;

const PO_STUDY: &str = r#"
[study]
name = "po"
seed = 2

[[objectives]]
name = "accuracy"
direction = "maximize"

[[objectives]]
name = "latency"
direction = "minimize"
cheap = true

[search_space]
width = { type = "int", low = 1, high = 4, monotone = "increasing" }
kind = { type = "categorical", choices = ["x", "y"] }

[pruner]
kind = "none"
partial_order = true

[sampler]
kind = "random"

[runner]
kind = "command"
command = ["python3", "train.py"]
profile_command = ["python3", "train.py", "--profile"]

[budget]
trials = 16
workers = 1
"#;

#[test]
fn partial_order_skips_dominated_candidates_without_training_them() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "train.py", PO);
    std::fs::create_dir(d.path().join("ran")).unwrap();
    let study = write(d.path(), "po.toml", PO_STUDY);
    let o = ps(&["run", study.to_str().unwrap(), "--plain"]);
    assert!(o.status.success(), "{}", text(&o));

    let trials = export(&study);
    assert_eq!(trials.len(), 16, "skipped trials count towards the budget");
    let mut skipped = 0;
    for t in &trials {
        let n = t["number"].as_u64().unwrap();
        let ran = d.path().join(format!("ran/{n}")).exists();
        match t["state"].as_str().unwrap() {
            "COMPLETE" => assert!(ran),
            "PRUNED" => {
                skipped += 1;
                assert!(!ran, "a skipped trial must not train: {t:#?}");
                let reason = t["reason"].as_str().unwrap();
                assert!(
                    reason.starts_with("partial-order: dominated by trial"),
                    "{reason}"
                );
                assert_eq!(t["cause"], "partial-order", "the rule is exported, typed");
                assert_eq!(t["params"]["kind"], "x", "{t:#?}");
                // Its measured cheap value is kept; accuracy was never measured.
                assert_eq!(
                    t["values"]["latency"].as_f64(),
                    t["params"]["width"].as_f64(),
                    "{t:#?}"
                );
                assert!(t["values"].get("accuracy").is_none(), "{t:#?}");
                assert!(t["intermediate"].as_array().unwrap().is_empty());
            }
            other => panic!("unexpected state {other}: {t:#?}"),
        }
    }
    assert!(skipped >= 1, "{trials:#?}");
    // `status` tells skipped from stopped trials.
    let o = ps(&["status", study.to_str().unwrap(), "--json"]);
    let st: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(st["pruned"]["skipped_before_training"], skipped, "{st:#}");
    assert_eq!(st["pruned"]["stopped_early"], 0, "{st:#}");
    let o = ps(&["status", study.to_str().unwrap()]);
    assert!(
        text(&o).contains(&format!(
            "{skipped} PRUNED (all {skipped} skipped by partial order)"
        )),
        "{}",
        text(&o)
    );
    // Nothing that could be on the front was skipped: y (0.95, 0.5) was trained.
    assert!(trials
        .iter()
        .any(|t| t["state"] == "COMPLETE" && t["params"]["kind"] == "y"));
}

#[test]
fn pruner_mistakes_are_located_errors() {
    let d = tempfile::tempdir().unwrap();
    let bad = PO_STUDY.replace("partial_order = true", "partial_order = true\nwarmup = 3");
    let study = write(d.path(), "po.toml", &bad);
    let o = ps(&["run", study.to_str().unwrap(), "--plain"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("po.toml:22:"), "{err}");
    assert!(err.contains("pruner.warmup"), "{err}");
    let bad = PO_STUDY.replace(", monotone = \"increasing\"", "");
    let study = write(d.path(), "po.toml", &bad);
    let o = ps(&["run", study.to_str().unwrap(), "--plain"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("monotone"),
        "{}",
        text(&o)
    );
}

/// `ask` is the same pipeline as `run`: profile, partial order and all. The
/// study above, driven by `ask` / `tell` from outside (the values told are
/// what `train.py` would print), records exactly the trials `run` records,
/// the candidates skipped before training included. (Before the engine was
/// one library, `ask` sampled and handed out every candidate: no skips.)
#[test]
fn ask_skips_by_partial_order_exactly_as_run_does() {
    let by_run = tempfile::tempdir().unwrap();
    write(by_run.path(), "train.py", PO);
    std::fs::create_dir(by_run.path().join("ran")).unwrap();
    let study = write(by_run.path(), "po.toml", PO_STUDY);
    let o = ps(&["run", study.to_str().unwrap(), "--plain"]);
    assert!(o.status.success(), "{}", text(&o));
    let ran = export(&study);

    let by_hand = tempfile::tempdir().unwrap();
    write(by_hand.path(), "train.py", PO);
    let study = write(by_hand.path(), "po.toml", PO_STUDY);
    let s = study.to_str().unwrap();
    let mut asked = 0;
    loop {
        let o = ps(&["ask", s, "--json"]);
        if o.status.code() == Some(3) {
            break;
        }
        assert!(o.status.success(), "{}", text(&o));
        asked += 1;
        let t: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let (n, p) = (t["trial"].as_u64().unwrap(), &t["params"]);
        let y = p["kind"] == "y";
        let values = serde_json::json!({
            "accuracy": if y { 0.95 } else { 0.9 },
            "latency": if y { 0.5 } else { p["width"].as_f64().unwrap() },
        });
        let o = ps(&["tell", s, &n.to_string(), "--values", &values.to_string()]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let told = export(&study);
    let shape = |ts: &[serde_json::Value]| -> Vec<String> {
        ts.iter()
            .map(|t| {
                format!(
                    "{} {} {} {}",
                    t["number"], t["state"], t["params"], t["reason"]
                )
            })
            .collect()
    };
    assert_eq!(shape(&told), shape(&ran));
    let skipped = told.iter().filter(|t| t["state"] == "PRUNED").count();
    assert!(skipped >= 1, "{told:#?}");
    assert_eq!(
        asked + skipped,
        16,
        "skipped candidates are never handed out"
    );
}

/// Every trial trains 9 epochs; trial `n` ends at `0.9 - 0.1 n`, so each
/// later trial is behind trial 0 from its first report on. Latency (cheap)
/// is the same for all: accuracy decides.
const RUNGS: &str = r#"import json, os, sys
trial = int(os.environ["PARETOSEARCH_TRIAL"])
if sys.argv[1:] == ["--profile"]:
    print(json.dumps({"latency": 1.0}))
    sys.exit(0)
for e in range(1, 10):
    acc = 0.9 - 0.1 * trial - 0.3 * 0.5 ** e
    print(json.dumps({"step": e, "accuracy": acc}), flush=True)
print(json.dumps({"accuracy": acc, "latency": 1.0}))
"#;

/// `status` gives a rung rule's account: who reached each rung, who was
/// stopped there, and the epochs saved, in `--json`, in its line, and in
/// the report's data.
#[test]
fn mo_asha_status_counts_the_rungs_and_the_epochs_saved() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "train.py", RUNGS);
    let spec = EARLY_STUDY
        .replace(
            "kind = \"dominated\"\nwarmup_steps = 2",
            "kind = \"mo-asha\"\nmax_resource = 9\nmin_trials = 2",
        )
        .replace("trials = 4", "trials = 5");
    let study = write(d.path(), "rungs.toml", &spec);
    let o = ps(&["run", study.to_str().unwrap(), "--plain"]);
    assert!(o.status.success(), "{}", text(&o));
    let trials = export(&study);
    let pruned = trials.iter().filter(|t| t["state"] == "PRUNED").count();
    assert_eq!(pruned, 4, "{trials:#?}");

    let o = ps(&["status", study.to_str().unwrap(), "--json"]);
    let st: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = &st["pruner"];
    assert_eq!(p["kind"], "mo-asha", "{st:#}");
    assert_eq!(p["state"], "judging", "{st:#}");
    // Rungs at 2 and 6 (max_resource 9 / η², at least 2).
    assert_eq!(p["rungs"][0]["step"], 2, "{p:#}");
    assert_eq!(p["rungs"][0]["reached"], 5, "{p:#}");
    assert_eq!(p["rungs"][0]["stopped"], 4, "{p:#}");
    assert_eq!(p["rungs"][1]["step"], 6, "{p:#}");
    assert_eq!(p["rungs"][1]["reached"], 1, "{p:#}");
    assert_eq!(p["rungs"][1]["stopped"], 0, "{p:#}");
    // 9 epochs for trial 0, 2 for each of the others, of 5 · 9.
    assert_eq!(p["epochs"]["trained"], 17, "{p:#}");
    assert_eq!(p["epochs"]["unpruned"], 45, "{p:#}");
    assert!(p["noise_margin"]["accuracy"].is_number(), "{p:#}");

    let o = ps(&["status", study.to_str().unwrap()]);
    // The line is wrapped for the terminal: compare it unwrapped.
    let out = text(&o).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        out.contains("pruner mo-asha: judging; step 2: 4 of 5 stopped; step 6: 0 of 1 stopped; 62 % of the epochs of 5 finished trials saved (17 trained of 45)"),
        "{out}"
    );
}
