//! [`TrialHandle`]: one running trial, as the code that evaluates it sees it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use paretosearch_core::clock::now_ms;
use paretosearch_core::{Intermediate, ParamValue, Params, PruneReason, StudyView, Trial};
use paretosearch_pruners::cheap_values;
use paretosearch_runner::{Job, Reporter, Verdict};
use tokio_util::sync::CancellationToken;

use crate::observer::Level;
use crate::study::Study;
use crate::worker::trial_seed;

/// A parameter asked for under a name the trial lacks, or as another type.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// No such parameter (or inactive: a conditional parameter whose
    /// condition does not hold is absent from the trial).
    #[error("trial {trial} has no parameter `{name}` (it has: {have}); a conditional parameter is absent when its condition does not hold")]
    Missing {
        /// The trial number.
        trial: u64,
        /// The name asked for.
        name: String,
        /// The names it has, comma-separated.
        have: String,
    },
    /// The parameter holds another type.
    #[error("parameter `{name}` of trial {trial} is {value}, not {wanted}")]
    WrongType {
        /// The trial number.
        trial: u64,
        /// The name.
        name: String,
        /// Its value.
        value: String,
        /// The type asked for.
        wanted: &'static str,
    },
}

/// A type a parameter value can be read as ([`TrialHandle::choice`]).
pub trait FromParam<'a>: Sized {
    /// What the type is called in errors.
    const WANTED: &'static str;
    /// The value as this type, if it is one.
    fn from_param(v: &'a ParamValue) -> Option<Self>;
}

impl<'a> FromParam<'a> for &'a str {
    const WANTED: &'static str = "a string";
    fn from_param(v: &'a ParamValue) -> Option<Self> {
        match v {
            ParamValue::Str(s) => Some(s.as_str()),
            _ => None,
        }
    }
}

impl FromParam<'_> for String {
    const WANTED: &'static str = "a string";
    fn from_param(v: &ParamValue) -> Option<Self> {
        match v {
            ParamValue::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl FromParam<'_> for bool {
    const WANTED: &'static str = "a boolean";
    fn from_param(v: &ParamValue) -> Option<Self> {
        match v {
            ParamValue::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl FromParam<'_> for i64 {
    const WANTED: &'static str = "an integer";
    fn from_param(v: &ParamValue) -> Option<Self> {
        match v {
            ParamValue::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl FromParam<'_> for f64 {
    const WANTED: &'static str = "a number";
    fn from_param(v: &ParamValue) -> Option<Self> {
        v.as_f64()
    }
}

/// A trial handed out by [`Study::ask`] (or inside [`Study::optimize`]):
/// its parameters, a place to report intermediate values and hear whether
/// to stop, and the way to [`Study::tell`] its outcome.
///
/// While the handle lives, the study's heartbeat task keeps the trial
/// alive. Dropped without being told (a crash, a panic, a forgotten
/// `tell`), the trial is no longer heartbeated, and once `stale_after` has
/// passed any process of the study fails it and re-queues its parameters.
/// Clones share one trial.
#[derive(Clone)]
pub struct TrialHandle {
    pub(crate) inner: Arc<HandleInner>,
}

pub(crate) struct HandleInner {
    pub(crate) study: Study,
    /// The trial as claimed, with its parameters and cheap measurements.
    pub(crate) trial: Trial,
    /// Intermediate reports so far, in step order.
    pub(crate) reports: Mutex<Vec<Intermediate>>,
    /// Set when the pruner said stop.
    pub(crate) stopped: Mutex<Option<PruneReason>>,
    pub(crate) cancel: CancellationToken,
    /// Kept alive by the study's heartbeat task (false for a trial
    /// attached from another process: its reports refresh it instead).
    pub(crate) live: bool,
    pub(crate) told: AtomicBool,
    pub(crate) started: Instant,
}

impl Drop for HandleInner {
    fn drop(&mut self) {
        if self.live {
            self.study
                .inner
                .active
                .lock()
                .unwrap()
                .remove(&self.trial.id);
        }
    }
}

impl std::fmt::Debug for TrialHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrialHandle")
            .field("number", &self.inner.trial.number)
            .field("params", &self.inner.trial.params)
            .finish()
    }
}

impl TrialHandle {
    pub(crate) fn new(study: &Study, trial: Trial, cancel: CancellationToken, live: bool) -> Self {
        let reports = trial.intermediate.clone();
        TrialHandle {
            inner: Arc::new(HandleInner {
                study: study.clone(),
                trial,
                reports: Mutex::new(reports),
                stopped: Mutex::new(None),
                cancel,
                live,
                told: AtomicBool::new(false),
                started: Instant::now(),
            }),
        }
    }

    /// The trial number (unique in the study, from 0).
    pub fn number(&self) -> u64 {
        self.inner.trial.number
    }

    /// The trial's id in its store.
    pub fn id(&self) -> i64 {
        self.inner.trial.id
    }

    /// The trial as it was claimed (parameters, attributes, retry_of ...).
    pub fn trial(&self) -> &Trial {
        &self.inner.trial
    }

    /// The number of the failed trial this one retries, if any.
    pub fn retry_of(&self) -> Option<u64> {
        self.inner.trial.retry_of
    }

    /// The seed for this trial's own randomness (derived from the study
    /// seed and the number only, so a re-run gets the same one).
    pub fn seed(&self) -> u64 {
        trial_seed(self.inner.study.spec().seed, self.number())
    }

    /// Every active parameter.
    pub fn params(&self) -> &Params {
        &self.inner.trial.params
    }

    fn param(&self, name: &str) -> Result<&ParamValue, ParamError> {
        self.inner
            .trial
            .params
            .get(name)
            .ok_or_else(|| ParamError::Missing {
                trial: self.number(),
                name: name.to_string(),
                have: self
                    .inner
                    .trial
                    .params
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    fn typed<'a, T: FromParam<'a>>(&'a self, name: &str) -> Result<T, ParamError> {
        let v = self.param(name)?;
        T::from_param(v).ok_or_else(|| ParamError::WrongType {
            trial: self.number(),
            name: name.to_string(),
            value: v.to_string(),
            wanted: T::WANTED,
        })
    }

    /// A float (or integer) parameter as `f64`.
    pub fn float(&self, name: &str) -> Result<f64, ParamError> {
        self.typed::<f64>(name)
    }

    /// An integer parameter.
    pub fn int(&self, name: &str) -> Result<i64, ParamError> {
        self.typed::<i64>(name)
    }

    /// A categorical parameter as `T`: `&str` or `String` for string
    /// choices, `bool`, `i64` or `f64` for the others.
    pub fn choice<'a, T: FromParam<'a>>(&'a self, name: &str) -> Result<T, ParamError> {
        self.typed::<T>(name)
    }

    /// The cheap objectives measured before training (profile phase), if any.
    pub fn cheap_values(&self) -> BTreeMap<String, f64> {
        cheap_values(&self.inner.trial)
    }

    /// Where this trial's log goes, if the study keeps logs.
    pub fn log_path(&self) -> Option<PathBuf> {
        self.inner
            .study
            .logs_dir()
            .map(|d| log_file(&d, self.number()))
    }

    /// The [`Job`] a [`Runner`](paretosearch_runner::Runner) evaluates for
    /// this trial.
    pub fn job(&self) -> Job {
        let spec = self.inner.study.spec();
        Job {
            study: spec.name.clone(),
            trial: self.number(),
            params: self.params().clone(),
            seed: self.seed(),
            objectives: spec
                .objectives
                .names()
                .into_iter()
                .map(String::from)
                .collect(),
            log_path: self.log_path(),
        }
    }

    /// Fires when the run is cancelled: stop working and return.
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.inner.cancel
    }

    /// Was the run cancelled while this trial ran?
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.is_cancelled()
    }

    /// Should the evaluation stop now: the pruner said so after a report,
    /// or the run was cancelled? Check it between epochs.
    pub fn should_stop(&self) -> bool {
        self.is_cancelled() || self.inner.stopped.lock().unwrap().is_some()
    }

    /// Why the pruner stopped this trial, if it did.
    pub fn stop_reason(&self) -> Option<PruneReason> {
        self.inner.stopped.lock().unwrap().clone()
    }

    /// The intermediate reports so far.
    pub fn reports(&self) -> Vec<Intermediate> {
        self.inner.reports.lock().unwrap().clone()
    }

    /// The last step reported, if any.
    pub fn last_step(&self) -> Option<u64> {
        self.inner.reports.lock().unwrap().last().map(|r| r.step)
    }

    /// Report intermediate values at `step` (an epoch): they are stored,
    /// the trial's heartbeat is refreshed, and the study's early-stopping
    /// pruner judges the trial. [`Verdict::Stop`] means: stop training and
    /// tell the outcome (`optimize` records it as PRUNED). A lost report
    /// (the store failing) only weakens pruning: the trial goes on.
    pub async fn report(&self, step: u64, values: &BTreeMap<String, f64>) -> Verdict {
        let study = &self.inner.study;
        let finite: BTreeMap<String, f64> = values
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        if let Err(e) = study.inner.store.report(self.id(), step, &finite).await {
            study.say(
                Level::Warning,
                format!(
                    "warning: trial {}: the report of step {step} was not stored: {e}",
                    self.number()
                ),
            );
        }
        if !self.inner.live {
            let _ = study.inner.store.heartbeat(&[self.id()], now_ms()).await;
        }
        {
            let mut reports = self.inner.reports.lock().unwrap();
            reports.retain(|r| r.step < step);
            reports.push(Intermediate {
                step,
                values: finite,
            });
        }
        let verdict = match self.judge().await {
            Some(reason) => {
                *self.inner.stopped.lock().unwrap() = Some(reason.clone());
                Verdict::Stop(reason)
            }
            None => Verdict::Continue,
        };
        study
            .observers()
            .each(|o| o.trial_reported(self, step, values, &verdict));
        verdict
    }

    /// [`TrialHandle::report`] for synchronous code running on a tokio
    /// worker that may block (an objective closure inside
    /// [`Study::optimize`], or `spawn_blocking`).
    pub fn report_blocking(&self, step: u64, values: &BTreeMap<String, f64>) -> Verdict {
        tokio::runtime::Handle::current().block_on(self.report(step, values))
    }

    /// The early-stopping pruner's decision on the reports so far.
    pub(crate) async fn judge(&self) -> Option<PruneReason> {
        let study = &self.inner.study;
        study.pruning().early.as_ref()?;
        let trials = match study.trials().await {
            Ok(t) => t,
            Err(e) => {
                study.say(
                    Level::Warning,
                    format!(
                        "warning: trial {}: not judged, the study could not be read: {e}",
                        self.number()
                    ),
                );
                return None;
            }
        };
        let mut me = self.inner.trial.clone();
        me.intermediate = self.reports();
        let spec = study.spec();
        let view = StudyView {
            space: &spec.space,
            objectives: &spec.objectives,
            trials: &trials,
            seed: spec.seed,
        };
        study.pruning().after_report(&view, &me)
    }

    /// The whole time since the trial was handed out.
    pub(crate) fn elapsed(&self) -> std::time::Duration {
        self.inner.started.elapsed()
    }

    pub(crate) fn mark_told(&self) -> bool {
        !self.inner.told.swap(true, Ordering::SeqCst)
    }
}

/// Runners report through the handle: storing, heartbeat, pruner.
#[async_trait]
impl Reporter for TrialHandle {
    async fn report(&self, step: u64, values: &BTreeMap<String, f64>) -> Verdict {
        TrialHandle::report(self, step, values).await
    }
}

/// Where the log of trial `number` goes in the logs folder `dir`.
pub(crate) fn log_file(dir: &std::path::Path, number: u64) -> PathBuf {
    dir.join(format!("trial-{number:05}.log"))
}
