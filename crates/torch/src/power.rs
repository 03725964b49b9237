//! `gpu_power_limit` (watts): a trial's GPU power cap, set through NVML
//! for the trial and restored afterwards, the energy knob of the Zeus
//! paper beside batch size.
//!
//! ## Life of a limit
//!
//! When the study is read, NVML is opened for the runner's GPUs (the same
//! `cuda:N` to NVML mapping as the energy counters, [`crate::energy`]), each
//! GPU's allowed range is read, and the permission to change it is probed
//! by setting the current limit again (a no-op that fails exactly as a
//! real change would: changing power limits needs root or the driver's
//! admin rights). A trial then holds a [`PowerGuard`]: it sets the trial's
//! limit and puts back the limit it found when dropped, whether the trial
//! completed, failed, was pruned or was cancelled. Limits are per GPU, so
//! `gpu_power_limit` needs `trials_per_gpu = 1`.
//!
//! The guard is written against the [`PowerKnob`] trait so that the
//! restoring is tested without a GPU.

use nvml_wrapper::Nvml;

use crate::energy::{nvml_target, NvmlTarget};
use crate::error::TorchError;

/// A GPU's power limit in milliwatts.
pub trait PowerKnob {
    /// The limit now.
    fn get(&self) -> Result<u32, TorchError>;
    /// Set the limit.
    fn set(&self, milliwatts: u32) -> Result<(), TorchError>;
    /// The range the GPU accepts, `(min, max)`.
    fn range(&self) -> Result<(u32, u32), TorchError>;
}

/// Check `watts` against a GPU's range; the limit in milliwatts.
pub fn checked_limit(watts: f64, (min, max): (u32, u32)) -> Result<u32, TorchError> {
    let mw = (watts * 1000.0).round();
    if !(mw >= min as f64 && mw <= max as f64) {
        return Err(TorchError::param(
            "gpu_power_limit",
            format!(
                "{watts} W is outside this GPU's range [{}, {}] W",
                min as f64 / 1000.0,
                max as f64 / 1000.0
            ),
        ));
    }
    Ok(mw as u32)
}

/// Holds a GPU at a trial's power limit; restores the previous one on drop.
pub struct PowerGuard<K: PowerKnob> {
    knob: K,
    previous: u32,
}

impl<K: PowerKnob> PowerGuard<K> {
    /// Set `watts` (checked against the GPU's range).
    pub fn apply(knob: K, watts: f64) -> Result<PowerGuard<K>, TorchError> {
        let limit = checked_limit(watts, knob.range()?)?;
        let previous = knob.get()?;
        knob.set(limit)?;
        Ok(PowerGuard { knob, previous })
    }
}

impl<K: PowerKnob> Drop for PowerGuard<K> {
    fn drop(&mut self) {
        if let Err(e) = self.knob.set(self.previous) {
            eprintln!(
                "paretosearch-torch: could not restore the GPU power limit to {} W: {e}",
                self.previous as f64 / 1000.0
            );
        }
    }
}

/// NVML opened for the runner's GPUs, each checked to allow power limits.
pub struct GpuPower {
    nvml: Nvml,
    targets: Vec<(usize, NvmlTarget)>,
}

impl std::fmt::Debug for GpuPower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuPower")
            .field("targets", &self.targets)
            .finish_non_exhaustive()
    }
}

/// One GPU's power limit through NVML.
pub struct NvmlPower<'a> {
    // NVML's setter takes the device mutably.
    device: std::cell::RefCell<nvml_wrapper::Device<'a>>,
}

impl PowerKnob for NvmlPower<'_> {
    fn get(&self) -> Result<u32, TorchError> {
        self.device
            .borrow()
            .power_management_limit()
            .map_err(|e| TorchError::Device(format!("NVML power limit: {e}")))
    }
    fn set(&self, milliwatts: u32) -> Result<(), TorchError> {
        self.device
            .borrow_mut()
            .set_power_management_limit(milliwatts)
            .map_err(|e| TorchError::Device(format!("NVML cannot set the power limit: {e}")))
    }
    fn range(&self) -> Result<(u32, u32), TorchError> {
        self.device
            .borrow()
            .power_management_limit_constraints()
            .map(|c| (c.min_limit, c.max_limit))
            .map_err(|e| TorchError::Device(format!("NVML power limit range: {e}")))
    }
}

impl GpuPower {
    /// Open NVML for `cuda_devices` and probe the permission on each;
    /// the error says what is missing (NVML, the GPU, the permission).
    pub fn open(cuda_devices: &[usize]) -> Result<GpuPower, String> {
        let nvml = Nvml::init().map_err(|e| {
            format!(
                "NVIDIA's NVML could not be loaded ({e}); gpu_power_limit needs the NVIDIA driver"
            )
        })?;
        let visible = std::env::var("CUDA_VISIBLE_DEVICES").ok();
        let mut targets = Vec::new();
        for &cuda in cuda_devices {
            targets.push((cuda, nvml_target(cuda, visible.as_deref())?));
        }
        let power = GpuPower { nvml, targets };
        for &cuda in cuda_devices {
            let knob = power.knob(cuda).map_err(|e| e.to_string())?;
            let now = knob.get().map_err(|e| e.to_string())?;
            knob.set(now).map_err(|e| {
                format!("cuda:{cuda}: {e} (changing power limits needs root or the driver's admin rights)")
            })?;
        }
        Ok(power)
    }

    /// The power limit of `cuda:<cuda>`.
    pub fn knob(&self, cuda: usize) -> Result<NvmlPower<'_>, TorchError> {
        let target = self
            .targets
            .iter()
            .find(|(c, _)| *c == cuda)
            .map(|(_, t)| t)
            .ok_or_else(|| TorchError::Device(format!("cuda:{cuda} has no NVML device")))?;
        let device = match target {
            NvmlTarget::Index(i) => self.nvml.device_by_index(*i),
            NvmlTarget::Uuid(u) => self.nvml.device_by_uuid(u.as_str()),
        }
        .map_err(|e| TorchError::Device(format!("NVML device of cuda:{cuda}: {e}")))?;
        Ok(NvmlPower {
            device: std::cell::RefCell::new(device),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    struct Fake<'a> {
        limit: &'a RefCell<u32>,
        log: &'a RefCell<Vec<u32>>,
    }

    impl PowerKnob for Fake<'_> {
        fn get(&self) -> Result<u32, TorchError> {
            Ok(*self.limit.borrow())
        }
        fn set(&self, mw: u32) -> Result<(), TorchError> {
            *self.limit.borrow_mut() = mw;
            self.log.borrow_mut().push(mw);
            Ok(())
        }
        fn range(&self) -> Result<(u32, u32), TorchError> {
            Ok((100_000, 700_000))
        }
    }

    #[test]
    fn the_limit_is_set_for_the_trial_and_restored_however_it_ends() {
        let (limit, log) = (RefCell::new(650_000), RefCell::new(Vec::new()));
        let knob = || Fake {
            limit: &limit,
            log: &log,
        };
        {
            let _g = PowerGuard::apply(knob(), 300.0).unwrap();
            assert_eq!(*limit.borrow(), 300_000);
        }
        assert_eq!(*limit.borrow(), 650_000);
        // A trial that panics still gives the limit back.
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _g = PowerGuard::apply(knob(), 250.5).unwrap();
            panic!("trial failed");
        }));
        assert!(caught.is_err());
        assert_eq!(*limit.borrow(), 650_000);
        assert_eq!(*log.borrow(), vec![300_000, 650_000, 250_500, 650_000]);
        // Out of range: refused, nothing touched.
        let e = PowerGuard::apply(knob(), 900.0).err().unwrap().to_string();
        assert!(
            e.contains("gpu_power_limit") && e.contains("[100, 700] W"),
            "{e}"
        );
        assert_eq!(log.borrow().len(), 4);
    }
}
