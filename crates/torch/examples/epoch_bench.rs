//! One training epoch of an MLP on the digits set, timed: the Rust half of
//! the side-by-side comparison with `bench/torch_epoch.py` (same model,
//! optimiser, batch size, data and thread count). Run both with
//! `bench/epoch.sh`, or this one alone with
//! `cargo run --release -p paretosearch-torch --example epoch_bench -- [epochs] [threads] [model]`,
//! `model` = mlp (64-256-256-10), resnet (basic blocks, 2 stages of 16 and
//! 32 channels, 2 blocks each) or mobilenet (width 0.5, 3 stages of
//! MobileNetV2's table, expansion 6), the networks `bench/torch_epoch.py`
//! builds in PyTorch.
//! Prints one JSON line: median and mean seconds per epoch.

use paretosearch_core::{ParamValue, Params};
use paretosearch_torch::data;
use paretosearch_torch::measure::median;
use paretosearch_torch::model::{ModelSpec, Net};
use paretosearch_torch::params::ParamReader;
use paretosearch_torch::train::{train, Control, TrainSpec};
use tch::Device;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let epochs: i64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    let threads: i32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let model = args.get(3).map(String::as_str).unwrap_or("mlp").to_string();
    tch::set_num_threads(threads);
    let mut params: Params = [
        ("layers".to_string(), ParamValue::Int(2)),
        ("width".to_string(), ParamValue::Int(256)),
        ("optimizer".to_string(), ParamValue::Str("adam".into())),
        ("lr".to_string(), ParamValue::Float(1e-3)),
        ("batch_size".to_string(), ParamValue::Int(64)),
    ]
    .into();
    let set = |p: &mut Params, k: &str, v: ParamValue| {
        p.insert(k.to_string(), v);
    };
    match model.as_str() {
        "resnet" => {
            set(&mut params, "stages", ParamValue::Int(2));
            set(&mut params, "channels", ParamValue::Int(16));
        }
        "mobilenet" => {
            set(&mut params, "stages", ParamValue::Int(3));
            set(&mut params, "width_mult", ParamValue::Float(0.5));
        }
        _ => {}
    }
    let empty = Params::new();
    let r = ParamReader::new(&params, &empty);
    let d = data::load_digits().expect("digits");
    let split = data::split(&d, 0, 0.2, None).expect("split");
    let spec = ModelSpec::from_params(&model, &r).expect("model");
    let mut net = Net::new(
        spec.build(&d.sample_shape, 10, 0).expect("build"),
        d.sample_shape.clone(),
        10,
        Device::Cpu,
    );
    let ts = TrainSpec::from_params(&r, epochs).expect("train spec");
    let mut per_epoch = Vec::new();
    let mut accuracy = 0.0;
    train(&mut net, &split, &ts, 0, 1024, &|| false, &mut |rep| {
        per_epoch.push(rep.seconds);
        accuracy = rep.accuracy;
        Control::Continue
    })
    .expect("training");
    // The first epoch includes one-off allocation and kernel selection.
    let steady = &per_epoch[1.min(per_epoch.len() - 1)..];
    println!(
        "{{\"impl\": \"paretosearch-torch\", \"model\": \"{model}\", \"params\": {}, \"epochs\": {epochs}, \"threads\": {threads}, \"train_rows\": {}, \"median_epoch_s\": {:.6}, \"mean_epoch_s\": {:.6}, \"accuracy\": {accuracy:.4}}}",
        net.cost().params,
        split.train.len(),
        median(steady),
        steady.iter().sum::<f64>() / steady.len() as f64
    );
}
