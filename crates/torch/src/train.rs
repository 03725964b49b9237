//! Training and evaluation: optimisers, learning-rate schedules, label
//! smoothing, mixed precision, per-epoch validation.
//!
//! One loop trains every model: the built-in [`Net`] and a user's
//! TorchScript module ([`crate::script::ScriptNet`]) both implement
//! [`Trainable`], whose hooks keep compression in place while training:
//! `before_step` runs between the backward pass and the optimiser step
//! (where a TorchScript module under quantisation-aware fine-tuning puts
//! its latent full-precision weights back), `after_step` re-applies the
//! pruning masks.
//!
//! The whole dataset sits on the training device; each epoch draws a
//! permutation from a ChaCha generator seeded with the trial seed and
//! slices it into batches, so the order of batches is reproducible across
//! machines and workers. Dropout draws from libtorch's generator, seeded
//! with the trial seed at the start of training.
//!
//! Image batches can be augmented (`augment_crop`, `augment_flip`; see
//! [`augment`]) from a generator of their own, seeded by the trial.
//!
//! Mixed precision (`precision = "bf16"` or `"fp16"`, CUDA only) runs the
//! linear and convolution layers in the 16-bit kind while the weights, the
//! optimiser state and the loss stay in 32 bits; fp16 adds dynamic loss
//! scaling (halve the scale and skip the step on overflow, double it after
//! 1000 clean steps), as PyTorch's `GradScaler` does.

use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

use tch::nn::VarStore;

use crate::data::{Dataset, Split};
use crate::error::TorchError;
use crate::model::Net;
use crate::params::ParamReader;

/// Optimiser family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimizerKind {
    /// SGD with (optionally Nesterov) momentum.
    Sgd,
    /// Adam (weight decay as L2 penalty).
    Adam,
    /// AdamW (decoupled weight decay).
    AdamW,
}

/// Learning-rate schedule over the whole run (per batch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Constant.
    Constant,
    /// Cosine decay from `lr` to 0.
    Cosine,
    /// Multiply by 0.1 at 50 % and again at 75 % of the run.
    Step,
    /// One-cycle: linear warm-up from `lr/25` to `lr` over the first 30 %,
    /// cosine decay to `lr/10^4`.
    OneCycle,
}

impl Schedule {
    /// The multiplier of the base learning rate at `progress` in `[0, 1)`.
    pub fn factor(self, progress: f64) -> f64 {
        let p = progress.clamp(0.0, 1.0);
        match self {
            Schedule::Constant => 1.0,
            Schedule::Cosine => 0.5 * (1.0 + (std::f64::consts::PI * p).cos()),
            Schedule::Step => {
                if p >= 0.75 {
                    0.01
                } else if p >= 0.5 {
                    0.1
                } else {
                    1.0
                }
            }
            Schedule::OneCycle => {
                const WARM: f64 = 0.3;
                if p < WARM {
                    1.0 / 25.0 + (1.0 - 1.0 / 25.0) * p / WARM
                } else {
                    let q = (p - WARM) / (1.0 - WARM);
                    1e-4 + (1.0 - 1e-4) * 0.5 * (1.0 + (std::f64::consts::PI * q).cos())
                }
            }
        }
    }
}

/// Arithmetic precision of the training forward and backward passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// 32-bit floats.
    Fp32,
    /// bfloat16 mixed precision (CUDA).
    Bf16,
    /// fp16 mixed precision with loss scaling (CUDA).
    Fp16,
}

/// How to train, read from a trial's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSpec {
    /// Optimiser.
    pub optimizer: OptimizerKind,
    /// Base learning rate.
    pub lr: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// SGD momentum.
    pub momentum: f64,
    /// Nesterov momentum (SGD).
    pub nesterov: bool,
    /// Batch size.
    pub batch_size: i64,
    /// Epochs.
    pub epochs: i64,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Label smoothing of the cross-entropy loss.
    pub label_smoothing: f64,
    /// Training precision.
    pub precision: Precision,
    /// Random crops after padding each side by this many pixels (images; 0 = off).
    pub augment_crop: i64,
    /// Random horizontal flips (images).
    pub augment_flip: bool,
}

impl TrainSpec {
    /// Read the training parameters; `epochs` falls back to `default_epochs`.
    pub fn from_params(r: &ParamReader<'_>, default_epochs: i64) -> Result<TrainSpec, TorchError> {
        let optimizer = match r
            .choice("optimizer", "adam", &["sgd", "adam", "adamw"])?
            .as_str()
        {
            "sgd" => OptimizerKind::Sgd,
            "adamw" => OptimizerKind::AdamW,
            _ => OptimizerKind::Adam,
        };
        let default_lr = if optimizer == OptimizerKind::Sgd {
            0.05
        } else {
            1e-3
        };
        Ok(TrainSpec {
            optimizer,
            lr: r.float("lr", default_lr, 1e-7, 10.0)?,
            weight_decay: r.float("weight_decay", 0.0, 0.0, 1.0)?,
            momentum: r.float("momentum", 0.9, 0.0, 0.999)?,
            nesterov: r.bool("nesterov", false)?,
            batch_size: r.int("batch_size", 64, 1, 1 << 20)?,
            epochs: r.int("epochs", default_epochs, 0, 100_000)?,
            schedule: match r
                .choice(
                    "schedule",
                    "constant",
                    &["constant", "cosine", "step", "onecycle", "one-cycle"],
                )?
                .as_str()
            {
                "cosine" => Schedule::Cosine,
                "step" => Schedule::Step,
                "onecycle" | "one-cycle" => Schedule::OneCycle,
                _ => Schedule::Constant,
            },
            label_smoothing: r.float("label_smoothing", 0.0, 0.0, 0.5)?,
            precision: match r
                .choice("precision", "fp32", &["fp32", "bf16", "fp16"])?
                .as_str()
            {
                "bf16" => Precision::Bf16,
                "fp16" => Precision::Fp16,
                _ => Precision::Fp32,
            },
            augment_crop: r.int("augment_crop", 0, 0, 64)?,
            augment_flip: r.bool("augment_flip", false)?,
        })
    }

    fn optimizer<M: Trainable + ?Sized>(&self, net: &M) -> Result<nn::Optimizer, TorchError> {
        let vs = net.var_store();
        Ok(match self.optimizer {
            OptimizerKind::Sgd => nn::Sgd {
                momentum: self.momentum,
                dampening: 0.0,
                wd: self.weight_decay,
                nesterov: self.nesterov && self.momentum > 0.0,
            }
            .build(vs, self.lr)?,
            OptimizerKind::Adam => nn::adam(0.9, 0.999, self.weight_decay).build(vs, self.lr)?,
            OptimizerKind::AdamW => nn::adamw(0.9, 0.999, self.weight_decay).build(vs, self.lr)?,
        })
    }
}

/// A model the training loop can train.
pub trait Trainable {
    /// The device its tensors live on.
    fn device(&self) -> Device;
    /// The trainable tensors (for the optimiser).
    fn var_store(&self) -> &VarStore;
    /// Logits (float) for a batch, in training or evaluation mode; `amp`
    /// is the mixed-precision kind (only where [`Trainable::mixed_precision`]).
    fn forward_mode(&mut self, x: &Tensor, train: bool, amp: Option<Kind>) -> Tensor;
    /// Can it run its layers in a 16-bit kind while its weights stay fp32?
    fn mixed_precision(&self) -> bool {
        true
    }
    /// Reset per-run randomness (dropout masks) from the trial seed.
    fn prepare(&mut self, _seed: u64) {}
    /// Between the backward pass and the optimiser step.
    fn before_step(&mut self) {}
    /// After every optimiser step (re-apply pruning masks).
    fn after_step(&mut self) {}
}

impl Trainable for Net {
    fn device(&self) -> Device {
        Net::device(self)
    }
    fn var_store(&self) -> &VarStore {
        Net::var_store(self)
    }
    fn forward_mode(&mut self, x: &Tensor, train: bool, amp: Option<Kind>) -> Tensor {
        self.forward(x, train, amp)
    }
    fn prepare(&mut self, seed: u64) {
        self.seed_dropout(seed);
    }
    fn after_step(&mut self) {
        self.apply_masks();
    }
}

/// Validation metrics after one epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochReport {
    /// 1-based epoch.
    pub epoch: u64,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Mean validation cross-entropy (without label smoothing).
    pub loss: f64,
    /// Validation accuracy in `[0, 1]`.
    pub accuracy: f64,
    /// Validation examples the accuracy was measured on (the pruner's
    /// binomial standard error needs it).
    pub n_valid: i64,
    /// Seconds this epoch's training steps took (validation excluded).
    pub seconds: f64,
}

/// What the caller says after an epoch.
#[derive(Clone, Debug, PartialEq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop now, for this reason.
    Stop(String),
}

/// The end of a training run.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainResult {
    /// The last epoch's metrics (`None` with 0 epochs).
    pub last: Option<EpochReport>,
    /// Set when [`Control::Stop`] ended the run.
    pub stopped: Option<String>,
    /// Seconds spent in training steps (validation excluded).
    pub seconds: f64,
}

/// Standard image augmentation of a batch `[n, c, h, w]`: each sample is
/// mirrored left-right with probability 1/2 (`flip`), then cut at a random
/// offset out of itself padded by `pad` pixels a side (the padding is 0,
/// the training mean once standardised), as torchvision's `RandomCrop(size,
/// padding)` and `RandomHorizontalFlip` do. Draws come from `rng` (seeded
/// by the trial), so a run repeats exactly.
pub fn augment(x: &Tensor, pad: i64, flip: bool, rng: &mut ChaCha8Rng) -> Tensor {
    use rand::Rng;
    let n = x.size()[0];
    let mut out = x.shallow_clone();
    if flip {
        let m: Vec<bool> = (0..n).map(|_| rng.random_bool(0.5)).collect();
        let mask = Tensor::from_slice(&m)
            .to_device(x.device())
            .view([n, 1, 1, 1]);
        out = out.flip([3]).where_self(&mask, &out);
    }
    if pad > 0 {
        let (h, w) = (x.size()[2], x.size()[3]);
        let padded = out.constant_pad_nd([pad, pad, pad, pad]);
        let crops: Vec<Tensor> = (0..n)
            .map(|i| {
                let dy = rng.random_range(0..=2 * pad);
                let dx = rng.random_range(0..=2 * pad);
                padded.get(i).narrow(1, dy, h).narrow(2, dx, w)
            })
            .collect();
        out = Tensor::stack(&crops, 0);
    }
    out
}

/// Mean cross-entropy and accuracy of `net` on `data`, in batches.
pub fn evaluate(net: &Net, data: &Dataset, batch: i64) -> (f64, f64) {
    evaluate_with(data, batch, &mut |x| net.forward(x, false, None))
}

/// Mean cross-entropy and accuracy of any classifier `logits` on `data`, in batches.
pub fn evaluate_with(
    data: &Dataset,
    batch: i64,
    logits: &mut dyn FnMut(&Tensor) -> Tensor,
) -> (f64, f64) {
    tch::no_grad(|| {
        let n = data.len();
        let mut loss = 0.0;
        let mut correct = 0i64;
        let mut start = 0;
        while start < n {
            let len = batch.min(n - start);
            let x = data.x.narrow(0, start, len);
            let y = data.y.narrow(0, start, len);
            let logits = logits(&x);
            loss += logits
                .cross_entropy_loss::<Tensor>(&y, None, Reduction::Sum, -100, 0.0)
                .double_value(&[]);
            correct += logits
                .argmax(-1, false)
                .eq_tensor(&y)
                .sum(Kind::Int64)
                .int64_value(&[]);
            start += len;
        }
        (loss / n as f64, correct as f64 / n as f64)
    })
}

/// Train `net` on `data.train`, validating on `data.valid` after every
/// epoch and asking `on_epoch` whether to go on. `cancelled` is polled
/// between batches. Masks of pruned weights are re-applied after each step.
pub fn train<M: Trainable + ?Sized>(
    net: &mut M,
    data: &Split,
    spec: &TrainSpec,
    seed: u64,
    eval_batch: i64,
    cancelled: &dyn Fn() -> bool,
    on_epoch: &mut dyn FnMut(&EpochReport) -> Control,
) -> Result<TrainResult, TorchError> {
    let device = net.device();
    let amp = match spec.precision {
        Precision::Fp32 => None,
        Precision::Bf16 => Some(Kind::BFloat16),
        Precision::Fp16 => Some(Kind::Half),
    };
    if amp.is_some() && !device.is_cuda() {
        return Err(TorchError::Unsupported(
            "mixed precision (precision = bf16 or fp16) needs a CUDA device; use precision = \"fp32\" on the CPU"
                .into(),
        ));
    }
    if amp.is_some() && !net.mixed_precision() {
        return Err(TorchError::Unsupported(
            "mixed precision (precision = bf16 or fp16) is for the built-in models; a TorchScript module trains in fp32"
                .into(),
        ));
    }
    net.prepare(seed);
    let mut opt = spec.optimizer(net)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_7a1e);
    let mut aug_rng = ChaCha8Rng::seed_from_u64(seed ^ 0xa065_e47e);
    let augmenting = (spec.augment_crop > 0 || spec.augment_flip) && data.train.x.dim() == 4;
    let n = data.train.len();
    let steps_per_epoch = (n + spec.batch_size - 1) / spec.batch_size;
    let total_steps = (steps_per_epoch * spec.epochs).max(1) as f64;
    let mut order: Vec<i64> = (0..n).collect();
    let mut step = 0i64;
    let mut seconds = 0.0;
    let mut last = None;
    let mut loss_scale = 65536.0f64;
    let mut clean_steps = 0u32;
    for epoch in 1..=spec.epochs as u64 {
        let started = Instant::now();
        order.shuffle(&mut rng);
        let perm = Tensor::from_slice(&order).to_device(device);
        let mut loss_sum = Tensor::zeros([], (Kind::Float, device));
        let mut start = 0;
        while start < n {
            if cancelled() {
                return Err(TorchError::Interrupted);
            }
            let len = spec.batch_size.min(n - start);
            let idx = perm.narrow(0, start, len);
            let mut x = data.train.x.index_select(0, &idx);
            if augmenting {
                x = augment(&x, spec.augment_crop, spec.augment_flip, &mut aug_rng);
            }
            let y = data.train.y.index_select(0, &idx);
            opt.set_lr(spec.lr * spec.schedule.factor(step as f64 / total_steps));
            let logits = net.forward_mode(&x, true, amp);
            let loss = logits.cross_entropy_loss::<Tensor>(
                &y,
                None,
                Reduction::Mean,
                -100,
                spec.label_smoothing,
            );
            if spec.precision == Precision::Fp16 {
                opt.zero_grad();
                (&loss * loss_scale).backward();
                net.before_step();
                let finite = net.var_store().trainable_variables().iter().all(|v| {
                    let g = v.grad();
                    !g.defined() || g.isfinite().all().int64_value(&[]) != 0
                });
                if finite {
                    tch::no_grad(|| {
                        for v in net.var_store().trainable_variables() {
                            let mut g = v.grad();
                            if g.defined() {
                                let _ = g.f_mul_scalar_(1.0 / loss_scale).map(|_| ());
                            }
                        }
                    });
                    opt.step();
                    clean_steps += 1;
                    if clean_steps == 1000 {
                        loss_scale *= 2.0;
                        clean_steps = 0;
                    }
                } else {
                    loss_scale /= 2.0;
                    clean_steps = 0;
                }
            } else {
                opt.zero_grad();
                loss.backward();
                net.before_step();
                opt.step();
            }
            net.after_step();
            loss_sum += loss.detach() * len as f64;
            start += len;
            step += 1;
        }
        let train_loss = loss_sum.double_value(&[]) / n as f64;
        if device.is_cuda() {
            tch::Cuda::synchronize(match device {
                Device::Cuda(i) => i as i64,
                _ => 0,
            });
        }
        let epoch_seconds = started.elapsed().as_secs_f64();
        seconds += epoch_seconds;
        if !train_loss.is_finite() {
            return Err(TorchError::Diverged {
                epoch,
                loss: train_loss,
            });
        }
        let (loss, accuracy) = evaluate_with(&data.valid, eval_batch, &mut |x| {
            net.forward_mode(x, false, None)
        });
        let report = EpochReport {
            epoch,
            train_loss,
            loss,
            accuracy,
            n_valid: data.valid.len(),
            seconds: epoch_seconds,
        };
        last = Some(report);
        if let Control::Stop(reason) = on_epoch(&report) {
            return Ok(TrainResult {
                last,
                stopped: Some(reason),
                seconds,
            });
        }
    }
    Ok(TrainResult {
        last,
        stopped: None,
        seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data;
    use crate::model::ModelSpec;
    use paretosearch_core::{ParamValue, Params};

    #[test]
    fn schedules_start_and_end_where_documented() {
        assert_eq!(Schedule::Constant.factor(0.9), 1.0);
        assert!((Schedule::Cosine.factor(0.0) - 1.0).abs() < 1e-12);
        assert!(Schedule::Cosine.factor(0.999) < 1e-4);
        assert_eq!(Schedule::Step.factor(0.6), 0.1);
        assert!((Schedule::OneCycle.factor(0.0) - 0.04).abs() < 1e-12);
        assert!((Schedule::OneCycle.factor(0.3) - 1.0).abs() < 1e-12);
        assert!(Schedule::OneCycle.factor(1.0) < 2e-4);
    }

    fn run(params: &Params, seed: u64, stop_after: Option<u64>) -> (TrainResult, Vec<u64>) {
        tch::set_num_threads(1);
        let empty = Params::new();
        let r = ParamReader::new(params, &empty);
        let d = data::load_digits().unwrap();
        let split = data::split(&d, 1, 0.2, Some(600)).unwrap();
        let spec = ModelSpec::from_params("mlp", &r).unwrap();
        let mut net = Net::new(
            spec.build(&d.sample_shape, 10, seed).unwrap(),
            d.sample_shape.clone(),
            10,
            Device::Cpu,
        );
        let ts = TrainSpec::from_params(&r, 3).unwrap();
        let mut seen = Vec::new();
        let res = train(&mut net, &split, &ts, seed, 256, &|| false, &mut |rep| {
            seen.push(rep.epoch);
            match stop_after {
                Some(e) if rep.epoch == e => Control::Stop("test".into()),
                _ => Control::Continue,
            }
        })
        .unwrap();
        (res, seen)
    }

    #[test]
    fn dropout_repeats_exactly_while_other_trainings_run_alongside() {
        let p: Params = [
            ("width".to_string(), ParamValue::Int(32)),
            ("dropout".to_string(), ParamValue::Float(0.3)),
        ]
        .into();
        let (alone, _) = run(&p, 5, None);
        let runs: Vec<_> = [5u64, 6, 7, 8]
            .into_iter()
            .map(|seed| {
                let p = p.clone();
                std::thread::spawn(move || run(&p, seed, None).0)
            })
            .collect();
        let results: Vec<TrainResult> = runs.into_iter().map(|h| h.join().unwrap()).collect();
        let (a, b) = (alone.last.unwrap(), results[0].last.unwrap());
        assert_eq!((a.loss, a.accuracy), (b.loss, b.accuracy));
        assert_ne!(results[1].last.unwrap().loss, a.loss);
    }

    #[test]
    fn training_learns_and_is_deterministic_with_a_seed() {
        let p: Params = [
            ("width".to_string(), ParamValue::Int(32)),
            ("lr".to_string(), ParamValue::Float(0.01)),
            ("dropout".to_string(), ParamValue::Float(0.1)),
            ("schedule".to_string(), ParamValue::Str("cosine".into())),
            ("label_smoothing".to_string(), ParamValue::Float(0.05)),
        ]
        .into();
        let (a, seen) = run(&p, 11, None);
        let (b, _) = run(&p, 11, None);
        assert_eq!(seen, vec![1, 2, 3]);
        let (ra, rb) = (a.last.unwrap(), b.last.unwrap());
        assert!(ra.accuracy > 0.8, "accuracy {}", ra.accuracy);
        assert_eq!(ra.accuracy, rb.accuracy);
        assert_eq!(ra.loss, rb.loss);
        let (c, _) = run(&p, 12, None);
        assert_ne!(c.last.unwrap().loss, ra.loss);
    }

    #[test]
    fn stop_ends_training_after_that_epoch() {
        let p: Params = [("optimizer".to_string(), ParamValue::Str("sgd".into()))].into();
        let (res, seen) = run(&p, 3, Some(2));
        assert_eq!(seen, vec![1, 2]);
        assert_eq!(res.stopped.as_deref(), Some("test"));
        assert_eq!(res.last.unwrap().epoch, 2);
    }

    #[test]
    fn augmentation_mirrors_and_shifts_each_sample_reproducibly() {
        let x = Tensor::arange(2 * 16, (Kind::Float, Device::Cpu)).view([2, 1, 4, 4]) + 1.0;
        let x = x.repeat([32, 1, 1, 1]);
        let run = |pad, flip, seed| augment(&x, pad, flip, &mut ChaCha8Rng::seed_from_u64(seed));
        let f = run(0, true, 1);
        let (mut kept, mut mirrored) = (0, 0);
        for i in 0..64 {
            if f.get(i).equal(&x.get(i)) {
                kept += 1;
            } else {
                assert!(f.get(i).equal(&x.get(i).flip([2])), "sample {i}");
                mirrored += 1;
            }
        }
        assert!(
            kept > 10 && mirrored > 10,
            "{kept} kept, {mirrored} mirrored"
        );
        let c = run(1, false, 2);
        let padded = x.constant_pad_nd([1, 1, 1, 1]);
        let mut shifted = 0;
        for i in 0..64 {
            let window = (0..3)
                .flat_map(|dy| (0..3).map(move |dx| (dy, dx)))
                .find(|&(dy, dx)| {
                    c.get(i)
                        .equal(&padded.get(i).narrow(1, dy, 4).narrow(2, dx, 4))
                });
            let (dy, dx) = window.unwrap_or_else(|| panic!("sample {i} is no crop"));
            shifted += i64::from((dy, dx) != (1, 1));
        }
        assert!(shifted > 32, "{shifted} of 64 moved");
        assert!(run(2, true, 7).equal(&run(2, true, 7)));
        assert!(!run(2, true, 7).equal(&run(2, true, 8)));
    }

    #[test]
    fn mixed_precision_on_cpu_is_a_clear_error() {
        let p: Params = [("precision".to_string(), ParamValue::Str("bf16".into()))].into();
        let empty = Params::new();
        let r = ParamReader::new(&p, &empty);
        let d = data::load_digits().unwrap();
        let split = data::split(&d, 1, 0.2, Some(100)).unwrap();
        let spec = ModelSpec::from_params("mlp", &r).unwrap();
        let mut net = Net::new(
            spec.build(&d.sample_shape, 10, 0).unwrap(),
            d.sample_shape.clone(),
            10,
            Device::Cpu,
        );
        let ts = TrainSpec::from_params(&r, 1).unwrap();
        let e = train(&mut net, &split, &ts, 0, 64, &|| false, &mut |_| {
            Control::Continue
        })
        .unwrap_err();
        assert!(e.to_string().contains("CUDA"), "{e}");
    }
}
