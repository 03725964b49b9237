//! A closure objective on a built-in problem: the ZDT1 front in 60 trials.
//! Run: `cargo run --example zdt_closure`
use paretosearch::runner::problems;
use paretosearch::{Options, Study, StudySpec, TrialHandle, Values};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let zdt1 = problems::problem("zdt1").expect("a built-in problem");
    let spec = StudySpec::builder("zdt1-closure")
        .minimize("f1")
        .minimize("f2")
        .space(zdt1.search_space())
        .sampler("tpe")
        .trials(60)
        .build()?;
    let study = Study::create_or_open(spec, "sqlite::memory:").await?;
    let objective =
        move |t: &TrialHandle| -> Result<Values, String> { zdt1.evaluate_params(t.params()) };
    let done = study
        .optimize(
            objective,
            Options {
                workers: 2,
                ..Options::default()
            },
        )
        .await?;
    let front = study.pareto_front().await?;
    println!(
        "{} trials in {:.2} s ({:?})",
        done.trials,
        done.elapsed.as_secs_f64(),
        done.stopped
    );
    println!(
        "Pareto set: {} trials, hypervolume {:.4}",
        front.trials.len(),
        front.hypervolume
    );
    for t in front.trials.iter().take(5) {
        println!(
            "  trial {:>2}: f1 = {:.3}, f2 = {:.3}",
            t.number, t.values["f1"], t.values["f2"]
        );
    }
    Ok(())
}
