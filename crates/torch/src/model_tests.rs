//! The MLP and the CNN built from parameters: their output shapes and cost
//! counts, and the same seed building the same weights.

use super::*;
use crate::params::ParamReader;
use paretosearch_core::{ParamValue, Params};

fn params(kv: &[(&str, ParamValue)]) -> Params {
    kv.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn build(family: &str, p: &Params, shape: &[i64]) -> Net {
    let empty = Params::new();
    let spec = ModelSpec::from_params(family, &ParamReader::new(p, &empty)).unwrap();
    Net::new(
        spec.build(shape, 10, 1).unwrap(),
        shape.to_vec(),
        10,
        Device::Cpu,
    )
}

#[test]
fn mlp_forward_shape_and_counts() {
    let p = params(&[
        ("layers", ParamValue::Int(2)),
        ("width", ParamValue::Int(32)),
        ("batch_norm", ParamValue::Bool(true)),
        ("dropout", ParamValue::Float(0.1)),
    ]);
    let net = build("mlp", &p, &[1, 8, 8]);
    let y = net.forward(
        &Tensor::zeros([5, 1, 8, 8], (Kind::Float, Device::Cpu)),
        true,
        None,
    );
    assert_eq!(y.size(), vec![5, 10]);
    let c = net.cost();
    let expect = 64 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10 + 2 * (2 * 32);
    assert_eq!(c.params, expect);
    assert_eq!(c.macs, 64 * 32 + 32 * 32 + 32 * 10);
    // Trainable params plus running statistics, 4 bytes each.
    assert_eq!(c.size_bytes, (expect + 2 * 2 * 32) * 4);
}

#[test]
fn cnn_forward_shape_and_counts() {
    let p = params(&[
        ("stages", ParamValue::Int(2)),
        ("channels", ParamValue::Int(4)),
        ("fc_width", ParamValue::Int(16)),
        ("pooling", ParamValue::Str("avg".into())),
    ]);
    let net = build("cnn", &p, &[1, 8, 8]);
    let y = net.forward(
        &Tensor::zeros([3, 1, 8, 8], (Kind::Float, Device::Cpu)),
        false,
        None,
    );
    assert_eq!(y.size(), vec![3, 10]);
    let c = net.cost();
    // conv 1->4 on 8x8, conv 4->8 on 4x4, fc 8->16, fc 16->10.
    assert_eq!(c.macs, 4 * 9 * 64 + 8 * 4 * 9 * 16 + 8 * 16 + 16 * 10);
    assert!(
        ModelSpec::from_params("cnn", &ParamReader::new(&p, &Params::new()))
            .unwrap()
            .build(&[64], 10, 0)
            .is_err()
    );
}

#[test]
fn same_seed_builds_the_same_weights() {
    let spec =
        ModelSpec::from_params("mlp", &ParamReader::new(&Params::new(), &Params::new())).unwrap();
    let a = spec.build(&[64], 10, 5).unwrap();
    let b = spec.build(&[64], 10, 5).unwrap();
    let c = spec.build(&[64], 10, 6).unwrap();
    let w = |l: &[Layer]| match &l[1] {
        Layer::Linear(x) => x.w.shallow_clone(),
        _ => unreachable!(),
    };
    assert!(w(&a).equal(&w(&b)));
    assert!(!w(&a).equal(&w(&c)));
}
