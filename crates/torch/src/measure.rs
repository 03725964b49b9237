//! Inference latency, measured the same way for every trial: a fixed batch
//! of random inputs, `warmup` untimed forward passes (allocator, kernel
//! selection and caches settle), then `repeats` timed passes, each
//! synchronised on CUDA; the reported latency is the median, which ignores
//! the occasional pre-emption on a shared machine.

use std::time::Instant;

use tch::{Device, Kind, Tensor};

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
    let mut shape = vec![spec.batch];
    shape.extend_from_slice(sample_shape);
    let x = Tensor::randn(shape.as_slice(), (Kind::Float, device));
    let sync = || {
        if let Device::Cuda(i) = device {
            tch::Cuda::synchronize(i as i64);
        }
    };
    let samples = tch::no_grad(|| {
        time_passes(spec.warmup, spec.repeats, || {
            forward(&x);
            sync();
        })
    });
    latency_statistic(&samples, spec.warmup)
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

    #[test]
    fn every_pass_is_timed_in_order() {
        let mut calls = 0;
        let s = time_passes(3, 4, || calls += 1);
        assert_eq!((calls, s.len()), (7, 7));
        assert!(s.iter().all(|t| *t >= 0.0));
    }
}
