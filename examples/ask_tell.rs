//! Ask and tell from a hand-written loop: the program decides when and how
//! each trial is evaluated (here: a toy "training" with per-epoch reports
//! and the dominated pruner stopping hopeless trials early), and stores
//! the study in a SQLite file, so running it again resumes it.
//!
//! Run: `cargo run --example ask_tell [-- path/to/study.db]`
use paretosearch::{
    PruneReason, PruneRule, SearchSpace, Study, StudySpec, TrialOutcome, Values, Verdict,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = std::env::args().nth(1).unwrap_or_else(|| {
        std::env::temp_dir()
            .join("paretosearch-ask-tell.db")
            .display()
            .to_string()
    });
    let space = SearchSpace::builder()
        .float("lr", 1e-4, 1.0)
        .log()
        .int("width", 8, 512)
        .step(8)
        .monotone(paretosearch::core::Monotone::Increasing)
        .categorical("optimizer", ["sgd", "adam"])
        .build()?;
    let spec = StudySpec::builder("ask-tell")
        .minimize("error")
        .minimize("size")
        .space(space)
        .pruner("dominated")
        .trials(40)
        .build()?;
    let study = Study::create_or_open(spec, &format!("sqlite://{db}")).await?;
    while let Some(trial) = study.ask().await? {
        let lr = trial.float("lr")?;
        let width = trial.int("width")? as f64;
        let adam = trial.choice::<&str>("optimizer")? == "adam";
        // Stand-in for training: error falls with epochs towards a floor
        // that depends on the configuration.
        let floor = (lr.log10() + if adam { 2.5 } else { 1.5 }).powi(2) / 20.0 + 8.0 / width;
        let mut outcome = None;
        let mut error = 1.0;
        for epoch in 1..=10u64 {
            error = floor + (1.0 - floor) * 0.6f64.powi(epoch as i32);
            let values = Values::from([("error".into(), error), ("size".into(), width)]);
            if let Verdict::Stop(reason) = trial.report(epoch, &values).await {
                outcome = Some(TrialOutcome::Pruned {
                    values,
                    step: Some(epoch),
                    reason,
                });
                break;
            }
        }
        let outcome = outcome.unwrap_or_else(|| {
            TrialOutcome::Complete(Values::from([
                ("error".into(), error),
                ("size".into(), width),
            ]))
        });
        let rec = study.tell(&trial, outcome).await?;
        println!(
            "trial {:>2} {:<8} {}",
            rec.number,
            rec.state.as_str(),
            rec.reason.unwrap_or_default()
        );
    }
    let (_, summary) = study.summary().await?;
    println!(
        "finished {}; stopped early {}; Pareto set {}",
        summary.finished,
        summary.stopped,
        summary.pareto.len()
    );
    // A trial can also be stopped by the caller itself:
    let _told = PruneReason::new(PruneRule::Told, "stopped by the caller");
    Ok(())
}
