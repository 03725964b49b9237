//! [`TorchRunner`]: the `Runner` implementation, device leases and `doctor`.

// `SpecError` (the shared study-file error, ~130 bytes) is returned once,
// at start-up; boxing it would only change the lead's API.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use paretosearch_core::spec::{SpecError, SpecOrigin};
use paretosearch_core::{Objectives, Params, SearchSpace, TrialOutcome};
use paretosearch_runner::{Job, Reporter, Runner, Verdict};
use tch::Device;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::compress::CompressSpec;
use crate::data::{self, Split};
use crate::energy::{self, GpuEnergy};
use crate::error::TorchError;
use crate::measure::{measure_latency, measure_latency_energy_with, measure_latency_with};
use crate::model::{ModelSpec, Net};
use crate::options::{
    error_at, DeviceChoice, Task, TorchOptions, CHEAP_OBJECTIVES, ENERGY_OBJECTIVES,
};
use crate::params::ParamReader;
use crate::script::{CompressedScript, ScriptModel};
use crate::train::{evaluate, evaluate_with, train, Control, EpochReport, TrainSpec};

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
}

/// CUDA devices shared by concurrent trials, at most `per_gpu` trials each.
struct GpuPool {
    devices: Vec<usize>,
    load: Mutex<Vec<usize>>,
    freed: Condvar,
    per_gpu: usize,
}

struct Lease<'a> {
    pool: Option<&'a GpuPool>,
    slot: usize,
    device: Device,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(pool) = self.pool {
            pool.load.lock().expect("gpu pool lock")[self.slot] -= 1;
            pool.freed.notify_one();
        }
    }
}

impl GpuPool {
    /// The least loaded GPU with room, waiting for one when all are full.
    fn acquire(&self, cancelled: &dyn Fn() -> bool) -> Result<Lease<'_>, TorchError> {
        let mut load = self.load.lock().expect("gpu pool lock");
        loop {
            let best = (0..load.len())
                .filter(|&i| load[i] < self.per_gpu)
                .min_by_key(|&i| load[i]);
            if let Some(slot) = best {
                load[slot] += 1;
                return Ok(Lease {
                    pool: Some(self),
                    slot,
                    device: Device::Cuda(self.devices[slot]),
                });
            }
            if cancelled() {
                return Err(TorchError::Interrupted);
            }
            load = self
                .freed
                .wait_timeout(load, Duration::from_millis(100))
                .expect("gpu pool lock")
                .0;
        }
    }
}

/// Loads libtorch's CUDA library, which nothing in a Rust binary
/// references by symbol (so the linker may drop it): without it libtorch
/// registers no CUDA kernels and reports no device. Harmless where the
/// library or a driver is absent.
fn load_cuda() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let mut candidates = Vec::new();
        if let Some(dir) = option_env!("PARETOSEARCH_LIBTORCH_LIB") {
            candidates.push(format!("{dir}/libtorch_cuda.so"));
        }
        candidates.push("libtorch_cuda.so".to_string());
        for c in candidates {
            let Ok(name) = std::ffi::CString::new(c) else {
                continue;
            };
            // SAFETY: dlopen with a valid NUL-terminated path; the handle is
            // intentionally never closed (the library stays for the process).
            let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
            if !handle.is_null() {
                break;
            }
        }
    });
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
        if opts.model == "cnn" && !dataset.is_image() {
            return Err(error_at(
                origin,
                "model",
                format!(
                    "a CNN needs image samples, this dataset's samples have shape {:?}",
                    dataset.sample_shape
                ),
                Some("use model = \"mlp\" for tabular data"),
            ));
        }
        let split =
            data::split(&dataset, study_seed, opts.valid_fraction, opts.limit).map_err(|e| {
                error_at(
                    origin,
                    "dataset",
                    e.to_string(),
                    Some("use a larger dataset or limit"),
                )
            })?;
        let script = match &opts.torchscript {
            Some(path) => Some(
                ScriptModel::open(path, &dataset.sample_shape, dataset.classes)
                    .map_err(|e| error_at(origin, "model.path", e.to_string(), Some("export the model with torch.jit.script or torch.jit.trace and torch.jit.save")))?,
            ),
            None => None,
        };
        let gpus = resolve_devices(&opts.device, opts.trials_per_gpu).map_err(|e| {
            error_at(
                origin,
                "device",
                e,
                Some("use device = \"auto\" or \"cpu\""),
            )
        })?;
        let energy = open_energy(&opts, gpus.as_ref(), origin, objectives)?;
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

    /// Where a completed trial's weights are written when
    /// `save_weights_dir` is set: `<dir>/<study>/trial-<n>.safetensors`
    /// (with a `.json` beside it holding the parameters and values).
    pub fn weights_path(&self, study: &str, trial: u64) -> Option<PathBuf> {
        let dir = self.inner.opts.save_weights_dir.as_ref()?;
        Some(weights_file(dir, study, trial))
    }

    /// Re-run a configuration (deterministic from `job.seed`) and save its
    /// weights to `path` (safetensors when it ends in `.safetensors`), with
    /// a `.json` beside it. Blocking: call it from a blocking thread.
    /// Returns the measured values.
    pub fn save_weights(
        &self,
        job: &Job,
        path: &Path,
    ) -> Result<BTreeMap<String, f64>, TorchError> {
        let inner = &self.inner;
        let lease = inner.lease(&|| false)?;
        tch::set_num_threads(self.threads() as i32);
        let mut progress = |_: u64, _: &EpochReport| Control::Continue;
        match inner.trial(job, lease.device, &mut progress, &|| false, Some(path))? {
            TrialEnd::Complete(v) => Ok(v),
            TrialEnd::Stopped { reason, .. } => {
                Err(TorchError::Unsupported(format!("stopped: {reason}")))
            }
        }
    }
}

fn weights_file(dir: &Path, study: &str, trial: u64) -> PathBuf {
    dir.join(study).join(format!("trial-{trial}.safetensors"))
}

/// NVML for the study's energy objectives (`None` when it asks for none),
/// or the located error that says why energy cannot be measured here.
fn open_energy(
    opts: &TorchOptions,
    gpus: Option<&GpuPool>,
    origin: &SpecOrigin,
    objectives: &Objectives,
) -> Result<Option<GpuEnergy>, SpecError> {
    let Some((index, name)) = objectives
        .names()
        .iter()
        .enumerate()
        .find(|(_, n)| ENERGY_OBJECTIVES.contains(n))
        .map(|(i, n)| (i.to_string(), n.to_string()))
    else {
        return Ok(None);
    };
    let at = |message: String, help: &str| {
        origin.error_at(&["objectives", &index, "name"], message, Some(help))
    };
    let Some(pool) = gpus else {
        let why = match opts.device {
            DeviceChoice::Cpu => "device = \"cpu\"",
            _ => "device = \"auto\" found no CUDA GPU here",
        };
        return Err(at(
            format!("`{name}` is read from NVIDIA's NVML GPU energy counters, but trials run on the CPU ({why})"),
            "run on a CUDA GPU (device = \"cuda\" on a machine with an NVIDIA driver), or drop the energy objectives",
        ));
    };
    GpuEnergy::open(&pool.devices).map(Some).map_err(|e| {
        at(
            format!("`{name}` cannot be measured: {}", e.message),
            &e.help,
        )
    })
}

fn resolve_devices(choice: &DeviceChoice, per_gpu: usize) -> Result<Option<GpuPool>, String> {
    if *choice == DeviceChoice::Cpu {
        return Ok(None);
    }
    load_cuda();
    let available = tch::Cuda::is_available();
    let count = if available {
        tch::Cuda::device_count() as usize
    } else {
        0
    };
    let devices: Vec<usize> = match choice {
        DeviceChoice::Cpu => unreachable!(),
        DeviceChoice::Auto if count == 0 => return Ok(None),
        DeviceChoice::Auto | DeviceChoice::Cuda => (0..count).collect(),
        DeviceChoice::CudaIndex(i) => vec![*i],
    };
    if count == 0 {
        return Err("CUDA is not available here (no NVIDIA driver or no GPU)".into());
    }
    if let Some(bad) = devices.iter().find(|&&i| i >= count) {
        return Err(format!(
            "cuda:{bad} does not exist; this machine has {count} CUDA device(s)"
        ));
    }
    Ok(Some(GpuPool {
        load: Mutex::new(vec![0; devices.len()]),
        devices,
        freed: Condvar::new(),
        per_gpu,
    }))
}

enum TrialEnd {
    Complete(BTreeMap<String, f64>),
    Stopped {
        values: BTreeMap<String, f64>,
        step: u64,
        reason: String,
    },
}

type Progress<'a> = dyn FnMut(u64, &EpochReport) -> Control + 'a;

impl Inner {
    fn lease(&self, cancelled: &dyn Fn() -> bool) -> Result<Lease<'_>, TorchError> {
        match &self.gpus {
            Some(pool) => pool.acquire(cancelled),
            None => Ok(Lease {
                pool: None,
                slot: 0,
                device: Device::Cpu,
            }),
        }
    }

    fn data_on(&self, device: Device) -> Split {
        let d = self.data.lock().expect("data lock");
        if device == Device::Cpu {
            d.shallow_clone()
        } else {
            d.to_device(device)
        }
    }

    fn wants(&self, name: &str) -> bool {
        self.objectives.iter().any(|o| o == name)
    }

    /// The base model of the compress task, trained on first use.
    fn base_model(
        &self,
        device: Device,
        data: &Split,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Net, TorchError> {
        let mut cached = self.base.lock().expect("base lock");
        if cached.is_none() {
            let empty = Params::new();
            let r = ParamReader::new(&self.defaults, &empty);
            let spec = ModelSpec::from_params(&self.opts.model, &r)?;
            let ts = TrainSpec::from_params(&r, self.opts.epochs)?;
            let mut net = Net::new(
                spec.build(&self.sample_shape, self.classes, self.study_seed)?,
                self.sample_shape.clone(),
                self.classes,
                device,
            );
            train(
                &mut net,
                data,
                &ts,
                self.study_seed,
                self.opts.eval_batch,
                cancelled,
                &mut |_| Control::Continue,
            )?;
            *cached = Some(net.deep_copy(Device::Cpu));
        }
        Ok(cached.as_ref().expect("base model").deep_copy(device))
    }

    fn build(&self, params: &Params, seed: u64, device: Device) -> Result<Net, TorchError> {
        let r = ParamReader::new(params, &self.defaults);
        let spec = ModelSpec::from_params(&self.opts.model, &r)?;
        Ok(Net::new(
            spec.build(&self.sample_shape, self.classes, seed)?,
            self.sample_shape.clone(),
            self.classes,
            device,
        ))
    }

    fn cheap_values(
        &self,
        net: &Net,
        values: &mut BTreeMap<String, f64>,
    ) -> Result<(), TorchError> {
        let cost = net.cost();
        values.insert("params".into(), cost.params as f64);
        values.insert("nonzero_params".into(), cost.nonzero_params as f64);
        values.insert("size_bytes".into(), cost.size_bytes as f64);
        values.insert("macs".into(), cost.macs as f64);
        if self.wants("inference_energy_joules") {
            self.latency_energy(net.device(), &net.sample_shape, values, &mut |x| {
                let _ = net.forward(x, false, None);
            })?;
        } else if self.wants("latency_ms") || self.wants("throughput") {
            let ms = measure_latency(net, &self.opts.latency);
            self.insert_latency(ms, values);
        }
        Ok(())
    }

    fn insert_latency(&self, ms: f64, values: &mut BTreeMap<String, f64>) {
        values.insert("latency_ms".into(), ms);
        values.insert(
            "throughput".into(),
            self.opts.latency.batch as f64 / (ms / 1e3),
        );
    }

    /// Latency and energy per inference batch, from the same timed passes.
    fn latency_energy(
        &self,
        device: Device,
        sample_shape: &[i64],
        values: &mut BTreeMap<String, f64>,
        forward: &mut dyn FnMut(&tch::Tensor),
    ) -> Result<(), TorchError> {
        let counter = self.counter(device)?;
        let (ms, joules) = measure_latency_energy_with(
            device,
            sample_shape,
            &self.opts.latency,
            forward,
            &counter,
        )?;
        self.insert_latency(ms, values);
        values.insert("inference_energy_joules".into(), joules);
        Ok(())
    }

    /// The NVML energy counter of a trial's device (checked at start-up).
    fn counter(&self, device: Device) -> Result<energy::NvmlCounter<'_>, TorchError> {
        match (&self.energy, device) {
            (Some(e), Device::Cuda(i)) => e.counter(i),
            _ => Err(TorchError::Device(format!(
                "no NVML energy counter for {device:?}"
            ))),
        }
    }

    /// Run `work`, adding its GPU energy (J) to `joules` when the study
    /// asks for `energy_joules`; the GPU is synchronised before the second
    /// reading so that queued kernels are counted.
    fn with_energy<R>(
        &self,
        device: Device,
        joules: &mut f64,
        work: impl FnOnce() -> Result<R, TorchError>,
    ) -> Result<R, TorchError> {
        if !self.wants("energy_joules") {
            return work();
        }
        let counter = self.counter(device)?;
        let (out, j) = energy::measure(&counter, || {
            let out = work();
            if let Device::Cuda(i) = device {
                tch::Cuda::synchronize(i as i64);
            }
            out
        })?;
        *joules += j;
        out
    }

    fn trial(
        &self,
        job: &Job,
        device: Device,
        progress: &mut Progress<'_>,
        cancelled: &dyn Fn() -> bool,
        save_to: Option<&Path>,
    ) -> Result<TrialEnd, TorchError> {
        let r = ParamReader::new(&job.params, &self.defaults);
        let compress = CompressSpec::from_params(&r)?;
        let data = self.data_on(device);
        if let Some(script) = &self.script {
            let model = script.compress(&compress, device)?;
            let (loss, accuracy) = evaluate_with(&data.valid, self.opts.eval_batch, &mut |x| {
                model
                    .forward(x)
                    .expect("the module ran on this data when the study was read")
            });
            let mut values: BTreeMap<String, f64> = [
                ("accuracy".to_string(), accuracy),
                ("loss".to_string(), loss),
                ("train_seconds".to_string(), 0.0),
            ]
            .into();
            if self.wants("energy_joules") {
                // Nothing is trained: a TorchScript module is only compressed.
                values.insert("energy_joules".into(), 0.0);
            }
            self.script_cheap_values(&model, device, &mut values)?;
            return Ok(TrialEnd::Complete(values));
        }
        let stopped = |rep: &EpochReport, step: u64, reason: String| TrialEnd::Stopped {
            values: [
                ("accuracy".to_string(), rep.accuracy),
                ("loss".to_string(), rep.loss),
            ]
            .into(),
            step,
            reason,
        };
        let mut seconds = 0.0;
        let mut joules = 0.0;
        let mut offset = 0u64;
        let mut net = match self.opts.task {
            Task::Train => {
                let ts = TrainSpec::from_params(&r, self.opts.epochs)?;
                let mut net = self.build(&job.params, job.seed, device)?;
                let res = self.with_energy(device, &mut joules, || {
                    train(
                        &mut net,
                        &data,
                        &ts,
                        job.seed,
                        self.opts.eval_batch,
                        cancelled,
                        &mut |rep| progress(rep.epoch, rep),
                    )
                })?;
                seconds += res.seconds;
                if let (Some(reason), Some(last)) = (res.stopped, res.last) {
                    return Ok(stopped(&last, last.epoch, reason));
                }
                offset = ts.epochs as u64;
                net
            }
            Task::Compress => self.base_model(device, &data, cancelled)?,
        };
        if compress.has_structural() {
            compress.apply_structural(&mut net)?;
        }
        if compress.finetune_epochs > 0 {
            let mut ft = TrainSpec::from_params(&r, compress.finetune_epochs)?;
            ft.epochs = compress.finetune_epochs;
            ft.lr = r.float("finetune_lr", ft.lr / 10.0, 1e-8, 10.0)?;
            let res = self.with_energy(device, &mut joules, || {
                train(
                    &mut net,
                    &data,
                    &ft,
                    job.seed ^ 0xf1e7,
                    self.opts.eval_batch,
                    cancelled,
                    &mut |rep| progress(offset + rep.epoch, rep),
                )
            })?;
            seconds += res.seconds;
            if let (Some(reason), Some(last)) = (res.stopped, res.last) {
                return Ok(stopped(&last, offset + last.epoch, reason));
            }
        }
        compress.apply_formats(&mut net, device.is_cuda());
        let (loss, accuracy) = evaluate(&net, &data.valid, self.opts.eval_batch);
        let mut values: BTreeMap<String, f64> = [
            ("accuracy".to_string(), accuracy),
            ("loss".to_string(), loss),
            ("train_seconds".to_string(), seconds),
        ]
        .into();
        if self.wants("energy_joules") {
            values.insert("energy_joules".into(), joules);
        }
        self.cheap_values(&net, &mut values)?;
        let target = save_to.map(Path::to_path_buf).or_else(|| {
            Some(weights_file(
                self.opts.save_weights_dir.as_ref()?,
                &job.study,
                job.trial,
            ))
        });
        if let Some(path) = target {
            save(&net, &path, job, &self.opts.model, &values)?;
        }
        Ok(TrialEnd::Complete(values))
    }

    fn script_cheap_values(
        &self,
        model: &CompressedScript,
        device: Device,
        values: &mut BTreeMap<String, f64>,
    ) -> Result<(), TorchError> {
        let cost = model.cost();
        values.insert("params".into(), cost.params as f64);
        values.insert("nonzero_params".into(), cost.nonzero_params as f64);
        values.insert("size_bytes".into(), cost.size_bytes as f64);
        if self.wants("inference_energy_joules") {
            self.latency_energy(device, &self.sample_shape, values, &mut |x| {
                let _ = model.forward(x);
            })?;
        } else if self.wants("latency_ms") || self.wants("throughput") {
            let ms =
                measure_latency_with(device, &self.sample_shape, &self.opts.latency, &mut |x| {
                    let _ = model.forward(x);
                });
            self.insert_latency(ms, values);
        }
        Ok(())
    }

    fn profile(&self, job: &Job, device: Device) -> Result<BTreeMap<String, f64>, TorchError> {
        let r = ParamReader::new(&job.params, &self.defaults);
        let compress = CompressSpec::from_params(&r)?;
        if let Some(script) = &self.script {
            let mut values = BTreeMap::new();
            self.script_cheap_values(&script.compress(&compress, device)?, device, &mut values)?;
            return Ok(values);
        }
        // The compress task's base has the architecture of the defaults.
        let arch = match self.opts.task {
            Task::Train => &job.params,
            Task::Compress => &self.defaults,
        };
        let mut net = self.build(arch, job.seed, device)?;
        if compress.has_structural() {
            compress.apply_structural(&mut net)?;
        }
        compress.apply_formats(&mut net, device.is_cuda());
        let mut values = BTreeMap::new();
        self.cheap_values(&net, &mut values)?;
        values.retain(|k, _| CHEAP_OBJECTIVES.contains(&k.as_str()));
        Ok(values)
    }
}

fn save(
    net: &Net,
    path: &Path,
    job: &Job,
    model: &str,
    values: &BTreeMap<String, f64>,
) -> Result<(), TorchError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| TorchError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    net.save(path)?;
    let meta = serde_json::json!({
        "study": job.study,
        "trial": job.trial,
        "seed": job.seed,
        "model": model,
        "sample_shape": net.sample_shape,
        "classes": net.classes,
        "params": job.params,
        "values": values,
    });
    let json_path = path.with_extension("json");
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&meta).expect("json"),
    )
    .map_err(|source| TorchError::Io {
        path: json_path,
        source,
    })
}

type ReportMsg = (u64, BTreeMap<String, f64>, oneshot::Sender<Verdict>);

#[async_trait]
impl Runner for TorchRunner {
    async fn run(
        &self,
        job: Job,
        reporter: &dyn Reporter,
        cancel: CancellationToken,
    ) -> TrialOutcome {
        let inner = self.inner.clone();
        let threads = self.threads();
        let (tx, mut rx) = mpsc::channel::<ReportMsg>(1);
        let token = cancel.clone();
        let handle = tokio::task::spawn_blocking(move || {
            let cancelled = || token.is_cancelled();
            let lease = match inner.lease(&cancelled) {
                Ok(l) => l,
                Err(e) => return Err(e),
            };
            tch::set_num_threads(threads as i32);
            let mut progress = |step: u64, rep: &EpochReport| {
                let values: BTreeMap<String, f64> = [
                    ("accuracy".to_string(), rep.accuracy),
                    ("loss".to_string(), rep.loss),
                    ("train_loss".to_string(), rep.train_loss),
                    ("n_valid".to_string(), rep.n_valid as f64),
                ]
                .into();
                let (reply, answer) = oneshot::channel();
                if tx.blocking_send((step, values, reply)).is_err() {
                    return Control::Continue;
                }
                match answer.blocking_recv() {
                    Ok(Verdict::Stop(reason)) => Control::Stop(reason),
                    _ => Control::Continue,
                }
            };
            inner.trial(&job, lease.device, &mut progress, &cancelled, None)
        });
        while let Some((step, values, reply)) = rx.recv().await {
            let _ = reply.send(reporter.report(step, &values).await);
        }
        match handle.await {
            Ok(Ok(TrialEnd::Complete(values))) => TrialOutcome::Complete(values),
            Ok(Ok(TrialEnd::Stopped {
                values,
                step,
                reason,
            })) => TrialOutcome::Pruned {
                values,
                step: Some(step),
                reason,
            },
            Ok(Err(TorchError::Interrupted)) => TrialOutcome::Fail {
                reason: "interrupted".into(),
            },
            Ok(Err(e)) => TrialOutcome::Fail {
                reason: e.to_string(),
            },
            Err(e) => TrialOutcome::Fail {
                reason: format!("the trial's libtorch thread panicked: {e}"),
            },
        }
    }

    async fn profile(&self, job: Job) -> Option<Result<BTreeMap<String, f64>, String>> {
        let inner = self.inner.clone();
        let threads = self.threads();
        let res = tokio::task::spawn_blocking(move || {
            let lease = inner.lease(&|| false)?;
            tch::set_num_threads(threads as i32);
            inner.profile(&job, lease.device)
        })
        .await;
        Some(match res {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(e) => Err(format!("the profile thread panicked: {e}")),
        })
    }
}

/// A report on the libtorch installation: version, library folder, CUDA
/// availability and devices, threads.
pub fn doctor() -> String {
    load_cuda();
    let mut out = String::new();
    let version = option_env!("PARETOSEARCH_LIBTORCH_VERSION").unwrap_or("unknown");
    out.push_str(&format!("libtorch: {version} (tch 0.26)\n"));
    out.push_str(&format!(
        "library folder: {}\n",
        option_env!("PARETOSEARCH_LIBTORCH_LIB").unwrap_or("unknown")
    ));
    let cuda = tch::Cuda::is_available();
    let count = if cuda { tch::Cuda::device_count() } else { 0 };
    out.push_str(&format!(
        "CUDA: {}\n",
        if cuda { "available" } else { "not available" }
    ));
    out.push_str(&format!("CUDA devices: {count}\n"));
    for i in 0..count {
        out.push_str(&format!("  cuda:{i}\n"));
    }
    if cuda {
        out.push_str(&format!("cuDNN: {}\n", tch::Cuda::cudnn_is_available()));
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    out.push_str(&format!(
        "CPU cores: {cores}; libtorch threads: {}\n",
        tch::get_num_threads()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use paretosearch_core::spec::RunnerSpec;
    use paretosearch_core::{ParamValue, StudySpec};
    use std::sync::atomic::AtomicU64;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn parse(text: &str, file: &Path) -> Result<StudySpec, SpecError> {
        StudySpec::parse(text, file, &mut |p: &Path| {
            std::fs::read_to_string(p).map_err(|e| e.to_string())
        })
    }

    fn runner_from(spec: &StudySpec) -> Result<TorchRunner, SpecError> {
        let RunnerSpec::Other { kind, options } = &spec.runner else {
            panic!("not a torch runner: {:?}", spec.runner)
        };
        assert_eq!(kind, "torch");
        TorchRunner::from_options(
            options,
            &spec.origin,
            spec.seed,
            &spec.space,
            &spec.objectives,
        )
    }

    fn study(runner: &str, space: &str, objectives: &[&str]) -> String {
        let mut s = String::from("[study]\nname = \"t\"\nseed = 5\n\n");
        for o in objectives {
            let dir = if *o == "accuracy" {
                "maximize"
            } else {
                "minimize"
            };
            s.push_str(&format!(
                "[[objectives]]\nname = \"{o}\"\ndirection = \"{dir}\"\n\n"
            ));
        }
        s.push_str(&format!("[search_space]\n{space}\n\n[runner]\nkind = \"torch\"\n{runner}\n\n[budget]\ntrials = 2\n"));
        s
    }

    fn build(runner: &str, space: &str, objectives: &[&str]) -> Result<TorchRunner, SpecError> {
        let file = std::env::temp_dir().join("paretosearch-torch-test.toml");
        let r = runner_from(&parse(&study(runner, space, objectives), &file)?)?;
        r.set_workers(2);
        Ok(r)
    }

    fn job(params: &[(&str, ParamValue)], objectives: &[&str]) -> Job {
        Job {
            study: "t".into(),
            trial: 0,
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            seed: 42,
            objectives: objectives.iter().map(|s| s.to_string()).collect(),
            log_path: None,
        }
    }

    /// Stops the trial at a given step and counts reports.
    struct StopAt(u64, AtomicU64);

    #[async_trait]
    impl Reporter for StopAt {
        async fn report(&self, step: u64, values: &BTreeMap<String, f64>) -> Verdict {
            assert!(values.contains_key("accuracy") && values.contains_key("loss"));
            // The validation size rides along for the pruner's standard error.
            let n = values["n_valid"];
            assert!(n >= 100.0 && n.fract() == 0.0, "n_valid {n}");
            self.1.fetch_add(1, Ordering::SeqCst);
            if step == self.0 {
                Verdict::Stop(format!("dominated at step {step}"))
            } else {
                Verdict::Continue
            }
        }
    }

    const SMALL: &str = "dataset = \"digits\"\ndevice = \"cpu\"\nepochs = 3\nlimit = 500\nlatency_repeats = 5\nlatency_warmup = 2";
    const OBJ: [&str; 3] = ["accuracy", "latency_ms", "size_bytes"];

    #[test]
    fn shipped_studies_parse_and_build_runners() {
        for name in ["quickstart.toml", "compress-digits-cnn.toml"] {
            let file = repo().join("studies").join(name);
            let text = std::fs::read_to_string(&file).unwrap();
            let spec = parse(&text, &file).unwrap_or_else(|e| panic!("{name}: {e}"));
            let r = runner_from(&spec).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(r.threads() >= 1);
        }
    }

    #[tokio::test]
    async fn a_stop_verdict_prunes_after_that_epoch() {
        let r = build(
            SMALL,
            "width = { type = \"int\", low = 8, high = 32 }",
            &OBJ,
        )
        .unwrap();
        let reporter = StopAt(2, AtomicU64::new(0));
        let out = r
            .run(
                job(&[("width", ParamValue::Int(16))], &OBJ),
                &reporter,
                CancellationToken::new(),
            )
            .await;
        match out {
            TrialOutcome::Pruned {
                values,
                step,
                reason,
            } => {
                assert_eq!(step, Some(2));
                assert!(reason.contains("step 2"));
                assert!(values.contains_key("accuracy"));
            }
            other => panic!("expected PRUNED, got {other:?}"),
        }
        assert_eq!(reporter.1.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_trial_reports_every_objective_and_profile_only_cheap_ones() {
        let objectives = [
            "accuracy",
            "loss",
            "latency_ms",
            "throughput",
            "params",
            "size_bytes",
            "macs",
            "train_seconds",
        ];
        let r = build(
            SMALL,
            "width = { type = \"int\", low = 8, high = 32 }",
            &objectives,
        )
        .unwrap();
        let j = job(
            &[
                ("width", ParamValue::Int(32)),
                ("lr", ParamValue::Float(0.01)),
            ],
            &objectives,
        );
        let out = r
            .run(
                j.clone(),
                &paretosearch_runner::NoReporter,
                CancellationToken::new(),
            )
            .await;
        let TrialOutcome::Complete(values) = out else {
            panic!("{out:?}")
        };
        for o in objectives {
            assert!(values[o].is_finite(), "{o}");
        }
        assert!(values["accuracy"] > 0.5, "{values:?}");
        assert_eq!(
            values["params"],
            (64 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10) as f64
        );
        let cheap = r.profile(j).await.unwrap().unwrap();
        assert_eq!(cheap["params"], values["params"]);
        assert!(!cheap.contains_key("accuracy") && cheap.contains_key("latency_ms"));
        // A cancelled trial ends as an interrupted failure.
        let cancel = CancellationToken::new();
        cancel.cancel();
        let out = r
            .run(
                job(&[], &objectives),
                &paretosearch_runner::NoReporter,
                cancel,
            )
            .await;
        assert!(matches!(out, TrialOutcome::Fail { reason } if reason.starts_with("interrupted")));
    }

    #[tokio::test]
    async fn compress_task_trains_the_base_once_and_shrinks_it() {
        let runner = format!("{SMALL}\ntask = \"compress\"\nmodel = \"cnn\"\n[runner.base]\nchannels = 8\nfc_width = 32\nlr = 0.01");
        let space = "quant_bits = { type = \"categorical\", choices = [4, 32] }\nprune_ratio = { type = \"float\", low = 0.0, high = 0.5 }";
        let r = build(&runner, space, &OBJ).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let run = |p: Vec<(&'static str, ParamValue)>| {
            let r = r.clone();
            async move {
                match r
                    .run(
                        job(&p, &OBJ),
                        &paretosearch_runner::NoReporter,
                        CancellationToken::new(),
                    )
                    .await
                {
                    TrialOutcome::Complete(v) => v,
                    other => panic!("{other:?}"),
                }
            }
        };
        let plain = run(vec![]).await;
        let small = run(vec![
            ("quant_bits", ParamValue::Int(4)),
            ("prune_ratio", ParamValue::Float(0.5)),
            ("semi_structured", ParamValue::Bool(true)),
            ("finetune_epochs", ParamValue::Int(1)),
        ])
        .await;
        assert!(
            small["size_bytes"] * 4.0 < plain["size_bytes"],
            "{small:?} vs {plain:?}"
        );
        assert!(plain["accuracy"] > 0.3, "{plain:?}");
        // Saving re-runs the configuration deterministically.
        let path = dir.path().join("w.safetensors");
        let saved = r.save_weights(&job(&[], &OBJ), &path).unwrap();
        assert_eq!(saved["accuracy"], plain["accuracy"]);
        assert!(path.is_file() && path.with_extension("json").is_file());
    }

    #[test]
    fn option_errors_are_located_and_say_how_to_fix() {
        let space = "width = { type = \"int\", low = 8, high = 32 }";
        let e = build("dataset = \"digits\"\nepocs = 3", space, &OBJ)
            .err()
            .unwrap();
        assert!(e.line.is_some() && e.to_string().contains("epocs"), "{e}");
        let e = build(
            "dataset = { kind = \"mnist\", dir = \"/no/such/dir\" }",
            space,
            &OBJ,
        )
        .err()
        .unwrap();
        assert!(
            e.field.contains("dataset") && e.to_string().contains("/no/such/dir"),
            "{e}"
        );
        let e = build("device = \"tpu\"", space, &OBJ).err().unwrap();
        assert!(e.to_string().contains("cuda:N"), "{e}");
        let e = build(
            "dataset = \"digits\"",
            "widths = { type = \"int\", low = 8, high = 32 }",
            &OBJ,
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("did you mean `width`"), "{e}");
        let e = build(
            "dataset = \"digits\"",
            space,
            &["accuracy", "energy_joules"],
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("NVML"), "{e}");
        let e = build("dataset = \"digits\"", space, &["accuracy", "latency"])
            .err()
            .unwrap();
        assert!(e.to_string().contains("latency_ms"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("t.csv");
        std::fs::write(&csv, "a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n").unwrap();
        let runner = format!(
            "dataset = {{ kind = \"csv\", path = \"{}\", label = \"y\" }}\nmodel = \"cnn\"",
            csv.display()
        );
        let e = build(
            &runner,
            "channels = { type = \"int\", low = 4, high = 8 }",
            &OBJ,
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("mlp"), "{e}");
        let e = build("task = \"compress\"", space, &OBJ).err().unwrap();
        assert!(e.to_string().contains("[runner.base]"), "{e}");
    }

    #[test]
    fn energy_objectives_without_an_nvml_gpu_are_located_errors() {
        let space = "width = { type = \"int\", low = 8, high = 32 }";
        for objective in ["energy_joules", "inference_energy_joules"] {
            let e = build("device = \"cpu\"", space, &["accuracy", objective])
                .err()
                .unwrap();
            let text = e.to_string();
            assert!(e.line.is_some(), "{e}");
            assert!(e.field.contains("objectives"), "{}", e.field);
            assert!(
                text.contains(objective)
                    && text.contains("NVML")
                    && text.contains("device = \"cpu\"")
                    && text.contains("drop the energy objectives"),
                "{e}"
            );
        }
        load_cuda();
        if !tch::Cuda::is_available() {
            let e = build("device = \"auto\"", space, &["inference_energy_joules"])
                .err()
                .unwrap();
            assert!(e.to_string().contains("found no CUDA GPU"), "{e}");
        }
        // Several trials per GPU would share one counter.
        let e = build(
            "device = \"cuda\"\ntrials_per_gpu = 2",
            space,
            &["accuracy", "energy_joules"],
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("trials_per_gpu = 1"), "{e}");
        // Without energy objectives the CPU is fine.
        assert!(build("device = \"cpu\"", space, &["accuracy"]).is_ok());
    }

    #[tokio::test]
    async fn torchscript_modules_are_compressed_by_weight_value_methods() {
        let pt = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mlp.pt");
        let runner = format!(
            "{SMALL}\ntask = \"compress\"\nmodel = {{ kind = \"torchscript\", path = \"{}\" }}",
            pt.display()
        );
        let space = "quant_bits = { type = \"categorical\", choices = [4, 32] }\nsemi_structured = { type = \"categorical\", choices = [false, true] }";
        let r = build(&runner, space, &OBJ).unwrap();
        let run = |p: Vec<(&'static str, ParamValue)>| {
            let r = r.clone();
            async move {
                match r
                    .run(
                        job(&p, &OBJ),
                        &paretosearch_runner::NoReporter,
                        CancellationToken::new(),
                    )
                    .await
                {
                    TrialOutcome::Complete(v) => v,
                    other => panic!("{other:?}"),
                }
            }
        };
        let plain = run(vec![]).await;
        assert_eq!(
            plain["size_bytes"],
            ((64 * 32 + 32 + 32 * 10 + 10) * 4) as f64
        );
        let small = run(vec![
            ("quant_bits", ParamValue::Int(4)),
            ("semi_structured", ParamValue::Bool(true)),
        ])
        .await;
        assert!(small["size_bytes"] * 4.0 < plain["size_bytes"], "{small:?}");
        assert!(small["accuracy"].is_finite() && small["latency_ms"] > 0.0);
        let e = build(
            &runner,
            "prune_ratio = { type = \"float\", low = 0.0, high = 0.5 }",
            &OBJ,
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("TorchScript"), "{e}");
        let bad = format!("{SMALL}\ntask = \"compress\"\nmodel = {{ kind = \"torchscript\", path = \"/no/model.pt\" }}");
        let e = build(&bad, space, &OBJ).err().unwrap();
        assert!(e.to_string().contains("/no/model.pt"), "{e}");
    }

    #[test]
    fn gpu_pool_spreads_trials_and_waits_when_full() {
        let pool = GpuPool {
            devices: vec![0, 3],
            load: Mutex::new(vec![0, 0]),
            freed: Condvar::new(),
            per_gpu: 1,
        };
        let a = pool.acquire(&|| false).unwrap();
        let b = pool.acquire(&|| false).unwrap();
        assert_eq!((a.device, b.device), (Device::Cuda(0), Device::Cuda(3)));
        // Full: a cancelled wait gives up instead of blocking forever.
        assert!(matches!(
            pool.acquire(&|| true),
            Err(TorchError::Interrupted)
        ));
        drop(b);
        let c = pool.acquire(&|| false).unwrap();
        assert_eq!(c.device, Device::Cuda(3));
        drop((a, c));
        assert_eq!(*pool.load.lock().unwrap(), vec![0, 0]);
    }

    #[test]
    fn doctor_names_version_and_cuda() {
        let d = doctor();
        assert!(d.contains("libtorch: 2.13.0"), "{d}");
        assert!(d.contains("CUDA"));
    }
}
