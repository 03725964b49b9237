//! Both families over their scaling grid: they build and run, their
//! parameter count is the sum of their tensors, their MACs match counts
//! done by hand, cost grows with each knob, and they learn on the CPU.

use super::*;
use crate::data;
use crate::model::{ModelSpec, Net};
use crate::train::{train, Control, TrainSpec};
use paretosearch_core::{ParamValue, Params};
use tch::{Device, Kind, Tensor};

fn net(family: &str, kv: &[(&str, ParamValue)]) -> Net {
    let p: Params = kv.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let empty = Params::new();
    let spec = ModelSpec::from_params(family, &ParamReader::new(&p, &empty)).unwrap();
    Net::new(
        spec.build(&[1, 8, 8], 10, 4).unwrap(),
        vec![1, 8, 8],
        10,
        Device::Cpu,
    )
}

/// Parameters counted from the tensors the optimiser would train.
fn brute_force_params(n: &Net) -> i64 {
    n.var_store()
        .trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}

fn variants() -> Vec<(&'static str, Vec<(&'static str, ParamValue)>)> {
    vec![
        (
            "resnet",
            vec![
                ("block", ParamValue::Str("basic".into())),
                ("channels", ParamValue::Int(4)),
            ],
        ),
        (
            "resnet",
            vec![
                ("block", ParamValue::Str("bottleneck".into())),
                ("channels", ParamValue::Int(4)),
            ],
        ),
        (
            "mobilenet",
            vec![
                ("se", ParamValue::Bool(false)),
                ("expand_ratio", ParamValue::Int(2)),
            ],
        ),
        (
            "mobilenet",
            vec![
                ("se", ParamValue::Bool(true)),
                ("expand_ratio", ParamValue::Int(2)),
            ],
        ),
    ]
}

#[test]
fn every_point_of_the_scaling_grid_builds_runs_and_counts_its_tensors() {
    let x = Tensor::randn([2, 1, 8, 8], (Kind::Float, Device::Cpu));
    for (family, base) in variants() {
        for wm in [0.25, 0.5, 1.0] {
            for dm in [0.5, 1.0, 1.5] {
                for res in [0, 12, 16] {
                    let mut kv = base.clone();
                    kv.push(("width_mult", ParamValue::Float(wm)));
                    kv.push(("depth_mult", ParamValue::Float(dm)));
                    kv.push(("resolution", ParamValue::Int(res)));
                    let n = net(family, &kv);
                    let y = n.forward(&x, true, None);
                    assert_eq!(y.size(), vec![2, 10], "{family} {kv:?}");
                    assert_eq!(n.cost().params, brute_force_params(&n), "{family} {kv:?}");
                }
            }
        }
    }
}

#[test]
fn macs_match_counts_by_hand() {
    // resnet, basic, 2 stages of 4 and 8 channels, one block each, 8x8.
    let r = net(
        "resnet",
        &[
            ("stages", ParamValue::Int(2)),
            ("channels", ParamValue::Int(4)),
            ("depth_mult", ParamValue::Float(0.5)),
        ],
    );
    let stem = 4 * 9 * 64;
    let block0 = 2 * (4 * 4 * 9 * 64);
    let block1 = 8 * 4 * 9 * 16 + 8 * 8 * 9 * 16 + 8 * 4 * 16; // stride 2, projection
    assert_eq!(r.cost().macs, stem + block0 + block1 + 8 * 10);
    // mobilenet, 2 stages, width 0.25 (8 channels everywhere), t = 2.
    let m = |se: bool| {
        net(
            "mobilenet",
            &[
                ("stages", ParamValue::Int(2)),
                ("width_mult", ParamValue::Float(0.25)),
                ("depth_mult", ParamValue::Float(0.5)),
                ("expand_ratio", ParamValue::Int(2)),
                ("se", ParamValue::Bool(se)),
            ],
        )
        .cost()
        .macs
    };
    let stem = 8 * 9 * 64;
    let block0 = 8 * 9 * 64 + 8 * 8 * 64; // depthwise, project (t = 1)
    let block1 = 16 * 8 * 64 + 16 * 9 * 16 + 8 * 16 * 16; // expand, depthwise s2, project
    let head = 32 * 8 * 16 + 32 * 10;
    assert_eq!(m(false), stem + block0 + block1 + head);
    // Squeeze-excitation: hidden -> hidden/... -> hidden, r = input channels / 4 = 2.
    assert_eq!(m(true), m(false) + (8 * 2 * 2) + (16 * 2 * 2));
}

#[test]
fn cost_never_falls_as_a_knob_grows() {
    for (family, base) in variants() {
        let cost = |k: &'static str, v: ParamValue| {
            let mut kv = base.clone();
            kv.push((k, v));
            net(family, &kv).cost()
        };
        let w: Vec<_> = [0.25, 0.5, 0.75, 1.0]
            .map(|v| cost("width_mult", ParamValue::Float(v)))
            .to_vec();
        let d: Vec<_> = [0.5, 1.0, 1.5, 2.0]
            .map(|v| cost("depth_mult", ParamValue::Float(v)))
            .to_vec();
        let r: Vec<_> = [8, 12, 16, 24]
            .map(|v| cost("resolution", ParamValue::Int(v)))
            .to_vec();
        for series in [&w, &d] {
            assert!(
                series.windows(2).all(|p| p[0].params <= p[1].params),
                "{family}"
            );
            assert!(
                series.windows(2).all(|p| p[0].macs <= p[1].macs),
                "{family}"
            );
            assert!(
                series[0].params < series[3].params,
                "{family}: the knob does nothing"
            );
        }
        assert!(r.windows(2).all(|p| p[0].macs < p[1].macs), "{family}");
    }
    assert_eq!(make_divisible(9.0), 16);
    assert_eq!(make_divisible(8.5), 8);
    assert_eq!(make_divisible(20.0), 24);
}

#[test]
fn both_families_learn_digits_on_the_cpu() {
    tch::set_num_threads(1);
    let d = data::load_digits().unwrap();
    let split = data::split(&d, 1, 0.2, Some(600)).unwrap();
    let p: Params = [("lr".to_string(), ParamValue::Float(0.01))].into();
    let empty = Params::new();
    // Eight short epochs: with fewer, the batch-norm running statistics of
    // the deeper mobile network still lag its fast-moving weights.
    let ts = TrainSpec::from_params(&ParamReader::new(&p, &empty), 8).unwrap();
    for (family, kv) in [
        (
            "resnet",
            vec![
                ("channels", ParamValue::Int(8)),
                ("stages", ParamValue::Int(2)),
            ],
        ),
        (
            "mobilenet",
            vec![
                ("width_mult", ParamValue::Float(0.25)),
                ("stages", ParamValue::Int(3)),
                ("se", ParamValue::Bool(true)),
                ("resolution", ParamValue::Int(12)),
            ],
        ),
    ] {
        let mut n = net(family, &kv);
        let res = train(&mut n, &split, &ts, 2, 256, &|| false, &mut |_| {
            Control::Continue
        })
        .unwrap();
        let acc = res.last.unwrap().accuracy;
        eprintln!("{family} {kv:?}: accuracy {acc}");
        assert!(acc > 0.8, "{family}: accuracy {acc}");
    }
}
