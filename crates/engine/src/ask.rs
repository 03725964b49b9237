//! Ask and tell: the one trial pipeline every client goes through.
//!
//! `ask` = claim (a re-queued trial first, else a new number while the
//! budget allows) → sample (the sampler sees every trial, running ones
//! included) → profile (the runner measures the cheap objectives without
//! training) → partial order (a candidate already dominated is recorded
//! PRUNED without training, and the next one is asked). `tell` = validate
//! → record → notify. `optimize`, the CLI's `run`, `worker`, `ask` and
//! `tell` all call these; none has a copy of its own.

use std::collections::BTreeMap;
use std::sync::Arc;

use paretosearch_core::{
    FailKind, Params, PruneReason, StudyView, Trial, TrialOutcome, TrialState,
};
use paretosearch_pruners::CHEAP_ATTR;
use paretosearch_runner::ProfileJob;
use paretosearch_store::Claim;
use tokio_util::sync::CancellationToken;

use crate::observer::{Level, TrialFinished};
use crate::{EngineError, Study, TrialHandle};

/// What [`Study::try_ask`] found.
#[derive(Debug)]
pub enum Asked {
    /// A trial to evaluate.
    Trial(TrialHandle),
    /// The budget is spent; `running` trials (of any process) still run
    /// and may come back to the queue if their worker dies.
    Exhausted {
        /// Trials RUNNING in the whole study.
        running: u64,
    },
}

impl Study {
    /// The next trial to evaluate, or `None` when the budget is spent.
    /// Candidates that partial-order pruning skips are recorded (PRUNED,
    /// they count towards the budget) and the next one is asked.
    pub async fn ask(&self) -> Result<Option<TrialHandle>, EngineError> {
        match self.try_ask(&CancellationToken::new()).await? {
            Asked::Trial(t) => Ok(Some(t)),
            Asked::Exhausted { .. } => Ok(None),
        }
    }

    /// [`Study::ask`], saying how many trials still run when the budget is
    /// spent; the trial's cancellation token is a child of `cancel`.
    pub async fn try_ask(&self, cancel: &CancellationToken) -> Result<Asked, EngineError> {
        loop {
            let budget = self.budget();
            let worker = self.worker_id();
            let claim = self
                .inner
                .store
                .claim(
                    self.id(),
                    &worker,
                    budget,
                    paretosearch_core::clock::now_ms(),
                )
                .await?;
            let trial = match claim {
                Claim::Queued(t) | Claim::New(t) => t,
                Claim::Exhausted { running } => return Ok(Asked::Exhausted { running }),
            };
            self.inner.active.lock().unwrap().insert(trial.id);
            match self.prepare(trial, cancel.child_token()).await? {
                Some(h) => {
                    self.observers().each(|o| o.trial_started(&h));
                    return Ok(Asked::Trial(h));
                }
                None => continue,
            }
        }
    }

    /// Sample, profile and check a claimed trial; `None` when partial-order
    /// pruning skipped it (already recorded).
    async fn prepare(
        &self,
        mut trial: Trial,
        cancel: CancellationToken,
    ) -> Result<Option<TrialHandle>, EngineError> {
        // Until a handle owns the trial, an error path must stop its
        // heartbeat, so that the sweep recovers it.
        let guard = ActiveGuard {
            study: self,
            id: trial.id,
            armed: true,
        };
        let pruning = self.pruning();
        let needs_profile = pruning.needs_profile(self.objectives());
        if trial.params.is_empty() {
            let proposal = match self.propose(trial.number).await {
                Ok(p) => p,
                Err(message) => {
                    let outcome = TrialOutcome::Fail {
                        kind: FailKind::Sampler,
                        reason: format!("sampler failed: {message}"),
                    };
                    let handle =
                        guard.hand_over(TrialHandle::new(self, trial.clone(), cancel, true));
                    self.record(&handle, outcome, true).await?;
                    return Err(EngineError::Sampler {
                        sampler: self.spec().sampler.kind.clone(),
                        number: trial.number,
                        message,
                    });
                }
            };
            let mut attrs = proposal.attrs;
            // A budget raised past the file's is recorded with the trials
            // claimed under it, so that displays show the budget in force.
            let budget = self.budget();
            if budget > self.spec().budget.trials {
                attrs.insert(
                    crate::summary::RAISED_BUDGET_ATTR.into(),
                    serde_json::json!(budget),
                );
            }
            let cheap = if needs_profile {
                self.profile(&trial, &proposal.params).await
            } else {
                None
            };
            if let Some(c) = &cheap {
                attrs.insert(CHEAP_ATTR.into(), serde_json::json!(c));
            }
            let stored = self
                .inner
                .store
                .set_params(trial.id, &proposal.params, &attrs)
                .await;
            // Stored (or not at all): later proposals read it from the store.
            self.inner.unstored.lock().unwrap().remove(&trial.number);
            stored?;
            trial.params = proposal.params;
            trial.attrs.extend(attrs);
            let handle = guard.hand_over(TrialHandle::new(self, trial, cancel, true));
            if let Some(c) = cheap {
                if let Some(reason) = self.skip_reason(handle.params(), &c).await? {
                    let outcome = TrialOutcome::Pruned {
                        values: c,
                        step: None,
                        reason,
                    };
                    self.record(&handle, outcome, false).await?;
                    return Ok(None);
                }
            }
            Ok(Some(handle))
        } else {
            // Re-queued or enqueued parameters are evaluated as they are;
            // the dominated pruner still gets their cheap measurements.
            if needs_profile {
                if let Some(c) = self.profile(&trial, &trial.params).await {
                    trial.attrs.insert(CHEAP_ATTR.into(), serde_json::json!(c));
                }
            }
            Ok(Some(
                guard.hand_over(TrialHandle::new(self, trial, cancel, true)),
            ))
        }
    }

    /// The sampler's proposal for trial `number`, from every trial known.
    ///
    /// The proposals of this handle are made one at a time, each from the
    /// trials read after the one before it was made, with the proposals
    /// whose parameters are not stored yet filled in: a proposal never
    /// misses the trials this process's other workers were just given
    /// (a worker that read the trials while another's proposal was being
    /// made would otherwise wait for the sampler and propose from a view
    /// without it, or without any proposal made meanwhile).
    async fn propose(&self, number: u64) -> Result<paretosearch_samplers::Proposal, String> {
        let _turn = self.inner.proposing.lock().await;
        // Copied before the refresh: a proposal removed after this copy
        // was stored before the refresh read the trials.
        let unstored = self.inner.unstored.lock().unwrap().clone();
        let trials = self.trials().await.map_err(|e| e.to_string())?;
        let trials = with_unstored(trials, &unstored);
        let study = self.clone();
        let proposal = tokio::task::spawn_blocking(move || {
            let spec = study.spec();
            let view = StudyView {
                space: &spec.space,
                objectives: &spec.objectives,
                trials: &trials,
                seed: spec.seed,
            };
            study
                .inner
                .sampler
                .lock()
                .unwrap()
                .propose(&view, number)
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|e| Err(format!("the sampler panicked: {e}")))?;
        self.inner
            .unstored
            .lock()
            .unwrap()
            .insert(number, proposal.clone());
        Ok(proposal)
    }

    /// Partial-order pruning's verdict on a candidate with measured cheap
    /// objectives `cheap`.
    async fn skip_reason(
        &self,
        params: &Params,
        cheap: &BTreeMap<String, f64>,
    ) -> Result<Option<PruneReason>, EngineError> {
        if self.pruning().partial_order.is_none() {
            return Ok(None);
        }
        let trials = self.trials().await?;
        let spec = self.spec();
        let view = StudyView {
            space: &spec.space,
            objectives: &spec.objectives,
            trials: &trials,
            seed: spec.seed,
        };
        Ok(self.pruning().before_training(&view, params, cheap))
    }

    /// The profiler's measurement of the cheap objectives of `params`;
    /// `None` without a profiler, or when it cannot profile or failed (the
    /// trial is then trained and judged without them).
    async fn profile(&self, trial: &Trial, params: &Params) -> Option<BTreeMap<String, f64>> {
        let runner = self.inner.profiler.read().unwrap().clone()?;
        let spec = self.spec();
        let job = ProfileJob {
            study: spec.name.clone(),
            trial: trial.number,
            params: params.clone(),
            seed: crate::worker::trial_seed(spec.seed, trial.number),
            cheap: spec
                .objectives
                .iter()
                .filter(|o| o.cheap)
                .map(|o| o.name.clone())
                .collect(),
            log_path: self
                .logs_dir()
                .map(|d| d.join(format!("trial-{:05}.log", trial.number))),
        };
        match runner.profile(job.clone()).await? {
            Ok(values) => Some(
                values
                    .into_iter()
                    .filter(|(k, v)| v.is_finite() && job.cheap.contains(k))
                    .collect(),
            ),
            Err(e) => {
                self.say(
                    Level::Warning,
                    format!(
                        "trial {}: profiling the cheap objectives failed ({e}); training it unpruned",
                        trial.number
                    ),
                );
                None
            }
        }
    }

    /// Record the outcome of `trial` (validated as Optuna's `tell` does: a
    /// COMPLETE missing an objective or holding a non-finite value becomes
    /// a FAIL saying so). A trial stopped early keeps its cheap
    /// measurements with its values; an interrupted one (the run cancelled
    /// while it ran) is re-queued. Returns the trial as recorded. Telling a
    /// trial twice is an error.
    pub async fn tell(
        &self,
        trial: &TrialHandle,
        outcome: TrialOutcome,
    ) -> Result<Trial, EngineError> {
        let outcome = outcome.validated(self.objectives());
        let requeue = matches!(
            &outcome,
            TrialOutcome::Fail {
                kind: FailKind::Interrupted,
                ..
            }
        );
        self.record(trial, outcome, requeue).await
    }

    /// Finish, update the cache, notify.
    pub(crate) async fn record(
        &self,
        handle: &TrialHandle,
        mut outcome: TrialOutcome,
        requeue: bool,
    ) -> Result<Trial, EngineError> {
        if !handle.mark_told() {
            return Err(EngineError::NotRunning {
                number: handle.number(),
                state: outcome.state(),
                message: "was told already".into(),
            });
        }
        if let TrialOutcome::Pruned { values, .. } = &mut outcome {
            for (k, v) in handle.cheap_values() {
                values.entry(k).or_insert(v);
            }
        }
        let result = self.finish(handle.id(), &outcome, requeue).await;
        if handle.inner.live {
            self.inner.active.lock().unwrap().remove(&handle.id());
        }
        let now = result?;
        let mut rec = handle.inner.trial.clone();
        rec.intermediate = handle.reports();
        rec.state = TrialState::Running;
        rec.finish(outcome.clone(), now)
            .expect("a RUNNING trial can finish");
        rec.requeued = requeue && rec.state == TrialState::Fail;
        let trials = self.note_finished(&rec).await;
        if rec.state == TrialState::Complete {
            self.freeze_reference_if_due(&trials).await;
        }
        let observers = self.observers();
        if !observers.is_empty() {
            let event = TrialFinished {
                trial: &rec,
                outcome: &outcome,
                took: handle.elapsed(),
                trials: &trials,
                objectives: self.objectives(),
            };
            observers.each(|o| o.trial_finished(&event));
            if event.on_front() {
                observers.each(|o| o.front_changed(&event));
            }
        }
        Ok(rec)
    }

    /// A handle on the RUNNING trial `number`, handed out by another
    /// process (`paretosearch ask`): report to it and tell it from here.
    /// Its reports refresh its heartbeat (nothing else does).
    pub async fn attach(&self, number: u64) -> Result<TrialHandle, EngineError> {
        let trial = self.trial(number).await?;
        self.check_running(&trial)?;
        Ok(TrialHandle::new(
            self,
            trial,
            CancellationToken::new(),
            false,
        ))
    }
}

/// `trials` with the parameters and attributes of `unstored` proposals
/// filled into the unfinished trials the store shows without parameters.
fn with_unstored(
    trials: Arc<Vec<Trial>>,
    unstored: &BTreeMap<u64, paretosearch_samplers::Proposal>,
) -> Arc<Vec<Trial>> {
    let missing = |t: &Trial| {
        !t.state.is_finished() && t.params.is_empty() && unstored.contains_key(&t.number)
    };
    if !trials.iter().any(missing) {
        return trials;
    }
    let mut filled = (*trials).clone();
    for t in filled.iter_mut() {
        if missing(t) {
            let p = &unstored[&t.number];
            t.params = p.params.clone();
            t.attrs.extend(p.attrs.clone());
        }
    }
    Arc::new(filled)
}

/// Removes a claimed trial from the heartbeat set if no handle took it over.
struct ActiveGuard<'a> {
    study: &'a Study,
    id: i64,
    armed: bool,
}

impl ActiveGuard<'_> {
    fn hand_over(mut self, handle: TrialHandle) -> TrialHandle {
        self.armed = false;
        handle
    }
}

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.study.inner.active.lock().unwrap().remove(&self.id);
        }
    }
}
