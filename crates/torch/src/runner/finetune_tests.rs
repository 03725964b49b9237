//! Fine-tuning after compression, on the built-in MLP and on a TorchScript
//! module trained here by the runner's own loop: with fixed seeds,
//! fine-tuning must recover measurably more accuracy than compressing
//! alone, the fine-tuned weights must keep their sparsity and their format,
//! and quantisation-aware fine-tuning must end on exactly the accuracy its
//! last (fake-quantised) validation saw.

use std::path::Path;

use paretosearch_core::ParamValue;
use tch::{Device, Kind, Tensor};

use super::pipeline::Finished;
use super::tests::{build, job, OBJ, SMALL};
use super::TorchRunner;
use crate::compress::Compressible;
use crate::model::Layer;
use crate::script::ScriptModel;
use crate::train::{train, Control, TrainSpec};

/// Run one trial through the runner's pipeline and keep the model.
fn trial<M: Compressible>(
    r: &TorchRunner,
    net: M,
    params: &[(&str, ParamValue)],
) -> (M, f64, Vec<f64>) {
    let data = r.inner.data_on(Device::Cpu);
    let mut seen = Vec::new();
    let out = r
        .inner
        .run_trial(
            net,
            &job(params, &OBJ),
            &data,
            false,
            &mut |_, rep| {
                seen.push(rep.accuracy);
                Control::Continue
            },
            &|| false,
        )
        .unwrap();
    match out {
        Finished::Done(net, values) => (net, values["accuracy"], seen),
        Finished::Stopped(_) => panic!("nothing stops these trials"),
    }
}

fn zero_fraction(w: &Tensor) -> f64 {
    w.eq(0.0).sum(Kind::Int64).int64_value(&[]) as f64 / w.numel() as f64
}

/// At most 15 distinct values per output channel: what a 4-bit format
/// with one scale per channel holds (fp4 e2m1: zero and 7 magnitudes a sign).
fn four_bit_rows(w: &Tensor) -> bool {
    let flat = w.reshape([w.size()[0], -1]);
    (0..flat.size()[0]).all(|r| {
        let mut v = Vec::<f32>::try_from(flat.get(r)).unwrap();
        v.sort_by(|a, b| a.total_cmp(b));
        v.dedup();
        v.len() <= 15
    })
}

fn sparse(s: f64, ft: i64) -> Vec<(&'static str, ParamValue)> {
    vec![
        ("sparsity", ParamValue::Float(s)),
        ("finetune_epochs", ParamValue::Int(ft)),
    ]
}

fn fp4(ft: i64) -> Vec<(&'static str, ParamValue)> {
    vec![
        ("quant_format", ParamValue::Str("fp4_e2m1".into())),
        ("finetune_epochs", ParamValue::Int(ft)),
    ]
}

#[test]
fn fine_tuning_recovers_accuracy_of_the_built_in_mlp() {
    tch::set_num_threads(1);
    let runner = format!(
        "{SMALL}\ntask = \"compress\"\nmodel = \"mlp\"\n[runner.base]\nlayers = 1\nwidth = 24\nlr = 0.01\nfinetune_lr = 0.003"
    );
    let r = build(
        &runner,
        "sparsity = { type = \"float\", low = 0.0, high = 0.9 }",
        &OBJ,
    )
    .unwrap();
    let data = r.inner.data_on(Device::Cpu);
    let base = || r.inner.base_model(Device::Cpu, &data, &|| false).unwrap();
    let (_, dense, _) = trial(&r, base(), &[]);
    let (_, pruned, _) = trial(&r, base(), &sparse(0.5, 0));
    let (net, tuned, _) = trial(&r, base(), &sparse(0.5, 2));
    eprintln!("mlp sparsity 0.5: dense {dense}, pruned {pruned}, fine-tuned {tuned}");
    assert!(tuned > pruned + 0.02, "pruned {pruned}, fine-tuned {tuned}");
    for l in &net.layers {
        if let Layer::Linear(l) = l {
            assert!(
                zero_fraction(&l.w) >= 0.5,
                "a fine-tuned weight lost its zeros"
            );
        }
    }
    let (_, quant, _) = trial(&r, base(), &fp4(0));
    let (net, qat, seen) = trial(&r, base(), &fp4(2));
    eprintln!("mlp fp4_e2m1: quantised {quant}, quantisation-aware fine-tuned {qat}");
    assert!(qat > quant + 0.02, "quantised {quant}, fine-tuned {qat}");
    assert_eq!(
        seen.last().copied(),
        Some(qat),
        "QAT validated other weights"
    );
    for l in &net.layers {
        if let Layer::Linear(l) = l {
            assert!(four_bit_rows(&l.w) && l.fmt.quant.is_some() && l.fmt.fake_quant.is_none());
        }
    }
}

#[test]
fn a_torchscript_module_trains_and_fine_tunes_after_compression() {
    tch::set_num_threads(1);
    let pt = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mlp.pt");
    let dir = tempfile::tempdir().unwrap();
    // task = "train" on the module: its parameters learn from the fixture's weights.
    let runner = format!(
        "{SMALL}\nmodel = {{ kind = \"torchscript\", path = \"{}\" }}",
        pt.display()
    );
    let r = build(
        &runner,
        "lr = { type = \"float\", low = 0.001, high = 0.1 }",
        &OBJ,
    )
    .unwrap();
    let script = ScriptModel::open(&pt, &[1, 8, 8], 10).unwrap();
    let (_, untrained, _) = trial(&r, script.load(Device::Cpu).unwrap(), &[]);
    let mut net = script.load(Device::Cpu).unwrap();
    let data = r.inner.data_on(Device::Cpu);
    let empty = paretosearch_core::Params::new();
    let lr: paretosearch_core::Params = [("lr".to_string(), ParamValue::Float(0.01))].into();
    let ts = TrainSpec::from_params(&crate::params::ParamReader::new(&lr, &empty), 4).unwrap();
    let res = train(&mut net, &data, &ts, 1, 256, &|| false, &mut |_| {
        Control::Continue
    })
    .unwrap();
    let trained = res.last.unwrap().accuracy;
    eprintln!("torchscript: untrained {untrained}, trained {trained}");
    assert!(trained > untrained + 0.3, "{untrained} -> {trained}");
    let trained_pt = dir.path().join("trained.pt");
    net.save(&trained_pt).unwrap();

    // task = "compress" of the trained module, with and without fine-tuning.
    let runner = format!(
        "{SMALL}\ntask = \"compress\"\nmodel = {{ kind = \"torchscript\", path = \"{}\" }}\n[runner.base]\nlr = 0.01\nfinetune_lr = 0.003",
        trained_pt.display()
    );
    let r = build(
        &runner,
        "sparsity = { type = \"float\", low = 0.0, high = 0.9 }",
        &OBJ,
    )
    .unwrap();
    let script = ScriptModel::open(&trained_pt, &[1, 8, 8], 10).unwrap();
    let load = || script.load(Device::Cpu).unwrap();
    let (_, pruned, _) = trial(&r, load(), &sparse(0.5, 0));
    let (net, tuned, _) = trial(&r, load(), &sparse(0.5, 2));
    eprintln!("torchscript sparsity 0.5: pruned {pruned}, fine-tuned {tuned}");
    assert!(tuned > pruned + 0.02, "pruned {pruned}, fine-tuned {tuned}");
    for (w, _) in net.weights() {
        assert!(
            zero_fraction(w) >= 0.5,
            "a fine-tuned weight lost its zeros"
        );
    }
    let (_, quant, _) = trial(&r, load(), &fp4(0));
    let (net, qat, seen) = trial(&r, load(), &fp4(2));
    eprintln!("torchscript fp4_e2m1: quantised {quant}, fine-tuned {qat}");
    assert!(qat > quant + 0.02, "quantised {quant}, fine-tuned {qat}");
    assert_eq!(
        seen.last().copied(),
        Some(qat),
        "QAT validated other weights"
    );
    for (w, fmt) in net.weights() {
        assert!(four_bit_rows(w) && fmt.quant.is_some());
    }
    // Structured pruning stays refused, with the reason.
    let e = build(
        &runner,
        "prune_ratio = { type = \"float\", low = 0.0, high = 0.5 }",
        &OBJ,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("layer shapes"), "{e}");
}
