//! [`Study`]: one study in one storage, as this process sees it.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use paretosearch_core::clock::now_ms;
use paretosearch_core::spec::SpecError;
use paretosearch_core::{Objectives, Params, StudySpec, Trial, TrialOutcome, TrialState};
use paretosearch_pruners::Pruning;
use paretosearch_runner::Runner;
use paretosearch_samplers::Sampler;
use paretosearch_store::{Store, StudyRecord, TrialCache};
use tokio_util::sync::CancellationToken;

use crate::observer::{Level, Message, Observer, Observers};
use crate::summary::summarize;
use crate::worker::worker_id;
use crate::EngineError;

/// One study in one storage: the handle every way of running trials goes
/// through (`optimize`, `ask`/`tell`, the CLI's `run`, `worker`, `ask` and
/// `tell`). Cheap to clone; clones share everything (the trial cache, the
/// sampler, the heartbeat of running trials).
///
/// Opening a study starts a background task (on the current tokio runtime)
/// that refreshes the heartbeat of this handle's running trials and
/// returns trials of dead workers, of any process, to the queue; it ends
/// when the last clone is dropped.
#[derive(Clone)]
pub struct Study {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) record: StudyRecord,
    pub(crate) spec: StudySpec,
    pub(crate) storage: String,
    pub(crate) worker: RwLock<String>,
    pub(crate) sampler: Mutex<Box<dyn Sampler>>,
    /// Held from the refresh of the trials a proposal sees to the end of
    /// the proposal: every proposal of this handle sees the ones before it.
    pub(crate) proposing: tokio::sync::Mutex<()>,
    /// Proposals of this handle whose parameters the store may not hold
    /// yet (by trial number); shown to the proposals that follow.
    pub(crate) unstored: Mutex<BTreeMap<u64, paretosearch_samplers::Proposal>>,
    pub(crate) pruning: Pruning,
    pub(crate) cache: tokio::sync::Mutex<TrialCache>,
    /// Trials handed out by this handle and not yet told (heartbeat set).
    pub(crate) active: Mutex<HashSet<i64>>,
    pub(crate) observers: RwLock<Observers>,
    /// Measures the cheap objectives before training (`ask`'s profile phase).
    pub(crate) profiler: RwLock<Option<Arc<dyn Runner>>>,
    pub(crate) logs_dir: RwLock<Option<PathBuf>>,
    pub(crate) budget: std::sync::atomic::AtomicU64,
    /// Whether the logs folder was searched for processes that runs of
    /// this study left behind when they died (once per handle).
    pub(crate) swept_logs: std::sync::atomic::AtomicBool,
    /// Fires when the last handle is dropped: the heartbeat task ends.
    pub(crate) closed: CancellationToken,
    /// The hypervolume reference frozen and stored with the study, once
    /// it is (see [`crate::reference`]).
    pub(crate) frozen: Mutex<Option<crate::reference::Reference>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.closed.cancel();
    }
}

impl std::fmt::Debug for Study {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Study")
            .field("name", &self.inner.spec.name)
            .field("storage", &self.inner.storage)
            .finish()
    }
}

/// Hide the password of a storage URL (the store's function, which every
/// store message uses too).
pub use paretosearch_store::mask_url;

/// The spec as stored: its storage URL, if any, without the password (the
/// stored spec is nobody's credential store).
fn stored_spec_json(spec: &StudySpec) -> String {
    let mut json = spec.to_json();
    if let Some(url) = json.pointer_mut("/study/storage") {
        if let Some(masked) = url.as_str().map(mask_url) {
            *url = masked.into();
        }
    }
    json.to_string()
}

impl Study {
    /// Open the study `spec.name` in `storage_url`, creating it (and a
    /// SQLite file) when missing; a stored study with another search space
    /// or other objectives is refused ([`StoreError::Incompatible`](paretosearch_store::StoreError)).
    /// `storage_url`: `sqlite://path.db`, `sqlite::memory:`, `postgres://...`.
    pub async fn create_or_open(spec: StudySpec, storage_url: &str) -> Result<Study, EngineError> {
        let store = paretosearch_store::open(storage_url).await?;
        Study::with_store(spec, store, storage_url, true).await
    }

    /// Open the existing study `spec.name` in `storage_url`:
    /// [`EngineError::NoSuchStudy`] when the storage does not hold it.
    pub async fn open(spec: StudySpec, storage_url: &str) -> Result<Study, EngineError> {
        let store = paretosearch_store::open(storage_url).await?;
        Study::with_store(spec, store, storage_url, false).await
    }

    /// Open (or, with `create`, create) the study in an already opened
    /// store; `storage_url` is only used in messages (masked).
    pub async fn with_store(
        spec: StudySpec,
        store: Arc<dyn Store>,
        storage_url: &str,
        create: bool,
    ) -> Result<Study, EngineError> {
        let sampler = build_sampler(&spec)?;
        let pruning = crate::pruning::build_pruning(&spec)?;
        let storage = mask_url(storage_url);
        let record = if create {
            // Rewriting the stored spec keeps the frozen reference it holds.
            let previous = store.find_study(&spec.name).await?;
            let kept = previous
                .as_ref()
                .and_then(|r| crate::reference::stored(&r.spec_json, &spec.objectives));
            let mut json = stored_spec_json(&spec);
            if let Some(r) = &kept {
                json = crate::reference::with_stored(&json, r, &spec.objectives);
            }
            store
                .open_study(&spec.name, &spec.fingerprint(), &json)
                .await?
        } else {
            let Some(rec) = store.find_study(&spec.name).await? else {
                return Err(EngineError::NoSuchStudy {
                    name: spec.name.clone(),
                    storage,
                });
            };
            if rec.fingerprint != spec.fingerprint() {
                return Err(paretosearch_store::StoreError::incompatible(
                    &rec.name,
                    (&rec.fingerprint, &rec.spec_json),
                    (&spec.fingerprint(), &spec.to_json().to_string()),
                    paretosearch_store::INCOMPATIBLE_HELP,
                )
                .into());
            }
            rec
        };
        let budget = spec.budget.trials;
        let frozen = crate::reference::stored(&record.spec_json, &spec.objectives);
        let inner = Arc::new(Inner {
            cache: tokio::sync::Mutex::new(TrialCache::new(record.id)),
            store,
            record,
            spec,
            storage,
            worker: RwLock::new(worker_id()),
            sampler: Mutex::new(sampler),
            proposing: tokio::sync::Mutex::new(()),
            unstored: Mutex::new(BTreeMap::new()),
            pruning,
            active: Mutex::new(HashSet::new()),
            observers: RwLock::new(Observers::default()),
            profiler: RwLock::new(None),
            logs_dir: RwLock::new(None),
            budget: budget.into(),
            swept_logs: false.into(),
            closed: CancellationToken::new(),
            frozen: Mutex::new(frozen),
        });
        crate::heartbeat::spawn(&inner);
        let study = Study { inner };
        // A study that has the trials to freeze its reference but none
        // stored (one older than the rule) gets it now.
        if study.inner.spec.hypervolume.reference.is_none() && study.stored_reference().is_none() {
            let trials = study.trials().await?;
            study.freeze_reference_if_due(&trials).await;
        }
        Ok(study)
    }

    /// The study's specification.
    pub fn spec(&self) -> &StudySpec {
        &self.inner.spec
    }

    /// The study's name.
    pub fn name(&self) -> &str {
        &self.inner.spec.name
    }

    /// The objectives.
    pub fn objectives(&self) -> &Objectives {
        &self.inner.spec.objectives
    }

    /// The storage, credentials masked.
    pub fn storage(&self) -> &str {
        &self.inner.storage
    }

    /// The store itself, for what the engine does not wrap (enqueueing,
    /// listing studies).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The study's id in its store.
    pub fn id(&self) -> i64 {
        self.inner.record.id
    }

    /// The total trial budget (`[budget] trials` unless changed).
    pub fn budget(&self) -> u64 {
        self.inner.budget.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Change the total trial budget (over all runs and processes) for
    /// this handle's asks. Zero is refused.
    pub fn set_budget(&self, trials: u64) -> Result<(), EngineError> {
        if trials == 0 {
            return Err(EngineError::Options(
                "the trial budget must be at least 1".into(),
            ));
        }
        self.inner
            .budget
            .store(trials, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// This handle's worker id, stored with the trials it claims.
    pub fn worker_id(&self) -> String {
        self.inner.worker.read().unwrap().clone()
    }

    /// Claim trials under another worker id. An id of the form
    /// `host:pid:start_ms` (the default) lets other processes on this host
    /// recognise this one as dead at once when it crashes; any other id is
    /// judged by heartbeat alone.
    pub fn set_worker_id(&self, id: impl Into<String>) {
        *self.inner.worker.write().unwrap() = id.into();
    }

    /// Replace the sampler built from the spec's `[sampler]` by another,
    /// e.g. one of your own: it sees every trial (other workers' running
    /// ones included) as the built-in ones do, and its proposals are
    /// stored the same way. The stored study still names the spec's
    /// sampler.
    pub fn set_sampler(&self, sampler: Box<dyn Sampler>) {
        *self.inner.sampler.lock().unwrap() = sampler;
    }

    /// Subscribe an observer to this study's events.
    pub fn observe(&self, observer: Arc<dyn Observer>) {
        self.inner.observers.write().unwrap().push(observer);
    }

    /// The runner whose profile phase measures the cheap objectives of a
    /// candidate before it trains (needed by partial-order pruning and the
    /// dominated pruner's cheap objectives). `optimize` with a runner sets
    /// it; `ask` uses it.
    pub fn set_profiler(&self, runner: Arc<dyn Runner>) {
        *self.inner.profiler.write().unwrap() = Some(runner);
    }

    /// Keep each trial's log (a command runner's stderr and stray stdout)
    /// in `dir/trial-NNNNN.log`.
    pub fn set_logs_dir(&self, dir: impl AsRef<Path>) {
        *self.inner.logs_dir.write().unwrap() = Some(dir.as_ref().to_path_buf());
    }

    /// Where trial logs go, if anywhere.
    pub fn logs_dir(&self) -> Option<PathBuf> {
        self.inner.logs_dir.read().unwrap().clone()
    }

    /// The study's pruning (early stopping and partial order).
    pub fn pruning(&self) -> &Pruning {
        &self.inner.pruning
    }

    /// Every trial, up to date (only new and unfinished trials are read
    /// from the store; finished ones are kept).
    pub async fn trials(&self) -> Result<Arc<Vec<Trial>>, EngineError> {
        let mut cache = self.inner.cache.lock().await;
        Ok(cache.refresh(&*self.inner.store).await?)
    }

    /// The trials as of the last read, without reading. (Holding on to the
    /// snapshot makes the next read copy it: drop it soon.)
    pub async fn cached_trials(&self) -> Arc<Vec<Trial>> {
        self.inner.cache.lock().await.snapshot()
    }

    /// The trial numbered `number`, up to date.
    pub async fn trial(&self, number: u64) -> Result<Trial, EngineError> {
        let trials = self.trials().await?;
        trials
            .iter()
            .find(|t| t.number == number)
            .cloned()
            .ok_or_else(|| EngineError::NoSuchTrial {
                study: self.name().to_string(),
                number,
            })
    }

    /// The best feasible COMPLETE trial for the objective `name` (in its
    /// direction); `None` while there is none. An unknown name is an error.
    pub async fn best(&self, name: &str) -> Result<Option<Trial>, EngineError> {
        let k = self
            .objectives()
            .iter()
            .position(|o| o.name == name)
            .ok_or_else(|| {
                EngineError::Options(format!(
                    "no objective named `{name}` (objectives: {})",
                    self.objectives().names().join(", ")
                ))
            })?;
        let trials = self.trials().await?;
        let s = summarize(&trials, self.objectives());
        Ok(s.best[k].map(|i| trials[i].clone()))
    }

    /// Queue a configuration to be evaluated before anything is sampled
    /// (it counts towards the budget); returns its trial number.
    pub async fn enqueue(&self, params: &Params) -> Result<u64, EngineError> {
        self.inner
            .spec
            .space
            .validate(params)
            .map_err(|e| EngineError::Values(format!("enqueued parameters: {e}")))?;
        Ok(self.inner.store.enqueue(self.id(), params).await?)
    }

    /// Fail the trials of dead or silent workers (of any process) and
    /// re-queue their parameters; returns the numbers of the failed ones.
    /// The background heartbeat task does this every heartbeat; call it to
    /// recover at once.
    pub async fn recover_stale(&self) -> Result<Vec<u64>, EngineError> {
        let me = self.worker_id();
        let dead = move |w: &str| crate::worker::worker_is_dead(w, &me);
        let spec = &self.inner.spec;
        let rec = self
            .inner
            .store
            .fail_stale(
                self.id(),
                now_ms(),
                spec.stale_after.as_millis() as i64,
                spec.retries,
                &dead,
            )
            .await?;
        for (i, n) in rec.failed.iter().enumerate() {
            let what = match rec.requeued.get(i) {
                Some(q) => format!("re-queued as trial {q}"),
                None => "not re-queued".into(),
            };
            self.say(
                Level::Info,
                format!("trial {n}: its worker is gone; marked FAIL, {what}"),
            );
        }
        self.reap_left_behind(&rec.failed).await;
        Ok(rec.failed)
    }

    /// Kill the processes that commands of trials whose run died left
    /// behind on this machine, from the records next to their logs (see
    /// [`paretosearch_runner::command::reap_orphans`]): those of the
    /// trials `failed` just now, and, the first time a logs folder is
    /// known, those of every record in it whose run is gone.
    async fn reap_left_behind(&self, failed: &[u64]) {
        let Some(dir) = self.logs_dir() else { return };
        let all = !self
            .inner
            .swept_logs
            .swap(true, std::sync::atomic::Ordering::SeqCst);
        if failed.is_empty() && !all {
            return;
        }
        let failed = failed.to_vec();
        let reaped = tokio::task::spawn_blocking(move || {
            use paretosearch_runner::command::{reap_all_orphans, reap_orphans};
            if all {
                return reap_all_orphans(&dir);
            }
            failed
                .iter()
                .filter_map(|&n| reap_orphans(&crate::handle::log_file(&dir, n)))
                .collect()
        })
        .await
        .unwrap_or_default();
        for r in reaped.iter().filter(|r| r.killed > 0) {
            self.say(
                Level::Info,
                format!(
                    "trial {}: killed {} process(es) its command left behind when its run died",
                    r.trial, r.killed
                ),
            );
        }
    }

    /// Trials this handle has handed out and not yet recorded.
    pub fn running_here(&self) -> usize {
        self.inner.active.lock().unwrap().len()
    }

    pub(crate) fn say(&self, level: Level, text: String) {
        let m = Message { level, text };
        self.inner.observers.read().unwrap().each(|o| o.message(&m));
    }

    pub(crate) fn observers(&self) -> Observers {
        self.inner.observers.read().unwrap().clone()
    }

    /// Put a trial this process just recorded into the cached snapshot, so
    /// observers see it without a read. Only trials the cache already holds
    /// are updated: inserting one it never read could hide the trials
    /// numbered between (the cache reads above its highest number).
    pub(crate) async fn note_finished(&self, trial: &Trial) -> Arc<Vec<Trial>> {
        let mut cache = self.inner.cache.lock().await;
        cache.note_finished(trial);
        cache.snapshot()
    }

    /// Record `outcome` for the trial `id`; `requeue` re-queues its
    /// parameters (interrupted trials).
    pub(crate) async fn finish(
        &self,
        id: i64,
        outcome: &TrialOutcome,
        requeue: bool,
    ) -> Result<i64, EngineError> {
        let now = now_ms();
        self.inner.store.finish(id, outcome, requeue, now).await?;
        Ok(now)
    }

    /// Is `state` one a trial can be told in? (Used by attach.)
    pub(crate) fn check_running(&self, trial: &Trial) -> Result<(), EngineError> {
        match trial.state {
            TrialState::Running => Ok(()),
            TrialState::Waiting => Err(EngineError::NotRunning {
                number: trial.number,
                state: trial.state,
                message: "is WAITING: nobody has asked for it yet (fix: `ask` hands it out)".into(),
            }),
            s => Err(EngineError::NotRunning {
                number: trial.number,
                state: s,
                message: format!(
                    "is already {s}{}; finished trials cannot change",
                    trial
                        .reason
                        .as_ref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ),
            }),
        }
    }
}

/// Build the sampler of a spec; a bad `[sampler]` option is a located error.
#[allow(clippy::result_large_err)] // the located error of the whole spec API
pub fn build_sampler(spec: &StudySpec) -> Result<Box<dyn Sampler>, SpecError> {
    paretosearch_samplers::build(&spec.sampler).map_err(|e| {
        let key = match &e {
            paretosearch_samplers::SamplerError::BadOption { key, .. } => key.clone(),
            _ => "kind".into(),
        };
        spec.origin
            .error_at(&["sampler", &key], e.to_string(), None)
    })
}
