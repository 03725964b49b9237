//! [`Study::optimize`]: run trials until the budget is spent, with
//! `workers` trials at once, a timeout and a cancellation token.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use paretosearch_core::{FailKind, TrialOutcome};
use paretosearch_runner::Runner;
use tokio_util::sync::CancellationToken;

use crate::observer::RunStarted;
use crate::{Asked, EngineError, Study, TrialHandle};

/// Evaluates trials for [`Study::optimize`].
///
/// Implemented for every closure `Fn(&TrialHandle) -> Result<Values, E>`
/// (`E: Display`), which runs on a tokio worker allowed to block (so it
/// may train a model synchronously and call
/// [`TrialHandle::report_blocking`]), and by [`RunnerObjective`] for any
/// [`Runner`] (command, builtin, torch).
#[async_trait]
pub trait Objective: Send + Sync {
    /// Evaluate one trial to its end. When the trial's token is cancelled,
    /// stop and return a FAIL of kind [`FailKind::Interrupted`]; when a
    /// report's verdict says stop, stop and return PRUNED.
    async fn evaluate(&self, trial: &TrialHandle) -> TrialOutcome;

    /// The runner whose profile phase measures cheap objectives before a
    /// trial trains, if any.
    fn profiler(&self) -> Option<Arc<dyn Runner>> {
        None
    }
}

/// A [`Runner`] as an [`Objective`]: the trial's [`Job`](paretosearch_runner::Job)
/// is run with the handle as its reporter.
#[derive(Clone)]
pub struct RunnerObjective(pub Arc<dyn Runner>);

#[async_trait]
impl Objective for RunnerObjective {
    async fn evaluate(&self, trial: &TrialHandle) -> TrialOutcome {
        self.0
            .run(trial.job(), trial, trial.cancel_token().clone())
            .await
    }

    fn profiler(&self) -> Option<Arc<dyn Runner>> {
        Some(self.0.clone())
    }
}

/// Objective values by name.
pub type Values = BTreeMap<String, f64>;

#[async_trait]
impl<F, E> Objective for F
where
    F: Fn(&TrialHandle) -> Result<Values, E> + Send + Sync,
    E: Display,
{
    async fn evaluate(&self, trial: &TrialHandle) -> TrialOutcome {
        let flavor = tokio::runtime::Handle::current().runtime_flavor();
        let call = || std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self(trial)));
        let result = if flavor == tokio::runtime::RuntimeFlavor::MultiThread {
            tokio::task::block_in_place(call)
        } else {
            return TrialOutcome::Fail {
                kind: FailKind::Error,
                reason: "a closure objective needs tokio's multi-threaded runtime (#[tokio::main], or #[tokio::test(flavor = \"multi_thread\")])".into(),
            };
        };
        closure_outcome(trial, result)
    }
}

/// What a closure's return means, given what happened to the trial.
fn closure_outcome<E: Display>(
    trial: &TrialHandle,
    result: std::thread::Result<Result<Values, E>>,
) -> TrialOutcome {
    match result {
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".into());
            TrialOutcome::Fail {
                kind: FailKind::Error,
                reason: format!("the objective panicked: {msg}"),
            }
        }
        Ok(Err(e)) if trial.is_cancelled() => TrialOutcome::Fail {
            kind: FailKind::Interrupted,
            reason: format!("interrupted: the run was stopped while the trial ran ({e})"),
        },
        Ok(Err(e)) => TrialOutcome::Fail {
            kind: FailKind::Error,
            reason: e.to_string(),
        },
        Ok(Ok(values)) => {
            if let Some(reason) = trial.stop_reason() {
                TrialOutcome::Pruned {
                    values,
                    step: trial.last_step(),
                    reason,
                }
            } else if trial.is_cancelled() {
                TrialOutcome::Fail {
                    kind: FailKind::Interrupted,
                    reason: "interrupted: the run was stopped while the trial ran".into(),
                }
            } else {
                TrialOutcome::Complete(values)
            }
        }
    }
}

/// How [`Study::optimize`] runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Total trials over all runs and processes (default: the spec's
    /// `[budget] trials`).
    pub budget: Option<u64>,
    /// Trials evaluated at once in this process (default 1).
    pub workers: usize,
    /// Stop after this long (running trials are interrupted and re-queued).
    pub timeout: Option<Duration>,
    /// Cancel to stop: running trials are interrupted and re-queued.
    pub cancel: Cancel,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            budget: None,
            workers: 1,
            timeout: None,
            cancel: Cancel::new(),
        }
    }
}

/// A cancellation token that remembers why it fired (shown in the
/// interrupted trials' reasons and in [`Stopped`]).
#[derive(Clone, Debug, Default)]
pub struct Cancel {
    token: CancellationToken,
    why: Arc<Mutex<Option<String>>>,
}

impl Cancel {
    /// A fresh token.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Cancel, saying why (the first reason given stands).
    pub fn cancel(&self, why: impl Into<String>) {
        self.why.lock().unwrap().get_or_insert_with(|| why.into());
        self.token.cancel();
    }

    /// Has it fired?
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Why it fired.
    pub fn reason(&self) -> Option<String> {
        self.why.lock().unwrap().clone()
    }

    /// The underlying token.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
}

/// Why [`Study::optimize`] returned.
#[derive(Clone, Debug, PartialEq)]
pub enum Stopped {
    /// Every trial of the budget is finished.
    BudgetSpent,
    /// [`Options::timeout`] passed.
    Timeout(Duration),
    /// [`Options::cancel`] fired, for this reason.
    Cancelled(String),
}

/// What a [`Study::optimize`] call did.
#[derive(Clone, Debug)]
pub struct Optimized {
    /// Why it returned.
    pub stopped: Stopped,
    /// Trials this call recorded (any state).
    pub trials: u64,
    /// Wall time.
    pub elapsed: Duration,
}

impl Study {
    /// Run trials until the budget is spent (over all processes), the
    /// timeout passes or `options.cancel` fires; `options.workers` at once.
    /// The objective is a closure or a [`RunnerObjective`]. Cancellation and
    /// the timeout interrupt the running trials, which are recorded FAIL
    /// (interrupted) and re-queued: nothing is left RUNNING. When other
    /// processes' trials still run as the budget is spent, this waits for
    /// them in case their worker dies and they come back to the queue.
    /// An error (the store failing, the sampler failing) stops every
    /// worker and is returned.
    pub async fn optimize<O: Objective + 'static>(
        &self,
        objective: O,
        options: Options,
    ) -> Result<Optimized, EngineError> {
        if options.workers == 0 {
            return Err(EngineError::Options("workers must be at least 1".into()));
        }
        if options.workers > paretosearch_core::spec::MAX_WORKERS {
            return Err(EngineError::Options(format!(
                "workers = {} is more than one process can run at once (at most {}); start more processes on the same storage for more",
                options.workers,
                paretosearch_core::spec::MAX_WORKERS
            )));
        }
        if let Some(b) = options.budget {
            self.set_budget(b)?;
        }
        if let Some(p) = objective.profiler() {
            self.set_profiler(p);
        }
        let started = Instant::now();
        let cancel = options.cancel.clone();
        self.recover_stale().await?;
        let (trials, summary) = self.summary().await?;
        drop(trials);
        // No more slots than trials are left to run: a slot beyond them
        // would only wait for the budget to end.
        let left = self.budget().saturating_sub(summary.finished as u64).max(1);
        let workers = options
            .workers
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        let event = RunStarted {
            study: self.name().to_string(),
            finished: summary.finished,
            budget: self.budget(),
            workers,
            storage: self.storage().to_string(),
        };
        self.observers().each(|o| o.run_started(&event));

        let timed_out = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let deadline = options.timeout.map(|t| {
            let (cancel, timed_out) = (cancel.clone(), timed_out.clone());
            tokio::spawn(async move {
                tokio::time::sleep(t).await;
                if cancel.is_cancelled() {
                    return; // cancelled for another reason first
                }
                timed_out.store(true, std::sync::atomic::Ordering::SeqCst);
                cancel.cancel(format!(
                    "run timeout of {} reached",
                    humantime::format_duration(t)
                ));
            })
        });
        let objective = Arc::new(objective);
        let recorded = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut slots = tokio::task::JoinSet::new();
        for _ in 0..workers {
            let (study, objective, cancel, recorded) = (
                self.clone(),
                objective.clone(),
                cancel.clone(),
                recorded.clone(),
            );
            slots.spawn(async move { study.slot(&*objective, &cancel, &recorded).await });
        }
        let mut first_err = None;
        while let Some(r) = slots.join_next().await {
            let err = match r {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => e,
                Err(e) => EngineError::Panicked(e.to_string()),
            };
            if first_err.is_none() {
                // Stop the other slots too: their trials are re-queued.
                cancel.cancel(format!("error: {err}"));
                first_err = Some(err);
            }
        }
        if let Some(d) = deadline {
            d.abort();
        }
        if let Some(e) = first_err {
            return Err(e);
        }
        let stopped = match cancel.reason() {
            _ if timed_out.load(std::sync::atomic::Ordering::SeqCst) => {
                Stopped::Timeout(options.timeout.unwrap_or_default())
            }
            Some(r) => Stopped::Cancelled(r),
            None => Stopped::BudgetSpent,
        };
        Ok(Optimized {
            stopped,
            trials: recorded.load(std::sync::atomic::Ordering::Relaxed),
            elapsed: started.elapsed(),
        })
    }

    /// One worker slot: ask, evaluate, tell, until nothing is left.
    async fn slot(
        &self,
        objective: &dyn Objective,
        cancel: &Cancel,
        recorded: &std::sync::atomic::AtomicU64,
    ) -> Result<(), EngineError> {
        loop {
            if cancel.is_cancelled() {
                return Ok(());
            }
            let trial = match self.try_ask(cancel.token()).await? {
                Asked::Trial(t) => t,
                Asked::Exhausted { running } => {
                    if running <= self.running_here() as u64 {
                        return Ok(());
                    }
                    // Trials of other processes are running: wait, in case
                    // their worker dies and they come back to the queue.
                    let pause = self.spec().heartbeat.min(Duration::from_secs(1));
                    tokio::select! {
                        _ = cancel.token().cancelled() => return Ok(()),
                        _ = tokio::time::sleep(pause) => {}
                    }
                    continue;
                }
            };
            let outcome = objective.evaluate(&trial).await;
            let outcome = interrupted_because(outcome, &trial, cancel);
            match self.tell(&trial, outcome).await {
                Ok(_) => {}
                Err(EngineError::Store(e)) => {
                    // Another worker may have declared this trial stale (a
                    // missed heartbeat); its record stands and the
                    // parameters were re-queued.
                    self.say(
                        crate::observer::Level::Warning,
                        format!(
                            "warning: trial {} could not be recorded: {e}",
                            trial.number()
                        ),
                    );
                    continue;
                }
                Err(e) => return Err(e),
            }
            recorded.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// An interrupted trial's reason says what interrupted the run; a trial
/// that ended PRUNED on its own while told to stop keeps its reason.
fn interrupted_because(
    outcome: TrialOutcome,
    trial: &TrialHandle,
    cancel: &Cancel,
) -> TrialOutcome {
    match outcome {
        TrialOutcome::Fail {
            kind: FailKind::Interrupted,
            reason,
        } if trial.is_cancelled() => TrialOutcome::Fail {
            kind: FailKind::Interrupted,
            reason: match cancel.reason() {
                Some(why) => format!("{reason} ({why})"),
                None => reason,
            },
        },
        // A runner that reports "interrupted" without a cancellation: a
        // plain failure of the trial, not a reason to re-queue it.
        TrialOutcome::Fail {
            kind: FailKind::Interrupted,
            reason,
        } => TrialOutcome::Fail {
            kind: FailKind::Error,
            reason,
        },
        other => other,
    }
}
