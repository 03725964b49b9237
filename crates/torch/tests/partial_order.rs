//! End to end through the engine: a scaling study of the resnet family
//! with width_mult, depth_mult and resolution declared monotone, the cheap
//! objectives (params, macs) measured by the torch runner's profile before
//! training, and partial-order pruning skipping every candidate that a
//! trained smaller network already dominates at the accuracy a trained
//! larger one bounds it by.
//!
//! The dataset is written here with one label only, so every trained
//! network reaches accuracy 1 and which candidates must be skipped follows
//! from their costs alone: after the smallest and the largest grid points
//! (enqueued first) have trained, every other point is dominated.

use std::path::Path;

use paretosearch_core::reason::Cause;
use paretosearch_core::spec::RunnerSpec;
use paretosearch_core::{ParamValue, Params, PruneRule, StudySpec, TrialState};
use paretosearch_engine::{Options, RunnerObjective, Study};
use paretosearch_torch::TorchRunner;

fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

fn study_text(data: &Path) -> String {
    format!(
        r#"
[study]
name = "scaling-po"
seed = 3

[[objectives]]
name = "accuracy"
direction = "maximize"

[[objectives]]
name = "params"
direction = "minimize"
cheap = true

[[objectives]]
name = "macs"
direction = "minimize"
cheap = true

[search_space]
width_mult = {{ type = "float", low = 0.5, high = 1.0, step = 0.25, monotone = "increasing" }}
depth_mult = {{ type = "float", low = 0.5, high = 1.0, step = 0.5, monotone = "increasing" }}
resolution = {{ type = "int", low = 8, high = 12, step = 4, monotone = "increasing" }}

[sampler]
kind = "random"

[pruner]
kind = "none"
partial_order = true
partial_order_margin = 0.0

[runner]
kind = "torch"
dataset = {{ kind = "mnist", dir = "{}" }}
model = "resnet"
device = "cpu"
epochs = 2
threads = 1

[runner.params]
stages = 2
channels = 8
lr = 0.01

[budget]
trials = 10
"#,
        data.display()
    )
}

fn point(w: f64, d: f64, r: i64) -> Params {
    [
        ("width_mult".to_string(), ParamValue::Float(w)),
        ("depth_mult".to_string(), ParamValue::Float(d)),
        ("resolution".to_string(), ParamValue::Int(r)),
    ]
    .into()
}

#[tokio::test(flavor = "multi_thread")]
async fn partial_order_skips_dominated_scaling_candidates_without_training_them() {
    let dir = tempfile::tempdir().unwrap();
    let n = 200u32;
    let pixels: Vec<u8> = (0..n * 64).map(|i| (i * 37 % 251) as u8).collect();
    std::fs::write(
        dir.path().join("train-images-idx3-ubyte"),
        idx(&[n, 8, 8], &pixels),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("train-labels-idx1-ubyte"),
        idx(&[n], &vec![0; n as usize]),
    )
    .unwrap();
    let file = dir.path().join("po.toml");
    let text = study_text(dir.path());
    std::fs::write(&file, &text).unwrap();
    let spec = StudySpec::parse(&text, &file, &mut |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| e.to_string())
    })
    .unwrap();
    let RunnerSpec::Other { options, .. } = &spec.runner else {
        panic!("not a torch runner")
    };
    let runner = TorchRunner::from_options(
        options,
        &spec.origin,
        spec.seed,
        &spec.space,
        &spec.objectives,
    )
    .unwrap();
    let url = format!("sqlite://{}", dir.path().join("study.db").display());
    let study = Study::create_or_open(spec, &url).await.unwrap();
    let (small, large) = (point(0.5, 0.5, 8), point(1.0, 1.0, 12));
    study.enqueue(&small).await.unwrap();
    study.enqueue(&large).await.unwrap();
    study
        .optimize(
            RunnerObjective(std::sync::Arc::new(runner)),
            Options::default(),
        )
        .await
        .unwrap();

    let trials = study.trials().await.unwrap();
    assert_eq!(trials.len(), 10);
    let same = |a: &Params, b: &Params| {
        a.iter()
            .all(|(k, v)| b.get(k).is_some_and(|w| w.loosely_equals(v)))
    };
    let mut skipped = 0;
    for t in trials.iter() {
        // The two enqueued points train; so does a repeat of the smallest
        // (nothing is strictly cheaper); every other point, a repeat of
        // the largest too, is dominated by the smallest network.
        let trains = t.number < 2 || same(&t.params, &small);
        if trains {
            assert_eq!(t.state, TrialState::Complete, "{t:?}");
            assert_eq!(t.values["accuracy"], 1.0, "{t:?}");
        } else {
            // Dominated by the small network at the large one's accuracy.
            assert_eq!(t.state, TrialState::Pruned, "{t:?}");
            assert_eq!(
                t.cause,
                Some(Cause::Pruned(PruneRule::PartialOrder)),
                "{t:?}"
            );
            assert!(
                !t.values.contains_key("accuracy"),
                "a skipped trial trained: {t:?}"
            );
            assert!(t.values["params"] > 0.0 && t.values["macs"] > 0.0, "{t:?}");
            assert!(t.intermediate.is_empty(), "{t:?}");
            skipped += 1;
        }
    }
    assert!(skipped >= 1, "{trials:#?}");
}
