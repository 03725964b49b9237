//! `paretosearch run` and `paretosearch worker`: a study file handed to
//! [`Study::optimize`] with the study's runner, a progress observer, and
//! the process's signals turned into a cancellation.
//!
//! Ctrl-C (or SIGTERM) stops cleanly: the engine interrupts the running
//! trials, records them FAIL (interrupted) and re-queues them for the next
//! run; a second Ctrl-C exits at once (the next run recovers the trials).
//! Handling signals and exiting are the binary's business, never the
//! library's.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use paretosearch::core::spec::parse_duration;
use paretosearch::store::ConnectionEvent;
use paretosearch::{registry, Cancel, EngineError, Options, RunnerObjective, Study, TrialState};

use crate::cli::{RunArgs, WorkerArgs};
use crate::progress::Progress;
use crate::status::print_summary;
use crate::study::{self, Prepared};
use crate::BadInput;

/// `paretosearch worker`: join an existing study (or create it with
/// `--create`) and run its trials until the budget is spent, with one plain
/// log line per trial.
pub async fn worker(args: WorkerArgs) -> Result<ExitCode> {
    let mut run_args = args.run;
    run_args.plain = true;
    run_inner(run_args, !args.create).await
}

/// Run or resume a study.
pub async fn run(args: RunArgs) -> Result<ExitCode> {
    run_inner(args, false).await
}

async fn run_inner(args: RunArgs, must_exist: bool) -> Result<ExitCode> {
    let prepared = study::prepare(&args.study.study, args.study.storage.as_deref())?;
    let budget = args.trials.unwrap_or(prepared.spec.budget.trials);
    if budget == 0 {
        return Err(BadInput("--trials must be at least 1".into()).into());
    }
    let workers = args.workers.unwrap_or(prepared.spec.budget.workers);
    if workers == 0 {
        return Err(BadInput("--workers must be at least 1".into()).into());
    }
    if workers > paretosearch::core::spec::MAX_WORKERS {
        return Err(BadInput(format!(
            "--workers {workers} is more than one process can run at once: use {} or fewer, and start more processes on the same storage for more",
            paretosearch::core::spec::MAX_WORKERS
        ))
        .into());
    }
    // No more workers than trials: the runner sizes its pools by them.
    let workers = workers.min(usize::try_from(budget).unwrap_or(usize::MAX));
    let timeout = match &args.timeout {
        Some(t) => Some(parse_duration(t).map_err(|e| BadInput(format!("--timeout: {e}")))?),
        None => prepared.spec.budget.timeout,
    };
    // Build everything that can fail on bad input before touching the store.
    let runner = registry().build(&prepared.spec, workers)?;
    paretosearch::store::on_connection_event(|e| match e {
        ConnectionEvent::Lost { error, retry_for } => eprintln!(
            "warning: the database cannot be reached ({error}); retrying for up to {}",
            humantime::format_duration(*retry_for)
        ),
        // Visible while it lasts, without a line per attempt: attempts
        // 2, 4, 8, ... are shown.
        ConnectionEvent::Retrying {
            error,
            attempt,
            elapsed,
            retry_for,
        } if attempt.is_power_of_two() => eprintln!(
            "warning: still cannot reach the database ({error}); retrying for {} of up to {}",
            humantime::format_duration(std::time::Duration::from_secs(elapsed.as_secs())),
            humantime::format_duration(*retry_for)
        ),
        ConnectionEvent::Restored { after } => eprintln!(
            "the database answers again (after {:.1} s)",
            after.as_secs_f64()
        ),
        _ => {}
    });
    let study = open(&prepared, must_exist, &args).await?;
    study.set_logs_dir(prepared.logs_dir());
    // Nothing left to run: say so rather than start workers that end at once.
    let (trials, summary) = study.summary().await?;
    if summary.finished as u64 >= budget {
        // Never "13 of 12": more can have finished than this run's budget
        // when an earlier `--trials` raised it.
        let finished = if summary.finished as u64 == budget {
            format!("{budget} of {budget} trials finished")
        } else if args.trials.is_some() {
            format!(
                "{} trials finished, more than --trials {budget}",
                summary.finished
            )
        } else {
            format!(
                "{} trials finished, more than the budget of {budget} in the file (an earlier --trials raised it)",
                summary.finished
            )
        };
        println!(
            "budget spent: {finished}, nothing to run (fix: raise [budget] trials in {}, or pass --trials N with N > {})",
            args.study.study.display(),
            summary.finished
        );
        print_summary(&trials, study.spec(), &summary, 10);
        return Ok(ExitCode::SUCCESS);
    }
    drop(trials);
    let plain = args.plain || !std::io::stdout().is_terminal();
    let progress = Arc::new(Progress::new(&prepared.spec, budget, plain, args.quiet));
    progress.set_stored_reference(study.stored_reference());
    if !args.quiet {
        study.observe(progress.clone());
    }

    let cancel = Cancel::new();
    let signalled = Arc::new(AtomicBool::new(false));
    let signals = tokio::spawn(watch_signals(
        cancel.clone(),
        signalled.clone(),
        progress.clone(),
        study.clone(),
    ));
    let started = Instant::now();
    let result = study
        .optimize(
            RunnerObjective(runner),
            Options {
                budget: Some(budget),
                workers,
                timeout,
                cancel: cancel.clone(),
            },
        )
        .await;
    signals.abort();
    progress.finish();
    result?;

    let (trials, summary) = study.summary().await?;
    let reason = cancel.reason();
    {
        // `--quiet` drops the progress lines, not this summary.
        if !args.quiet {
            println!();
        }
        match &reason {
            Some(r) => println!(
                "stopped ({r}) after {:.1} s: {} of {} trials finished; `paretosearch run {}` resumes",
                started.elapsed().as_secs_f64(),
                summary.finished,
                budget.max(summary.finished as u64),
                args.study.study.display()
            ),
            None => println!(
                "done in {:.1} s: {} of {} trials finished",
                started.elapsed().as_secs_f64(),
                summary.finished,
                budget.max(summary.finished as u64)
            ),
        }
        print_summary(&trials, study.spec(), &summary, 10);
        if summary.count(TrialState::Complete) == 0 && summary.count(TrialState::Fail) > 0 {
            let last = trials
                .iter()
                .rev()
                .find_map(|t| t.reason.clone())
                .unwrap_or_default();
            println!(
                "warning: no trial has completed; the last failure says: {last}\n         the trials' logs are in {}",
                prepared.logs_dir().display()
            );
        }
    }
    Ok(if signalled.load(Ordering::SeqCst) {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// Open the study; a worker refuses to create one.
async fn open(prepared: &Prepared, must_exist: bool, args: &RunArgs) -> Result<Study> {
    match prepared.open_study(!must_exist).await {
        Err(EngineError::NoSuchStudy { name, storage }) => Err(BadInput(format!(
            "storage {storage} holds no study named `{name}`; a worker joins an existing study (fix: pass --create to create it, or start it with `paretosearch run {}`)",
            args.study.study.display()
        ))
        .into()),
        other => Ok(other?),
    }
}

/// Ctrl-C or SIGTERM: cancel the run (and note it: the exit status is
/// then 130); a second one exits at once.
async fn watch_signals(
    cancel: Cancel,
    signalled: Arc<AtomicBool>,
    progress: Arc<Progress>,
    study: Study,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    let mut seen = 0;
    loop {
        let name = tokio::select! {
            _ = int.recv() => "Ctrl-C",
            _ = term.recv() => "SIGTERM",
        };
        seen += 1;
        if seen > 1 {
            eprintln!("\n{name} again: exiting now; the next run recovers the running trials");
            std::process::exit(130);
        }
        let n = study.running_here();
        progress.line(&format!(
            "{name}: stopping, terminating {n} running trial{} (again to exit at once)",
            if n == 1 { "" } else { "s" }
        ));
        signalled.store(true, Ordering::SeqCst);
        cancel.cancel(format!("interrupted by {name}"));
    }
}
