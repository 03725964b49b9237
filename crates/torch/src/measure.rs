//! Inference latency, measured the same way for every trial: a fixed batch
//! of random inputs, `warmup` untimed forward passes (allocator, kernel
//! selection and caches settle), then `repeats` timed passes, each
//! synchronised on CUDA; the reported latency is the median, which ignores
//! the occasional pre-emption on a shared machine. With an energy counter
//! ([`measure_latency_energy_with`]) the counter is read around the timed
//! passes only, and the energy per batch is their energy over their count.

use std::time::Instant;

use tch::{Device, Kind, Tensor};

use crate::energy::{self, EnergyCounter};
use crate::error::TorchError;
use crate::model::Net;

/// How latency is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatencySpec {
    /// Samples per timed batch.
    pub batch: i64,
    /// Untimed passes first.
    pub warmup: usize,
    /// Timed passes.
    pub repeats: usize,
}

impl Default for LatencySpec {
    fn default() -> Self {
        LatencySpec {
            batch: 1,
            warmup: 10,
            repeats: 50,
        }
    }
}

/// The median of `xs` (mean of the two middle values for an even count);
/// NaN when empty.
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// The reported latency from all passes in order: the first `warmup` are
/// dropped, the median of the rest is returned.
pub fn latency_statistic(samples_ms: &[f64], warmup: usize) -> f64 {
    median(samples_ms.get(warmup..).unwrap_or(&[]))
}

/// Time `warmup + repeats` calls of `f` (milliseconds each), in order.
pub fn time_passes(warmup: usize, repeats: usize, mut f: impl FnMut()) -> Vec<f64> {
    (0..warmup + repeats)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect()
}

/// Median latency (ms) of one batch through `net` in evaluation mode.
pub fn measure_latency(net: &Net, spec: &LatencySpec) -> f64 {
    measure_latency_with(net.device(), &net.sample_shape, spec, &mut |x| {
        let _ = net.forward(x, false, None);
    })
}

/// Median latency (ms) of `forward` on one batch of random samples of
/// `sample_shape` on `device`.
pub fn measure_latency_with(
    device: Device,
    sample_shape: &[i64],
    spec: &LatencySpec,
    forward: &mut dyn FnMut(&Tensor),
) -> f64 {
    let (ms, _) = latency_passes(device, sample_shape, spec, forward, None)
        .expect("without an energy counter nothing can fail");
    ms
}

/// As [`measure_latency_with`], also reading `counter` around the timed
/// passes (warm-up excluded): returns the median latency (ms) and the
/// energy per timed batch (J, see [`energy::per_batch`]).
pub fn measure_latency_energy_with(
    device: Device,
    sample_shape: &[i64],
    spec: &LatencySpec,
    forward: &mut dyn FnMut(&Tensor),
    counter: &dyn EnergyCounter,
) -> Result<(f64, f64), TorchError> {
    let (ms, joules) = latency_passes(device, sample_shape, spec, forward, Some(counter))?;
    Ok((ms, joules.unwrap_or(f64::NAN)))
}

fn latency_passes(
    device: Device,
    sample_shape: &[i64],
    spec: &LatencySpec,
    forward: &mut dyn FnMut(&Tensor),
    counter: Option<&dyn EnergyCounter>,
) -> Result<(f64, Option<f64>), TorchError> {
    let mut shape = vec![spec.batch];
    shape.extend_from_slice(sample_shape);
    let x = Tensor::randn(shape.as_slice(), (Kind::Float, device));
    let sync = || {
        if let Device::Cuda(i) = device {
            tch::Cuda::synchronize(i as i64);
        }
    };
    tch::no_grad(|| {
        let mut pass = || {
            forward(&x);
            sync();
        };
        let mut samples = time_passes(spec.warmup, 0, &mut pass);
        let timed = match counter {
            Some(c) => {
                let (timed, joules) =
                    energy::measure(c, || time_passes(0, spec.repeats, &mut pass))?;
                samples.extend(timed);
                Some(energy::per_batch(joules, spec.repeats))
            }
            None => {
                samples.extend(time_passes(0, spec.repeats, &mut pass));
                None
            }
        };
        Ok((latency_statistic(&samples, spec.warmup), timed))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn warmup_is_excluded_and_outliers_do_not_move_the_median() {
        // Two slow warm-up passes, then steady passes with one pre-emption.
        let samples = [50.0, 20.0, 1.0, 1.2, 0.9, 30.0, 1.1];
        assert_eq!(latency_statistic(&samples, 2), 1.1);
        // Without dropping the warm-up the statistic differs.
        assert_ne!(latency_statistic(&samples, 0), 1.1);
        assert!(latency_statistic(&samples, 10).is_nan());
    }

    /// A counter that charges 2 J per forward pass seen.
    struct PerPass<'a>(&'a std::cell::Cell<u64>);

    impl EnergyCounter for PerPass<'_> {
        fn millijoules(&self) -> Result<u64, TorchError> {
            Ok(self.0.get() * 2_000)
        }
    }

    #[test]
    fn inference_energy_counts_only_the_timed_batches() {
        let passes = std::cell::Cell::new(0u64);
        let spec = LatencySpec {
            batch: 2,
            warmup: 3,
            repeats: 4,
        };
        let (ms, joules) = measure_latency_energy_with(
            Device::Cpu,
            &[5],
            &spec,
            &mut |x| {
                assert_eq!(x.size(), vec![2, 5]);
                passes.set(passes.get() + 1);
            },
            &PerPass(&passes),
        )
        .unwrap();
        assert_eq!(passes.get(), 7);
        // 4 timed passes of 2 J each, per batch: warm-up passes excluded.
        assert_eq!(joules, 2.0);
        assert!(ms >= 0.0);
    }

    #[test]
    fn every_pass_is_timed_in_order() {
        let mut calls = 0;
        let s = time_passes(3, 4, || calls += 1);
        assert_eq!((calls, s.len()), (7, 7));
        assert!(s.iter().all(|t| *t >= 0.0));
    }
}
