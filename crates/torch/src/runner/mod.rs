//! [`TorchRunner`]: the `Runner` implementation, device leases and `doctor`.
//!
//! The runner is laid out along the life of a trial:
//!
//! * `devices`: which device a trial runs on (the pool of CUDA GPUs and
//!   their slots, the lease a trial holds), NVML for the energy
//!   objectives, and [`doctor`];
//! * `pipeline`: the steps of one trial on its device (train or take the
//!   compress task's base model, compress, fine-tune, measure);
//! * `testset`: the held-out test set, scored only when a user exports
//!   trials (never while the study runs);
//! * `weights`: saving a trained network's weights and metadata;
//! * `bridge`: running that blocking libtorch work from async code, with
//!   cancellation and the per-epoch reports going back to the scheduler.

// `SpecError` (the shared study-file error, ~130 bytes) is returned once,
// at start-up; boxing it would only change the lead's API.
#![allow(clippy::result_large_err)]

mod bridge;
#[cfg(test)]
mod data_tests;
mod devices;
#[cfg(test)]
mod finetune_tests;
mod pipeline;
#[cfg(test)]
mod tests;
mod testset;
#[cfg(test)]
mod testset_tests;
mod weights;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use paretosearch_core::spec::{SpecError, SpecOrigin};
use paretosearch_core::{Objectives, Params, SearchSpace, TrialOutcome};
use paretosearch_runner::{Job, ProfileJob, Reporter, Runner, TestScores};
use tokio_util::sync::CancellationToken;

use crate::data::{self, DatasetSource, Split};
use crate::energy::GpuEnergy;
use crate::model::Net;
use crate::options::{error_at, TorchOptions};
use crate::script::ScriptModel;
pub use devices::doctor;
use devices::{open_energy, open_power, resolve_devices, GpuPool};

/// Runs `[runner] kind = "torch"` trials: trains or compresses a network
/// per trial and reports the study's objectives. Cheap to clone (shared state).
#[derive(Clone)]
pub struct TorchRunner {
    inner: Arc<Inner>,
}

struct Inner {
    opts: TorchOptions,
    /// `[runner.params]` overlaid with `[runner.base]`: the fallback of every trial.
    defaults: Params,
    data: Mutex<Split>,
    sample_shape: Vec<i64>,
    classes: i64,
    study_seed: u64,
    objectives: Vec<String>,
    gpus: Option<GpuPool>,
    threads: AtomicUsize,
    base: Mutex<Option<Net>>,
    script: Option<ScriptModel>,
    /// NVML, when the study asks for an energy objective.
    energy: Option<GpuEnergy>,
    /// NVML, when trials set `gpu_power_limit`.
    power: Option<crate::power::GpuPower>,
    /// The held-out test set (standardised), when `test` or `test_fraction` is set.
    test: Option<Mutex<crate::data::Dataset>>,
}

impl TorchRunner {
    /// Validate the `[runner]` table (every error located in the study
    /// file), load and split the dataset, and check the device.
    pub fn from_options(
        options: &toml::Table,
        origin: &SpecOrigin,
        study_seed: u64,
        space: &SearchSpace,
        objectives: &Objectives,
    ) -> Result<TorchRunner, SpecError> {
        let opts = TorchOptions::parse(options, origin, space, objectives)?;
        let dataset = data::load(&opts.dataset).map_err(|e| {
            error_at(
                origin,
                "dataset",
                e.to_string(),
                Some("check the path and the files' format"),
            )
        })?;
        let (dataset, test) = testset::set_apart(&opts, dataset, study_seed, origin)?;
        if opts.model != "mlp" && opts.torchscript.is_none() && !dataset.is_image() {
            return Err(error_at(
                origin,
                "model",
                format!(
                    "model = \"{}\" needs image samples, this dataset's samples have shape {:?}",
                    opts.model, dataset.sample_shape
                ),
                Some("use model = \"mlp\" for tabular data"),
            ));
        }
        let split = match &opts.valid {
            None => data::split(&dataset, study_seed, opts.valid_fraction, opts.limit),
            Some(source) => {
                let valid = data::load(source).map_err(|e| {
                    error_at(
                        origin,
                        "valid",
                        e.to_string(),
                        Some("check the path and the files' format"),
                    )
                })?;
                // Classes named by strings are numbered per file: the same
                // set is needed for the numbers to mean the same classes.
                let named = matches!(
                    source,
                    DatasetSource::Csv { .. } | DatasetSource::ImageFolder { .. }
                );
                if named && valid.classes != dataset.classes {
                    return Err(error_at(
                        origin,
                        "valid",
                        format!(
                            "the validation set has {} classes, the dataset {}",
                            valid.classes, dataset.classes
                        ),
                        Some("give the validation set the same classes (CSV labels, class folders) as the dataset"),
                    ));
                }
                data::split_with_valid(&dataset, &valid, study_seed, opts.limit)
            }
        }
        .map_err(|e| {
            let (key, help) = match opts.valid {
                Some(_) => ("valid", "give the validation set samples of the dataset's shape"),
                None => ("dataset", "use a larger dataset or limit"),
            };
            error_at(origin, key, e.to_string(), Some(help))
        })?;
        let script = match &opts.torchscript {
            Some(path) => Some(
                ScriptModel::open(path, &dataset.sample_shape, dataset.classes)
                    .map_err(|e| error_at(origin, "model.path", e.to_string(), Some("export the model with torch.jit.script or torch.jit.trace and torch.jit.save")))?,
            ),
            None => None,
        };
        let test = test.map(|t| Mutex::new(split.scale.apply(&t)));
        let gpus = resolve_devices(&opts.device, opts.trials_per_gpu).map_err(|e| {
            error_at(
                origin,
                "device",
                e,
                Some("use device = \"auto\" or \"cpu\""),
            )
        })?;
        let energy = open_energy(&opts, gpus.as_ref(), origin, objectives)?;
        let power = open_power(&opts, gpus.as_ref(), origin, space)?;
        let mut defaults = opts.defaults.clone();
        defaults.extend(opts.base.clone());
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Ok(TorchRunner {
            inner: Arc::new(Inner {
                threads: AtomicUsize::new(opts.threads.unwrap_or(cores)),
                defaults,
                sample_shape: dataset.sample_shape.clone(),
                classes: dataset.classes,
                data: Mutex::new(split),
                study_seed,
                objectives: objectives.names().iter().map(|s| s.to_string()).collect(),
                gpus,
                base: Mutex::new(None),
                script,
                energy,
                power,
                test,
                opts,
            }),
        })
    }

    /// Tell the runner how many trials run at once on this machine: unless
    /// `threads` is set, each CPU trial then uses `cores / workers` threads
    /// so that parallel trials do not oversubscribe the cores.
    pub fn set_workers(&self, workers: usize) {
        if self.inner.opts.threads.is_none() {
            let cores = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1);
            self.inner
                .threads
                .store((cores / workers.max(1)).max(1), Ordering::Relaxed);
        }
    }

    /// CPU threads each trial uses.
    pub fn threads(&self) -> usize {
        self.inner.threads.load(Ordering::Relaxed)
    }

    /// The parsed options.
    pub fn options(&self) -> &TorchOptions {
        &self.inner.opts
    }
}

#[async_trait]
impl Runner for TorchRunner {
    async fn run(
        &self,
        job: Job,
        reporter: &dyn Reporter,
        cancel: CancellationToken,
    ) -> TrialOutcome {
        bridge::run(self, job, reporter, cancel).await
    }

    async fn profile(&self, job: ProfileJob) -> Option<Result<BTreeMap<String, f64>, String>> {
        bridge::profile(self, job).await
    }

    async fn evaluate_test(&self, job: Job) -> Option<Result<TestScores, String>> {
        testset::evaluate(self, job).await
    }
}
