//! The steps of one trial on its device: build and train the network (or
//! take the compress task's base model, or load the user's TorchScript
//! module and train it or not), compress and fine-tune it, then measure the
//! study's objectives; and the cheap objectives alone for `profile`. One
//! generic path ([`Inner::run_trial`]) serves every [`Compressible`] model.

use std::collections::BTreeMap;
use std::path::Path;

use paretosearch_core::Params;
use paretosearch_runner::Job;
use tch::Device;

use super::testset::TestRun;
use super::weights::{save, weights_file};
use super::Inner;
use crate::compress::{CompressSpec, Compressible};
use crate::data::Split;
use crate::energy;
use crate::error::TorchError;
use crate::measure::{measure_latency_energy_with, measure_latency_with};
use crate::model::{ModelSpec, Net};
use crate::options::{Task, CHEAP_OBJECTIVES};
use crate::params::ParamReader;
use crate::power::PowerGuard;
use crate::train::{evaluate_with, train, Control, EpochReport, TrainSpec};

pub(super) enum TrialEnd {
    Complete(BTreeMap<String, f64>),
    Stopped {
        values: BTreeMap<String, f64>,
        step: u64,
        reason: String,
    },
}

/// How [`Inner::run_trial`] ended: stopped by the pruner, or done with
/// the compressed model and its values.
pub(super) enum Finished<M> {
    Stopped(TrialEnd),
    Done(M, BTreeMap<String, f64>),
}

pub(super) type Progress<'a> = dyn FnMut(u64, &EpochReport) -> Control + 'a;

impl Inner {
    pub(super) fn data_on(&self, device: Device) -> Split {
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
    pub(super) fn base_model(
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

    fn cheap_values<M: Compressible>(
        &self,
        net: &M,
        values: &mut BTreeMap<String, f64>,
    ) -> Result<(), TorchError> {
        let cost = net.model_cost();
        values.insert("params".into(), cost.params as f64);
        values.insert("nonzero_params".into(), cost.nonzero_params as f64);
        values.insert("size_bytes".into(), cost.size_bytes as f64);
        if self.script.is_none() {
            values.insert("macs".into(), cost.macs as f64);
        }
        let device = net.device();
        if self.wants("inference_energy_joules") {
            self.latency_energy(device, net.sample_shape(), values, &mut |x| {
                let _ = net.infer(x);
            })?;
        } else if self.wants("latency_ms") || self.wants("throughput") {
            let ms =
                measure_latency_with(device, net.sample_shape(), &self.opts.latency, &mut |x| {
                    let _ = net.infer(x);
                });
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

    pub(super) fn trial(
        &self,
        job: &Job,
        device: Device,
        progress: &mut Progress<'_>,
        cancelled: &dyn Fn() -> bool,
        save_to: Option<&Path>,
        test: Option<&mut TestRun<'_>>,
    ) -> Result<TrialEnd, TorchError> {
        let data = self.data_on(device);
        let train_first = self.opts.task == Task::Train;
        // Held for the whole trial; the GPU's previous limit comes back on drop.
        let r = ParamReader::new(&job.params, &self.defaults);
        let _power = match (&self.power, device) {
            (Some(p), Device::Cuda(i)) if r.has("gpu_power_limit") => Some(PowerGuard::apply(
                p.knob(i)?,
                r.float("gpu_power_limit", 0.0, 1.0, 100_000.0)?,
            )?),
            _ => None,
        };
        if let Some(script) = &self.script {
            let net = script.load(device)?;
            return Ok(
                match self.run_trial(net, job, &data, train_first, progress, cancelled)? {
                    Finished::Stopped(end) => end,
                    Finished::Done(net, values) => {
                        if let Some(t) = test {
                            t.scores = self.score(t.data, &mut |x| net.infer(x));
                        }
                        TrialEnd::Complete(values)
                    }
                },
            );
        }
        let net = if train_first {
            self.build(&job.params, job.seed, device)?
        } else {
            self.base_model(device, &data, cancelled)?
        };
        let (net, values) =
            match self.run_trial(net, job, &data, train_first, progress, cancelled)? {
                Finished::Stopped(end) => return Ok(end),
                Finished::Done(net, values) => (net, values),
            };
        if let Some(t) = test {
            // A re-run for the test set: scored, and nothing saved.
            t.scores = self.score(t.data, &mut |x| net.infer(x));
            return Ok(TrialEnd::Complete(values));
        }
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

    /// Train (when `train_first`), compress, fine-tune and measure one model.
    pub(super) fn run_trial<M: Compressible>(
        &self,
        mut net: M,
        job: &Job,
        data: &Split,
        train_first: bool,
        progress: &mut Progress<'_>,
        cancelled: &dyn Fn() -> bool,
    ) -> Result<Finished<M>, TorchError> {
        let r = ParamReader::new(&job.params, &self.defaults);
        let compress = CompressSpec::from_params(&r)?;
        let device = net.device();
        let stopped = |rep: &EpochReport, step: u64, reason: String| {
            Finished::Stopped(TrialEnd::Stopped {
                values: [
                    ("accuracy".to_string(), rep.accuracy),
                    ("loss".to_string(), rep.loss),
                ]
                .into(),
                step,
                reason,
            })
        };
        let mut seconds = 0.0;
        let mut joules = 0.0;
        let mut offset = 0u64;
        if train_first {
            let ts = TrainSpec::from_params(&r, self.opts.epochs)?;
            let res = self.with_energy(device, &mut joules, || {
                train(
                    &mut net,
                    data,
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
        }
        net.apply_masks_and_structure(&compress)?;
        if compress.finetune_epochs > 0 {
            let mut ft = TrainSpec::from_params(&r, compress.finetune_epochs)?;
            ft.epochs = compress.finetune_epochs;
            ft.lr = r.float("finetune_lr", ft.lr / 10.0, 1e-8, 10.0)?;
            net.start_qat(&compress);
            let res = self.with_energy(device, &mut joules, || {
                train(
                    &mut net,
                    data,
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
        net.apply_formats(&compress, device.is_cuda())?;
        let (loss, accuracy) =
            evaluate_with(&data.valid, self.opts.eval_batch, &mut |x| net.infer(x));
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
        Ok(Finished::Done(net, values))
    }

    pub(super) fn profile(
        &self,
        job: &Job,
        device: Device,
    ) -> Result<BTreeMap<String, f64>, TorchError> {
        let r = ParamReader::new(&job.params, &self.defaults);
        let compress = CompressSpec::from_params(&r)?;
        let mut values = BTreeMap::new();
        if let Some(script) = &self.script {
            let mut net = script.load(device)?;
            net.apply_masks_and_structure(&compress)?;
            net.apply_formats(&compress, device.is_cuda())?;
            self.cheap_values(&net, &mut values)?;
        } else {
            // The compress task's base has the architecture of the defaults.
            let arch = match self.opts.task {
                Task::Train => &job.params,
                Task::Compress => &self.defaults,
            };
            let mut net = self.build(arch, job.seed, device)?;
            net.apply_masks_and_structure(&compress)?;
            Compressible::apply_formats(&mut net, &compress, device.is_cuda())?;
            self.cheap_values(&net, &mut values)?;
        }
        values.retain(|k, _| CHEAP_OBJECTIVES.contains(&k.as_str()));
        Ok(values)
    }
}
