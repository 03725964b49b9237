//! End-to-end trials on the digits dataset (CPU), option errors, the GPU
//! pool and `doctor`.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Condvar;

use paretosearch_core::spec::RunnerSpec;
use paretosearch_core::{ParamValue, StudySpec};
use paretosearch_runner::Verdict;
use tch::Device;

use super::devices::load_cuda;
use super::*;
use crate::error::TorchError;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn parse(text: &str, file: &Path) -> Result<StudySpec, SpecError> {
    StudySpec::parse(text, file, &mut |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| e.to_string())
    })
}

fn runner_from(spec: &StudySpec) -> Result<TorchRunner, SpecError> {
    let RunnerSpec::Other { kind, options } = &spec.runner else {
        panic!("not a torch runner: {:?}", spec.runner)
    };
    assert_eq!(kind, "torch");
    TorchRunner::from_options(
        options,
        &spec.origin,
        spec.seed,
        &spec.space,
        &spec.objectives,
    )
}

fn study(runner: &str, space: &str, objectives: &[&str]) -> String {
    let mut s = String::from("[study]\nname = \"t\"\nseed = 5\n\n");
    for o in objectives {
        let dir = if *o == "accuracy" {
            "maximize"
        } else {
            "minimize"
        };
        s.push_str(&format!(
            "[[objectives]]\nname = \"{o}\"\ndirection = \"{dir}\"\n\n"
        ));
    }
    s.push_str(&format!(
        "[search_space]\n{space}\n\n[runner]\nkind = \"torch\"\n{runner}\n\n[budget]\ntrials = 2\n"
    ));
    s
}

pub(super) fn build(
    runner: &str,
    space: &str,
    objectives: &[&str],
) -> Result<TorchRunner, SpecError> {
    let file = std::env::temp_dir().join("paretosearch-torch-test.toml");
    let r = runner_from(&parse(&study(runner, space, objectives), &file)?)?;
    r.set_workers(2);
    Ok(r)
}

pub(super) fn job(params: &[(&str, ParamValue)], objectives: &[&str]) -> Job {
    Job {
        study: "t".into(),
        trial: 0,
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        seed: 42,
        objectives: objectives.iter().map(|s| s.to_string()).collect(),
        log_path: None,
    }
}

/// Stops the trial at a given step and counts reports.
struct StopAt(u64, AtomicU64);

#[async_trait]
impl Reporter for StopAt {
    async fn report(&self, step: u64, values: &BTreeMap<String, f64>) -> Verdict {
        assert!(values.contains_key("accuracy") && values.contains_key("loss"));
        // The validation size rides along for the pruner's standard error.
        let n = values["n_valid"];
        assert!(n >= 100.0 && n.fract() == 0.0, "n_valid {n}");
        self.1.fetch_add(1, Ordering::SeqCst);
        if step == self.0 {
            Verdict::Stop(paretosearch_core::PruneReason::new(
                paretosearch_core::PruneRule::Dominated,
                format!("dominated at step {step}"),
            ))
        } else {
            Verdict::Continue
        }
    }
}

pub(super) const SMALL: &str = "dataset = \"digits\"\ndevice = \"cpu\"\nepochs = 3\nlimit = 500\nlatency_repeats = 5\nlatency_warmup = 2";
pub(super) const OBJ: [&str; 3] = ["accuracy", "latency_ms", "size_bytes"];

#[test]
fn shipped_studies_parse_and_build_runners() {
    for name in [
        "quickstart.toml",
        "compress-digits-cnn.toml",
        "lowbit-formats.toml",
        "scaling-digits.toml",
    ] {
        let file = repo().join("studies").join(name);
        let text = std::fs::read_to_string(&file).unwrap();
        let spec = parse(&text, &file).unwrap_or_else(|e| panic!("{name}: {e}"));
        let r = runner_from(&spec).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(r.threads() >= 1);
    }
}

#[tokio::test]
async fn a_stop_verdict_prunes_after_that_epoch() {
    let r = build(
        SMALL,
        "width = { type = \"int\", low = 8, high = 32 }",
        &OBJ,
    )
    .unwrap();
    let reporter = StopAt(2, AtomicU64::new(0));
    let out = r
        .run(
            job(&[("width", ParamValue::Int(16))], &OBJ),
            &reporter,
            CancellationToken::new(),
        )
        .await;
    match out {
        TrialOutcome::Pruned {
            values,
            step,
            reason,
        } => {
            assert_eq!(step, Some(2));
            assert!(reason.detail.contains("step 2"));
            assert_eq!(reason.rule, paretosearch_core::PruneRule::Dominated);
            assert!(values.contains_key("accuracy"));
        }
        other => panic!("expected PRUNED, got {other:?}"),
    }
    assert_eq!(reporter.1.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_trial_reports_every_objective_and_profile_only_cheap_ones() {
    let objectives = [
        "accuracy",
        "loss",
        "latency_ms",
        "throughput",
        "params",
        "size_bytes",
        "macs",
        "train_seconds",
    ];
    let r = build(
        SMALL,
        "width = { type = \"int\", low = 8, high = 32 }",
        &objectives,
    )
    .unwrap();
    let j = job(
        &[
            ("width", ParamValue::Int(32)),
            ("lr", ParamValue::Float(0.01)),
        ],
        &objectives,
    );
    let out = r
        .run(
            j.clone(),
            &paretosearch_runner::NoReporter,
            CancellationToken::new(),
        )
        .await;
    let TrialOutcome::Complete(values) = out else {
        panic!("{out:?}")
    };
    for o in objectives {
        assert!(values[o].is_finite(), "{o}");
    }
    assert!(values["accuracy"] > 0.5, "{values:?}");
    assert_eq!(
        values["params"],
        (64 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10) as f64
    );
    let cheap = r
        .profile(j.profile_job(j.objectives.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cheap["params"], values["params"]);
    assert!(!cheap.contains_key("accuracy") && cheap.contains_key("latency_ms"));
    // A cancelled trial ends as an interrupted failure.
    let cancel = CancellationToken::new();
    cancel.cancel();
    let out = r
        .run(
            job(&[], &objectives),
            &paretosearch_runner::NoReporter,
            cancel,
        )
        .await;
    assert!(matches!(out, TrialOutcome::Fail { reason, .. } if reason.starts_with("interrupted")));
}

#[tokio::test]
async fn compress_task_trains_the_base_once_and_shrinks_it() {
    let runner = format!("{SMALL}\ntask = \"compress\"\nmodel = \"cnn\"\n[runner.base]\nchannels = 8\nfc_width = 32\nlr = 0.01");
    let space = "quant_bits = { type = \"categorical\", choices = [4, 32] }\nprune_ratio = { type = \"float\", low = 0.0, high = 0.5 }";
    let r = build(&runner, space, &OBJ).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = |p: Vec<(&'static str, ParamValue)>| {
        let r = r.clone();
        async move {
            match r
                .run(
                    job(&p, &OBJ),
                    &paretosearch_runner::NoReporter,
                    CancellationToken::new(),
                )
                .await
            {
                TrialOutcome::Complete(v) => v,
                other => panic!("{other:?}"),
            }
        }
    };
    let plain = run(vec![]).await;
    let small = run(vec![
        ("quant_bits", ParamValue::Int(4)),
        ("prune_ratio", ParamValue::Float(0.5)),
        ("semi_structured", ParamValue::Bool(true)),
        ("finetune_epochs", ParamValue::Int(1)),
    ])
    .await;
    assert!(
        small["size_bytes"] * 4.0 < plain["size_bytes"],
        "{small:?} vs {plain:?}"
    );
    assert!(plain["accuracy"] > 0.3, "{plain:?}");
    // Saving re-runs the configuration deterministically.
    let path = dir.path().join("w.safetensors");
    let saved = r.save_weights(&job(&[], &OBJ), &path).unwrap();
    assert_eq!(saved["accuracy"], plain["accuracy"]);
    assert!(path.is_file() && path.with_extension("json").is_file());
}

#[test]
fn option_errors_are_located_and_say_how_to_fix() {
    let space = "width = { type = \"int\", low = 8, high = 32 }";
    let e = build("dataset = \"digits\"\nepocs = 3", space, &OBJ)
        .err()
        .unwrap();
    assert!(e.line.is_some() && e.to_string().contains("epocs"), "{e}");
    let e = build(
        "dataset = { kind = \"mnist\", dir = \"/no/such/dir\" }",
        space,
        &OBJ,
    )
    .err()
    .unwrap();
    assert!(
        e.field.contains("dataset") && e.to_string().contains("/no/such/dir"),
        "{e}"
    );
    let e = build("device = \"tpu\"", space, &OBJ).err().unwrap();
    assert!(e.to_string().contains("cuda:N"), "{e}");
    let e = build(
        "dataset = \"digits\"",
        "widths = { type = \"int\", low = 8, high = 32 }",
        &OBJ,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("did you mean `width`"), "{e}");
    let e = build(
        "dataset = \"digits\"",
        space,
        &["accuracy", "energy_joules"],
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("NVML"), "{e}");
    let e = build("dataset = \"digits\"", space, &["accuracy", "latency"])
        .err()
        .unwrap();
    assert!(e.to_string().contains("latency_ms"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n").unwrap();
    let runner = format!(
        "dataset = {{ kind = \"csv\", path = \"{}\", label = \"y\" }}\nmodel = \"cnn\"",
        csv.display()
    );
    let e = build(
        &runner,
        "channels = { type = \"int\", low = 4, high = 8 }",
        &OBJ,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("mlp"), "{e}");
    let e = build("task = \"compress\"", space, &OBJ).err().unwrap();
    assert!(e.to_string().contains("[runner.base]"), "{e}");
}

#[test]
fn energy_objectives_without_an_nvml_gpu_are_located_errors() {
    let space = "width = { type = \"int\", low = 8, high = 32 }";
    for objective in ["energy_joules", "inference_energy_joules"] {
        let e = build("device = \"cpu\"", space, &["accuracy", objective])
            .err()
            .unwrap();
        let text = e.to_string();
        assert!(e.line.is_some(), "{e}");
        assert!(e.field.contains("objectives"), "{}", e.field);
        assert!(
            text.contains(objective)
                && text.contains("NVML")
                && text.contains("device = \"cpu\"")
                && text.contains("drop the energy objectives"),
            "{e}"
        );
    }
    load_cuda();
    if !tch::Cuda::is_available() {
        let e = build("device = \"auto\"", space, &["inference_energy_joules"])
            .err()
            .unwrap();
        assert!(e.to_string().contains("found no CUDA GPU"), "{e}");
    }
    // Several trials per GPU would share one counter.
    let e = build(
        "device = \"cuda\"\ntrials_per_gpu = 2",
        space,
        &["accuracy", "energy_joules"],
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("trials_per_gpu = 1"), "{e}");
    // Without energy objectives the CPU is fine.
    assert!(build("device = \"cpu\"", space, &["accuracy"]).is_ok());
    // gpu_power_limit: refused where it is written, saying why.
    let limit = "gpu_power_limit = { type = \"float\", low = 150.0, high = 300.0 }";
    let e = build("device = \"cpu\"", limit, &["accuracy"])
        .err()
        .unwrap();
    assert!(
        e.field.contains("search_space.gpu_power_limit") && e.to_string().contains("CPU"),
        "{e}"
    );
    let fixed = "device = \"cpu\"\n[runner.params]\ngpu_power_limit = 200.0";
    let e = build(fixed, space, &["accuracy"]).err().unwrap();
    assert!(e.field.contains("runner.params.gpu_power_limit"), "{e}");
    if !tch::Cuda::is_available() {
        let e = build(
            "device = \"cuda\"\ntrials_per_gpu = 2",
            limit,
            &["accuracy"],
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("trials_per_gpu = 1"), "{e}");
    }
}

#[tokio::test]
async fn torchscript_modules_are_compressed_by_weight_value_methods() {
    let pt = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mlp.pt");
    let runner = format!(
        "{SMALL}\ntask = \"compress\"\nmodel = {{ kind = \"torchscript\", path = \"{}\" }}",
        pt.display()
    );
    let space = "quant_bits = { type = \"categorical\", choices = [4, 32] }\nsemi_structured = { type = \"categorical\", choices = [false, true] }";
    let r = build(&runner, space, &OBJ).unwrap();
    let run = |p: Vec<(&'static str, ParamValue)>| {
        let r = r.clone();
        async move {
            match r
                .run(
                    job(&p, &OBJ),
                    &paretosearch_runner::NoReporter,
                    CancellationToken::new(),
                )
                .await
            {
                TrialOutcome::Complete(v) => v,
                other => panic!("{other:?}"),
            }
        }
    };
    let plain = run(vec![]).await;
    assert_eq!(
        plain["size_bytes"],
        ((64 * 32 + 32 + 32 * 10 + 10) * 4) as f64
    );
    let small = run(vec![
        ("quant_bits", ParamValue::Int(4)),
        ("semi_structured", ParamValue::Bool(true)),
    ])
    .await;
    assert!(small["size_bytes"] * 4.0 < plain["size_bytes"], "{small:?}");
    assert!(small["accuracy"].is_finite() && small["latency_ms"] > 0.0);
    // fp4 e2m1 in blocks of 32 with e8m0 scales, by hand: 4 bits a weight,
    // 8 bits a block ([32, 64]: 2 blocks a row; [10, 32]: 1), fp32 biases.
    let fp4 = run(vec![
        ("quant_format", ParamValue::Str("fp4_e2m1".into())),
        ("quant_block", ParamValue::Int(32)),
    ])
    .await;
    let bits = 2048 * 4 + 32 * 2 * 8 + 320 * 4 + 10 * 8 + 42 * 32;
    assert_eq!(fp4["size_bytes"], (bits / 8) as f64);
    assert!(fp4["accuracy"].is_finite());
    // quant_bits beside a float format: refused where it is written.
    let both = "quant_format = { type = \"categorical\", choices = [\"int\", \"fp8_e4m3\"] }\nquant_bits = { type = \"int\", low = 2, high = 8 }";
    let e = build(&runner, both, &OBJ).err().unwrap();
    assert!(
        e.field.contains("quant_bits") && e.to_string().contains("conditional"),
        "{e}"
    );
    let cond = "quant_format = { type = \"categorical\", choices = [\"int\", \"fp8_e4m3\"] }\nquant_bits = { type = \"int\", low = 2, high = 8, when = { quant_format = \"int\" } }";
    assert!(build(&runner, cond, &OBJ).is_ok());
    let fixed = format!("{runner}\n[runner.params]\nquant_format = \"fp6_e2m3\"\nquant_bits = 6");
    let e = build(
        &fixed,
        "sparsity = { type = \"float\", low = 0.0, high = 0.5 }",
        &OBJ,
    )
    .err()
    .unwrap();
    assert!(
        e.field.contains("params.quant_bits") && e.line.is_some(),
        "{e}"
    );
    let e = build(
        &runner,
        "prune_ratio = { type = \"float\", low = 0.0, high = 0.5 }",
        &OBJ,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("TorchScript"), "{e}");
    let bad = format!("{SMALL}\ntask = \"compress\"\nmodel = {{ kind = \"torchscript\", path = \"/no/model.pt\" }}");
    let e = build(&bad, space, &OBJ).err().unwrap();
    assert!(e.to_string().contains("/no/model.pt"), "{e}");
}

#[test]
fn gpu_pool_spreads_trials_and_waits_when_full() {
    let pool = GpuPool {
        devices: vec![0, 3],
        load: Mutex::new(vec![0, 0]),
        freed: Condvar::new(),
        per_gpu: 1,
    };
    let a = pool.acquire(&|| false).unwrap();
    let b = pool.acquire(&|| false).unwrap();
    assert_eq!((a.device, b.device), (Device::Cuda(0), Device::Cuda(3)));
    // Full: a cancelled wait gives up instead of blocking forever.
    assert!(matches!(
        pool.acquire(&|| true),
        Err(TorchError::Interrupted)
    ));
    drop(b);
    let c = pool.acquire(&|| false).unwrap();
    assert_eq!(c.device, Device::Cuda(3));
    drop((a, c));
    assert_eq!(*pool.load.lock().unwrap(), vec![0, 0]);
}

#[test]
fn doctor_names_version_and_cuda() {
    let d = doctor();
    assert!(d.contains("libtorch: 2.13.0"), "{d}");
    assert!(d.contains("CUDA"));
}
