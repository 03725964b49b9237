//! A Rust program that trains its own `tch` model inside `optimize`: an MLP
//! on a synthetic two-class problem, searched for accuracy against size,
//! reporting validation accuracy every epoch and stopping when the
//! dominated pruner says the trial cannot reach the Pareto front.
//!
//! Run: `cargo run --example tch_mlp` (needs the `torch` feature, the default)
use paretosearch::{Options, SearchSpace, Study, StudySpec, TrialHandle, Values};
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

const EPOCHS: u64 = 12;

/// Points in the plane; the class is the sign of x·y (not linearly separable).
fn data(n: i64, seed: i64) -> (Tensor, Tensor) {
    tch::manual_seed(seed);
    let x = Tensor::randn([n, 2], (Kind::Float, Device::Cpu));
    let y = (x.select(1, 0) * x.select(1, 1))
        .gt(0.0)
        .to_kind(Kind::Int64);
    (x, y)
}

fn train(t: &TrialHandle) -> Result<Values, Box<dyn std::error::Error>> {
    let (width, depth, lr) = (t.int("width")?, t.int("depth")?, t.float("lr")?);
    let (xs, ys) = data(512, 1);
    let (xv, yv) = data(512, 2);
    tch::manual_seed(t.seed() as i64);
    let vs = nn::VarStore::new(Device::Cpu);
    let mut net = nn::seq();
    let mut inputs = 2;
    for i in 0..depth {
        net = net
            .add(nn::linear(
                vs.root() / format!("hidden{i}"),
                inputs,
                width,
                Default::default(),
            ))
            .add_fn(|x| x.relu());
        inputs = width;
    }
    let net = net.add(nn::linear(vs.root() / "out", inputs, 2, Default::default()));
    let mut opt = nn::Adam::default().build(&vs, lr)?;
    let size = vs
        .trainable_variables()
        .iter()
        .map(|v| v.numel())
        .sum::<usize>() as f64;
    let mut accuracy = 0.0;
    for epoch in 1..=EPOCHS {
        for _ in 0..20 {
            let loss = net.forward(&xs).cross_entropy_for_logits(&ys);
            opt.backward_step(&loss);
        }
        accuracy = tch::no_grad(|| net.forward(&xv).accuracy_for_logits(&yv)).double_value(&[]);
        let values = Values::from([("accuracy".into(), accuracy), ("size".into(), size)]);
        t.report_blocking(epoch, &values);
        if t.should_stop() {
            break; // pruned (or the run was cancelled): the engine records why
        }
    }
    Ok(Values::from([
        ("accuracy".into(), accuracy),
        ("size".into(), size),
    ]))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tch::set_num_threads(1);
    let space = SearchSpace::builder()
        .int("width", 2, 64)
        .log()
        .monotone(paretosearch::core::Monotone::Increasing)
        .int("depth", 1, 3)
        .float("lr", 1e-3, 0.3)
        .log()
        .build()?;
    let spec = StudySpec::builder("tch-mlp")
        .maximize("accuracy")
        .minimize("size")
        .space(space)
        .pruner("dominated")
        .trials(16)
        .build()?;
    let study = Study::create_or_open(spec, "sqlite::memory:").await?;
    let objective = |t: &TrialHandle| train(t).map_err(|e| e.to_string());
    study
        .optimize(
            objective,
            Options {
                workers: 2,
                ..Options::default()
            },
        )
        .await?;
    let (trials, summary) = study.summary().await?;
    println!(
        "{} trials, {} stopped early; Pareto set:",
        summary.finished, summary.stopped
    );
    for &i in &summary.pareto {
        let t = &trials[i];
        let params: Vec<String> = t.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "  trial {:>2}: accuracy {:.3} with {} parameters ({})",
            t.number,
            t.values["accuracy"],
            t.values["size"],
            params.join(", ")
        );
    }
    Ok(())
}
