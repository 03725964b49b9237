//! `paretosearch run`: the ask → run → tell loop.
//!
//! One process runs `workers` slots. Each slot claims work from the store
//! (a re-queued trial first, else a new trial number while the budget
//! allows), asks the sampler for parameters, hands the trial to the runner
//! and records the outcome. A heartbeat task refreshes the slots' trials and
//! sweeps stale trials of dead workers (of this or any other process) back
//! into the queue. Ctrl-C (or SIGTERM) stops cleanly: running trials are
//! terminated, recorded as FAIL "interrupted" and re-queued for the next
//! run; a second Ctrl-C exits at once (the next run recovers the trials).

use std::collections::{BTreeMap, HashSet};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use async_trait::async_trait;
use indicatif::{ProgressBar, ProgressStyle};
use paretosearch_core::spec::parse_duration;
use paretosearch_core::{Intermediate, Params, StudySpec, Trial, TrialOutcome, TrialState};
use paretosearch_runner::{Job, Reporter, Runner, Verdict};
use paretosearch_samplers::pruners::{Pruning, CHEAP_ATTR};
use paretosearch_samplers::{Sampler, StudyView};
use paretosearch_store::{Claim, ConnectionEvent, Store, TrialCache};
use tokio_util::sync::CancellationToken;

use crate::cli::{RunArgs, WorkerArgs};
use crate::status::print_summary;
use crate::study;
use crate::util::{fmt_num, now_ms, summarize, trial_seed, worker_id, worker_is_dead};
use crate::BadInput;

struct Ctx {
    store: Arc<dyn Store>,
    study_id: i64,
    spec: StudySpec,
    runner: Arc<dyn Runner>,
    sampler: Arc<Mutex<Box<dyn Sampler>>>,
    worker: String,
    budget: u64,
    cancel: CancellationToken,
    stop_reason: Mutex<Option<String>>,
    active: Mutex<HashSet<i64>>,
    logs_dir: std::path::PathBuf,
    progress: Progress,
    /// The study's trials, read incrementally (finished ones once).
    cache: tokio::sync::Mutex<TrialCache>,
    /// `[pruner]`: early stopping and partial-order pruning.
    pruning: Pruning,
}

/// Environment variable naming this machine in worker ids, for containers
/// that share a host name but not a process namespace (pids could then be
/// mistaken for those of another container).
pub const HOSTNAME_ENV: &str = "PARETOSEARCH_HOSTNAME";

/// This process's worker id: `host:pid:start_ms`, the host from
/// `PARETOSEARCH_HOSTNAME` when set.
fn this_worker() -> String {
    match std::env::var(HOSTNAME_ENV) {
        Ok(h) if !h.trim().is_empty() => {
            format!("{}:{}:{}", h.trim(), std::process::id(), now_ms())
        }
        _ => worker_id(),
    }
}

/// The study's trials, up to date: only new and unfinished trials are read.
async fn load_trials(ctx: &Ctx) -> Result<Arc<Vec<Trial>>> {
    Ok(ctx.cache.lock().await.refresh(&*ctx.store).await?)
}

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
    let prepared = study::prepare(&args.study)?;
    let budget = args.trials.unwrap_or(prepared.spec.budget.trials);
    if budget == 0 {
        return Err(BadInput("--trials must be at least 1".into()).into());
    }
    let workers = args.workers.unwrap_or(prepared.spec.budget.workers);
    if workers == 0 {
        return Err(BadInput("--workers must be at least 1".into()).into());
    }
    let timeout = match &args.timeout {
        Some(t) => Some(parse_duration(t).map_err(|e| BadInput(format!("--timeout: {e}")))?),
        None => prepared.spec.budget.timeout,
    };
    // Build everything that can fail on bad input before touching the store.
    let runner = study::build_runner(&prepared.spec, workers)?;
    let sampler = study::build_sampler(&prepared.spec)?;
    let pruning = study::build_pruning(&prepared.spec)?;
    paretosearch_store::on_connection_event(|e| match e {
        ConnectionEvent::Lost { error, retry_for } => eprintln!(
            "warning: the database cannot be reached ({error}); retrying for up to {}",
            humantime::format_duration(*retry_for)
        ),
        ConnectionEvent::Restored { after } => eprintln!(
            "the database answers again (after {:.1} s)",
            after.as_secs_f64()
        ),
        _ => {}
    });
    let loaded = prepared.connect().await?;
    if must_exist && loaded.store.find_study(&loaded.spec.name).await?.is_none() {
        return Err(BadInput(format!(
            "storage {} holds no study named `{}`; a worker joins an existing study (fix: pass --create to create it, or start it with `paretosearch run {}`)",
            loaded.storage_url,
            loaded.spec.name,
            args.study.study.display()
        ))
        .into());
    }
    let record = loaded.open_study().await?;
    let logs_dir = loaded.dir.join(format!("{}-logs", loaded.spec.name));
    let worker = this_worker();
    let plain = args.plain || !std::io::stdout().is_terminal();
    let ctx = Arc::new(Ctx {
        store: loaded.store.clone(),
        study_id: record.id,
        runner,
        sampler: Arc::new(Mutex::new(sampler)),
        worker,
        budget,
        cancel: CancellationToken::new(),
        stop_reason: Mutex::new(None),
        active: Mutex::new(HashSet::new()),
        logs_dir,
        progress: Progress::new(budget, plain, args.quiet),
        spec: loaded.spec,
        cache: tokio::sync::Mutex::new(TrialCache::new(record.id)),
        pruning,
    });

    sweep_stale(&ctx).await?;
    let trials = load_trials(&ctx).await?;
    ctx.progress.update(&trials, &ctx.spec);
    ctx.progress.line(&format!(
        "study `{}`: {} of {} trials finished; running with {} worker{} (storage {})",
        ctx.spec.name,
        summarize(&trials, &ctx.spec.objectives).finished,
        budget,
        workers,
        if workers == 1 { "" } else { "s" },
        loaded.storage_url
    ));

    let signals = tokio::spawn(watch_signals(ctx.clone()));
    let deadline = timeout.map(|t| {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(t).await;
            stop(
                &ctx,
                format!("run timeout of {} reached", humantime::format_duration(t)),
            );
        })
    });
    let heart = tokio::spawn(heartbeat_loop(ctx.clone()));

    let started = Instant::now();
    let mut slots = Vec::new();
    for slot in 0..workers {
        let ctx = ctx.clone();
        slots.push(tokio::spawn(async move { worker_loop(ctx, slot).await }));
    }
    let mut first_err = None;
    for s in slots {
        match s.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                if first_err.is_none() {
                    // Stop the other slots too: their trials are re-queued.
                    stop(&ctx, format!("error: {e}"));
                    first_err = Some(e);
                }
            }
            Err(e) => {
                first_err.get_or_insert(anyhow!("worker task panicked: {e}"));
            }
        }
    }
    heart.abort();
    signals.abort();
    if let Some(d) = deadline {
        d.abort();
    }
    ctx.progress.finish();
    if let Some(e) = first_err {
        return Err(e);
    }
    let trials = load_trials(&ctx).await?;
    let summary = summarize(&trials, &ctx.spec.objectives);
    let reason = ctx.stop_reason.lock().unwrap().clone();
    if !args.quiet || reason.is_some() {
        println!();
        match &reason {
            Some(r) => println!(
                "stopped ({r}) after {:.1} s: {} of {} trials finished; `paretosearch run {}` resumes",
                started.elapsed().as_secs_f64(),
                summary.finished,
                budget,
                args.study.study.display()
            ),
            None => println!(
                "done in {:.1} s: {} of {} trials finished",
                started.elapsed().as_secs_f64(),
                summary.finished,
                budget
            ),
        }
        print_summary(&trials, &ctx.spec, &summary, 10);
        let complete = summary
            .counts
            .get(&TrialState::Complete)
            .copied()
            .unwrap_or(0);
        let failed = summary.counts.get(&TrialState::Fail).copied().unwrap_or(0);
        if complete == 0 && failed > 0 {
            let last = trials
                .iter()
                .rev()
                .find_map(|t| t.reason.clone())
                .unwrap_or_default();
            println!(
                "warning: no trial has completed; the last failure says: {last}\n         the trials' logs are in {}",
                ctx.logs_dir.display()
            );
        }
    }
    Ok(match reason {
        Some(r) if r.starts_with("interrupted") => ExitCode::from(130),
        _ => ExitCode::SUCCESS,
    })
}

fn stop(ctx: &Ctx, reason: String) {
    let mut r = ctx.stop_reason.lock().unwrap();
    if r.is_none() {
        *r = Some(reason);
    }
    ctx.cancel.cancel();
}

async fn watch_signals(ctx: Arc<Ctx>) {
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
        let n = ctx.active.lock().unwrap().len();
        ctx.progress.line(&format!(
            "{name}: stopping, terminating {n} running trial{} (again to exit at once)",
            if n == 1 { "" } else { "s" }
        ));
        stop(&ctx, format!("interrupted by {name}"));
    }
}

async fn heartbeat_loop(ctx: Arc<Ctx>) {
    let every = ctx.spec.heartbeat.max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(every).await;
        let ids: Vec<i64> = ctx.active.lock().unwrap().iter().copied().collect();
        if !ids.is_empty() {
            if let Err(e) = ctx.store.heartbeat(&ids, now_ms()).await {
                ctx.progress
                    .line(&format!("warning: heartbeat failed: {e}"));
            }
        }
        if let Err(e) = sweep_stale(&ctx).await {
            ctx.progress
                .line(&format!("warning: stale-trial sweep failed: {e}"));
        }
    }
}

async fn sweep_stale(ctx: &Ctx) -> Result<()> {
    let me = ctx.worker.clone();
    let dead = move |w: &str| worker_is_dead(w, &me);
    let rec = ctx
        .store
        .fail_stale(
            ctx.study_id,
            now_ms(),
            ctx.spec.stale_after.as_millis() as i64,
            ctx.spec.retries,
            &dead,
        )
        .await?;
    for (i, n) in rec.failed.iter().enumerate() {
        let what = match rec.requeued.get(i) {
            Some(q) => format!("re-queued as trial {q}"),
            None => "not re-queued".into(),
        };
        ctx.progress.line(&format!(
            "trial {n}: its worker is gone; marked FAIL, {what}"
        ));
    }
    Ok(())
}

async fn worker_loop(ctx: Arc<Ctx>, _slot: usize) -> Result<()> {
    loop {
        if ctx.cancel.is_cancelled() {
            return Ok(());
        }
        let claim = ctx
            .store
            .claim(ctx.study_id, &ctx.worker, ctx.budget, now_ms())
            .await
            .context("claiming a trial")?;
        let trial = match claim {
            Claim::Queued(t) | Claim::New(t) => t,
            Claim::Exhausted { running } => {
                let mine = ctx.active.lock().unwrap().len() as u64;
                if running <= mine {
                    return Ok(());
                }
                // Trials of other processes are running: wait, in case their
                // worker dies and they come back to the queue.
                tokio::select! {
                    _ = ctx.cancel.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(ctx.spec.heartbeat.min(Duration::from_secs(1))) => {}
                }
                continue;
            }
        };
        ctx.active.lock().unwrap().insert(trial.id);
        let res = run_trial(&ctx, &trial).await;
        ctx.active.lock().unwrap().remove(&trial.id);
        res?;
    }
}

async fn run_trial(ctx: &Arc<Ctx>, trial: &Trial) -> Result<()> {
    let mut cheap: Option<BTreeMap<String, f64>> = None;
    let mut skipped: Option<TrialOutcome> = None;
    let started = Instant::now();
    let params = if trial.params.is_empty() {
        // Every trial, RUNNING ones of other workers included, so samplers
        // can account for work in flight.
        let trials = load_trials(ctx).await?;
        let sampler = ctx.sampler.clone();
        let spec = ctx.spec.clone();
        let number = trial.number;
        let proposal = tokio::task::spawn_blocking(move || {
            let view = StudyView {
                space: &spec.space,
                objectives: &spec.objectives,
                trials: &trials,
                seed: spec.seed,
            };
            sampler.lock().unwrap().propose(&view, number)
        })
        .await?;
        let proposal = match proposal {
            Ok(p) => p,
            Err(e) => {
                let reason = format!("sampler failed: {e}");
                ctx.store
                    .finish(trial.id, &TrialOutcome::Fail { reason }, true, now_ms())
                    .await?;
                return Err(anyhow!(
                    "sampler `{}` failed on trial {}: {e}",
                    ctx.spec.sampler.kind,
                    trial.number
                ));
            }
        };
        // Profile phase: measure the cheap objectives without training, keep
        // them with the trial, and skip the candidate if partial-order
        // pruning finds it dominated.
        let mut attrs = proposal.attrs;
        if ctx.pruning.needs_profile(&ctx.spec.objectives) {
            cheap = profile(ctx, trial, &proposal.params).await;
            if let Some(c) = &cheap {
                attrs.insert(CHEAP_ATTR.into(), serde_json::json!(c));
            }
        }
        ctx.store
            .set_params(trial.id, &proposal.params, &attrs)
            .await?;
        if let (Some(po), Some(c)) = (&ctx.pruning.partial_order, &cheap) {
            let trials = load_trials(ctx).await?;
            skipped = po
                .check(
                    &ctx.spec.space,
                    &ctx.spec.objectives,
                    &trials,
                    &proposal.params,
                    c,
                )
                .map(|reason| TrialOutcome::Pruned {
                    values: c.clone(),
                    step: None,
                    reason,
                });
        }
        proposal.params
    } else {
        // Re-queued or enqueued parameters are trained as they are; the
        // dominated pruner still gets their cheap measurements.
        if ctx.pruning.needs_profile(&ctx.spec.objectives) {
            cheap = profile(ctx, trial, &trial.params).await;
        }
        trial.params.clone()
    };

    let job = job_for(ctx, trial, params.clone());
    let mut me = trial.clone();
    me.params = params;
    if let Some(c) = &cheap {
        me.attrs.insert(CHEAP_ATTR.into(), serde_json::json!(c));
    }
    let reporter = StoreReporter {
        ctx: ctx.clone(),
        trial: me,
    };
    let mut outcome = match skipped {
        Some(o) => o,
        None => ctx
            .runner
            .run(job, &reporter, ctx.cancel.child_token())
            .await
            .validated(&ctx.spec.objectives),
    };
    // A trial stopped early keeps its cheap measurements with its values.
    if let (TrialOutcome::Pruned { values, .. }, Some(c)) = (&mut outcome, &cheap) {
        for (k, v) in c {
            values.entry(k.clone()).or_insert(*v);
        }
    }
    let interrupted = ctx.cancel.is_cancelled()
        && matches!(&outcome, TrialOutcome::Fail { reason } if reason.starts_with("interrupted"));
    let outcome = match (interrupted, outcome) {
        (true, TrialOutcome::Fail { reason }) => {
            let why = ctx.stop_reason.lock().unwrap().clone().unwrap_or_default();
            TrialOutcome::Fail {
                reason: if why.is_empty() {
                    reason
                } else {
                    format!("{reason} ({why})")
                },
            }
        }
        (_, o) => o,
    };
    if let Err(e) = ctx
        .store
        .finish(trial.id, &outcome, interrupted, now_ms())
        .await
    {
        // Another worker may have declared this trial stale (a missed
        // heartbeat); its record stands and the parameters were re-queued.
        ctx.progress.line(&format!(
            "warning: trial {} could not be recorded: {e}",
            trial.number
        ));
        return Ok(());
    }
    let trials = load_trials(ctx).await?;
    ctx.progress.update(&trials, &ctx.spec);
    ctx.progress.trial_line(
        trial.number,
        &outcome,
        started.elapsed(),
        &ctx.spec,
        &trials,
    );
    Ok(())
}

/// The job of `trial` with `params`.
fn job_for(ctx: &Ctx, trial: &Trial, params: Params) -> Job {
    Job {
        study: ctx.spec.name.clone(),
        trial: trial.number,
        params,
        seed: trial_seed(ctx.spec.seed, trial.number),
        objectives: ctx
            .spec
            .objectives
            .names()
            .into_iter()
            .map(String::from)
            .collect(),
        log_path: Some(ctx.logs_dir.join(format!("trial-{:05}.log", trial.number))),
    }
}

/// The runner's profile phase: the cheap objectives of `params`, measured
/// without training. `None` when the runner cannot profile or the profile
/// failed (the trial is then trained and judged without them).
async fn profile(ctx: &Ctx, trial: &Trial, params: &Params) -> Option<BTreeMap<String, f64>> {
    let mut job = job_for(ctx, trial, params.clone());
    job.objectives = ctx
        .spec
        .objectives
        .iter()
        .filter(|o| o.cheap)
        .map(|o| o.name.clone())
        .collect();
    match ctx.runner.profile(job.clone()).await? {
        Ok(values) => Some(
            values
                .into_iter()
                .filter(|(k, v)| v.is_finite() && job.objectives.contains(k))
                .collect(),
        ),
        Err(e) => {
            ctx.progress.line(&format!(
                "trial {}: profiling the cheap objectives failed ({e}); training it unpruned",
                trial.number
            ));
            None
        }
    }
}

/// Stores intermediate reports and asks the early-stopping pruner.
struct StoreReporter {
    ctx: Arc<Ctx>,
    /// The running trial (parameters, cheap measurements).
    trial: Trial,
}

#[async_trait]
impl Reporter for StoreReporter {
    async fn report(&self, step: u64, values: &BTreeMap<String, f64>) -> Verdict {
        let ctx = &self.ctx;
        // A lost intermediate report must not kill the trial: it only
        // weakens pruning, so errors are ignored here.
        let _ = ctx.store.report(self.trial.id, step, values).await;
        let Some(pruner) = &ctx.pruning.early else {
            return Verdict::Continue;
        };
        let Ok(trials) = load_trials(ctx).await else {
            return Verdict::Continue;
        };
        let mut me = self.trial.clone();
        if let Some(stored) = trials.iter().find(|t| t.id == self.trial.id) {
            me.intermediate = stored.intermediate.clone();
        }
        // The report just made, even if the store lost it.
        me.intermediate.retain(|r| r.step < step);
        me.intermediate.push(Intermediate {
            step,
            values: values.clone(),
        });
        let view = StudyView {
            space: &ctx.spec.space,
            objectives: &ctx.spec.objectives,
            trials: &trials,
            seed: ctx.spec.seed,
        };
        match pruner.prune(&view, &me) {
            Some(reason) => Verdict::Stop(reason),
            None => Verdict::Continue,
        }
    }
}

/// Progress output: an indicatif bar on a terminal, plain lines otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Progress {
    fn new(budget: u64, plain: bool, quiet: bool) -> Progress {
        let bar = (!plain && !quiet).then(|| {
            let bar = ProgressBar::new(budget);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} trials  {msg}  ETA {eta}",
                )
                .expect("valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress { bar, quiet }
    }

    fn line(&self, s: &str) {
        match &self.bar {
            Some(b) => b.println(s),
            None if !self.quiet => println!("{s}"),
            None => {}
        }
    }

    fn update(&self, trials: &[Trial], spec: &StudySpec) {
        if let Some(b) = &self.bar {
            let s = summarize(trials, &spec.objectives);
            b.set_position(s.finished as u64);
            b.set_message(format!(
                "fail {}  stopped {}  skipped {}  front {}  hv {}",
                s.counts.get(&TrialState::Fail).unwrap_or(&0),
                s.stopped,
                s.skipped,
                s.pareto.len(),
                s.hypervolume.map(fmt_num).unwrap_or_else(|| "-".into())
            ));
        }
    }

    fn trial_line(
        &self,
        number: u64,
        outcome: &TrialOutcome,
        took: Duration,
        spec: &StudySpec,
        trials: &[Trial],
    ) {
        if self.bar.is_some() || self.quiet {
            return;
        }
        let s = summarize(trials, &spec.objectives);
        let what = match outcome {
            TrialOutcome::Complete(v) => format!(
                "COMPLETE {}",
                spec.objectives
                    .iter()
                    .map(|o| format!(
                        "{}={}",
                        o.name,
                        v.get(&o.name).map(|x| fmt_num(*x)).unwrap_or_default()
                    ))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            TrialOutcome::Pruned { reason, .. } => format!("PRUNED ({reason})"),
            TrialOutcome::Fail { reason } => format!("FAIL ({reason})"),
        };
        println!(
            "trial {number} {what} in {:.1} s | finished {}, failed {}, stopped {}, skipped {}, front {}, hv {}",
            took.as_secs_f64(),
            s.finished,
            s.counts.get(&TrialState::Fail).unwrap_or(&0),
            s.stopped,
            s.skipped,
            s.pareto.len(),
            s.hypervolume.map(fmt_num).unwrap_or_else(|| "-".into())
        );
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
